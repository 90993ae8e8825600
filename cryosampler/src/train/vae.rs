//! The stage-1 training loop: Adam on `L_recon + lambda_KL KL + lambda_B L_backbone + lambda_M
//! L_MolProb`, jointly over every map, with a coarse-to-fine width schedule, progress lines,
//! checkpoints and a NaN guard.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use serde::{Deserialize, Serialize};

use super::config::VaeConfig;
use crate::density::{Grid, Map, RenderOptions, RenderSpec, SplatAtoms, render};
use crate::device::{self, AB, B};
use crate::loss::molprobity::MolprobityLoss;
use crate::loss::{BackboneWindows, LossTerms, backbone, kl, recon};
use crate::model::Vae;
use crate::structure::Structure;
use crate::{Error, Result};

/// One line of the training history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Loss terms (means over the maps).
    pub terms: LossTerms,
    /// NCC per map (training forward pass).
    pub ncc: Vec<f64>,
    /// Extra blur of the coarse-to-fine schedule (A^2).
    pub coarse_b: f64,
    /// Learning rate.
    pub lr: f64,
    /// Wall time since the start of training (s).
    pub seconds: f64,
    /// C-alpha RMSD (A) of each map's model to its known truth, when truths are attached (logged
    /// epochs only).
    #[serde(default)]
    pub ca_rmsd: Option<Vec<f64>>,
    /// Largest global gradient norm of the epoch's steps, before clipping.
    #[serde(default)]
    pub grad_norm: f64,
    /// Steps of the epoch whose gradient was clipped ([`VaeConfig::grad_clip`]).
    #[serde(default)]
    pub clipped: usize,
}

/// Sum of squares of every parameter gradient of a module (the global norm squared).
struct GradNormSq<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor<AB> for GradNormSq<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        if let Some(g) = self.grads.get::<B, D>(param.id) {
            self.sum += g.square().sum().into_scalar().elem::<f64>();
        }
    }
}

/// Multiply every parameter gradient of a module by `factor`.
struct GradScale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor<AB> for GradScale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        if let Some(g) = self.grads.remove::<B, D>(param.id) {
            self.grads.register::<B, D>(param.id, g * self.factor);
        }
    }
}

/// Adaptive clipping of the global gradient norm: a step whose norm exceeds `factor` times the
/// median of the last [`GradClipper::WINDOW`] steps' norms is scaled down to that bound. Adam
/// divides by a running root-mean-square of past gradients, so a sudden gradient 100 x the usual
/// size (a clash pair entering the list, a blur level changing) moves every weight by many
/// learning rates at once; on the AdK benchmark one such step silenced the deformation network
/// for good (every map decoded to the reference). The idea is AutoClip's (Seetharaman et al.
/// 2020, clip at a percentile of the norm history); this is written here because burn 0.21's
/// clipping is per tensor with a fixed threshold.
struct GradClipper {
    factor: Option<f64>,
    history: std::collections::VecDeque<f64>,
}

impl GradClipper {
    const WINDOW: usize = 64;
    const WARMUP: usize = 8;

    fn new(factor: Option<f64>) -> GradClipper {
        GradClipper { factor: factor.filter(|f| *f > 0.0), history: Default::default() }
    }

    /// Measure (and clip) `grads` of `model`: returns the raw norm and whether it was clipped.
    fn apply(&mut self, model: &Vae<AB>, grads: &mut GradientsParams) -> (f64, bool) {
        let mut v = GradNormSq { grads, sum: 0.0 };
        model.visit(&mut v);
        let norm = v.sum.sqrt();
        let mut clipped = false;
        if let Some(f) = self.factor
            && self.history.len() >= Self::WARMUP
            && norm.is_finite()
        {
            let mut h: Vec<f64> = self.history.iter().copied().collect();
            h.sort_by(f64::total_cmp);
            let bound = f * h[h.len() / 2];
            if norm > bound && bound > 0.0 {
                model.visit(&mut GradScale { grads, factor: bound / norm });
                clipped = true;
            }
        }
        if norm.is_finite() {
            self.history.push_back(norm);
            if self.history.len() > Self::WINDOW {
                self.history.pop_front();
            }
        }
        (norm, clipped)
    }
}

/// Everything the trainer needs about the data, prepared once.
pub struct TrainData {
    /// Encoder inputs `[m, 1, D, H, W]` on the network grid.
    pub inputs: Tensor<AB, 5>,
    /// Target maps (normalised) on the map grid, host copies for re-blurring.
    pub targets: Vec<Map>,
    /// The network grid.
    pub net_grid: Grid,
    /// Reference coordinates `[n, 3]` (A).
    pub x_ref: Tensor<AB, 2>,
    /// Reference atoms in voxel coordinates of the network grid `[n, 3]`.
    pub points: Tensor<AB, 2>,
    /// Reference coordinates normalised to the box `[n, 3]`.
    pub coords: Tensor<AB, 2>,
    /// The reference structure.
    pub reference: Arc<Structure>,
    /// Resolution (A) and extra B of the forward model.
    pub resolution: f64,
    /// Extra B (A^2) matched to the maps.
    pub b_extra: f64,
    /// C-alpha indices and true C-alpha coordinates per map, for monitoring benchmarks.
    pub truth_ca: Option<TruthCa>,
}

impl TrainData {
    /// Prepare maps and reference for training (network grid with voxel `net_voxel`, encoder input
    /// with `input_channels` channels: the map, and for 2 its difference from the mean map).
    pub fn new(
        maps: &[Arc<Map>],
        reference: Arc<Structure>,
        resolution: f64,
        b_extra: f64,
        net_voxel: f64,
        input_channels: usize,
    ) -> Result<TrainData> {
        let dev = device::device();
        let grid = &maps[0].grid;
        let net_grid = grid.with_voxel(net_voxel).padded_to_multiple(8);
        let m = maps.len();
        let [d, h, w] = net_grid.shape;
        let on_net: Vec<Vec<f32>> = maps
            .iter()
            .map(|map| {
                let src =
                    if net_voxel > grid.voxel[0] * 1.01 { map.lowpass(2.0 * net_voxel) } else { map.as_ref().clone() };
                src.resample(&net_grid).normalised().data
            })
            .collect();
        let nv = d * h * w;
        let mean: Vec<f32> = (0..nv).map(|i| on_net.iter().map(|v| v[i]).sum::<f32>() / m as f32).collect();
        let c_in = input_channels.clamp(1, 2);
        let mut inp = Vec::with_capacity(m * c_in * nv);
        for v in &on_net {
            inp.extend_from_slice(v);
            if c_in == 2 {
                inp.extend(v.iter().zip(&mean).map(|(a, b)| a - b));
            }
        }
        let inputs = Tensor::<AB, 5>::from_data(TensorData::new(inp, [m, c_in, d, h, w]), &dev);
        let n = reference.atoms.len();
        let (xr, pts, nrm) = atom_inputs(&net_grid, &reference);
        let outside = reference.atoms.iter().filter(|a| {
            let f = net_grid.to_voxel(a.pos);
            let s = net_grid.nxyz();
            (0..3).any(|k| f[k] < 0.0 || f[k] > (s[k] - 1) as f64)
        });
        let outside = outside.count();
        if outside * 10 > n {
            return Err(Error::invalid(format!(
                "{outside} of {n} reference atoms lie outside the map box {}: is the reference aligned to the maps?",
                grid.describe()
            )));
        }
        Ok(TrainData {
            inputs,
            targets: maps.iter().map(|m| m.as_ref().clone()).collect(),
            net_grid,
            x_ref: Tensor::from_data(TensorData::new(xr, [n, 3]), &dev),
            points: Tensor::from_data(TensorData::new(pts, [n, 3]), &dev),
            coords: Tensor::from_data(TensorData::new(nrm, [n, 3]), &dev),
            reference,
            resolution,
            b_extra,
            truth_ca: None,
        })
    }

    fn spec(&self, coarse_b: f64) -> Arc<RenderSpec> {
        let opts = RenderOptions::at(self.resolution).with_b_extra(self.b_extra + coarse_b);
        Arc::new(RenderSpec {
            grid: self.targets[0].grid.clone(),
            atoms: SplatAtoms::from_structure(&self.reference, &opts),
        })
    }

    fn target_tensor(&self, coarse_b: f64) -> Tensor<AB, 4> {
        let [nz, ny, nx] = self.targets[0].grid.shape;
        let mut v = Vec::with_capacity(self.targets.len() * nz * ny * nx);
        for t in &self.targets {
            if coarse_b > 0.0 {
                v.extend(t.blur_b(coarse_b).data);
            } else {
                v.extend(t.data.iter().copied());
            }
        }
        Tensor::from_data(TensorData::new(v, [self.targets.len(), nz, ny, nx]), &device::device())
    }
}

/// Host arrays the network needs for a structure's atoms on a network grid: coordinates (A),
/// fractional voxel coordinates, and coordinates normalised to the box (`[-1, 1]` at its faces),
/// each flat `[n * 3]`.
pub fn atom_inputs(net_grid: &Grid, s: &Structure) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let centre = net_grid.centre();
    let half = net_grid.extent().map(|e| e / 2.0);
    let n = s.atoms.len();
    let (mut pts, mut nrm) = (Vec::with_capacity(n * 3), Vec::with_capacity(n * 3));
    for a in &s.atoms {
        pts.extend(net_grid.to_voxel(a.pos).map(|v| v as f32));
        nrm.extend([0, 1, 2].map(|k| ((a.pos[k] - centre[k]) / half[k]) as f32));
    }
    (s.coords_f32(), pts, nrm)
}

/// C-alpha atom indices of the reference and the true C-alpha coordinates of each map.
pub type TruthCa = (Vec<usize>, Vec<Vec<[f64; 3]>>);

/// The result of a training run.
pub struct TrainOutcome {
    /// The trained network.
    pub model: Vae<AB>,
    /// Epoch history.
    pub history: Vec<EpochLog>,
    /// Why training stopped: `"epochs"` or `"time cap"`.
    pub stopped: String,
}

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// Epochs between refreshes of the clash pair list.
const MOLPROBITY_PAIRS_EVERY: usize = 5;

fn rec_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(path, "checkpoint", e.to_string())
}

/// Write a checkpoint (model, optimiser state, history) into `dir/checkpoint`.
fn save_checkpoint<O: Optimizer<Vae<AB>, AB>>(
    dir: &Path,
    model: &Vae<AB>,
    optim: &O,
    history: &[EpochLog],
) -> Result<()> {
    let ck = dir.join("checkpoint");
    std::fs::create_dir_all(&ck).map_err(|e| Error::io(&ck, e))?;
    let rec = Rec::new();
    model.clone().save_file(ck.join("model"), &rec).map_err(|e| rec_err(&ck, e))?;
    Recorder::<AB>::record(&rec, optim.to_record(), ck.join("optim")).map_err(|e| rec_err(&ck, e))?;
    let h = serde_json::to_string(history).map_err(|e| Error::invalid(e.to_string()))?;
    std::fs::write(ck.join("history.json"), h).map_err(|e| Error::io(ck.join("history.json"), e))?;
    Ok(())
}

/// Load a network saved by a run (model record `dir/<name>.mpk`).
pub fn load_model(path: &Path, net: &crate::model::VaeNetConfig) -> Result<Vae<AB>> {
    let dev = device::device();
    Vae::<AB>::new(net, &dev).load_file(path.to_path_buf(), &Rec::new(), &dev).map_err(|e| rec_err(path, e))
}

/// Save a network (record `path` + `.mpk`; the file does not depend on the backend).
pub fn save_model<Bk: Backend>(path: &Path, model: &Vae<Bk>) -> Result<()> {
    model.clone().save_file(path.to_path_buf(), &Rec::new()).map_err(|e| rec_err(path, e))
}

/// Train (or continue training) a VAE on `data` with `cfg`.
pub fn train(data: &TrainData, cfg: &VaeConfig) -> Result<TrainOutcome> {
    cfg.validate()?;
    let dev = device::device();
    let _turn = device::training_lock();
    device::seed(cfg.seed);
    <AB as burn::tensor::backend::Backend>::seed(&dev, cfg.seed);
    let mut model = Vae::<AB>::new(&cfg.net, &dev);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init::<AB, Vae<AB>>();
    let mut history: Vec<EpochLog> = Vec::new();
    let run_dir = cfg.run_dir.clone();
    if let Some(dir) = &run_dir {
        let ck = dir.join("checkpoint");
        if ck.join("model.mpk").exists() {
            if !cfg.resume {
                return Err(Error::file(
                    dir,
                    "checkpoint",
                    "run directory already holds a checkpoint; pass resume = true to continue it or choose another directory",
                ));
            }
            model = load_model(&ck.join("model.mpk"), &cfg.net)?;
            let rec = Rec::new();
            let orec = Recorder::<AB>::load(&rec, ck.join("optim"), &dev).map_err(|e| rec_err(&ck, e))?;
            optim = optim.load_record(orec);
            let h =
                std::fs::read_to_string(ck.join("history.json")).map_err(|e| Error::io(ck.join("history.json"), e))?;
            history =
                serde_json::from_str(&h).map_err(|e| Error::file(ck.join("history.json"), "json", e.to_string()))?;
            if cfg.log_every > 0 {
                println!("resuming from epoch {} in {}", history.len(), dir.display());
            }
        }
    }
    let m = data.targets.len();
    let bw = BackboneWindows::new(&data.reference, cfg.backbone_window)?.to_tensors::<AB>(&dev);
    let mut molprobity = if cfg.structural_loss && cfg.lambda_m > 0.0 {
        Some(MolprobityLoss::new(&data.reference, &cfg.molprobity)?)
    } else {
        None
    };
    let batch = cfg.batch_size.unwrap_or(m).min(m).max(1);
    let start = Instant::now();
    let t0 = history.last().map(|h| h.seconds).unwrap_or(0.0);
    let mut cur_b = f64::NAN;
    let mut spec = data.spec(0.0);
    let mut targets = data.target_tensor(0.0);
    let mut last_good = model.clone();
    let mut stopped = "epochs".to_string();
    let first_epoch = history.len() + 1;
    let mut clipper = GradClipper::new(cfg.grad_clip);
    for epoch in first_epoch..=cfg.epochs {
        let coarse_b = cfg.coarse_b_at(epoch - 1);
        if coarse_b != cur_b {
            cur_b = coarse_b;
            spec = data.spec(coarse_b);
            targets = data.target_tensor(coarse_b);
        }
        let lr = cfg.lr_at(epoch - 1);
        let lambda_m = cfg.lambda_m_at(epoch - 1);
        let lambda_kl = cfg.lambda_kl_at(epoch - 1);
        if let Some(mp) = molprobity.as_mut()
            && (epoch - first_epoch).is_multiple_of(MOLPROBITY_PAIRS_EVERY)
        {
            // clash pairs from the current models of every map (detached, host side)
            let dec = encode_decode(&model.valid(), data);
            let flat: Vec<f32> = dec.coords.into_iter().flatten().collect();
            mp.update_pairs(&flat)?;
        }
        let mut terms = LossTerms::default();
        let mut ncc_all = vec![0.0; m];
        let (mut grad_norm, mut clipped) = (0.0f64, 0usize);
        for b0 in (0..m).step_by(batch) {
            let idx: Vec<i64> = (b0..(b0 + batch).min(m)).map(|i| i as i64).collect();
            let nb = idx.len();
            let sel = Tensor::<AB, 1, Int>::from_data(TensorData::new(idx.clone(), [nb]), &dev);
            let dist = model.encoder.forward(data.inputs.clone().select(0, sel.clone()));
            let z = if cfg.sample_latent { dist.sample() } else { dist.mean.clone() };
            let offsets = model.offsets(z, data.points.clone(), data.coords.clone()); // [nb, n, 3]
            let x = data.x_ref.clone().unsqueeze::<3>() + offsets;
            let v_hat = render(x.clone(), &spec); // [nb, nz, ny, nx]
            let l_recon = recon(v_hat, targets.clone().select(0, sel));
            let l_kl = kl(dist.mean, dist.log_var);
            let mut total = l_recon.clone().mean() + l_kl.clone().mean() * lambda_kl;
            let mut l_bb_val = 0.0;
            if cfg.structural_loss {
                let l_bb = backbone(x.clone(), &bw).mean();
                l_bb_val = l_bb.clone().into_scalar() as f64;
                total = total + l_bb * cfg.lambda_b;
            }
            let mut mp_parts: Vec<(String, f64)> = Vec::new();
            if let Some(mp) = &molprobity {
                let t = mp.forward(x.clone())?;
                mp_parts = t.means();
                total = total + t.total().mean() * lambda_m;
            }
            let recon_v: Vec<f32> = l_recon.into_data().convert::<f32>().into_vec().unwrap_or_default();
            let total_v = total.clone().into_scalar() as f64;
            let kl_v = l_kl.mean().into_scalar() as f64;
            if !total_v.is_finite() {
                let mut msg = format!(
                    "non-finite loss at epoch {epoch} (total {total_v}, recon {:?}, KL {kl_v}, backbone {l_bb_val}, molprobity {:?})",
                    recon_v, mp_parts
                );
                if let Some(dir) = &run_dir {
                    let p = dir.join("last_good");
                    save_model(&p, &last_good)?;
                    msg += &format!("; the last good model (epoch {}) is saved as {}.mpk", epoch - 1, p.display());
                } else {
                    msg += "; set a run directory to keep the last good model";
                }
                return Err(Error::Training(msg));
            }
            last_good = model.clone();
            let mut grads = GradientsParams::from_grads(total.backward(), &model);
            let (norm, clip) = clipper.apply(&model, &mut grads);
            grad_norm = grad_norm.max(norm);
            clipped += clip as usize;
            model = optim.step(lr, model, grads);
            let w = nb as f64 / m as f64;
            terms.total += w * total_v;
            terms.recon += w * recon_v.iter().map(|v| *v as f64).sum::<f64>() / nb as f64;
            terms.kl += w * kl_v;
            terms.backbone += w * l_bb_val;
            let mp_total: f64 = mp_parts.iter().map(|(_, v)| v).sum();
            terms.molprobity += w * mp_total;
            if terms.molprobity_parts.is_empty() {
                terms.molprobity_parts = mp_parts.iter().map(|(n, _)| (n.clone(), 0.0)).collect();
            }
            for (acc, (_, v)) in terms.molprobity_parts.iter_mut().zip(&mp_parts) {
                acc.1 += w * v;
            }
            for (k, i) in idx.iter().enumerate() {
                ncc_all[*i as usize] = 1.0 - recon_v[k] as f64;
            }
        }
        let logged = cfg.log_every > 0 && (epoch % cfg.log_every == 0 || epoch == first_epoch || epoch == cfg.epochs);
        let ca_rmsd = match (&data.truth_ca, logged) {
            (Some((idx, truth)), true) => Some(monitor_rmsd(&model, data, idx, truth)),
            _ => None,
        };
        let seconds = t0 + start.elapsed().as_secs_f64();
        let log = EpochLog { epoch, terms, ncc: ncc_all, coarse_b, lr, seconds, ca_rmsd, grad_norm, clipped };
        if logged {
            println!("{}", progress_line(&log, cfg.epochs));
        }
        history.push(log);
        if let Some(dir) = &run_dir
            && cfg.checkpoint_every > 0
            && epoch.is_multiple_of(cfg.checkpoint_every)
        {
            save_checkpoint(dir, &model, &optim, &history)?;
        }
        if let Some(cap) = cfg.max_seconds
            && start.elapsed().as_secs_f64() >= cap
            && epoch < cfg.epochs
        {
            stopped = "time cap".into();
            if cfg.log_every > 0 {
                println!("time cap of {cap:.0} s reached after epoch {epoch}");
            }
            break;
        }
    }
    if let Some(dir) = &run_dir {
        save_checkpoint(dir, &model, &optim, &history)?;
    }
    Ok(TrainOutcome { model, history, stopped })
}

fn monitor_rmsd(model: &Vae<AB>, data: &TrainData, idx: &[usize], truth: &[Vec<[f64; 3]>]) -> Vec<f64> {
    let dec = encode_decode(&model.valid(), data);
    dec.coords
        .iter()
        .zip(truth)
        .map(|(c, t)| {
            let p: Vec<[f64; 3]> =
                idx.iter().map(|&i| [c[3 * i] as f64, c[3 * i + 1] as f64, c[3 * i + 2] as f64]).collect();
            crate::structure::geometry::rmsd(&p, t)
        })
        .collect()
}

/// One progress line: epoch, loss terms, NCC per map, timing.
pub fn progress_line(log: &EpochLog, epochs: usize) -> String {
    let ncc: Vec<String> = log.ncc.iter().map(|v| format!("{v:.3}")).collect();
    let rmsd = log
        .ca_rmsd
        .as_ref()
        .map(|r| {
            format!("  | CA-RMSD to truth [{}]", r.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default();
    let clip = if log.clipped > 0 { format!(" ({} clipped)", log.clipped) } else { String::new() };
    format!(
        "epoch {:>4}/{epochs}  total {:.4}  recon {:.4}  kl {:.2}  backbone {:.4}  molprobity {:.3e}  | NCC [{}]  | blur +{:.0} A^2  lr {:.1e}  |g| {:.2e}{clip}  {:.1} s{rmsd}",
        log.epoch,
        log.terms.total,
        log.terms.recon,
        log.terms.kl,
        log.terms.backbone,
        log.terms.molprobity,
        ncc.join(" "),
        log.coarse_b,
        log.lr,
        log.grad_norm,
        log.seconds
    )
}

/// Inference with a trained network: mean latents and deformed coordinates for every map.
pub struct Decoded {
    /// Mean latents `[m, c_z * d * h * w]` (flattened per map).
    pub latents: Vec<Vec<f32>>,
    /// Latent grid shape `[c_z, d, h, w]`.
    pub latent_shape: [usize; 4],
    /// Deformed coordinates per map, flat `[n * 3]`.
    pub coords: Vec<Vec<f32>>,
}

/// Encode every map to its mean latent and decode it into deformed coordinates.
pub fn encode_decode(model: &Vae<B>, data: &TrainData) -> Decoded {
    let inputs: Tensor<B, 5> = data.inputs.clone().inner();
    let dist = model.encoder.forward(inputs);
    let [m, c, d, h, w] = dist.mean.dims();
    let coords = decode_latent(
        model,
        dist.mean.clone(),
        &data.points.clone().inner(),
        &data.coords.clone().inner(),
        &data.x_ref.clone().inner(),
    );
    let lat: Vec<f32> = dist.mean.into_data().convert::<f32>().into_vec().unwrap_or_default();
    Decoded {
        latents: lat.chunks(c * d * h * w).map(|v| v.to_vec()).collect(),
        latent_shape: [c, d, h, w],
        coords: coords.into_iter().take(m).collect(),
    }
}

/// Decode latents `[m, c, d, h, w]` into deformed coordinates of the atoms at `points`.
pub fn decode_latent(
    model: &Vae<B>,
    z: Tensor<B, 5>,
    points: &Tensor<B, 2>,
    coords: &Tensor<B, 2>,
    x_ref: &Tensor<B, 2>,
) -> Vec<Vec<f32>> {
    let [m, ..] = z.dims();
    let [n, _] = x_ref.dims();
    let off = model.offsets(z, points.clone(), coords.clone());
    let x = x_ref.clone().unsqueeze::<3>() + off;
    let v: Vec<f32> = x.into_data().convert::<f32>().into_vec().unwrap_or_default();
    v.chunks(n * 3).take(m).map(|c| c.to_vec()).collect()
}

/// The inference copy of a trained network.
pub fn inference_model(model: &Vae<AB>) -> Vae<B> {
    model.valid()
}

/// Default network voxel: `max(map voxel, resolution / 2)`.
pub fn default_net_voxel(map_voxel: f64, resolution: f64) -> f64 {
    map_voxel.max(resolution / 2.0)
}

/// Path helper: `dir/name`.
pub fn in_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VaeNetConfig;

    fn tiny() -> Vae<AB> {
        let cfg = VaeNetConfig {
            channels: [2, 2, 2],
            latent_channels: 1,
            feature_channels: 2,
            kernel: 3,
            mlp_hidden: 2,
            mlp_layers: 1,
            input_channels: 1,
        };
        Vae::<AB>::new(&cfg, &device::device())
    }

    /// Gradients of `scale * sum(offsets)` of a tiny network.
    fn grads(model: &Vae<AB>, scale: f64) -> GradientsParams {
        let dev = device::device();
        let x = Tensor::<AB, 5>::ones([1, 1, 8, 8, 8], &dev);
        let d = model.encoder.forward(x);
        let pts = Tensor::<AB, 2>::from_data(TensorData::new(vec![3.5f32, 2.5, 4.0], [1, 3]), &dev);
        let off = model.offsets(d.mean.clone(), pts.clone(), pts * 0.1);
        let loss = (off.sum() + d.mean.sum()) * scale;
        GradientsParams::from_grads(loss.backward(), model)
    }

    fn norm(model: &Vae<AB>, g: &GradientsParams) -> f64 {
        let mut v = GradNormSq { grads: g, sum: 0.0 };
        model.visit(&mut v);
        v.sum.sqrt()
    }

    #[test]
    fn clipper_scales_a_spike_to_three_times_the_recent_median_and_leaves_ordinary_steps() {
        let model = tiny();
        let mut clip = GradClipper::new(Some(3.0));
        let base = norm(&model, &grads(&model, 1.0));
        assert!(base > 0.0);
        for k in 0..GradClipper::WARMUP + 2 {
            let mut g = grads(&model, 1.0 + 0.1 * (k % 3) as f64);
            let (n, clipped) = clip.apply(&model, &mut g);
            assert!(!clipped, "ordinary step {k} clipped");
            assert!((n - norm(&model, &g)).abs() < 1e-6 * n, "ordinary step changed");
        }
        // the recent norms are base x (1.0, 1.1, 1.2, ...): median 1.1 base
        let mut g = grads(&model, 100.0);
        let (n, clipped) = clip.apply(&model, &mut g);
        assert!(clipped);
        assert!((n / base - 100.0).abs() < 1e-3 * 100.0, "raw norm reported");
        let after = norm(&model, &g);
        assert!((after / base - 3.3).abs() < 1e-3, "clipped to {} x base", after / base);
        // switched off: nothing is clipped
        let mut off = GradClipper::new(None);
        for _ in 0..GradClipper::WARMUP + 1 {
            let _ = off.apply(&model, &mut grads(&model, 1.0));
        }
        let mut g = grads(&model, 100.0);
        assert!(!off.apply(&model, &mut g).1);
    }
}
