//! Rigid-body fitting of a structure into a map, like ChimeraX `fitmap`: maximise the correlation
//! between the map and the forward model of the structure over rotations and translations.
//!
//! Local optimisation is a normalised-gradient hill climb on the 6 rigid parameters (the gradient of
//! the correlation with respect to every atom comes from the renderer's backward pass and is summed
//! into a force and a torque); several starts around the initial pose (rotations up to
//! [`AlignOptions::max_angle_deg`]) are run on a coarse, blurred copy of the map and the best ones
//! refined at full resolution.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::align::{fit_rigid, AlignOptions};
//! let map = Map::read("map_0_noisy.mrc")?;
//! let reference = Structure::read("reference.pdb")?;
//! let fit = fit_rigid(&map, &reference, &AlignOptions::new(4.5))?;
//! println!("{fit}");
//! # Ok::<(), cryosampler::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::density::render::{SplatAtoms, splat_backward, splat_forward};
use crate::density::{Grid, Map, RenderOptions, pearson};
use crate::structure::Structure;
use crate::structure::geometry::{Rigid, cross};
use crate::{Error, Result};

/// Settings of the rigid fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlignOptions {
    /// Map resolution (A).
    pub resolution: f64,
    /// Extra B (A^2) on the forward model (see [`crate::density::estimate_blur`]); default 0.
    pub b_extra: f64,
    /// Number of starting orientations (default 24).
    pub n_starts: usize,
    /// Largest rotation away from the input pose among the starts (degrees, default 30).
    pub max_angle_deg: f64,
    /// Hill-climb iterations per start (default 150).
    pub iterations: usize,
}

impl AlignOptions {
    /// Defaults for a map at `resolution`.
    pub fn new(resolution: f64) -> AlignOptions {
        AlignOptions { resolution, b_extra: 0.0, n_starts: 24, max_angle_deg: 30.0, iterations: 150 }
    }

    /// Set the extra B of the forward model.
    pub fn with_b_extra(mut self, b: f64) -> Self {
        self.b_extra = b;
        self
    }

    /// Set the number of starts.
    pub fn with_starts(mut self, n: usize) -> Self {
        self.n_starts = n.max(1);
        self
    }
}

/// The result of a rigid fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RigidFit {
    /// Transform to apply to the input coordinates.
    pub transform: Rigid,
    /// Correlation (over the box) of the forward model with the map, before and after.
    pub cc_before: f64,
    /// After the fit.
    pub cc_after: f64,
    /// Rotation of the fit (degrees) and its translation length (A).
    pub rotation_deg: f64,
    /// Translation length (A).
    pub shift: f64,
    /// RMSD (A) between the input and the fitted atom positions.
    pub rmsd_moved: f64,
}

impl std::fmt::Display for RigidFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rigid fit: CC {:.4} -> {:.4}, rotation {:.2} deg, shift {:.2} A, atoms moved {:.2} A RMSD",
            self.cc_before, self.cc_after, self.rotation_deg, self.shift, self.rmsd_moved
        )
    }
}

impl RigidFit {
    /// The structure moved by the fit.
    pub fn apply(&self, s: &Structure) -> Structure {
        let mut out = s.clone();
        for a in &mut out.atoms {
            a.pos = self.transform.apply(a.pos);
        }
        out
    }
}

/// Correlation over the box and its gradient with respect to the rendered map.
fn cc_and_grad(target: &[f32], model: &[f32]) -> (f64, Vec<f32>) {
    let n = target.len() as f64;
    let ma = target.iter().map(|v| *v as f64).sum::<f64>() / n;
    let mb = model.iter().map(|v| *v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in target.iter().zip(model) {
        let (x, y) = (*a as f64 - ma, *b as f64 - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    let d = (saa * sbb).sqrt().max(1e-30);
    let cc = sab / d;
    let g = target
        .iter()
        .zip(model)
        .map(|(a, b)| ((*a as f64 - ma) / d - cc * (*b as f64 - mb) / sbb.max(1e-30)) as f32)
        .collect();
    (cc, g)
}

struct Problem<'a> {
    grid: &'a Grid,
    target: Vec<f32>,
    atoms: SplatAtoms,
    coords: Vec<[f64; 3]>,
    centre: [f64; 3],
    radius: f64,
}

impl Problem<'_> {
    fn moved(&self, t: &Rigid) -> Vec<f32> {
        self.coords.iter().flat_map(|p| t.apply(*p).map(|v| v as f32)).collect()
    }

    fn cc(&self, t: &Rigid) -> f64 {
        let c = self.moved(t);
        pearson(&self.target, &splat_forward(self.grid, &c, 1, &self.atoms))
    }

    /// CC and the ascent direction in (translation A, rotation rad * radius) units.
    fn grad(&self, t: &Rigid) -> (f64, [f64; 6]) {
        let c = self.moved(t);
        let m = splat_forward(self.grid, &c, 1, &self.atoms);
        let (cc, gm) = cc_and_grad(&self.target, &m);
        let gx = splat_backward(self.grid, &c, 1, &self.atoms, &gm);
        let centre = t.apply(self.centre);
        let (mut f, mut tq) = ([0.0; 3], [0.0; 3]);
        for (p, g) in c.chunks_exact(3).zip(gx.chunks_exact(3)) {
            let g = [g[0] as f64, g[1] as f64, g[2] as f64];
            let r = [p[0] as f64 - centre[0], p[1] as f64 - centre[1], p[2] as f64 - centre[2]];
            let tr = cross(r, g);
            for k in 0..3 {
                f[k] += g[k];
                tq[k] += tr[k];
            }
        }
        (cc, [f[0], f[1], f[2], tq[0] / self.radius, tq[1] / self.radius, tq[2] / self.radius])
    }

    fn step(&self, t: &Rigid, dir: &[f64; 6], len: f64) -> Rigid {
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-30);
        let d: Vec<f64> = dir.iter().map(|v| v / norm * len).collect();
        let axis = [d[3], d[4], d[5]];
        let angle = (axis.iter().map(|v| v * v).sum::<f64>()).sqrt() / self.radius;
        let centre = t.apply(self.centre);
        let rot =
            if angle > 1e-12 { Rigid::about(axis, angle.to_degrees(), centre, [0.0; 3]) } else { Rigid::identity() };
        let shift = Rigid { trans: [d[0], d[1], d[2]], ..Rigid::identity() };
        shift.compose(&rot.compose(t))
    }

    fn climb(&self, start: Rigid, iterations: usize) -> (Rigid, f64) {
        let mut t = start;
        let (mut cc, mut dir) = self.grad(&t);
        let mut len = 1.0;
        for _ in 0..iterations {
            let cand = self.step(&t, &dir, len);
            let (c2, d2) = self.grad(&cand);
            if c2 > cc {
                t = cand;
                cc = c2;
                dir = d2;
                len = (len * 1.3).min(3.0);
            } else {
                len *= 0.5;
                if len < 2e-3 {
                    break;
                }
            }
        }
        (t, cc)
    }
}

fn problem<'a>(grid: &'a Grid, target: &Map, s: &Structure, resolution: f64, b_extra: f64) -> Problem<'a> {
    let heavy = s.filter_atoms(|a| !a.element.is_hydrogen());
    let atoms = SplatAtoms::from_structure(&heavy, &RenderOptions::at(resolution).with_b_extra(b_extra));
    let coords = heavy.coords();
    let centre = heavy.centroid();
    let radius = (coords.iter().map(|p| crate::structure::geometry::distance(*p, centre).powi(2)).sum::<f64>()
        / coords.len().max(1) as f64)
        .sqrt()
        .max(1.0);
    Problem { grid, target: target.data.clone(), atoms, coords, centre, radius }
}

/// Deterministic starting rotations: the identity and rotations about quasi-uniform axes with
/// angles spread up to `max_angle`.
fn starts(n: usize, max_angle: f64, centre: [f64; 3]) -> Vec<Rigid> {
    let mut out = vec![Rigid::identity()];
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    for i in 1..n {
        let z = 1.0 - 2.0 * (i as f64 - 0.5) / (n as f64 - 1.0).max(1.0);
        let r = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * i as f64;
        let axis = [r * phi.cos(), r * phi.sin(), z];
        let angle = max_angle * (0.5 + 0.5 * ((i % 2) as f64));
        out.push(Rigid::about(axis, angle, centre, [0.0; 3]));
    }
    out
}

/// Fit `s` rigidly into `map` (see the module docs).
pub fn fit_rigid(map: &Map, s: &Structure, opts: &AlignOptions) -> Result<RigidFit> {
    if s.atoms.iter().all(|a| a.element.is_hydrogen()) {
        return Err(Error::invalid("fit_rigid: the structure has no heavy atoms"));
    }
    if opts.resolution.is_nan() || opts.resolution <= 0.0 {
        return Err(Error::invalid(format!("fit_rigid: resolution must be positive, got {}", opts.resolution)));
    }
    let voxel = map.grid.voxel.iter().cloned().fold(0.0, f64::max);
    // coarse stage: twice the voxel size, twice the blur
    let coarse_res = (2.0 * opts.resolution).max(4.0 * voxel);
    let coarse_grid = map.grid.with_voxel(2.0 * voxel);
    let coarse_map = map.lowpass(coarse_res).resample(&coarse_grid);
    let coarse = problem(&coarse_grid, &coarse_map, s, coarse_res, opts.b_extra);
    let fine = problem(&map.grid, map, s, opts.resolution, opts.b_extra);
    let cc_before = fine.cc(&Rigid::identity());
    let mut results: Vec<(Rigid, f64)> = starts(opts.n_starts, opts.max_angle_deg, coarse.centre)
        .into_iter()
        .map(|st| coarse.climb(st, opts.iterations))
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut best = (Rigid::identity(), f64::NEG_INFINITY);
    for (t, _) in results.into_iter().take(3) {
        let (t2, cc) = fine.climb(t, opts.iterations);
        if cc > best.1 {
            best = (t2, cc);
        }
    }
    // never return a worse pose than the input
    if best.1 < cc_before {
        best = (Rigid::identity(), cc_before);
    }
    let t = best.0;
    let moved: Vec<[f64; 3]> = fine.coords.iter().map(|p| t.apply(*p)).collect();
    Ok(RigidFit {
        transform: t,
        cc_before,
        cc_after: best.1,
        rotation_deg: t.angle_deg(),
        shift: crate::structure::geometry::norm(crate::structure::geometry::sub(t.apply(fine.centre), fine.centre)),
        rmsd_moved: crate::structure::geometry::rmsd(&fine.coords, &moved),
    })
}
