//! Bond-length and bond-angle parts: deviations from the Engh & Huber ideal values in sigma
//! units, penalised only beyond a flat bottom.
//!
//! `z = (observed - ideal) / sigma` with the targets of [`crate::metrics::geometry::ideal`]
//! (intra-residue templates plus the peptide bond and the three angles across it, the same
//! restraints `validate_geometry` reports as bond / angle RMSZ), and
//!
//! `L_bond = BOND_SCALE * mean_bonds h(|z| - z_flat)`, `L_angle = ANGLE_SCALE * mean_angles h(|z| - z_flat)`,
//!
//! with `h` the flat-bottom Huber penalty ([`super::ops::flat_huber`]) and `z_flat` the flat
//! bottom of the restraints ([`Restraints::with_flat_bottom`]). `METHOD.md` prescribes 4.9
//! ([`Z_FLAT_METHOD`]: MolProbity calls |z| > 4 an outlier; the 0.9 sigma margin leaves room for
//! the ordinary spread of good models). The default is [`Z_FLAT`] = 3: with 4.9 the map noise
//! spreads bonds and angles up to the threshold and the fitted AdK models end with bond / angle
//! RMSZ 2.7-3.1 / 2.3-2.8, worse than the MD frames they are fitted to (1.7-2.0 / 1.9-2.5); at 3
//! they match those (1.8-2.0 / 1.6-1.9) and the C-alpha RMSD stays about the same (open map
//! 0.95-1.00 A over three seeds against 0.93-0.96 at 4.9; the sweep is in
//! [`crate::train::MolprobityParts::covalent_z_flat`]). Angles come from `atan2(|u x w|, u . w)`.

use burn::prelude::*;

use super::ops::{angle_deg, distance, flat_huber, floats, gather_blocks};
use crate::metrics::geometry::ideal::{peptide_angles, peptide_bond, residue_angles, residue_bonds};
use crate::metrics::geometry::rama::{next_linked, standard_name};
use crate::structure::Structure;

/// |z| below which bonds and angles cost nothing, by default.
pub const Z_FLAT: f64 = 3.0;

/// The flat bottom `METHOD.md` prescribes (the paper's setting).
pub const Z_FLAT_METHOD: f64 = 4.9;

/// Restraint lists (bonds or angles) with ideal values and sigmas.
#[derive(Clone, Debug, PartialEq)]
pub struct Restraints {
    /// Atom indices in `k` blocks of `m` (k = 2 for bonds, 3 for angles with the vertex second).
    idx: Vec<i64>,
    /// Atoms per restraint (2 or 3).
    k: usize,
    /// Ideal value (A or degrees).
    pub ideal: Vec<f32>,
    /// Sigma (A or degrees).
    pub sigma: Vec<f32>,
    /// |z| below which a restraint costs nothing (default [`Z_FLAT`]).
    pub z_flat: f64,
}

impl Restraints {
    fn from_rows(rows: Vec<(Vec<usize>, f64, f64)>, k: usize) -> Restraints {
        let idx = (0..k).flat_map(|a| rows.iter().map(move |r| r.0[a] as i64)).collect();
        Restraints {
            idx,
            k,
            ideal: rows.iter().map(|r| r.1 as f32).collect(),
            sigma: rows.iter().map(|r| r.2 as f32).collect(),
            z_flat: Z_FLAT,
        }
    }

    /// The same restraints with the flat bottom at `z_flat` (|z| below it costs nothing).
    pub fn with_flat_bottom(self, z_flat: f64) -> Restraints {
        Restraints { z_flat, ..self }
    }

    /// Bond restraints of `s`: every template bond of a standard residue whose two atoms are
    /// present, and C(i)-N(i+1) of linked residues (as [`crate::metrics::geometry::ideal::bond_deviations`]).
    pub fn bonds(s: &Structure) -> Restraints {
        let mut rows = Vec::new();
        for r in 0..s.residues.len() {
            for bd in residue_bonds(&s.residues[r].name) {
                if let (Some(a), Some(b)) = (s.atom_in(r, bd.a), s.atom_in(r, bd.b)) {
                    rows.push((vec![a, b], bd.length, bd.sigma));
                }
            }
            if let Some(q) = next_linked(s, r)
                && let (Some(c), Some(n)) = (s.atom_in(r, "C"), s.atom_in(q, "N"))
            {
                let (ideal, sigma) = peptide_bond(standard_name(&s.residues[q].name).unwrap_or(""));
                rows.push((vec![c, n], ideal, sigma));
            }
        }
        Restraints::from_rows(rows, 2)
    }

    /// Angle restraints of `s`: template angles of standard residues and CA-C-N, O-C-N,
    /// C-N-CA across peptide bonds (as [`crate::metrics::geometry::ideal::angle_deviations`]).
    pub fn angles(s: &Structure) -> Restraints {
        let mut rows = Vec::new();
        for r in 0..s.residues.len() {
            for ag in residue_angles(&s.residues[r].name) {
                if let (Some(a), Some(b), Some(c)) = (s.atom_in(r, ag.a), s.atom_in(r, ag.b), s.atom_in(r, ag.c)) {
                    rows.push((vec![a, b, c], ag.angle, ag.sigma));
                }
            }
            if let Some(q) = next_linked(s, r) {
                let this = standard_name(&s.residues[r].name).unwrap_or("");
                let next = standard_name(&s.residues[q].name).unwrap_or("");
                let [a1, a2, a3] = peptide_angles(this, next);
                let trip = [
                    (a1, s.atom_in(r, "CA"), s.atom_in(r, "C"), s.atom_in(q, "N")),
                    (a2, s.atom_in(r, "O"), s.atom_in(r, "C"), s.atom_in(q, "N")),
                    (a3, s.atom_in(r, "C"), s.atom_in(q, "N"), s.atom_in(q, "CA")),
                ];
                for ((_, ideal, sigma), a, b, c) in trip {
                    if let (Some(a), Some(b), Some(c)) = (a, b, c) {
                        rows.push((vec![a, b, c], ideal, sigma));
                    }
                }
            }
        }
        Restraints::from_rows(rows, 3)
    }

    /// Number of restraints.
    pub fn len(&self) -> usize {
        self.ideal.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ideal.is_empty()
    }

    /// z-scores `[b, m]` of the observed values (lengths for 2 atoms, angles for 3).
    pub fn z<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 2> {
        let m = self.len();
        let dev = x.device();
        let p = gather_blocks(x, &self.idx, self.k);
        let obs = if self.k == 2 {
            distance(p[0].clone(), p[1].clone())
        } else {
            angle_deg(p[0].clone(), p[1].clone(), p[2].clone())
        };
        (obs - floats::<B, 2>(&self.ideal, [1, m], &dev)) / floats::<B, 2>(&self.sigma, [1, m], &dev)
    }

    /// `mean h(|z| - z_flat)` per structure, `[b]` (0 without restraints).
    fn penalty<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 1> {
        let [b, _, _] = x.dims();
        if self.is_empty() {
            return Tensor::zeros([b], &x.device());
        }
        flat_huber(self.z(x).abs() - self.z_flat).mean_dim(1).reshape([b])
    }
}

/// Bond-length part per structure, `[b]`: `BOND_SCALE * mean_bonds h(|z| - z_flat)`.
pub fn bond<B: Backend>(x: Tensor<B, 3>, bonds: &Restraints) -> Tensor<B, 1> {
    bonds.penalty(&x) * super::BOND_SCALE
}

/// Bond-angle part per structure, `[b]`: `ANGLE_SCALE * mean_angles h(|z| - z_flat)`.
pub fn angle<B: Backend>(x: Tensor<B, 3>, angles: &Restraints) -> Tensor<B, 1> {
    angles.penalty(&x) * super::ANGLE_SCALE
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{build, fragment, tensor};
    use super::*;
    use crate::structure::Element;

    /// One glycine N-CA-C-O in the xy plane: ideal bonds, CA-C-O ideal (120.8), N-CA-C as given.
    fn glycine(n_ca_c: f64, ca_c: f64) -> Structure {
        let ca = [0.0, 0.0, 0.0];
        let n = [-1.451, 0.0, 0.0]; // Gly N-CA 1.451
        let t = (180.0 - n_ca_c).to_radians();
        let c = [ca_c * t.cos(), ca_c * t.sin(), 0.0];
        // O: rotate the C->CA direction by 120.8 degrees in the plane
        let u = [-c[0] / ca_c, -c[1] / ca_c];
        let a = (-120.8f64).to_radians();
        let d = [u[0] * a.cos() - u[1] * a.sin(), u[0] * a.sin() + u[1] * a.cos()];
        let o = [c[0] + 1.231 * d[0], c[1] + 1.231 * d[1], 0.0];
        build(&[(
            "GLY",
            vec![("N", Element::N, n), ("CA", Element::C, ca), ("C", Element::C, c), ("O", Element::O, o)],
        )])
    }

    #[test]
    fn ideal_glycine_costs_nothing() {
        let s = glycine(112.5, 1.516);
        let (b, a) = (Restraints::bonds(&s), Restraints::angles(&s));
        assert_eq!((b.len(), a.len()), (3, 2)); // N-CA, CA-C, C-O; N-CA-C, CA-C-O
        let z = a.z(&tensor(&s)).into_data().into_vec::<f32>().unwrap_or_default();
        assert!(z.iter().all(|v| v.abs() < 1e-3), "{z:?}");
        assert_eq!(bond(tensor(&s), &b).into_scalar(), 0.0);
        assert_eq!(angle(tensor(&s), &a).into_scalar(), 0.0);
    }

    #[test]
    fn stretched_bond_and_opened_angle_beyond_the_threshold_are_penalised() {
        let method = |r: Restraints| r.with_flat_bottom(Z_FLAT_METHOD);
        // CA-C stretched to z = 6.4 (1.516 + 6.4 x 0.018): h(6.4 - 4.9) = 1.5 - 0.5 = 1, mean over 3 bonds
        let s = glycine(112.5, 1.516 + 6.4 * 0.018);
        let got = bond(tensor(&s), &method(Restraints::bonds(&s))).into_scalar() as f64;
        let want = super::super::BOND_SCALE * 1.0 / 3.0;
        assert!((got - want).abs() < 2e-3 * want, "{got} vs {want}");
        // stretched within the flat bottom (z = 4.5): free
        let s = glycine(112.5, 1.516 + 4.5 * 0.018);
        assert_eq!(bond(tensor(&s), &method(Restraints::bonds(&s))).into_scalar(), 0.0);
        // ... but not within the default one (3): h(4.5 - 3) = 1, mean over 3 bonds
        let got = bond(tensor(&s), &Restraints::bonds(&s)).into_scalar() as f64;
        assert!((got - want).abs() < 2e-3 * want, "{got} vs {want}");
        // N-CA-C opened to z = 5.4 (112.5 + 5.4 x 2.9): h(0.5) = 0.125, mean over 2 angles
        let s = glycine(112.5 + 5.4 * 2.9, 1.516);
        let got = angle(tensor(&s), &method(Restraints::angles(&s))).into_scalar() as f64;
        let want = super::super::ANGLE_SCALE * 0.125 / 2.0;
        assert!((got - want).abs() < 5e-3 * want, "{got} vs {want}");
        // z = 3.2 against a flat bottom of 3: h(0.2) = 0.02
        let s = glycine(112.5 + 3.2 * 2.9, 1.516);
        let got = angle(tensor(&s), &Restraints::angles(&s)).into_scalar() as f64;
        let want = super::super::ANGLE_SCALE * 0.02 / 2.0;
        assert!((got - want).abs() < 2e-2 * want, "{got} vs {want}");
    }

    #[test]
    fn restraints_match_the_validation_lists() {
        // same restraints, same z-scores as metrics::geometry::ideal
        use crate::metrics::geometry::ideal::{angle_deviations, bond_deviations};
        let s = fragment();
        let x = tensor(&s);
        for (r, devs) in [(Restraints::bonds(&s), bond_deviations(&s)), (Restraints::angles(&s), angle_deviations(&s))]
        {
            assert_eq!(r.len(), devs.len());
            let z = r.z(&x).into_data().into_vec::<f32>().unwrap_or_default();
            for (zi, d) in z.iter().zip(&devs) {
                assert!((*zi as f64 - d.z).abs() < 2e-3 * d.z.abs().max(1.0), "{}: {zi} vs {}", d.atoms, d.z);
            }
        }
    }
}
