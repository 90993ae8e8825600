//! Stage 1 input: the ensemble with a reference structure rigidly fitted into it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Ensemble;
use crate::Result;
use crate::align::{AlignOptions, RigidFit, fit_rigid};
use crate::density::{BlurEstimate, estimate_blur};
use crate::io::ReadOptions;
use crate::metrics::cc::{
    MASK_SHRINK, MASK_SOLVENT_RADIUS, MapModelCc, ccs_from_maps, effective_d_min, envelope_mask, model_map,
};
use crate::structure::Structure;
use crate::structure::geometry::{distance, rmsd};

/// Something that can be the reference structure: a path to a PDB/mmCIF file or a [`Structure`].
pub trait ReferenceSource {
    /// Read or take the structure.
    fn into_structure(self) -> Result<Structure>;
}

fn read_reference(p: &Path) -> Result<Structure> {
    let opts = ReadOptions { keep_hydrogens: false, ..ReadOptions::default() };
    crate::io::read_structure(p, &opts)
}

impl ReferenceSource for &str {
    fn into_structure(self) -> Result<Structure> {
        read_reference(Path::new(self))
    }
}
impl ReferenceSource for String {
    fn into_structure(self) -> Result<Structure> {
        read_reference(Path::new(&self))
    }
}
impl ReferenceSource for &Path {
    fn into_structure(self) -> Result<Structure> {
        read_reference(self)
    }
}
impl ReferenceSource for PathBuf {
    fn into_structure(self) -> Result<Structure> {
        read_reference(&self)
    }
}
impl ReferenceSource for &PathBuf {
    fn into_structure(self) -> Result<Structure> {
        read_reference(self)
    }
}
impl ReferenceSource for Structure {
    fn into_structure(self) -> Result<Structure> {
        Ok(self.without_hydrogens())
    }
}
impl ReferenceSource for &Structure {
    fn into_structure(self) -> Result<Structure> {
        Ok(self.without_hydrogens())
    }
}

/// Which map the reference is fitted into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FitTarget {
    /// The voxel-wise mean of the ensemble (default).
    MeanMap,
    /// Map `k` of the ensemble.
    Map(usize),
    /// Do not move the reference: it is already docked in the maps' frame.
    AssumeAligned,
}

/// Settings of [`Ensemble::align_with`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlignConfig {
    /// Target of the rigid fit.
    pub target: FitTarget,
    /// Starting orientations of the rigid fit.
    pub n_starts: usize,
    /// Largest starting rotation (degrees).
    pub max_angle_deg: f64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig { target: FitTarget::MeanMap, n_starts: 24, max_angle_deg: 30.0 }
    }
}

/// The maps plus the reference fitted into them: what stage 1 trains on.
#[derive(Clone, Debug)]
pub struct AlignedEnsemble {
    pub(crate) ensemble: Ensemble,
    pub(crate) reference: Arc<Structure>,
    pub(crate) fit: Option<RigidFit>,
    pub(crate) blur: BlurEstimate,
    pub(crate) resolution: f64,
    pub(crate) resolution_estimated: bool,
    pub(crate) reference_cc: Vec<MapModelCc>,
    pub(crate) truths: Option<Arc<Vec<Structure>>>,
}

impl Ensemble {
    /// Fit `reference` (a path or a [`Structure`]) into the mean map and estimate the forward
    /// model's width. Hydrogens and waters are dropped; pLDDT in the B column is reset.
    pub fn align(self, reference: impl ReferenceSource) -> Result<AlignedEnsemble> {
        self.align_with(reference, &AlignConfig::default())
    }

    /// [`Ensemble::align`] with explicit settings.
    pub fn align_with(self, reference: impl ReferenceSource, cfg: &AlignConfig) -> Result<AlignedEnsemble> {
        let mut reference = reference.into_structure()?;
        reference.backbone()?; // a clear error for structures without N/CA/C/O
        let voxel = self.grid.voxel.iter().cloned().fold(0.0, f64::max);
        let nominal = self.resolution.unwrap_or((2.0 * voxel).max(3.0));
        let target = match cfg.target {
            FitTarget::Map(k) => self.map(k)?.clone(),
            _ => self.mean_map(),
        };
        let mut report = Vec::new();
        let (input, input_centre) = (reference.coords(), reference.centroid());
        let fit = if cfg.target == FitTarget::AssumeAligned {
            report.push("reference taken as docked (no rigid fit)".to_string());
            None
        } else {
            let opts =
                AlignOptions { n_starts: cfg.n_starts, max_angle_deg: cfg.max_angle_deg, ..AlignOptions::new(nominal) };
            let first = fit_rigid(&target, &reference, &opts)?;
            reference = first.apply(&reference);
            Some(first)
        };
        // the width is a property of single maps: the mean of several states is blurred by their
        // differences, so estimate it on the map the fitted reference matches best
        let first_cc = reference_ccs(&self, &reference, nominal)?;
        let best_map =
            (0..first_cc.len()).max_by(|&a, &b| first_cc[a].cc_mask.total_cmp(&first_cc[b].cc_mask)).unwrap_or(0);
        let blur = estimate_blur(&self.maps[best_map], &reference, nominal)?;
        report.push(format!("width estimated on {} (best reference fit)", self.maps[best_map].name()));
        // the mean of several states pulls the reference between them: finish the rigid fit on the
        // single map it matches best (one start, the pose found so far)
        let target = match cfg.target {
            FitTarget::MeanMap => self.maps[best_map].as_ref().clone(),
            _ => target,
        };
        // refine the pose once with the right width
        let fit = match fit {
            Some(first) => {
                let opts = AlignOptions::new(nominal).with_b_extra(blur.b_extra).with_starts(1);
                let second = fit_rigid(&target, &reference, &opts)?;
                reference = second.apply(&reference);
                // the two fits as one: rotation, shift of the centre and RMSD from the input
                let transform = second.transform.compose(&first.transform);
                let total = RigidFit {
                    transform,
                    cc_before: first.cc_before,
                    cc_after: second.cc_after,
                    rotation_deg: transform.angle_deg(),
                    shift: distance(transform.apply(input_centre), input_centre),
                    rmsd_moved: rmsd(&input, &reference.coords()),
                };
                report.push(format!("{total}"));
                Some(total)
            }
            None => None,
        };
        let (resolution, estimated) = match self.resolution {
            Some(r) => (r, false),
            None => ((blur.effective_resolution * 10.0).round() / 10.0, true),
        };
        report.push(format!("forward-model width: {blur}"));
        if estimated {
            report.push(format!("resolution not given: using the effective resolution {resolution:.1} A"));
        }
        let reference_cc = reference_ccs(&self, &reference, resolution)?;
        let mut ensemble = self;
        ensemble.report.extend(report);
        Ok(AlignedEnsemble {
            ensemble,
            reference: Arc::new(reference),
            fit,
            blur,
            resolution,
            resolution_estimated: estimated,
            reference_cc,
            truths: None,
        })
    }
}

/// Phenix CCs of one model against every map (one model map and mask for all maps).
pub(crate) fn reference_ccs(ens: &Ensemble, model: &Structure, resolution: f64) -> Result<Vec<MapModelCc>> {
    let d_min = effective_d_min(&ens.grid, resolution);
    let mm = model_map(model, &ens.grid, d_min);
    let mask = envelope_mask(model, &ens.grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
    ens.maps.iter().map(|m| ccs_from_maps(m, &mm, &mask, d_min)).collect()
}

impl AlignedEnsemble {
    /// The maps.
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }

    /// The reference, fitted into the maps (no hydrogens).
    pub fn reference(&self) -> &Structure {
        &self.reference
    }

    /// The rigid fit applied to the reference (`None` when taken as docked).
    pub fn rigid_fit(&self) -> Option<&RigidFit> {
        self.fit.as_ref()
    }

    /// The forward-model width matched to the maps.
    pub fn blur(&self) -> &BlurEstimate {
        &self.blur
    }

    /// Resolution used for metrics (A): given, or estimated at alignment.
    pub fn resolution(&self) -> f64 {
        self.resolution
    }

    /// Whether [`AlignedEnsemble::resolution`] was estimated.
    pub fn resolution_estimated(&self) -> bool {
        self.resolution_estimated
    }

    /// Phenix CCs of the (unchanged) reference against each map: the baseline any model must beat.
    pub fn reference_cc(&self) -> &[MapModelCc] {
        &self.reference_cc
    }

    /// Attach known true models (one per map, same atoms as the reference) for benchmarks and
    /// teaching: training then reports the C-alpha RMSD of each map's model to its truth.
    pub fn with_truths(mut self, truths: Vec<Structure>) -> Result<AlignedEnsemble> {
        if truths.len() != self.ensemble.len() {
            return Err(crate::Error::invalid(format!("{} truths for {} maps", truths.len(), self.ensemble.len())));
        }
        let n = self.reference.ca_indices().len();
        for (k, t) in truths.iter().enumerate() {
            if t.ca_indices().len() != n {
                return Err(crate::Error::invalid(format!(
                    "truth {k} has {} C-alpha atoms, the reference {n}",
                    t.ca_indices().len()
                )));
            }
        }
        self.truths = Some(Arc::new(truths));
        Ok(self)
    }

    /// The attached true models, if any.
    pub fn truths(&self) -> Option<&[Structure]> {
        self.truths.as_deref().map(|v| v.as_slice())
    }

    /// What loading and alignment did.
    pub fn report(&self) -> &[String] {
        &self.ensemble.report
    }
}

impl std::fmt::Display for AlignedEnsemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ccs: Vec<String> = self.reference_cc.iter().map(|c| format!("{:.2}", c.cc_mask)).collect();
        write!(
            f,
            "<AlignedEnsemble {} maps {}, {} atoms, {:.1} A{}, reference CC_mask [{}]>",
            self.ensemble.len(),
            self.ensemble.grid.describe(),
            self.reference.atoms.len(),
            self.resolution,
            if self.resolution_estimated { " (estimated)" } else { "" },
            ccs.join(", ")
        )
    }
}
