//! Stage-2 training: straight-line flow matching on (normalised) VAE latents.
//!
//! `z_t = t z_1 + (1 - t) z_0`, `z_0 ~ N(0, I)`, `z_1` a training latent, target velocity
//! `u = z_1 - z_0`, loss `E || F(z_t, t) - u ||^2` (mean over latent values).

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use crate::device::{self, AB, B};
use crate::model::{FlowNet, FlowNetConfig};
use crate::{Error, Result};

/// Settings of [`crate::pipeline::VaeFit::train_flow`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowConfig {
    /// Network architecture.
    pub net: FlowNetConfig,
    /// Optimiser steps (default 2000).
    pub steps: usize,
    /// Training pairs per step (default 256).
    pub batch_size: usize,
    /// Adam learning rate (default 1e-3).
    pub learning_rate: f64,
    /// Latents interpolated between each pair of adjacent maps (in ensemble order) added to the
    /// training set (default 0; the paper used 93 between each adjacent pair).
    pub augment: usize,
    /// Euler steps when sampling (default 50).
    pub euler_steps: usize,
    /// Random seed.
    pub seed: u64,
    /// Print a progress line every this many steps (0 = silent; default 200).
    pub log_every: usize,
    /// Stop after this many seconds. Default none.
    pub max_seconds: Option<f64>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            net: FlowNetConfig::default(),
            steps: 2000,
            batch_size: 256,
            learning_rate: 1e-3,
            augment: 0,
            euler_steps: 50,
            seed: 0,
            log_every: 200,
            max_seconds: None,
        }
    }
}

impl FlowConfig {
    /// Set the number of optimiser steps.
    pub fn with_steps(mut self, n: usize) -> Self {
        self.steps = n;
        self
    }
    /// Set the number of interpolated latents between adjacent maps.
    pub fn with_augment(mut self, n: usize) -> Self {
        self.augment = n;
        self
    }
    /// Set the seed.
    pub fn with_seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Set the network width.
    pub fn with_width(mut self, w: usize) -> Self {
        self.net.width = w;
        self
    }
    /// Set the progress interval.
    pub fn with_log_every(mut self, n: usize) -> Self {
        self.log_every = n;
        self
    }
    /// Set the Euler steps used for sampling.
    pub fn with_euler_steps(mut self, n: usize) -> Self {
        self.euler_steps = n.max(1);
        self
    }
    /// Set the learning rate.
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.learning_rate = lr;
        self
    }
}

/// How latents are scaled for the flow: `(z - mean) / scale` with one scale for all values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatentNorm {
    /// Per-value mean of the training latents.
    pub mean: Vec<f32>,
    /// Common scale (RMS distance of the training latents from their mean, floor 1e-3).
    pub scale: f32,
}

impl LatentNorm {
    /// Fit the normalisation to `latents`.
    pub fn fit(latents: &[Vec<f32>]) -> LatentNorm {
        let d = latents[0].len();
        let n = latents.len() as f32;
        let mut mean = vec![0f32; d];
        for l in latents {
            for (m, v) in mean.iter_mut().zip(l) {
                *m += v / n;
            }
        }
        let ss: f32 = latents.iter().flat_map(|l| l.iter().zip(&mean).map(|(v, m)| (v - m).powi(2))).sum();
        let scale = (ss / (n * d as f32)).sqrt().max(1e-3);
        LatentNorm { mean, scale }
    }

    /// Normalise one latent.
    pub fn apply(&self, z: &[f32]) -> Vec<f32> {
        z.iter().zip(&self.mean).map(|(v, m)| (v - m) / self.scale).collect()
    }

    /// Undo [`LatentNorm::apply`].
    pub fn invert(&self, z: &[f32]) -> Vec<f32> {
        z.iter().zip(&self.mean).map(|(v, m)| v * self.scale + m).collect()
    }
}

/// Latents of adjacent states and `n` evenly spaced interpolants between each adjacent pair.
pub fn augment_latents(latents: &[Vec<f32>], n: usize) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f32>> = latents.to_vec();
    for w in latents.windows(2) {
        for i in 1..=n {
            let t = i as f32 / (n + 1) as f32;
            out.push(w[0].iter().zip(&w[1]).map(|(a, b)| (1.0 - t) * a + t * b).collect());
        }
    }
    out
}

/// Result of flow training.
pub struct FlowOutcome {
    /// The trained network (inference copy).
    pub model: FlowNet<B>,
    /// Loss every step.
    pub losses: Vec<f64>,
    /// Latent normalisation.
    pub norm: LatentNorm,
    /// Number of training latents (after augmentation).
    pub n_train: usize,
}

/// Train the flow on `latents` (each flattened, same length).
pub fn train_flow(latents: &[Vec<f32>], cfg: &FlowConfig) -> Result<FlowOutcome> {
    if latents.is_empty() {
        return Err(Error::invalid("train_flow: no latents"));
    }
    if cfg.steps == 0 || cfg.batch_size == 0 {
        return Err(Error::invalid("FlowConfig: steps and batch_size must be at least 1"));
    }
    let dev = device::device();
    let _turn = device::training_lock();
    <AB as burn::tensor::backend::Backend>::seed(&dev, cfg.seed);
    let d = latents[0].len();
    let train = augment_latents(latents, cfg.augment);
    let norm = LatentNorm::fit(latents);
    let flat: Vec<f32> = train.iter().flat_map(|z| norm.apply(z)).collect();
    let n = train.len();
    let data = Tensor::<AB, 2>::from_data(TensorData::new(flat, [n, d]), &dev);
    let mut model = FlowNet::<AB>::new(&cfg.net, d, &dev);
    let mut optim = AdamConfig::new().init::<AB, FlowNet<AB>>();
    let mut losses = Vec::with_capacity(cfg.steps);
    let start = Instant::now();
    let mut rng = crate::train::SplitMix(cfg.seed ^ 0x5eed);
    for step in 1..=cfg.steps {
        let idx: Vec<i64> = (0..cfg.batch_size).map(|_| (rng.next_u64() % n as u64) as i64).collect();
        let sel = Tensor::<AB, 1, Int>::from_data(TensorData::new(idx, [cfg.batch_size]), &dev);
        let z1 = data.clone().select(0, sel);
        let z0 = Tensor::<AB, 2>::random([cfg.batch_size, d], Distribution::Normal(0.0, 1.0), &dev);
        let t = Tensor::<AB, 1>::random([cfg.batch_size], Distribution::Uniform(0.0, 1.0), &dev);
        let tt = t.clone().reshape([cfg.batch_size, 1]);
        let zt = z1.clone() * tt.clone() + z0.clone() * (tt.neg() + 1.0);
        let pred = model.forward(zt, t);
        let loss = (pred - (z1 - z0)).powi_scalar(2).mean();
        let lv = loss.clone().into_scalar() as f64;
        if !lv.is_finite() {
            return Err(Error::Training(format!("flow matching: non-finite loss at step {step}")));
        }
        losses.push(lv);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.learning_rate, model, grads);
        if cfg.log_every > 0 && (step % cfg.log_every == 0 || step == 1 || step == cfg.steps) {
            let recent = &losses[losses.len().saturating_sub(cfg.log_every.max(1))..];
            println!(
                "flow step {step:>5}/{}  loss {lv:.4}  (mean of last {}: {:.4})  {:.1} s",
                cfg.steps,
                recent.len(),
                recent.iter().sum::<f64>() / recent.len() as f64,
                start.elapsed().as_secs_f64()
            );
        }
        if let Some(cap) = cfg.max_seconds
            && start.elapsed().as_secs_f64() >= cap
        {
            if cfg.log_every > 0 {
                println!("time cap of {cap:.0} s reached after step {step}");
            }
            break;
        }
    }
    Ok(FlowOutcome { model: model.valid(), losses, norm, n_train: n })
}

/// Draw `n` latents: `z_0 ~ N(0, I)` integrated with `steps` Euler steps, then de-normalised.
pub fn sample_latents(model: &FlowNet<B>, norm: &LatentNorm, n: usize, steps: usize, seed: u64) -> Vec<Vec<f32>> {
    let dev = device::device();
    let d = norm.mean.len();
    let mut rng = crate::train::SplitMix(seed);
    let z0: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
    let z = model.integrate(Tensor::<B, 2>::from_data(TensorData::new(z0, [n, d]), &dev), steps);
    let v: Vec<f32> = z.into_data().convert::<f32>().into_vec().unwrap_or_default();
    v.chunks(d).map(|c| norm.invert(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_and_augment() {
        let l = vec![vec![0.0f32, 2.0], vec![2.0, 4.0]];
        let n = LatentNorm::fit(&l);
        assert_eq!(n.mean, vec![1.0, 3.0]);
        assert!((n.scale - 1.0).abs() < 1e-6);
        assert_eq!(n.invert(&n.apply(&l[1])), l[1]);
        let a = augment_latents(&l, 3);
        assert_eq!(a.len(), 5);
        assert_eq!(a[2], vec![0.5, 2.5]);
    }

    #[test]
    fn flow_learns_two_points() {
        // two 4-d training latents: the loss falls and samples land near them
        let l = vec![vec![1.0f32, -1.0, 0.5, 2.0], vec![-1.0, 1.0, -0.5, 0.0]];
        let cfg = FlowConfig {
            net: FlowNetConfig { width: 64, layers: 3, time_embedding: 16 },
            steps: 2000,
            batch_size: 128,
            log_every: 0,
            ..Default::default()
        };
        let out = train_flow(&l, &cfg).expect("train");
        let first: f64 = out.losses[..50].iter().sum::<f64>() / 50.0;
        let last: f64 = out.losses[out.losses.len() - 50..].iter().sum::<f64>() / 50.0;
        assert!(last < 0.5 * first, "loss {first} -> {last}");
        let s = sample_latents(&out.model, &out.norm, 32, 50, 7);
        let near = s
            .iter()
            .filter(|z| l.iter().any(|t| z.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f32>().sqrt() < 0.5))
            .count();
        assert!(near >= 24, "{near} of 32 samples near a training latent");
    }
}
