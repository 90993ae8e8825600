//! Atomic ensembles produced by the method (or a baseline) and their evaluation against maps.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Ensemble;
use super::vae_fit::ca_rmsd;
use crate::metrics::cc::{MASK_SHRINK, MASK_SOLVENT_RADIUS, ccs_from_maps, effective_d_min, envelope_mask, model_map};
use crate::metrics::ensemble::EnsembleMetrics;
use crate::structure::Structure;
use crate::{Error, Result};

/// An ensemble of models sharing one reference's atoms: flow samples, an interpolation path, or a
/// baseline (NMA conformations, the unchanged reference).
#[derive(Clone, Debug)]
pub struct Samples {
    pub(crate) models: Vec<Structure>,
    pub(crate) latents: Vec<Vec<f32>>,
    pub(crate) reference: Arc<Structure>,
    pub(crate) resolution: f64,
    pub(crate) kind: String,
}

/// Model x map correlations of an ensemble and its precision / recall / W2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleEvaluation {
    /// What was evaluated (e.g. `"flow samples"`).
    pub kind: String,
    /// Map names (columns).
    pub maps: Vec<String>,
    /// CC_volume `[model][map]` (the paper's distance uses it).
    pub cc_volume: Vec<Vec<f64>>,
    /// CC_mask `[model][map]`.
    pub cc_mask: Vec<Vec<f64>>,
    /// Precision, recall, W2 on `d = sqrt(1 - CC_volume)`.
    pub metrics: EnsembleMetrics,
}

impl std::fmt::Display for SampleEvaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} models x {} maps  precision {:.3}  recall {:.3}  W2 {:.3}",
            self.kind,
            self.cc_volume.len(),
            self.maps.len(),
            self.metrics.precision,
            self.metrics.recall,
            self.metrics.w2
        )
    }
}

impl SampleEvaluation {
    /// Best CC_mask over the models for each map.
    pub fn best_cc_mask_per_map(&self) -> Vec<f64> {
        (0..self.maps.len()).map(|j| self.cc_mask.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max)).collect()
    }
}

impl Samples {
    /// Wrap models that share the reference's atoms (e.g. a baseline) for evaluation and writing.
    pub fn from_models(models: Vec<Structure>, reference: &Structure, resolution: f64, kind: &str) -> Result<Samples> {
        if let Some(bad) = models.iter().position(|m| m.atoms.len() != reference.atoms.len()) {
            return Err(Error::invalid(format!(
                "model {bad} has {} atoms, the reference {}",
                models[bad].atoms.len(),
                reference.atoms.len()
            )));
        }
        Ok(Samples {
            models,
            latents: Vec::new(),
            reference: Arc::new(reference.clone()),
            resolution,
            kind: kind.into(),
        })
    }

    /// The models.
    pub fn models(&self) -> &[Structure] {
        &self.models
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Latents the models were decoded from (empty for baselines).
    pub fn latents(&self) -> &[Vec<f32>] {
        &self.latents
    }

    /// What these samples are.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The structure the models deform.
    pub fn reference(&self) -> &Structure {
        &self.reference
    }

    /// C-alpha RMSD (A, no superposition) of each model to the reference.
    pub fn ca_rmsd_to_reference(&self) -> Vec<f64> {
        self.models.iter().map(|m| ca_rmsd(m, &self.reference).unwrap_or(f64::NAN)).collect()
    }

    /// C-alpha RMSD (A, no superposition) of each model to `target`, on the residues they share
    /// (see [`ca_rmsd`]): a transfer sample can be compared with the truth of the original protein.
    pub fn ca_rmsd_to(&self, target: &Structure) -> Result<Vec<f64>> {
        self.models.iter().map(|m| ca_rmsd(m, target)).collect()
    }

    /// Write all models as one multi-model PDB or mmCIF file (identical atom records per model).
    pub fn write(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        crate::io::write_models(path, &self.models, overwrite)
    }

    /// Model x map CCs against the maps of `ens` and the ensemble metrics (precision, recall, W2 on
    /// `d = sqrt(1 - CC_volume)`).
    pub fn evaluate_against(&self, ens: &Ensemble) -> Result<SampleEvaluation> {
        if self.models.is_empty() {
            return Err(Error::invalid("evaluate_against: no models"));
        }
        let grid = ens.grid();
        let res = ens.resolution().unwrap_or(self.resolution);
        let d_min = effective_d_min(grid, res);
        let mut cc_volume = Vec::with_capacity(self.models.len());
        let mut cc_mask = Vec::with_capacity(self.models.len());
        for m in &self.models {
            let mm = model_map(m, grid, d_min);
            let mask = envelope_mask(m, grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
            let ccs: Vec<_> =
                ens.maps().iter().map(|map| ccs_from_maps(map, &mm, &mask, d_min)).collect::<Result<_>>()?;
            cc_volume.push(ccs.iter().map(|c| c.cc_volume).collect());
            cc_mask.push(ccs.iter().map(|c| c.cc_mask).collect());
        }
        let metrics = EnsembleMetrics::from_cc(&cc_volume)?;
        Ok(SampleEvaluation { kind: self.kind.clone(), maps: ens.names(), cc_volume, cc_mask, metrics })
    }
}

impl std::fmt::Display for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.ca_rmsd_to_reference();
        let (lo, hi) = r.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
        write!(
            f,
            "<Samples {} ({} models, C-alpha RMSD to reference {:.2}-{:.2} A)>",
            self.kind,
            self.models.len(),
            lo,
            hi
        )
    }
}
