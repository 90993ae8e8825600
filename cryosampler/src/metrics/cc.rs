//! Map-model correlation coefficients with the Phenix definitions (`phenix.map_model_cc`,
//! `mmtbx/maps/correlation.py`; Afonine et al. 2018, Acta Cryst. D74, 814).
//!
//! - The model map is the electron-scattering density of the model (five-Gaussian electron form
//!   factors, each atom's own B), band-limited by a hard sphere cut at the resolution, on the map's
//!   grid (periodic box, as Phenix's box structure factors are).
//! - The mask is every voxel within `r_vdW + 1.11 A` of an atom, eroded by 0.9 A; `N` = its size.
//! - `CC_mask`: voxels in the mask. `CC_volume`: the `N` highest voxels of the model map.
//!   `CC_peaks`: the union of the `N` highest of the model map and of the experimental map.
//!   `CC_box`: every voxel. All are Pearson correlations.
//!
//! Hydrogens are left out of both the model map and the mask (the referee in
//! `../shared/tools/evaluator` does the same).
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::metrics::cc::map_model_cc;
//! let cc = map_model_cc(&Map::read("map_0_noisy.mrc")?, &Structure::read("truth_0.pdb")?, 4.5)?;
//! println!("{cc}");
//! # Ok::<(), cryosampler::Error>(())
//! ```

use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::density::fft::{apply_radial, fft3};
use crate::density::formfactor::electron_gaussians_or_approx;
use crate::density::{Grid, Map, pearson};
use crate::structure::Structure;
use crate::{Error, Result};

/// Solvent radius added to the van der Waals radius for the mask (A).
pub const MASK_SOLVENT_RADIUS: f64 = 1.11;
/// Erosion of the mask (A).
pub const MASK_SHRINK: f64 = 0.9;

/// The four correlations and what they were computed with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapModelCc {
    /// CC inside the model mask.
    pub cc_mask: f64,
    /// CC over the `N` highest model-map voxels.
    pub cc_volume: f64,
    /// CC over the union of the `N` highest voxels of both maps.
    pub cc_peaks: f64,
    /// CC over the whole box.
    pub cc_box: f64,
    /// Number of mask voxels `N`.
    pub n_mask: usize,
    /// Resolution used for the model map (A): `max(resolution, 2 * voxel)`.
    pub d_min: f64,
}

impl std::fmt::Display for MapModelCc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CC_mask {:.4}  CC_volume {:.4}  CC_peaks {:.4}  CC_box {:.4}  (N = {}, d_min {:.2} A)",
            self.cc_mask, self.cc_volume, self.cc_peaks, self.cc_box, self.n_mask, self.d_min
        )
    }
}

fn heavy(s: &Structure) -> Vec<usize> {
    (0..s.atoms.len()).filter(|&i| !s.atoms[i].element.is_hydrogen()).collect()
}

/// `max(resolution, 2 * largest voxel)`: a map cannot hold detail beyond its Nyquist limit.
pub fn effective_d_min(grid: &Grid, resolution: f64) -> f64 {
    let h = grid.voxel.iter().cloned().fold(0.0, f64::max);
    resolution.max(2.0 * h)
}

/// One Gaussian term of one atom on the fine grid, separable into three wrapped 1D weight rows.
struct Term {
    start: [i64; 3],
    w: [Vec<f64>; 3],
}

/// The Phenix-style model map of `s` on `grid` at resolution `d_min` (see the module docs).
///
/// Computed on a grid `k` times finer (spacing <= d_min / 4) with an extra blur that makes the
/// sampled Gaussians alias-free, then unblurred and hard-cut in Fourier space and sampled back at
/// every `k`-th voxel: exact for a band-limited map.
pub fn model_map(s: &Structure, grid: &Grid, d_min: f64) -> Map {
    let h_max = grid.voxel.iter().cloned().fold(0.0, f64::max);
    let k = ((h_max / (d_min / 4.0)) - 1e-9).ceil().max(1.0) as usize;
    let fine = Grid { shape: grid.shape.map(|n| n * k), voxel: grid.voxel.map(|v| v / k as f64), origin: grid.origin };
    let fh = fine.voxel.iter().cloned().fold(0.0, f64::max);
    let q_nyq2 = 1.0 / (4.0 * fh * fh);
    let atoms = heavy(s);
    let min_b = atoms.iter().map(|&i| s.atoms[i].b.max(0.0)).fold(f64::INFINITY, f64::min);
    // relative alias error below 1e-6 at the fine Nyquist frequency
    let b_total_min = 4.0 * (1e6f64).ln() / q_nyq2;
    let b_add = (b_total_min - min_b.min(1e3) - 0.2).max(0.0);
    let pi = std::f64::consts::PI;
    let [nzf, nyf, nxf] = fine.shape;
    let nf = [nxf, nyf, nzf];
    let terms: Vec<(Vec<Term>, usize)> = atoms
        .par_iter()
        .map(|&i| {
            let at = &s.atoms[i];
            let (a, b) = electron_gaussians_or_approx(at.element);
            let f = fine.to_voxel(at.pos);
            let mut out = Vec::with_capacity(5);
            for t in 0..5 {
                let beta = b[t] + at.b.max(0.0) + b_add;
                let amp = a[t] * (4.0 * pi / beta).powf(1.5) * at.occupancy.clamp(0.0, 1.0);
                let radius = (beta * (1e7f64).ln() / (4.0 * pi * pi)).sqrt();
                let mut start = [0i64; 3];
                let mut w: [Vec<f64>; 3] = Default::default();
                for ax in 0..3 {
                    let lo = ((f[ax] * fine.voxel[ax] - radius) / fine.voxel[ax]).floor() as i64;
                    let hi = ((f[ax] * fine.voxel[ax] + radius) / fine.voxel[ax]).ceil() as i64;
                    let hi = hi.min(lo + nf[ax] as i64 - 1); // never wrap onto itself
                    start[ax] = lo;
                    w[ax] = (lo..=hi)
                        .map(|j| {
                            let d = (j as f64 - f[ax]) * fine.voxel[ax];
                            (-4.0 * pi * pi * d * d / beta).exp()
                        })
                        .collect();
                }
                for v in &mut w[2] {
                    *v *= amp;
                }
                out.push(Term { start, w });
            }
            (out, i)
        })
        .collect();
    // accumulate on z-planes in parallel (periodic box)
    let plane = nxf * nyf;
    let mut rho = vec![0f64; fine.len()];
    rho.par_chunks_mut(plane).enumerate().for_each(|(iz, pl)| {
        for (ts, _) in &terms {
            for t in ts {
                let kz = (iz as i64 - t.start[2]).rem_euclid(nzf as i64) as usize;
                if kz >= t.w[2].len() {
                    continue;
                }
                let wz = t.w[2][kz];
                for (ky, wy) in t.w[1].iter().enumerate() {
                    let iy = (t.start[1] + ky as i64).rem_euclid(nyf as i64) as usize;
                    let wzy = wz * wy;
                    let row = &mut pl[iy * nxf..(iy + 1) * nxf];
                    for (kx, wx) in t.w[0].iter().enumerate() {
                        let ix = (t.start[0] + kx as i64).rem_euclid(nxf as i64) as usize;
                        row[ix] += wzy * wx;
                    }
                }
            }
        }
    });
    let mut c: Vec<Complex64> = rho.into_iter().map(|v| Complex64::new(v, 0.0)).collect();
    fft3(&mut c, fine.shape, false);
    let cut = 1.0 / (d_min * d_min);
    apply_radial(&mut c, &fine, |q2| if q2 < cut { (b_add * q2 / 4.0).exp() } else { 0.0 });
    fft3(&mut c, fine.shape, true);
    let [_, ny, nx] = grid.shape;
    let mut data = vec![0f32; grid.len()];
    data.par_chunks_mut(nx * ny).enumerate().for_each(|(iz, pl)| {
        for iy in 0..ny {
            for ix in 0..nx {
                pl[iy * nx + ix] = c[fine.index(ix * k, iy * k, iz * k)].re as f32;
            }
        }
    });
    Map { grid: grid.clone(), data, source: None }
}

/// The model envelope: voxels within `r_vdW + solvent_radius` of a (heavy) atom, then eroded by
/// `shrink` (a voxel stays only if no outside voxel of the box lies within `shrink` of it).
pub fn envelope_mask(s: &Structure, grid: &Grid, solvent_radius: f64, shrink: f64) -> Vec<bool> {
    let [nz, ny, nx] = grid.shape;
    let atoms = heavy(s);
    let plane = nx * ny;
    let mut inside = vec![false; grid.len()];
    inside.par_chunks_mut(plane).enumerate().for_each(|(iz, pl)| {
        let z = grid.origin[2] + iz as f64 * grid.voxel[2];
        for &i in &atoms {
            let at = &s.atoms[i];
            let r = at.element.mask_radius() + solvent_radius;
            let dz = z - at.pos[2];
            if dz.abs() > r {
                continue;
            }
            let ry = (r * r - dz * dz).sqrt();
            let f = grid.to_voxel(at.pos);
            let y0 = ((f[1] - ry / grid.voxel[1]).ceil().max(0.0)) as usize;
            let y1 = ((f[1] + ry / grid.voxel[1]).floor().min(ny as f64 - 1.0)) as i64;
            for iy in y0 as i64..=y1 {
                let dy = grid.origin[1] + iy as f64 * grid.voxel[1] - at.pos[1];
                let rx2 = r * r - dz * dz - dy * dy;
                if rx2 < 0.0 {
                    continue;
                }
                let rx = rx2.sqrt();
                let x0 = ((f[0] - rx / grid.voxel[0]).ceil().max(0.0)) as usize;
                let x1 = ((f[0] + rx / grid.voxel[0]).floor().min(nx as f64 - 1.0)) as i64;
                for ix in x0 as i64..=x1 {
                    pl[iy as usize * nx + ix as usize] = true;
                }
            }
        }
    });
    if shrink <= 0.0 {
        return inside;
    }
    let reach = grid.voxel.map(|v| (shrink / v).floor() as i64);
    let mut offsets = Vec::new();
    for dz in -reach[2]..=reach[2] {
        for dy in -reach[1]..=reach[1] {
            for dx in -reach[0]..=reach[0] {
                let d2 = (dx as f64 * grid.voxel[0]).powi(2)
                    + (dy as f64 * grid.voxel[1]).powi(2)
                    + (dz as f64 * grid.voxel[2]).powi(2);
                if d2 > 0.0 && d2 <= shrink * shrink {
                    offsets.push((dx, dy, dz));
                }
            }
        }
    }
    if offsets.is_empty() {
        return inside;
    }
    (0..grid.len())
        .into_par_iter()
        .map(|i| {
            if !inside[i] {
                return false;
            }
            let (ix, iy, iz) = ((i % nx) as i64, ((i / nx) % ny) as i64, (i / plane) as i64);
            offsets.iter().all(|&(dx, dy, dz)| {
                let (x, y, z) = (ix + dx, iy + dy, iz + dz);
                if x < 0 || y < 0 || z < 0 || x >= nx as i64 || y >= ny as i64 || z >= nz as i64 {
                    return true; // outside the box is not solvent (as scipy's EDT)
                }
                inside[(z as usize * ny + y as usize) * nx + x as usize]
            })
        })
        .collect()
}

fn top_n(v: &[f32], n: usize) -> Vec<bool> {
    if n >= v.len() {
        return vec![true; v.len()];
    }
    if n == 0 {
        return vec![false; v.len()];
    }
    let mut sorted = v.to_vec();
    let idx = v.len() - n;
    let (_, thr, _) = sorted.select_nth_unstable_by(idx, |a, b| a.total_cmp(b));
    let thr = *thr;
    v.iter().map(|x| *x >= thr).collect()
}

fn cc_where(a: &[f32], b: &[f32], sel: &[bool]) -> f64 {
    let (x, y): (Vec<f32>, Vec<f32>) =
        a.iter().zip(b).zip(sel).filter(|(_, s)| **s).map(|((p, q), _)| (*p, *q)).unzip();
    pearson(&x, &y)
}

/// The four CCs of an experimental map against a computed model map with a given mask.
pub fn ccs_from_maps(map: &Map, model: &Map, mask: &[bool], d_min: f64) -> Result<MapModelCc> {
    if !map.grid.same_as(&model.grid) || mask.len() != map.data.len() {
        return Err(Error::invalid("ccs_from_maps: map, model map and mask must share one grid"));
    }
    let n = mask.iter().filter(|m| **m).count();
    let sel_vol = top_n(&model.data, n);
    let top_exp = top_n(&map.data, n);
    let sel_peaks: Vec<bool> = sel_vol.iter().zip(&top_exp).map(|(a, b)| *a || *b).collect();
    Ok(MapModelCc {
        cc_mask: cc_where(&map.data, &model.data, mask),
        cc_volume: cc_where(&map.data, &model.data, &sel_vol),
        cc_peaks: cc_where(&map.data, &model.data, &sel_peaks),
        cc_box: pearson(&map.data, &model.data),
        n_mask: n,
        d_min,
    })
}

/// CC_mask, CC_volume, CC_peaks and CC_box of `model` against `map` at `resolution` (A).
pub fn map_model_cc(map: &Map, model: &Structure, resolution: f64) -> Result<MapModelCc> {
    if model.atoms.iter().all(|a| a.element.is_hydrogen()) {
        return Err(Error::invalid("map_model_cc: the model has no heavy atoms"));
    }
    if resolution.is_nan() || resolution <= 0.0 {
        return Err(Error::invalid(format!("map_model_cc: resolution must be positive, got {resolution}")));
    }
    let d_min = effective_d_min(&map.grid, resolution);
    let mm = model_map(model, &map.grid, d_min);
    let mask = envelope_mask(model, &map.grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
    ccs_from_maps(map, &mm, &mask, d_min)
}

/// Local CC per residue: the correlation over the voxels within `r_vdW + 1.11 A` of the residue's
/// heavy atoms (the CC_mask definition restricted to one residue), `None` for residues with fewer
/// than 4 such voxels.
pub fn cc_per_residue(map: &Map, model_map: &Map, s: &Structure) -> Vec<Option<f64>> {
    let g = &map.grid;
    (0..s.residues.len())
        .into_par_iter()
        .map(|r| {
            let res = &s.residues[r];
            let mut idx = std::collections::BTreeSet::new();
            for a in res.atoms.clone() {
                let at = &s.atoms[a];
                if at.element.is_hydrogen() {
                    continue;
                }
                let rad = at.element.mask_radius() + MASK_SOLVENT_RADIUS;
                let f = g.to_voxel(at.pos);
                let lo = [0, 1, 2].map(|k| ((f[k] - rad / g.voxel[k]).ceil().max(0.0)) as usize);
                let n = g.nxyz();
                let hi = [0, 1, 2].map(|k| (f[k] + rad / g.voxel[k]).floor().min(n[k] as f64 - 1.0));
                if hi.iter().any(|v| *v < 0.0) {
                    continue;
                }
                for iz in lo[2]..=hi[2] as usize {
                    for iy in lo[1]..=hi[1] as usize {
                        for ix in lo[0]..=hi[0] as usize {
                            let p = g.position(ix, iy, iz);
                            if crate::structure::geometry::distance(p, at.pos) <= rad {
                                idx.insert(g.index(ix, iy, iz));
                            }
                        }
                    }
                }
            }
            if idx.len() < 4 {
                return None;
            }
            let a: Vec<f32> = idx.iter().map(|&i| map.data[i]).collect();
            let b: Vec<f32> = idx.iter().map(|&i| model_map.data[i]).collect();
            let c = pearson(&a, &b);
            c.is_finite().then_some(c)
        })
        .collect()
}

/// Refine one B-factor for the whole model (A^2, searched in 0..=300) that maximises CC_mask
/// against `map`, like a group-B real-space refinement; returns the B and the CCs at that B.
pub fn fit_global_b(map: &Map, model: &Structure, resolution: f64) -> Result<(f64, MapModelCc)> {
    let d_min = effective_d_min(&map.grid, resolution);
    let mask = envelope_mask(model, &map.grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
    let eval = |b: f64| -> Result<MapModelCc> {
        let mut s = model.clone();
        s.set_b(b);
        ccs_from_maps(map, &model_map(&s, &map.grid, d_min), &mask, d_min)
    };
    let scan: Vec<f64> = (0..=6).map(|i| i as f64 * 50.0).collect();
    let mut vals = Vec::with_capacity(scan.len());
    for &b in &scan {
        vals.push(eval(b)?.cc_mask);
    }
    let best = (0..scan.len()).max_by(|&i, &j| vals[i].total_cmp(&vals[j])).unwrap_or(0);
    let (mut lo, mut hi) = (scan[best.saturating_sub(1)], scan[(best + 1).min(scan.len() - 1)]);
    for _ in 0..6 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if eval(m1)?.cc_mask >= eval(m2)?.cc_mask {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    let b = 0.5 * (lo + hi);
    let cc = eval(b)?;
    Ok(if cc.cc_mask >= vals[best] { (b, cc) } else { (scan[best], eval(scan[best])?) })
}
