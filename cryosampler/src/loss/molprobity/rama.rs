//! Ramachandran part: how far (degrees) each residue's (phi, psi) lies outside the Top8000
//! favoured region of its MolProbity class.
//!
//! For each of the six classes the rama8000 percentile grid ([`rama_grid`], 180 x 180 bins of
//! 2 degrees) is turned once into a **distance field**: 0 on bins whose score is favoured
//! (`>= 0.02`, [`FAVOURED_THRESHOLD`]) and, elsewhere, the exact Euclidean distance on the
//! (phi, psi) torus to the nearest favoured bin centre, in degrees ([`rama_distance_field`]).
//! The loss reads the field by bilinear interpolation between bin centres (wrapping at +-180;
//! the corner values are gathered, the weights come from the angles, so the gradient flows
//! through the angles):
//!
//! `L_rama = RAMA_SCALE * mean_residues h(d(phi, psi) / RAMA_WIDTH)`,
//!
//! with `h` the flat-bottom Huber penalty ([`super::ops::flat_huber`]) and `RAMA_WIDTH` = 10
//! degrees.
//!
//! Why a distance field rather than the scores themselves or the `rama_smooth` landscapes: the
//! rama8000 scores are exactly 0 over most of the disallowed region, so a penalty on the score
//! has no gradient where it matters most (a residue deep in a forbidden region would never be
//! pulled out); the smoothed landscapes do have slopes there, but they wander (local minima,
//! nearly flat plateaus around -2 in the forbidden region) and their scale has no MolProbity
//! meaning. The distance field keeps MolProbity's own favoured contour as the zero set and
//! points every disallowed residue straight to the nearest favoured conformation with a
//! constant-size gradient.
//!
//! phi / psi follow MolProbity's definitions ([`crate::metrics::geometry::rama`]): the residue
//! needs a linked previous and next standard residue in the reference; the class (including
//! cis / trans Pro from the reference's omega) is fixed when the topology is built.

use std::sync::OnceLock;

use burn::prelude::*;

use super::ops::{dihedral_rad, flat_huber, gather_blocks, index};
use crate::metrics::geometry::rama::{next_linked, prev_linked, rama_class};
use crate::metrics::geometry::tables::{FAVOURED_THRESHOLD, RamaClass, rama_grid};
use crate::structure::Structure;
use crate::{Error, Result};

/// Angular scale (degrees) of the Ramachandran penalty: the quadratic part of the flat-bottom
/// Huber spans the first 10 degrees outside the favoured region.
pub const RAMA_WIDTH: f64 = 10.0;

/// Bins per axis of the rama8000 grids.
const BINS: usize = 180;

static FIELDS: [OnceLock<std::result::Result<Vec<f32>, String>>; 6] = [const { OnceLock::new() }; 6];

/// Exact Euclidean distance transform on a periodic `n x n` grid of booleans (`true` = inside):
/// squared distances in bins to the nearest inside cell, `f64::INFINITY` with no inside cell.
/// Separable: a 1-D pass along the first axis, then a brute-force minimum along the second.
fn torus_edt(inside: &[bool], n: usize) -> Vec<f64> {
    let circ = |a: usize, b: usize| {
        let d = a.abs_diff(b);
        d.min(n - d) as f64
    };
    // g[i][j]: distance along axis 0 to the nearest inside cell in column j.
    let mut g = vec![f64::INFINITY; n * n];
    for j in 0..n {
        let rows: Vec<usize> = (0..n).filter(|&i| inside[i * n + j]).collect();
        for i in 0..n {
            g[i * n + j] = rows.iter().map(|&r| circ(i, r)).fold(f64::INFINITY, f64::min);
        }
    }
    let mut d2 = vec![f64::INFINITY; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut best = f64::INFINITY;
            for k in 0..n {
                let gk = g[i * n + k];
                if gk.is_finite() {
                    let c = circ(j, k);
                    best = best.min(gk * gk + c * c);
                }
            }
            d2[i * n + j] = best;
        }
    }
    d2
}

/// The distance field of a class: for each rama8000 bin (index `phi_bin * 180 + psi_bin`), the
/// distance in degrees from its centre to the nearest favoured bin centre (0 on favoured bins).
/// Computed once per process.
pub fn rama_distance_field(class: RamaClass) -> Result<&'static [f32]> {
    let cell = FIELDS[class.index()].get_or_init(|| {
        let g = rama_grid(class).map_err(|e| e.to_string())?;
        if g.shape() != [BINS, BINS] {
            return Err(format!("rama8000 grid {} has shape {:?}, expected 180 x 180", class, g.shape()));
        }
        let inside: Vec<bool> = g.values.iter().map(|v| *v >= FAVOURED_THRESHOLD).collect();
        if !inside.iter().any(|x| *x) {
            return Err(format!("rama8000 grid {class} has no favoured bin"));
        }
        let step = 360.0 / BINS as f64;
        Ok(torus_edt(&inside, BINS).into_iter().map(|d2| (d2.sqrt() * step) as f32).collect())
    });
    cell.as_deref().map_err(|e| Error::invalid(format!("Ramachandran distance field: {e}")))
}

/// Host value of the field at (phi, psi) in degrees, by the same bilinear interpolation as
/// [`rama`] (for tests and reports).
pub fn rama_distance(class: RamaClass, phi: f64, psi: f64) -> Result<f64> {
    let f = rama_distance_field(class)?;
    let pos = |a: f64| {
        let u = (a + 180.0) / 2.0 - 0.5;
        let i0 = u.floor();
        (((i0 as i64).rem_euclid(BINS as i64)) as usize, u - i0)
    };
    let (i, fu) = pos(phi);
    let (j, fv) = pos(psi);
    let v = |a: usize, b: usize| f[(a % BINS) * BINS + b % BINS] as f64;
    Ok((1.0 - fu) * (1.0 - fv) * v(i, j)
        + fu * (1.0 - fv) * v(i + 1, j)
        + (1.0 - fu) * fv * v(i, j + 1)
        + fu * fv * v(i + 1, j + 1))
}

/// Atom quadruples and classes of the residues with phi and psi in the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct RamaTopology {
    /// Residue index (in the reference) of each scored residue.
    pub residues: Vec<usize>,
    /// Class of each scored residue.
    pub classes: Vec<RamaClass>,
    /// Atom indices in 5 blocks of `m`: C(i-1), N, CA, C, N(i+1).
    idx: Vec<i64>,
    /// Offset of each residue's class in the concatenated fields (`class * 32400`).
    offset: Vec<i64>,
    /// The six distance fields, concatenated in [`RamaClass::ALL`] order.
    fields: Vec<f32>,
}

impl RamaTopology {
    /// Quadruples of every standard residue of `s` with phi and psi (MolProbity's rules).
    pub fn new(s: &Structure) -> Result<RamaTopology> {
        let mut fields = Vec::with_capacity(6 * BINS * BINS);
        for c in RamaClass::ALL {
            fields.extend_from_slice(rama_distance_field(c)?);
        }
        let mut rows: Vec<[usize; 5]> = Vec::new();
        let mut residues = Vec::new();
        let mut classes = Vec::new();
        for r in 0..s.residues.len() {
            let Some(class) = rama_class(s, r) else { continue };
            let (Some(p), Some(q)) = (prev_linked(s, r), next_linked(s, r)) else { continue };
            let a = [s.atom_in(p, "C"), s.atom_in(r, "N"), s.atom_in(r, "CA"), s.atom_in(r, "C"), s.atom_in(q, "N")];
            if let [Some(c0), Some(n), Some(ca), Some(c), Some(n1)] = a {
                rows.push([c0, n, ca, c, n1]);
                residues.push(r);
                classes.push(class);
            }
        }
        let idx = (0..5).flat_map(|k| rows.iter().map(move |row| row[k] as i64)).collect();
        let offset = classes.iter().map(|c| (c.index() * BINS * BINS) as i64).collect();
        Ok(RamaTopology { residues, classes, idx, offset, fields })
    }

    /// Number of scored residues.
    pub fn len(&self) -> usize {
        self.residues.len()
    }

    /// True when no residue has both phi and psi.
    pub fn is_empty(&self) -> bool {
        self.residues.is_empty()
    }

    /// phi and psi (radians, `[b, m]` each) of the scored residues.
    pub fn phi_psi<B: Backend>(&self, x: &Tensor<B, 3>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let p = gather_blocks(x, &self.idx, 5);
        let phi = dihedral_rad(p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone());
        let psi = dihedral_rad(p[1].clone(), p[2].clone(), p[3].clone(), p[4].clone());
        (phi, psi)
    }

    /// Distance (degrees) of each scored residue from its class's favoured region, `[b, m]`.
    pub fn distances<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, _, _] = x.dims();
        let m = self.len();
        let dev = x.device();
        let (phi, psi) = self.phi_psi(x);
        // Fractional bin coordinates: bin k is centred at -179 + 2 k degrees.
        let to_bin = |a: Tensor<B, 2>| a * (90.0 / std::f64::consts::PI) + 89.5; // (deg + 180) / 2 - 0.5
        let (u, v) = (to_bin(phi), to_bin(psi));
        let (u0, v0) = (u.clone().detach().floor(), v.clone().detach().floor());
        let (fu, fv) = (u - u0.clone(), v - v0.clone());
        let wrap = |t: Tensor<B, 2, Int>| (t + BINS as i64).remainder_scalar(BINS as i64);
        let (i0, j0) = (wrap(u0.int()), wrap(v0.int()));
        let (i1, j1) = (wrap(i0.clone() + 1), wrap(j0.clone() + 1));
        let off: Tensor<B, 2, Int> = index::<B>(&self.offset, &dev).unsqueeze::<2>();
        let flat = |i: Tensor<B, 2, Int>, j: Tensor<B, 2, Int>| off.clone() + i * BINS as i64 + j;
        let corners = Tensor::cat(
            vec![flat(i0.clone(), j0.clone()), flat(i1.clone(), j0), flat(i0, j1.clone()), flat(i1, j1)],
            1,
        );
        let field: Tensor<B, 1> = Tensor::from_data(TensorData::new(self.fields.clone(), [self.fields.len()]), &dev);
        let vals = field.select(0, corners.reshape([b * 4 * m])).reshape([b, 4 * m]);
        let c = |k: usize| vals.clone().narrow(1, k * m, m);
        let (gu, gv) = (fu.clone().neg() + 1.0, fv.clone().neg() + 1.0);
        gu.clone() * gv.clone() * c(0) + fu.clone() * gv * c(1) + gu * fv.clone() * c(2) + fu * fv * c(3)
    }
}

/// Ramachandran part per structure, `[b]`: `RAMA_SCALE * mean_residues h(d / RAMA_WIDTH)` with
/// `d` the interpolated distance (degrees) from the residue's favoured region. Zero when no
/// residue is scored.
pub fn rama<B: Backend>(x: Tensor<B, 3>, topo: &RamaTopology) -> Tensor<B, 1> {
    let [b, _, _] = x.dims();
    if topo.is_empty() {
        return Tensor::zeros([b], &x.device());
    }
    flat_huber(topo.distances(&x) / RAMA_WIDTH).mean_dim(1).reshape([b]) * super::RAMA_SCALE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::geometry::Verdict;
    use crate::metrics::geometry::rama::{rama_score, rama_verdict};

    use super::super::ops::flat_huber_f64;
    use super::super::testutil::{AtomList, build, tensor};
    use crate::metrics::geometry::rama::phi_psi;
    use crate::structure::Element;
    use crate::structure::geometry::{cross, dot, sub};

    /// NeRF: the point `d` with |cd| = l, angle b-c-d = theta and dihedral a-b-c-d = tors (deg).
    fn place(a: [f64; 3], b: [f64; 3], c: [f64; 3], l: f64, theta: f64, tors: f64) -> [f64; 3] {
        let unit = |v: [f64; 3]| {
            let n = dot(v, v).sqrt();
            v.map(|x| x / n)
        };
        let bc = unit(sub(c, b));
        let n = unit(cross(sub(b, a), bc));
        let m = cross(n, bc);
        let (t, p) = (theta.to_radians(), tors.to_radians());
        let d2 = [-l * t.cos(), l * t.sin() * p.cos(), l * t.sin() * p.sin()];
        [0, 1, 2].map(|k| c[k] + d2[0] * bc[k] + d2[1] * m[k] + d2[2] * n[k])
    }

    /// Three residues with Engh & Huber backbone geometry, trans peptides, the middle one at
    /// (phi, psi) and the others in a helix.
    fn tripeptide(names: [&str; 3], phi: f64, psi: f64) -> Structure {
        let (phis, psis) = ([-57.0, phi, -57.0], [-47.0, psi, -47.0]);
        let mut bb = vec![[0.0, 0.0, 0.0], [1.458, 0.0, 0.0]];
        let a = 68.8f64.to_radians();
        bb.push([1.458 + 1.525 * a.cos(), 1.525 * a.sin(), 0.0]);
        for r in 1..3 {
            let k = bb.len();
            let n = place(bb[k - 3], bb[k - 2], bb[k - 1], 1.329, 116.2, psis[r - 1]);
            let ca = place(bb[k - 2], bb[k - 1], n, 1.458, 121.7, 180.0);
            let c = place(bb[k - 1], n, ca, 1.525, 111.2, phis[r]);
            bb.extend([n, ca, c]);
        }
        let residues: Vec<(&str, AtomList)> = (0..3)
            .map(|r| {
                let (n, ca, c) = (bb[3 * r], bb[3 * r + 1], bb[3 * r + 2]);
                let o = place(n, ca, c, 1.231, 120.8, psis[r] + 180.0);
                (
                    names[r],
                    vec![("N", Element::N, n), ("CA", Element::C, ca), ("C", Element::C, c), ("O", Element::O, o)],
                )
            })
            .collect();
        build(&residues)
    }

    #[test]
    fn helix_costs_nothing_and_left_handed_regions_cost_by_class() -> Result<()> {
        let s = tripeptide(["ALA", "ALA", "ALA"], -57.0, -47.0);
        let (phi, psi) = phi_psi(&s, 1);
        assert!((phi.unwrap_or(0.0) + 57.0).abs() < 1e-6 && (psi.unwrap_or(0.0) + 47.0).abs() < 1e-6);
        let topo = RamaTopology::new(&s)?;
        assert_eq!((topo.len(), topo.classes[0]), (1, RamaClass::General));
        assert_eq!(rama(tensor(&s), &topo).into_scalar(), 0.0);
        // (60, -120): "allowed" for the general class, so a small penalty ...
        let s = tripeptide(["ALA", "ALA", "ALA"], 60.0, -120.0);
        let d = rama_distance(RamaClass::General, 60.0, -120.0)?;
        let got = rama(tensor(&s), &RamaTopology::new(&s)?).into_scalar() as f64;
        let want = super::super::RAMA_SCALE * flat_huber_f64(d / RAMA_WIDTH);
        assert!(got > 0.0 && (got - want).abs() < 1e-3 * want, "{got} vs {want}");
        // ... and far outside for Ile (class Ile/Val: no left-handed region); Gly is favoured there
        let s = tripeptide(["ALA", "ILE", "ALA"], 60.0, -120.0);
        let topo = RamaTopology::new(&s)?;
        assert_eq!(topo.classes[0], RamaClass::IleVal);
        let got = rama(tensor(&s), &topo).into_scalar() as f64;
        assert!(got > 5.0 * super::super::RAMA_SCALE, "{got}");
        let s = tripeptide(["ALA", "GLY", "ALA"], 60.0, -120.0);
        assert_eq!(rama(tensor(&s), &RamaTopology::new(&s)?).into_scalar(), 0.0);
        Ok(())
    }

    #[test]
    fn distance_transform_is_exact_on_a_small_torus() {
        // One inside cell at (0, 0) on a 10 x 10 torus: distance to (3, 4) is 5, to (9, 8) is
        // sqrt(1 + 4) (wrapping).
        let mut inside = vec![false; 100];
        inside[0] = true;
        let d2 = torus_edt(&inside, 10);
        assert_eq!(d2[3 * 10 + 4], 25.0);
        assert_eq!(d2[9 * 10 + 8], 5.0);
        assert_eq!(d2[0], 0.0);
    }

    #[test]
    fn field_is_zero_where_favoured_and_grows_outside() -> Result<()> {
        // alpha helix and beta: favoured, distance 0
        assert!(rama_distance(RamaClass::General, -63.0, -43.0)? < 1e-9);
        assert!(rama_distance(RamaClass::General, -120.0, 130.0)? < 1e-9);
        // Empty regions of the general Top8000 data (outliers): tens of degrees out.
        for (phi, psi) in [(100.0, -60.0), (0.0, 180.0), (-170.0, -30.0), (90.0, -90.0)] {
            let d = rama_distance(RamaClass::General, phi, psi)?;
            assert!(d > 30.0, "{phi} {psi}: {d}");
        }
        // (60, -120) is "allowed" for the general class (score 0.009, a few degrees from a
        // favoured patch of the left-handed region), an outlier for Ile / Val, favoured for Gly.
        let d = rama_distance(RamaClass::General, 60.0, -120.0)?;
        assert!(d > 2.0 && d < 20.0, "{d}");
        assert!(rama_distance(RamaClass::IleVal, 60.0, -120.0)? > 60.0);
        assert_eq!(rama_distance(RamaClass::Glycine, 60.0, -120.0)?, 0.0);
        // every bin centre whose score is favoured has distance 0; outliers are at least 2 deg out
        for i in (0..180).step_by(7) {
            for j in (0..180).step_by(5) {
                let (phi, psi) = (-179.0 + 2.0 * i as f64, -179.0 + 2.0 * j as f64);
                let s = rama_score(RamaClass::General, phi, psi)?;
                let d = rama_distance(RamaClass::General, phi, psi)?;
                assert_eq!(d == 0.0, s >= FAVOURED_THRESHOLD, "{phi} {psi}: score {s} distance {d}");
                if rama_verdict(RamaClass::General, s) == Verdict::Outlier {
                    assert!(d >= 2.0, "{phi} {psi}");
                }
            }
        }
        Ok(())
    }
}
