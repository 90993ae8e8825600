//! Stage 1 output: the trained VAE, one fitted model per map, latents and diagnostics.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::AlignedEnsemble;
use crate::density::Grid;
use crate::device::{self, B};
use crate::metrics::cc::{MapModelCc, fit_global_b};
use crate::model::Vae;
use crate::structure::Structure;
use crate::structure::edit::match_ca;
use crate::structure::geometry::rmsd;
use crate::train::VaeConfig;
use crate::train::vae::{EpochLog, TrainData, default_net_voxel, encode_decode, inference_model, train};
use crate::{Error, Result};

/// What a run directory records about its data, so that the run can be reloaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Map files, in training order.
    pub maps: Vec<PathBuf>,
    /// Resolution used (A).
    pub resolution: f64,
    /// Extra B of the forward model (A^2).
    pub b_extra: f64,
    /// The network's grid.
    pub net_grid: Grid,
    /// Number of reference atoms.
    pub n_atoms: usize,
    /// Latent grid shape `[c_z, d, h, w]`.
    pub latent_shape: [usize; 4],
    /// The stage-1 configuration.
    pub config: VaeConfig,
}

/// The result of stage 1.
#[derive(Clone)]
pub struct VaeFit {
    pub(crate) aligned: AlignedEnsemble,
    pub(crate) config: VaeConfig,
    pub(crate) model: Vae<B>,
    pub(crate) net_grid: Grid,
    pub(crate) points: Tensor<B, 2>,
    pub(crate) coords: Tensor<B, 2>,
    pub(crate) x_ref: Tensor<B, 2>,
    pub(crate) latents: Vec<Vec<f32>>,
    pub(crate) latent_shape: [usize; 4],
    pub(crate) fitted: Vec<Structure>,
    pub(crate) cc: Vec<MapModelCc>,
    pub(crate) history: Vec<EpochLog>,
    pub(crate) stopped: String,
    pub(crate) run_dir: Option<PathBuf>,
}

impl std::fmt::Debug for VaeFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl AlignedEnsemble {
    /// Stage 1: train the VAE jointly on every map and fit one model per map.
    pub fn fit_vae(self, cfg: VaeConfig) -> Result<VaeFit> {
        cfg.validate()?;
        let voxel = self.ensemble.grid.voxel.iter().cloned().fold(0.0, f64::max);
        let net_voxel = cfg.net_voxel.unwrap_or(default_net_voxel(voxel, self.resolution));
        if let Some(dir) = &cfg.run_dir {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut data = TrainData::new(
            &self.ensemble.maps,
            self.reference.clone(),
            self.resolution,
            self.blur.b_extra,
            net_voxel,
            cfg.net.input_channels,
        )?;
        if let Some(truths) = &self.truths {
            let idx = self.reference.ca_indices();
            let ca: Vec<Vec<[f64; 3]>> =
                truths.iter().map(|t| t.ca_indices().iter().map(|&i| t.atoms[i].pos).collect()).collect();
            data.truth_ca = Some((idx, ca));
        }
        if cfg.log_every > 0 {
            println!(
                "stage 1: {} maps, {} atoms, network grid {}, device {}",
                self.ensemble.len(),
                self.reference.atoms.len(),
                data.net_grid.describe(),
                device::device_name()
            );
        }
        let outcome = train(&data, &cfg)?;
        let model = inference_model(&outcome.model);
        let fit = VaeFit::assemble(self, cfg, model, &data, outcome.history, outcome.stopped)?;
        if let Some(dir) = fit.run_dir.clone() {
            fit.write_run(&dir)?;
        }
        Ok(fit)
    }
}

impl VaeFit {
    fn assemble(
        aligned: AlignedEnsemble,
        config: VaeConfig,
        model: Vae<B>,
        data: &TrainData,
        history: Vec<EpochLog>,
        stopped: String,
    ) -> Result<VaeFit> {
        let dec = encode_decode(&model, data);
        let mut fitted = Vec::new();
        let mut cc = Vec::new();
        for (k, c) in dec.coords.iter().enumerate() {
            let mut s = aligned.reference.with_coords_f32(c)?;
            let (b, ccs) = fit_global_b(&aligned.ensemble.maps[k], &s, aligned.resolution)?;
            s.set_b((b * 10.0).round() / 10.0);
            s.source = None;
            fitted.push(s);
            cc.push(ccs);
        }
        Ok(VaeFit {
            run_dir: config.run_dir.clone(),
            aligned,
            config,
            model,
            net_grid: data.net_grid.clone(),
            points: data.points.clone().inner(),
            coords: data.coords.clone().inner(),
            x_ref: data.x_ref.clone().inner(),
            latents: dec.latents,
            latent_shape: dec.latent_shape,
            fitted,
            cc,
            history,
            stopped,
        })
    }

    /// The fitted model of map `k` (`X_hat`, B refined against that map).
    pub fn model(&self, k: usize) -> Result<&Structure> {
        self.fitted.get(k).ok_or_else(|| Error::invalid(format!("no map {k}: the fit has {} maps", self.fitted.len())))
    }

    /// All fitted models, one per map.
    pub fn models(&self) -> &[Structure] {
        &self.fitted
    }

    /// Phenix CCs of each fitted model against its own map.
    pub fn cc(&self) -> &[MapModelCc] {
        &self.cc
    }

    /// Mean latent of each map, flattened (`c_z * d * h * w` values).
    pub fn latents(&self) -> &[Vec<f32>] {
        &self.latents
    }

    /// Latent grid shape `[c_z, d, h, w]`.
    pub fn latent_shape(&self) -> [usize; 4] {
        self.latent_shape
    }

    /// Training history, one entry per epoch.
    pub fn history(&self) -> &[EpochLog] {
        &self.history
    }

    /// Why training stopped (`"epochs"` or `"time cap"`).
    pub fn stopped(&self) -> &str {
        &self.stopped
    }

    /// The configuration used.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// The aligned ensemble this fit was trained on.
    pub fn aligned(&self) -> &AlignedEnsemble {
        &self.aligned
    }

    /// The trained network (inference copy).
    pub fn network(&self) -> &Vae<B> {
        &self.model
    }

    /// Run directory, if the fit has one.
    pub fn run_dir(&self) -> Option<&Path> {
        self.run_dir.as_deref()
    }

    /// Decode flattened latents (each `c_z * d * h * w` values) into deformed references.
    pub fn decode(&self, latents: &[Vec<f32>]) -> Result<Vec<Structure>> {
        self.decode_onto(latents, &self.aligned.reference, &self.points, &self.coords, &self.x_ref)
    }

    pub(crate) fn decode_onto(
        &self,
        latents: &[Vec<f32>],
        reference: &Structure,
        points: &Tensor<B, 2>,
        coords: &Tensor<B, 2>,
        x_ref: &Tensor<B, 2>,
    ) -> Result<Vec<Structure>> {
        let [c, d, h, w] = self.latent_shape;
        let len = c * d * h * w;
        if let Some(bad) = latents.iter().position(|l| l.len() != len) {
            return Err(Error::invalid(format!("latent {bad} has {} values, expected {len}", latents[bad].len())));
        }
        if latents.is_empty() {
            return Ok(Vec::new());
        }
        let flat: Vec<f32> = latents.iter().flatten().copied().collect();
        let z = Tensor::<B, 5>::from_data(TensorData::new(flat, [latents.len(), c, d, h, w]), &device::device());
        let out = crate::train::vae::decode_latent(&self.model, z, points, coords, x_ref);
        out.iter().map(|c| reference.with_coords_f32(c)).collect()
    }

    /// C-alpha RMSD (A, no superposition: the maps fix the frame) of each fitted model to a
    /// structure of the same protein (paired by residue, see [`ca_rmsd`]), e.g. the known truths of a
    /// benchmark.
    pub fn ca_rmsd_to(&self, truths: &[Structure]) -> Result<Vec<f64>> {
        if truths.len() != self.fitted.len() {
            return Err(Error::invalid(format!("{} truths for {} fitted models", truths.len(), self.fitted.len())));
        }
        self.fitted.iter().zip(truths).map(|(m, t)| ca_rmsd(m, t)).collect()
    }

    /// Write everything a run directory holds (config, models, latents, metrics, history).
    pub fn write_run(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let info = RunInfo {
            maps: self.aligned.ensemble.entries.iter().map(|e| e.path.clone()).collect(),
            resolution: self.aligned.resolution,
            b_extra: self.aligned.blur.b_extra,
            net_grid: self.net_grid.clone(),
            n_atoms: self.aligned.reference.atoms.len(),
            latent_shape: self.latent_shape,
            config: self.config.clone(),
        };
        write_json(&dir.join("config.json"), &info)?;
        self.aligned.reference.write(dir.join("reference_aligned.pdb"), true)?;
        crate::train::vae::save_model(&dir.join("vae"), &self.model)?;
        for (k, s) in self.fitted.iter().enumerate() {
            s.write(dir.join(format!("model_{k}.pdb")), true)?;
            s.write(dir.join(format!("model_{k}.cif")), true)?;
        }
        write_json(&dir.join("latents.json"), &self.latents)?;
        write_json(&dir.join("history.json"), &self.history)?;
        let metrics: Vec<serde_json::Value> = self
            .cc
            .iter()
            .enumerate()
            .map(|(k, c)| {
                serde_json::json!({
                    "map": self.aligned.ensemble.entries[k].path,
                    "model": format!("model_{k}.pdb"),
                    "b_factor": self.fitted[k].atoms.first().map(|a| a.b),
                    "cc": c,
                    "reference_cc_mask": self.aligned.reference_cc[k].cc_mask,
                })
            })
            .collect();
        write_json(
            &dir.join("metrics.json"),
            &serde_json::json!({ "maps": metrics, "final_loss": self.history.last().map(|h| &h.terms), "stopped": self.stopped }),
        )
    }

    /// Reload a run directory written by [`AlignedEnsemble::fit_vae`] (maps are read again from the
    /// paths in `config.json`).
    pub fn load(dir: impl AsRef<Path>) -> Result<VaeFit> {
        let dir = dir.as_ref();
        let info: RunInfo = read_json(&dir.join("config.json"))?;
        let ens =
            super::Ensemble::load_with(&info.maps, &super::LoadOptions::default().with_resolution(info.resolution))?;
        let reference = Structure::read(dir.join("reference_aligned.pdb"))?;
        let aligned = ens.align_with(
            reference,
            &super::AlignConfig { target: super::FitTarget::AssumeAligned, ..Default::default() },
        )?;
        let model = crate::train::vae::load_model(&dir.join("vae.mpk"), &info.config.net)?;
        let data = TrainData::new(
            &aligned.ensemble.maps,
            aligned.reference.clone(),
            info.resolution,
            info.b_extra,
            info.net_grid.voxel[0],
            info.config.net.input_channels,
        )?;
        let history: Vec<EpochLog> = read_json(&dir.join("history.json")).unwrap_or_default();
        let mut cfg = info.config.clone();
        cfg.run_dir = Some(dir.to_path_buf());
        let mut aligned = aligned;
        aligned.blur.b_extra = info.b_extra;
        VaeFit::assemble(aligned, cfg, inference_model(&model), &data, history, "loaded".into())
    }
}

/// C-alpha RMSD (A, no superposition: the maps fix the frame) between two models of one protein.
///
/// C-alpha atoms are paired by chain, residue number and insertion code, so a model of a mutant or
/// of a structure with deleted loops (a transfer sample) is compared with the truth on the residues
/// they share. When fewer than half of the smaller structure's C-alpha atoms find a partner (e.g. a
/// file renumbered or with renamed chains) and both have the same number of C-alpha atoms, they
/// are paired in order instead. Otherwise, or with fewer than 3 pairs, it is an error.
pub fn ca_rmsd(a: &Structure, b: &Structure) -> Result<f64> {
    let (ia, ib) = (a.ca_indices(), b.ca_indices());
    let (na, nb) = (ia.len(), ib.len());
    let mut pairs = match_ca(a, b);
    if 2 * pairs.len() < na.min(nb) {
        if na != nb {
            return Err(Error::invalid(format!(
                "C-alpha RMSD: only {} of {na} / {nb} C-alpha atoms share chain and residue number",
                pairs.len()
            )));
        }
        pairs = ia.into_iter().zip(ib).collect();
    }
    if pairs.len() < 3 {
        return Err(Error::invalid(format!("C-alpha RMSD: {} C-alpha pairs (need 3)", pairs.len())));
    }
    let pa: Vec<[f64; 3]> = pairs.iter().map(|&(i, _)| a.atoms[i].pos).collect();
    let pb: Vec<[f64; 3]> = pairs.iter().map(|&(_, j)| b.atoms[j].pos).collect();
    Ok(rmsd(&pa, &pb))
}

pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::invalid(e.to_string()))?;
    std::fs::write(path, s).map_err(|e| Error::io(path, e))
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let s = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&s).map_err(|e| Error::file(path, "json", e.to_string()))
}

impl std::fmt::Display for VaeFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cc: Vec<String> = self.cc.iter().map(|c| format!("{:.2}", c.cc_mask)).collect();
        write!(
            f,
            "<VaeFit {} maps, {} epochs ({}), CC_mask [{}], latent {:?}>",
            self.fitted.len(),
            self.history.len(),
            self.stopped,
            cc.join(", "),
            self.latent_shape
        )
    }
}
