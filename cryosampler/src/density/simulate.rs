//! The project's own map simulator (for demo data, benchmarks and tests): the Phenix-style
//! electron-scattering model map (five-Gaussian form factors, per-atom B, hard cut at the
//! resolution), an optional extra blur, and optional band-limited Gaussian noise at a given SNR.
//!
//! The recipe follows the AdK benchmark's (`../shared/data/adk_tmd/bench.json`): noise is white
//! Gaussian noise low-passed at `noise_lowpass`, scaled so that `var(signal in the model envelope) /
//! var(noise) = snr`.

use serde::{Deserialize, Serialize};

use super::{Grid, Map};
use crate::Result;
use crate::metrics::cc::{MASK_SHRINK, MASK_SOLVENT_RADIUS, effective_d_min, envelope_mask, model_map};
use crate::structure::Structure;
use crate::train::SplitMix;

/// How to simulate a map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulateOptions {
    /// Resolution (A) of the hard band limit.
    pub resolution: f64,
    /// B (A^2) given to every atom (default 20; `None` keeps each atom's own B).
    pub atom_b: Option<f64>,
    /// Extra blur B (A^2) applied to the map (default 60).
    pub blur: f64,
    /// Signal-to-noise ratio inside the model envelope; `None` = no noise (default 1).
    pub snr: Option<f64>,
    /// Low-pass (A) of the noise (default 5).
    pub noise_lowpass: f64,
    /// Noise seed.
    pub seed: u64,
}

impl SimulateOptions {
    /// The AdK benchmark recipe at `resolution`: B 20 + 60, SNR 1, noise low-passed at 5 A.
    pub fn at(resolution: f64) -> SimulateOptions {
        SimulateOptions { resolution, atom_b: Some(20.0), blur: 60.0, snr: Some(1.0), noise_lowpass: 5.0, seed: 777 }
    }

    /// Without noise.
    pub fn clean(mut self) -> Self {
        self.snr = None;
        self
    }

    /// Set the noise seed.
    pub fn with_seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
}

/// Simulate the map of `s` on `grid`.
pub fn simulate_map(s: &Structure, grid: &Grid, opts: &SimulateOptions) -> Result<Map> {
    let mut model = s.without_hydrogens();
    if let Some(b) = opts.atom_b {
        model.set_b(b);
    }
    let d_min = effective_d_min(grid, opts.resolution);
    let mut map = model_map(&model, grid, d_min);
    if opts.blur > 0.0 {
        map = map.blur_b(opts.blur);
    }
    if let Some(snr) = opts.snr {
        let mask = envelope_mask(&model, grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
        let inside: Vec<f32> = map.data.iter().zip(&mask).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
        let (_, sd) = super::mean_std(&inside);
        let mut rng = SplitMix(opts.seed);
        let white =
            Map { grid: grid.clone(), data: (0..grid.len()).map(|_| rng.normal() as f32).collect(), source: None };
        let noise = white.lowpass(opts.noise_lowpass);
        let (_, nsd) = noise.mean_std();
        let scale = if nsd > 0.0 { sd / snr.max(1e-9).sqrt() / nsd } else { 0.0 };
        for (v, n) in map.data.iter_mut().zip(&noise.data) {
            *v += (scale * *n as f64) as f32;
        }
    }
    Ok(map)
}
