//! Rotamer part: distance of each side chain's chi angles from the nearest Top8000 rotamer
//! centre (`rota_central`), in esd units, with a flat bottom.
//!
//! For residue `r` and rotamer centre `k` (chi means `mu_kc`, esds `s_kc`, c = 1..n_chi):
//!
//! `q_rk = sum_c 2 (1 - cos(m_c (chi_c - mu_kc))) / (m_c^2 sigma_kc^2)`,
//! `sigma_kc = max(s_kc, 1 deg) * APPROX_ESD_SCALE`,
//!
//! a von Mises form of the squared esd-scaled deviation (equal to `(dchi / sigma)^2` near the
//! centre, periodic and smooth everywhere, so no wrap-around seam). `m_c = 2` for the last chi
//! of Asp, Glu, Phe and Tyr (the two terminal atoms are equivalent, so chi and chi + 180 are the
//! same rotamer), 1 otherwise. The soft minimum over the residue type's centres,
//! `Q_r = -2 ln sum_k exp(-q_rk / 2)` (at most `min_k q_rk`, within `2 ln K` of it), gives a
//! Mahalanobis-like distance `D_r = sqrt(max(Q_r, 0))` to the nearest rotamer, and
//!
//! `L_rotamer = ROTAMER_SCALE * mean_residues h(D_r - ROTAMER_FLAT)`
//!
//! with `h` the flat-bottom Huber penalty ([`super::ops::flat_huber`]). The centres are not
//! weighted by their frequency: the centre of a rare rotamer costs nothing, as it is not an
//! outlier either. The esd widening [`APPROX_ESD_SCALE`] (1.5) is the one calibrated for the
//! approximate Arg / Lys rotamer score in [`crate::metrics::geometry::rotamer`]; every residue
//! type with `rota_central` centres is scored this way (Arg and Lys included).

use burn::prelude::*;

use super::ops::{dihedral_rad, flat_huber, floats, gather_blocks};
use crate::Result;
use crate::metrics::geometry::rama::standard_name;
use crate::metrics::geometry::rotamer::{APPROX_ESD_SCALE, chi_atoms, last_chi_symmetric};
use crate::metrics::geometry::tables::rota_central;
use crate::structure::Structure;

/// Flat bottom of the rotamer penalty, in (widened) esd units of the soft distance to the
/// nearest rotamer centre (see the module documentation; calibrated on the MolProbity verdicts
/// of the AdK models in the crate's calibration run).
pub const ROTAMER_FLAT: f64 = 2.5;

/// Temperature `T` of the soft minimum over rotamer centres,
/// `Q = -2 T ln sum_k exp(-q_k / (2 T))`: within `2 T ln K` of the hard minimum (at most 2.0 for
/// Arg's 60 centres), smooth where two centres are equally near.
pub const ROTAMER_SOFTNESS: f64 = 0.25;

/// Added to `q` of padding centres (residue types with fewer than the most centres), so they
/// never take part in the soft minimum.
const PAD_Q: f32 = 1.0e4;

/// Chi quadruples and rotamer centres of the residues with rotamers in the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct RotamerTopology {
    /// Residue index (in the reference) of each scored residue.
    pub residues: Vec<usize>,
    /// Most centres of any scored residue type (`K`).
    pub k: usize,
    /// Atom indices in 4 blocks of `m * 4` (residue-major, chi-minor; unused chis repeat chi 1).
    idx: Vec<i64>,
    /// Period multiplier `m_c`, `[m, 4]`.
    mult: Vec<f32>,
    /// `m_c mu_kc` (radians), `[m, K, 4]`.
    mmu: Vec<f32>,
    /// `2 / (m_c^2 sigma_kc^2)` (1 / rad^2; 0 for unused chis), `[m, K, 4]`.
    coef: Vec<f32>,
    /// 0 for real centres, [`PAD_Q`] for padding, `[m, K]`.
    pad: Vec<f32>,
}

impl RotamerTopology {
    /// Chi quadruples of every standard residue of `s` that has `rota_central` centres and all
    /// its chi atoms (Ile "CD" accepted for "CD1").
    pub fn new(s: &Structure) -> Result<RotamerTopology> {
        struct Row {
            res: usize,
            quads: Vec<[usize; 4]>,
            name: &'static str,
        }
        let mut rows: Vec<Row> = Vec::new();
        let mut k = 0;
        for r in 0..s.residues.len() {
            let Some(name) = standard_name(&s.residues[r].name) else { continue };
            let Some(centres) = rota_central(name)? else { continue };
            let defs = chi_atoms(name);
            let find = |n: &str| {
                s.atom_in(r, n).or_else(|| if name == "ILE" && n == "CD1" { s.atom_in(r, "CD") } else { None })
            };
            let nchi = centres.iter().map(|c| c.chi_mean.len()).min().unwrap_or(0).min(defs.len()).min(4);
            if nchi == 0 {
                continue;
            }
            let quads: Option<Vec<[usize; 4]>> =
                defs[..nchi].iter().map(|q| Some([find(q[0])?, find(q[1])?, find(q[2])?, find(q[3])?])).collect();
            let Some(quads) = quads else { continue };
            k = k.max(centres.len());
            rows.push(Row { res: r, quads, name });
        }
        let m = rows.len();
        let mut idx = vec![0i64; 4 * m * 4];
        let mut mult = vec![1.0f32; m * 4];
        let mut mmu = vec![0.0f32; m * k * 4];
        let mut coef = vec![0.0f32; m * k * 4];
        let mut pad = vec![PAD_Q; m * k];
        for (i, row) in rows.iter().enumerate() {
            let nchi = row.quads.len();
            for c in 0..4 {
                let q = row.quads[c.min(nchi - 1)];
                for (a, atom) in q.iter().enumerate() {
                    idx[a * m * 4 + i * 4 + c] = *atom as i64;
                }
                if c + 1 == nchi && last_chi_symmetric(row.name) {
                    mult[i * 4 + c] = 2.0;
                }
            }
            let centres = rota_central(row.name)?.unwrap_or(&[]);
            for (kk, cen) in centres.iter().enumerate() {
                pad[i * k + kk] = 0.0;
                for c in 0..nchi {
                    let mc = mult[i * 4 + c] as f64;
                    let sigma = (cen.chi_esd[c].max(1.0) * APPROX_ESD_SCALE).to_radians();
                    mmu[(i * k + kk) * 4 + c] = (mc * cen.chi_mean[c].to_radians()) as f32;
                    coef[(i * k + kk) * 4 + c] = (2.0 / (mc * mc * sigma * sigma)) as f32;
                }
            }
        }
        Ok(RotamerTopology { residues: rows.iter().map(|r| r.res).collect(), k, idx, mult, mmu, coef, pad })
    }

    /// Number of scored residues.
    pub fn len(&self) -> usize {
        self.residues.len()
    }

    /// True when no residue has rotamers.
    pub fn is_empty(&self) -> bool {
        self.residues.is_empty()
    }

    /// Chi angles (radians) `[b, m, 4]`; unused chis repeat chi 1.
    pub fn chis<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, _, _] = x.dims();
        let p = gather_blocks(x, &self.idx, 4);
        dihedral_rad(p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone()).reshape([b, self.len(), 4])
    }

    /// Soft distance `D_r` (esd units) of each scored residue to its nearest rotamer, `[b, m]`.
    pub fn distances<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, _, _] = x.dims();
        let (m, k) = (self.len(), self.k);
        let dev = x.device();
        let chi = self.chis(x) * floats::<B, 3>(&self.mult, [1, m, 4], &dev); // [b, m, 4]
        let arg = chi.unsqueeze_dim::<4>(2) - floats::<B, 4>(&self.mmu, [1, m, k, 4], &dev); // [b, m, K, 4]
        let q =
            ((arg.cos().neg() + 1.0) * floats::<B, 4>(&self.coef, [1, m, k, 4], &dev)).sum_dim(3).reshape([b, m, k])
                + floats::<B, 3>(&self.pad, [1, m, k], &dev);
        // Soft minimum, shifted by the (constant) hard minimum for stability.
        let t = ROTAMER_SOFTNESS;
        let qmin = q.clone().detach().min_dim(2); // [b, m, 1]
        let soft = qmin.clone() - ((q - qmin).neg() * (0.5 / t)).exp().sum_dim(2).log() * (2.0 * t);
        (soft.clamp_min(0.0) + 1e-6).sqrt().reshape([b, m])
    }
}

/// Rotamer part per structure, `[b]`: `ROTAMER_SCALE * mean_residues h(D_r - ROTAMER_FLAT)`
/// (see the module documentation). Zero when no residue is scored.
pub fn rotamer<B: Backend>(x: Tensor<B, 3>, topo: &RotamerTopology) -> Tensor<B, 1> {
    let [b, _, _] = x.dims();
    if topo.is_empty() {
        return Tensor::zeros([b], &x.device());
    }
    flat_huber(topo.distances(&x) - ROTAMER_FLAT).mean_dim(1).reshape([b]) * super::ROTAMER_SCALE
}

#[cfg(test)]
mod tests {
    use super::super::ops::flat_huber_f64;
    use super::super::testutil::{fragment, set_dihedral, tensor};
    use super::*;

    const PHE: usize = 2; // fragment residues: D84 G85 F86 P87 R88 T89 I90 P91
    const ARG: usize = 4;
    const PHE_CHI1: [&str; 4] = ["N", "CA", "CB", "CG"];
    const PHE_CHI2: [&str; 4] = ["CA", "CB", "CG", "CD1"];
    const RING: [&str; 6] = ["CG", "CD1", "CD2", "CE1", "CE2", "CZ"];

    fn phe(chi1: f64, chi2: f64) -> Structure {
        let mut s = fragment();
        set_dihedral(&mut s, PHE, PHE_CHI1, chi1, &RING);
        set_dihedral(&mut s, PHE, PHE_CHI2, chi2, &RING[1..]);
        s
    }

    fn distance_of(s: &Structure, r: usize) -> f64 {
        let topo = RotamerTopology::new(s).expect("topology");
        let k = topo.residues.iter().position(|&x| x == r).expect("residue scored");
        topo.distances(&tensor(s)).into_data().into_vec::<f32>().expect("f32")[k] as f64
    }

    #[test]
    fn scored_residues_of_the_fragment() -> Result<()> {
        // D84 F86 P87 R88 T89 I90 P91 have rota_central centres and all chi atoms; G85 has none.
        let topo = RotamerTopology::new(&fragment())?;
        assert_eq!(topo.residues, vec![0, 2, 3, 4, 5, 6, 7]);
        assert_eq!(topo.k, 60); // Arg has 60 named rotamers
        Ok(())
    }

    #[test]
    fn rotamer_centres_cost_nothing_and_symmetry_is_respected() -> Result<()> {
        // Phe m-80 centre (-67, -81), and its ring flipped by 180 degrees
        assert!(distance_of(&phe(-67.0, -81.0), PHE) < 0.01);
        assert!(distance_of(&phe(-67.0, 99.0), PHE) < 0.01);
        // Arg at its most populated rotamer
        let centres = rota_central("ARG")?.unwrap_or(&[]);
        let best = centres.iter().max_by_key(|c| c.count).expect("centres");
        let mut s = fragment();
        let chain = ["CG", "CD", "NE", "CZ", "NH1", "NH2"];
        let quads = chi_atoms("ARG");
        for (c, q) in quads.iter().enumerate() {
            set_dihedral(&mut s, ARG, *q, best.chi_mean[c], &chain[c..]);
        }
        assert!(distance_of(&s, ARG) < 0.01, "{}", best.name);
        Ok(())
    }

    #[test]
    fn chi_off_centre_costs_by_esd_distance() -> Result<()> {
        // chi1 three widened esds (3 x 1.5 x 10.1 deg) off the m-80 centre: the von Mises distance is
        // 2 sin(dchi / 2) / sigma = 2.922 (the other Phe centres are > 3.6 away).
        let sigma = (10.1f64 * APPROX_ESD_SCALE).to_radians();
        let dchi = 3.0 * 10.1 * APPROX_ESD_SCALE;
        let want = 2.0 * (dchi.to_radians() / 2.0).sin() / sigma;
        let s = phe(-67.0 + dchi, -81.0);
        let got = distance_of(&s, PHE);
        assert!((got - want).abs() < 2e-3, "{got} vs {want}");
        // its contribution to the part: ROTAMER_SCALE * h(D - 2.5) / 7 residues, the others being
        // the (unchanged) reference side chains
        let topo = RotamerTopology::new(&s)?;
        let d = topo.distances(&tensor(&s)).into_data().into_vec::<f32>().unwrap_or_default();
        let want_part: f64 =
            d.iter().map(|v| flat_huber_f64(*v as f64 - ROTAMER_FLAT)).sum::<f64>() / 7.0 * super::super::ROTAMER_SCALE;
        let got_part = rotamer(tensor(&s), &topo).into_scalar() as f64;
        assert!((got_part - want_part).abs() < 1e-3 * want_part.max(1.0));
        // eclipsed chi1 (0 degrees) is no rotamer at all
        assert!(distance_of(&phe(0.0, -81.0), PHE) > ROTAMER_FLAT + 0.5);
        Ok(())
    }
}
