//! How wide should the forward model's Gaussians be for a given map?
//!
//! A map "at 4.5 A" can carry a large B-factor on top of its band limit (the benchmark maps carry
//! B = 80 A^2 in total). [`estimate_blur`] renders a model with `sigma^2 = (R / (pi sqrt 2))^2 +
//! B_extra / (8 pi^2)` for a range of `B_extra` and keeps the one with the best CC inside the model
//! mask (golden-section search on a bracketing scan). The result also gives the equivalent
//! resolution `R_eff = pi sqrt(2) sigma` of a plain EMAN-style Gaussian.

use serde::{Deserialize, Serialize};

use super::render::{RenderOptions, render_structure, sigma_for_resolution};
use super::{Map, pearson};
use crate::metrics::cc::{MASK_SHRINK, MASK_SOLVENT_RADIUS, envelope_mask};
use crate::structure::Structure;
use crate::{Error, Result};

/// The best-matching width of the forward model for a map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlurEstimate {
    /// Nominal resolution the search started from (A).
    pub resolution: f64,
    /// Extra B (A^2) on top of the nominal resolution's width.
    pub b_extra: f64,
    /// Equivalent plain-Gaussian resolution `pi sqrt(2) sigma` (A).
    pub effective_resolution: f64,
    /// CC inside the model mask at the best width.
    pub cc_mask: f64,
    /// CC inside the mask with the nominal width (`b_extra = 0`).
    pub cc_mask_nominal: f64,
}

impl std::fmt::Display for BlurEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "B_extra {:.1} A^2 (effective resolution {:.2} A): CC_mask {:.3} (nominal {:.2} A: {:.3})",
            self.b_extra, self.effective_resolution, self.cc_mask, self.resolution, self.cc_mask_nominal
        )
    }
}

/// CC inside `mask` between `map` and the forward model of `s` at `resolution` plus `b_extra`.
pub fn masked_render_cc(map: &Map, s: &Structure, mask: &[bool], resolution: f64, b_extra: f64) -> f64 {
    let r = render_structure(s, &map.grid, &RenderOptions::at(resolution).with_b_extra(b_extra));
    let (a, b): (Vec<f32>, Vec<f32>) =
        map.data.iter().zip(&r.data).zip(mask).filter(|(_, m)| **m).map(|((x, y), _)| (*x, *y)).unzip();
    pearson(&a, &b)
}

/// Find the extra B (0..=400 A^2) that makes the forward model of `s` best match `map` inside the
/// model mask. `s` should be a model that fits the map (the aligned reference, a fitted model).
pub fn estimate_blur(map: &Map, s: &Structure, resolution: f64) -> Result<BlurEstimate> {
    if resolution.is_nan() || resolution <= 0.0 {
        return Err(Error::invalid(format!("estimate_blur: resolution must be positive, got {resolution}")));
    }
    let mask = envelope_mask(s, &map.grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
    if mask.iter().filter(|m| **m).count() < 8 {
        return Err(Error::invalid(format!("estimate_blur: the model does not overlap the map {}", map.name())));
    }
    let f = |b: f64| masked_render_cc(map, s, &mask, resolution, b);
    // bracketing scan, then golden-section refinement
    let grid: Vec<f64> = (0..=16).map(|i| i as f64 * 25.0).collect();
    let vals: Vec<f64> = grid.iter().map(|&b| f(b)).collect();
    let best = (0..grid.len()).max_by(|&i, &j| vals[i].total_cmp(&vals[j])).unwrap_or(0);
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(grid.len() - 1)]);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..12 {
        if f1 > f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = f(x2);
        }
    }
    let (b, cc) = if f1 > f2 { (x1, f1) } else { (x2, f2) };
    let (b, cc) = if vals[best] > cc { (grid[best], vals[best]) } else { (b, cc) };
    let sigma = (sigma_for_resolution(resolution).powi(2) + b / (8.0 * std::f64::consts::PI.powi(2))).sqrt();
    Ok(BlurEstimate {
        resolution,
        b_extra: b,
        effective_resolution: sigma * std::f64::consts::PI * std::f64::consts::SQRT_2,
        cc_mask: cc,
        cc_mask_nominal: vals[0],
    })
}
