//! Stage 2: latent flow matching on a trained VAE, sampling, interpolation and transfer.

use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};

use super::ReferenceSource;
use super::samples::Samples;
use super::vae_fit::{VaeFit, read_json, write_json};
use crate::align::{AlignOptions, fit_rigid};
use crate::device::{self, B};
use crate::model::FlowNet;
use crate::structure::Structure;
use crate::structure::edit::match_ca;
use crate::structure::geometry::kabsch;
use crate::train::flow::{FlowConfig, LatentNorm, sample_latents, train_flow};
use crate::train::vae::atom_inputs;
use crate::{Error, Result};

/// The result of stage 2: a flow over the VAE's latent space.
#[derive(Clone)]
pub struct FlowFit {
    pub(crate) vae: VaeFit,
    pub(crate) config: FlowConfig,
    pub(crate) model: FlowNet<B>,
    pub(crate) norm: LatentNorm,
    pub(crate) losses: Vec<f64>,
    pub(crate) n_train: usize,
    pub(crate) n_sampled: usize,
}

impl std::fmt::Debug for FlowFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for FlowFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tail = &self.losses[self.losses.len().saturating_sub(100)..];
        write!(
            f,
            "<FlowFit {} training latents ({} maps + {} interpolated), {} steps, final loss {:.4}>",
            self.n_train,
            self.vae.latents.len(),
            self.n_train - self.vae.latents.len(),
            self.losses.len(),
            tail.iter().sum::<f64>() / tail.len().max(1) as f64
        )
    }
}

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

struct AtomTensors {
    reference: Structure,
    points: Tensor<B, 2>,
    coords: Tensor<B, 2>,
    x_ref: Tensor<B, 2>,
}

impl VaeFit {
    /// Stage 2: freeze the VAE and train a flow-matching model on the maps' mean latents.
    /// When the VAE has a run directory, the flow is saved in its `flow/` subfolder.
    pub fn train_flow(self, cfg: FlowConfig) -> Result<FlowFit> {
        if cfg.log_every > 0 {
            println!(
                "stage 2: flow matching on {} latents of {} values",
                self.latents.len(),
                self.latents.first().map_or(0, |l| l.len())
            );
        }
        let out = train_flow(&self.latents, &cfg)?;
        let fit = FlowFit {
            vae: self,
            config: cfg,
            model: out.model,
            norm: out.norm,
            losses: out.losses,
            n_train: out.n_train,
            n_sampled: 0,
        };
        if let Some(dir) = fit.vae.run_dir.clone() {
            fit.save(&dir.join("flow"))?;
        }
        Ok(fit)
    }

    /// Decode `steps` latents evenly spaced between the codes of maps `a` and `b` (both included;
    /// paper appendix A.2).
    pub fn interpolate(&self, a: usize, b: usize, steps: usize) -> Result<Samples> {
        let m = self.latents.len();
        if a >= m || b >= m {
            return Err(Error::invalid(format!("interpolate: map indices {a}, {b} out of range ({m} maps)")));
        }
        if steps < 2 {
            return Err(Error::invalid("interpolate: at least 2 steps"));
        }
        let (za, zb) = (&self.latents[a], &self.latents[b]);
        let lat: Vec<Vec<f32>> = (0..steps)
            .map(|i| {
                let t = i as f32 / (steps - 1) as f32;
                za.iter().zip(zb).map(|(x, y)| (1.0 - t) * x + t * y).collect()
            })
            .collect();
        let models = self.decode(&lat)?;
        Ok(Samples {
            models,
            latents: lat,
            reference: self.aligned.reference.clone(),
            resolution: self.aligned.resolution,
            kind: format!("interpolation {a} -> {b}"),
        })
    }

    fn atom_tensors(&self, s: &Structure) -> AtomTensors {
        let dev = device::device();
        let (x, p, c) = atom_inputs(&self.net_grid, s);
        let n = s.atoms.len();
        let t = |v: Vec<f32>| Tensor::<B, 2>::from_data(TensorData::new(v, [n, 3]), &dev);
        AtomTensors { reference: s.clone(), points: t(p), coords: t(c), x_ref: t(x) }
    }
}

impl FlowFit {
    /// Draw `n` conformations: latents from the flow (50 Euler steps by default), decoded and applied
    /// to the reference. Repeatable: the k-th call of a fit uses seed `config.seed + k`.
    pub fn sample(&mut self, n: usize) -> Result<Samples> {
        let lat = self.sample_latents(n);
        let models = self.vae.decode(&lat)?;
        Ok(Samples {
            models,
            latents: lat,
            reference: self.vae.aligned.reference.clone(),
            resolution: self.vae.aligned.resolution,
            kind: "flow samples".into(),
        })
    }

    /// Draw `n` latents from the flow.
    pub fn sample_latents(&mut self, n: usize) -> Vec<Vec<f32>> {
        let seed = self.config.seed.wrapping_add(1 + self.n_sampled as u64);
        self.n_sampled += 1;
        sample_latents(&self.model, &self.norm, n, self.config.euler_steps, seed)
    }

    /// Transfer: decode sampled latents and query the feature grids at the atoms of a different,
    /// related structure (e.g. a homologue or a mutant). The structure is placed in the frame of the
    /// aligned reference: superposed on it by the C-alpha atoms they share (same chain, residue
    /// number and name) when at least half of its C-alpha atoms have a partner, otherwise fitted
    /// rigidly into the ensemble's mean map (then it only needs to be roughly placed).
    pub fn sample_with_reference(&mut self, n: usize, other: impl ReferenceSource) -> Result<Samples> {
        let other = other.into_structure()?;
        other.backbone()?;
        let placed = self.place_related(&other)?;
        let at = self.vae.atom_tensors(&placed);
        let lat = self.sample_latents(n);
        let models = self.vae.decode_onto(&lat, &at.reference, &at.points, &at.coords, &at.x_ref)?;
        Ok(Samples {
            models,
            latents: lat,
            reference: Arc::new(placed),
            resolution: self.vae.aligned.resolution,
            kind: "transfer samples".into(),
        })
    }

    /// `other` in the frame of the aligned reference (see [`FlowFit::sample_with_reference`]).
    fn place_related(&self, other: &Structure) -> Result<Structure> {
        let reference = &self.vae.aligned.reference;
        let shared = match_ca(other, reference);
        if shared.len() >= 3 && 2 * shared.len() >= other.ca_indices().len() {
            let mobile: Vec<[f64; 3]> = shared.iter().map(|&(i, _)| other.atoms[i].pos).collect();
            let target: Vec<[f64; 3]> = shared.iter().map(|&(_, j)| reference.atoms[j].pos).collect();
            let t = kabsch(&mobile, &target);
            return other.with_coords(&other.atoms.iter().map(|a| t.apply(a.pos)).collect::<Vec<_>>());
        }
        let resolution = self.vae.aligned.resolution;
        let fit = fit_rigid(
            &self.vae.aligned.ensemble.mean_map(),
            other,
            &AlignOptions::new(resolution).with_b_extra(self.vae.aligned.blur.b_extra).with_starts(8),
        )?;
        Ok(fit.apply(other))
    }

    /// Save the flow (network, configuration, latent normalisation, losses) into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        self.model
            .clone()
            .save_file(dir.join("flow"), &Rec::new())
            .map_err(|e| Error::file(dir, "flow record", e.to_string()))?;
        write_json(&dir.join("flow_config.json"), &self.config)?;
        write_json(&dir.join("latent_norm.json"), &self.norm)?;
        write_json(&dir.join("losses.json"), &self.losses)?;
        write_json(&dir.join("n_train.json"), &self.n_train)
    }

    /// Reload a run directory holding a stage-1 fit and its `flow/` subfolder.
    pub fn load(run_dir: impl AsRef<Path>) -> Result<FlowFit> {
        let run_dir = run_dir.as_ref();
        let vae = VaeFit::load(run_dir)?;
        let dir = run_dir.join("flow");
        let config: FlowConfig = read_json(&dir.join("flow_config.json"))?;
        let norm: LatentNorm = read_json(&dir.join("latent_norm.json"))?;
        let losses: Vec<f64> = read_json(&dir.join("losses.json")).unwrap_or_default();
        let n_train: usize = read_json(&dir.join("n_train.json")).unwrap_or(vae.latents.len());
        let dev = device::device();
        let model = FlowNet::<B>::new(&config.net, norm.mean.len(), &dev)
            .load_file(dir.join("flow.mpk"), &Rec::new(), &dev)
            .map_err(|e| Error::file(dir.join("flow.mpk"), "flow record", e.to_string()))?;
        Ok(FlowFit { vae, config, model, norm, losses, n_train, n_sampled: 0 })
    }

    /// Flow-matching loss of every step.
    pub fn losses(&self) -> &[f64] {
        &self.losses
    }

    /// The stage-1 fit underneath.
    pub fn vae(&self) -> &VaeFit {
        &self.vae
    }

    /// The configuration.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Latent normalisation used by the flow.
    pub fn latent_norm(&self) -> &LatentNorm {
        &self.norm
    }
}
