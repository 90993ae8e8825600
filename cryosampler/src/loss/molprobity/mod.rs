//! The differentiable MolProbity-style loss `L_MolProb` of stage 1 (paper eq. 6-7, `METHOD.md`
//! "Stage 1"): five parts on heavy-atom coordinates, each built on the tables and definitions of
//! the (non-differentiable) validation in [`crate::metrics::geometry`].
//!
//! | part | file | per-item penalty | reduction |
//! |---|---|---|---|
//! | rama | [`mod@rama`] | `h(d / 10 deg)`, `d` = distance from the Top8000 favoured region | mean over residues |
//! | rotamer | [`mod@rotamer`] | `h(D - 2.5)`, `D` = soft esd distance to the nearest `rota_central` rotamer | mean over residues |
//! | clash | [`mod@clash`] | `h((l_ij - d_ij) / 0.2 A)`, `l_ij` = r_i + r_j - 0.3 A over heavy atoms and [`riding`] hydrogens (H-bonds 0.55 A less) | sum per 1000 atoms |
//! | bond | [`covalent`] | `h(|z| - 4.9)` against Engh & Huber | mean over bonds |
//! | angle | [`covalent`] | `h(|z| - 4.9)` against Engh & Huber | mean over angles |
//!
//! `h` is the flat-bottom Huber penalty ([`ops::flat_huber`]: 0 below the threshold, quadratic
//! over one width, then linear), so a good model costs ~nothing and a broken one pulls with a
//! bounded force per item.
//!
//! **Scale.** EMAN2's `e2gmm_model_refine.py` (whose terms the paper adapts) multiplies mean
//! outlier excesses by 500 to 10^6 (bond / angle `2e4 mean relu(|z| - 4.5)`, Rama
//! `2.5e3 mean relu(...)` plus `5e6 mean relu(...)` past the outlier level, rotamer `1e4 mean`,
//! clash an unnormalised sum over pairs) and then rescales the whole geometry term adaptively;
//! the paper's fixed `lambda_M = 1e-6` says "the raw terms are large" in that sense. Here each
//! part is `SCALE * (dimensionless mean penalty)` with the `*_SCALE` constants below chosen so
//! that, with `lambda_M = 1e-6`, a model with broken geometry (Rama outliers ~25 %,
//! clashscore in the hundreds) weighs ~0.1-1 against `L_recon = 1 - NCC` (~0.5), and
//! MolProbity-clean models at most ~0.01. The means make the weighted term independent of the
//! protein's size, like `L_recon`. Calibration on AdK (1,656 heavy atoms; the ignored test
//! `calibration_on_adk_models` reprints it from the shared data; `validate_geometry` scores Rama
//! only across intact peptide bonds, so on the distorted fits it sees 27-108 of 212 residues):
//!
//! | model | Rama outl. % | clashscore | bond RMSZ | `1e-6 L_MolProb` |
//! |---|---|---|---|---|
//! | reference (crystal) | 0.0 | 0.3 | 0.77 | 0.0014 |
//! | MD frames `truth_0..3` | 0.0-4.3 | 0.6-16 | 1.7-2.0 | 0.0007-0.010 |
//! | fit with `lambda_B` 0.3, no MolProbity term | 2.8 | 645 | 81 | 0.28 |
//! | fits without structural loss | 30-43 | 1,050-1,450 | 40-180 | 0.30-0.95 |
//!
//! ```no_run
//! use burn::prelude::*;
//! use cryosampler::device::{self, B};
//! use cryosampler::loss::molprobity::MolprobityLoss;
//! use cryosampler::structure::Structure;
//! use cryosampler::train::MolprobityParts;
//! let reference = Structure::read("reference.pdb")?;
//! let mut loss = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
//! let n = reference.atoms.len();
//! let x = Tensor::<B, 3>::from_data(TensorData::new(reference.coords_f32(), [1, n, 3]), &device::device());
//! let terms = loss.forward(x)?;
//! println!("{:?}", terms.means());
//! loss.update_pairs(&reference.coords_f32())?; // every few epochs, on the detached coordinates
//! # Ok::<(), cryosampler::Error>(())
//! ```

pub mod clash;
pub mod covalent;
pub mod ops;
pub mod rama;
pub mod riding;
pub mod rotamer;

use burn::prelude::*;

pub use clash::{ClashTopology, clash};
pub use covalent::{Restraints, Z_FLAT, Z_FLAT_METHOD, angle, bond};
pub use rama::{RamaTopology, rama};
pub use riding::RidingHydrogens;
pub use rotamer::{RotamerTopology, rotamer};

use crate::structure::Structure;
use crate::train::MolprobityParts;
use crate::{Error, Result};

/// Multiplier of the Ramachandran part (mean over residues of the flat-bottom penalty).
pub const RAMA_SCALE: f64 = 5.0e4;
/// Multiplier of the rotamer part (mean over residues).
pub const ROTAMER_SCALE: f64 = 3.0e4;
/// Multiplier of the clash part (sum over pairs per 1000 atoms).
pub const CLASH_SCALE: f64 = 200.0;
/// Multiplier of the bond-length part (mean over bonds).
pub const BOND_SCALE: f64 = 2.0e3;
/// Multiplier of the bond-angle part (mean over angles).
pub const ANGLE_SCALE: f64 = 5.0e3;

/// The topology of the MolProbity-style loss for one reference structure: index lists and
/// targets of every part, built once; only the clash pair list changes
/// ([`MolprobityLoss::update_pairs`]).
#[derive(Clone, PartialEq)]
pub struct MolprobityLoss {
    parts: MolprobityParts,
    n_atoms: usize,
    rama: RamaTopology,
    rotamer: RotamerTopology,
    clash: ClashTopology,
    /// Riding hydrogens of the clash part (when [`MolprobityParts::clash_hydrogens`]).
    riding: Option<RidingHydrogens>,
    bonds: Restraints,
    angles: Restraints,
}

impl std::fmt::Debug for MolprobityLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<MolprobityLoss {} atoms: {} rama, {} rotamer, {} clash pairs, {} bonds, {} angles>",
            self.n_atoms,
            self.rama.len(),
            self.rotamer.len(),
            self.clash.len(),
            self.bonds.len(),
            self.angles.len()
        )
    }
}

impl MolprobityLoss {
    /// Build every part's topology from the reference. Only heavy atoms are scored: hydrogens,
    /// if the reference has any, keep their places in the coordinate tensor but take part in no
    /// term. The clash pair list starts from the reference's coordinates. With
    /// [`MolprobityParts::clash_hydrogens`] the clash part adds riding hydrogens to the heavy
    /// atoms first ([`riding`]).
    pub fn new(reference: &Structure, parts: &MolprobityParts) -> Result<MolprobityLoss> {
        let riding = if parts.clash && parts.clash_hydrogens { Some(RidingHydrogens::new(reference)?) } else { None };
        let clash = match &riding {
            Some(r) => ClashTopology::with_riding(reference, r)?,
            None => ClashTopology::new(reference)?,
        };
        Ok(MolprobityLoss {
            parts: parts.clone(),
            n_atoms: reference.atoms.len(),
            rama: RamaTopology::new(reference)?,
            rotamer: RotamerTopology::new(reference)?,
            clash,
            riding,
            bonds: Restraints::bonds(reference).with_flat_bottom(parts.covalent_z_flat),
            angles: Restraints::angles(reference).with_flat_bottom(parts.covalent_z_flat),
        })
    }

    /// Which parts are on.
    pub fn parts(&self) -> &MolprobityParts {
        &self.parts
    }

    /// Atoms of the reference.
    pub fn n_atoms(&self) -> usize {
        self.n_atoms
    }

    /// Ramachandran topology.
    pub fn rama_topology(&self) -> &RamaTopology {
        &self.rama
    }

    /// Rotamer topology.
    pub fn rotamer_topology(&self) -> &RotamerTopology {
        &self.rotamer
    }

    /// Clash topology and current pair list.
    pub fn clash_topology(&self) -> &ClashTopology {
        &self.clash
    }

    /// Riding hydrogens of the clash part, if on.
    pub fn riding_hydrogens(&self) -> Option<&RidingHydrogens> {
        self.riding.as_ref()
    }

    /// Coordinates as the clash part takes them: with riding hydrogens appended when on.
    pub fn clash_coordinates<B: Backend>(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match &self.riding {
            Some(r) => r.with_hydrogens(x),
            None => x,
        }
    }

    /// Bond restraints.
    pub fn bond_restraints(&self) -> &Restraints {
        &self.bonds
    }

    /// Angle restraints.
    pub fn angle_restraints(&self) -> &Restraints {
        &self.angles
    }

    /// Refresh the clash pair list from detached coordinates (one structure `[n, 3]` or a batch
    /// `[k, n, 3]`, flattened; the list is the union). Call every few epochs.
    pub fn update_pairs(&mut self, coords: &[f32]) -> Result<()> {
        match &self.riding {
            Some(r) => self.clash.update_pairs(&r.with_hydrogens_host(coords)?),
            None => self.clash.update_pairs(coords),
        }
    }

    /// Every part for coordinates `x` `[b, n, 3]` (A), one value per structure `[b]`, unweighted
    /// (multiply the total by `lambda_M`). Parts switched off are zeros. Errors when `n` is not
    /// the reference's atom count.
    pub fn forward<B: Backend>(&self, x: Tensor<B, 3>) -> Result<MolprobityTerms<B>> {
        let [b, n, c] = x.dims();
        if n != self.n_atoms || c != 3 {
            return Err(Error::invalid(format!(
                "MolProbity loss: coordinates have shape [{b}, {n}, {c}], the reference has [_, {}, 3]",
                self.n_atoms
            )));
        }
        let zeros = || Tensor::<B, 1>::zeros([b], &x.device());
        let p = &self.parts;
        Ok(MolprobityTerms {
            rama: if p.rama { rama(x.clone(), &self.rama) } else { zeros() },
            rotamer: if p.rotamer { rotamer(x.clone(), &self.rotamer) } else { zeros() },
            clash: if p.clash { clash(self.clash_coordinates(x.clone()), &self.clash) } else { zeros() },
            bond: if p.bond { bond(x.clone(), &self.bonds) } else { zeros() },
            angle: if p.angle { angle(x, &self.angles) } else { zeros() },
        })
    }
}

/// The parts of the MolProbity-style loss, each `[b]` (one value per structure, unweighted).
#[derive(Clone, Debug)]
pub struct MolprobityTerms<B: Backend> {
    /// Ramachandran part.
    pub rama: Tensor<B, 1>,
    /// Rotamer part.
    pub rotamer: Tensor<B, 1>,
    /// Clash part.
    pub clash: Tensor<B, 1>,
    /// Bond-length part.
    pub bond: Tensor<B, 1>,
    /// Bond-angle part.
    pub angle: Tensor<B, 1>,
}

impl<B: Backend> MolprobityTerms<B> {
    /// Names of the parts, in the order of [`MolprobityTerms::named`].
    pub const NAMES: [&'static str; 5] = ["rama", "rotamer", "clash", "bond", "angle"];

    /// Sum of the parts, `[b]`.
    pub fn total(&self) -> Tensor<B, 1> {
        self.rama.clone() + self.rotamer.clone() + self.clash.clone() + self.bond.clone() + self.angle.clone()
    }

    /// The parts by name.
    pub fn named(&self) -> [(&'static str, Tensor<B, 1>); 5] {
        [
            ("rama", self.rama.clone()),
            ("rotamer", self.rotamer.clone()),
            ("clash", self.clash.clone()),
            ("bond", self.bond.clone()),
            ("angle", self.angle.clone()),
        ]
    }

    /// Mean over the batch of every part, by name (for [`crate::loss::LossTerms::molprobity_parts`]).
    /// Reads the values back from the device.
    pub fn means(&self) -> Vec<(String, f64)> {
        self.named().into_iter().map(|(n, t)| (n.to_string(), t.mean().into_scalar().elem::<f64>())).collect()
    }
}

/// Fixtures shared by the tests of the parts.
#[cfg(test)]
pub(crate) mod testutil {
    use burn::prelude::*;

    use crate::device::{self, AB};
    use crate::structure::geometry::{dihedral, sub};
    use crate::structure::{Atom, Chain, Element, Residue, Structure};

    /// AdK residues 84-91 (DGFPRTIP) from the shared reference, as shipped in `testdata/`.
    pub fn fragment() -> Structure {
        let text = include_str!("testdata/adk_84_91.pdb");
        let path = std::env::temp_dir().join(format!("cryosampler-mp-fragment-{}.pdb", std::process::id()));
        std::fs::write(&path, text).expect("write fixture");
        let s = Structure::read(&path).expect("read fixture");
        let _ = std::fs::remove_file(&path);
        s
    }

    /// Atoms of one residue: `(name, element, position)`.
    pub type AtomList<'a> = Vec<(&'a str, Element, [f64; 3])>;

    /// A part as a closure of the coordinates.
    pub type PartFn<'a> = &'a dyn Fn(Tensor<AB, 3>) -> Tensor<AB, 1>;

    /// A structure from `(residue name, atoms)` in one chain.
    pub fn build(residues: &[(&str, AtomList)]) -> Structure {
        let mut atoms = Vec::new();
        let mut res = Vec::new();
        for (r, (name, list)) in residues.iter().enumerate() {
            let a0 = atoms.len();
            for (an, el, pos) in list {
                atoms.push(Atom {
                    name: an.to_string(),
                    element: *el,
                    pos: *pos,
                    b: 20.0,
                    occupancy: 1.0,
                    hetero: false,
                    residue: r,
                });
            }
            res.push(Residue {
                name: name.to_string(),
                seq: r as isize + 1,
                icode: None,
                chain: 0,
                atoms: a0..atoms.len(),
            });
        }
        let n = res.len();
        Structure {
            atoms,
            residues: res,
            chains: vec![Chain { id: "A".into(), residues: 0..n }],
            source: None,
            b_is_plddt: false,
        }
    }

    /// Coordinates `[1, n, 3]` on the autodiff backend.
    pub fn tensor(s: &Structure) -> Tensor<AB, 3> {
        Tensor::from_data(TensorData::new(s.coords_f32(), [1, s.atoms.len(), 3]), &device::device())
    }

    /// Atom `name` of residue `r` (panics in tests when missing).
    pub fn atom(s: &Structure, r: usize, name: &str) -> usize {
        s.atom_in(r, name).unwrap_or_else(|| panic!("no atom {name} in residue {r}"))
    }

    /// Rotate the atoms `moving` of residue `r` about the axis through atoms `quad[1]` -> `quad[2]`
    /// so that the dihedral `quad` becomes `target` degrees.
    pub fn set_dihedral(s: &mut Structure, r: usize, quad: [&str; 4], target: f64, moving: &[&str]) {
        let p = |s: &Structure, n: &str| s.atoms[atom(s, r, n)].pos;
        let now = dihedral(p(s, quad[0]), p(s, quad[1]), p(s, quad[2]), p(s, quad[3]));
        let (o, c) = (p(s, quad[1]), p(s, quad[2]));
        let k = sub(c, o);
        let len = (k[0] * k[0] + k[1] * k[1] + k[2] * k[2]).sqrt();
        let k = k.map(|v| v / len);
        let t = (target - now).to_radians();
        let (sn, cs) = t.sin_cos();
        for n in moving {
            let i = atom(s, r, n);
            let v = sub(s.atoms[i].pos, o);
            let kxv = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
            let kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
            s.atoms[i].pos = [0, 1, 2].map(|a| o[a] + v[a] * cs + kxv[a] * sn + k[a] * kv * (1.0 - cs));
        }
        let after = dihedral(p(s, quad[0]), p(s, quad[1]), p(s, quad[2]), p(s, quad[3]));
        let diff = (after - target + 540.0).rem_euclid(360.0) - 180.0;
        assert!(diff.abs() < 1e-6, "dihedral set to {after}, wanted {target}");
    }

    /// Central finite differences of `f` against the autodiff gradient at `x` (`[1, n, 3]`
    /// flattened), every `stride`-th coordinate; returns the gradient norm.
    pub fn check_gradient(f: PartFn, x: &[f32], stride: usize, label: &str) -> f64 {
        let n = x.len() / 3;
        let dev = device::device();
        let t = Tensor::<AB, 3>::from_data(TensorData::new(x.to_vec(), [1, n, 3]), &dev).require_grad();
        let g = f(t.clone()).sum().backward();
        let g = t.grad(&g).expect("gradient").into_data().into_vec::<f32>().expect("f32");
        let eval = |v: &[f32]| {
            f(Tensor::<AB, 3>::from_data(TensorData::new(v.to_vec(), [1, n, 3]), &dev)).into_scalar() as f64
        };
        let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let h = 1e-3f32;
        for i in (0..x.len()).step_by(stride) {
            let (mut a, mut b) = (x.to_vec(), x.to_vec());
            a[i] += h;
            b[i] -= h;
            let fd = (eval(&a) - eval(&b)) / (2.0 * h as f64);
            let tol = 0.02 * gmax + 0.02 * fd.abs() + 1e-6;
            assert!(
                (fd - g[i] as f64).abs() < tol,
                "{label}: coordinate {i}: fd {fd} vs autodiff {} (max |g| {gmax})",
                g[i]
            );
        }
        g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, B};
    use crate::metrics::geometry::{Verdict, validate_geometry};
    use std::path::PathBuf;

    fn shared(rel: &str) -> PathBuf {
        let root = std::env::var("CRYOSAMPLER_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
        root.join("data").join(rel)
    }

    fn calib(rel: &str) -> PathBuf {
        let root = std::env::var("CRYOSAMPLER_CALIB")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../calib"));
        root.join(rel)
    }

    fn coords(s: &Structure) -> Tensor<B, 3> {
        Tensor::from_data(TensorData::new(s.coords_f32(), [1, s.atoms.len(), 3]), &device::device())
    }

    use super::testutil::{PartFn, check_gradient, fragment};
    use crate::device::AB;

    /// The fragment with every coordinate moved by up to ~0.45 A (deterministic), so that every
    /// part has active (non-flat) items.
    fn perturbed() -> (Structure, Vec<f32>) {
        let s = fragment();
        let x: Vec<f32> =
            s.coords_f32().iter().enumerate().map(|(i, v)| v + 0.45 * ((i as f32) * 2.399).sin()).collect();
        (s, x)
    }

    #[test]
    fn every_part_matches_finite_differences() -> Result<()> {
        let (s, x) = perturbed();
        let mut loss = MolprobityLoss::new(&s, &MolprobityParts::default())?;
        // pull two non-bonded atoms together so that the clash part is active as well
        let (a, b) = (testutil::atom(&s, 1, "CA"), testutil::atom(&s, 3, "CD"));
        let mut x = x;
        for k in 0..3 {
            let mid = 0.5 * (x[3 * a + k] + x[3 * b + k]);
            x[3 * a + k] = mid + 0.4 * (x[3 * a + k] - mid) / 2.0;
            x[3 * b + k] = mid + 0.4 * (x[3 * b + k] - mid) / 2.0;
        }
        loss.update_pairs(&x)?;
        assert!(!loss.clash_topology().bonded(a, b));
        let parts: [(&str, PartFn, f64); 5] = [
            ("rama", &|t| rama(t, &loss.rama), RAMA_SCALE),
            ("rotamer", &|t| rotamer(t, &loss.rotamer), ROTAMER_SCALE),
            ("clash", &|t| clash(loss.clash_coordinates(t), &loss.clash), CLASH_SCALE),
            ("bond", &|t| bond(t, &loss.bonds), BOND_SCALE),
            ("angle", &|t| angle(t, &loss.angles), ANGLE_SCALE),
        ];
        for (name, f, scale) in parts {
            let unit = |t: Tensor<AB, 3>| f(t) / scale;
            let value = unit(Tensor::from_data(TensorData::new(x.clone(), [1, s.atoms.len(), 3]), &device::device()))
                .into_scalar();
            assert!(value > 0.0, "{name}: the perturbed fragment should be penalised ({value})");
            let norm = check_gradient(&unit, &x, 1, name);
            assert!(norm > 0.0, "{name}: zero gradient");
        }
        Ok(())
    }

    /// The riding-hydrogen clash part sees what MolProbity's clashscore counts. On the AdK
    /// reference with every residue moved rigidly by up to 0.6 A (deterministic), every serious
    /// clash between atoms more than three bonds apart in the reference that the independent
    /// dot-surface validation finds ([`crate::metrics::geometry::clash::ContactModel`] on the
    /// model protonated afresh, rotatable hydrogens re-optimised) is matched by a listed pair with
    /// a positive excess, apart from a few involving re-optimised OH / NH3+ hydrogens; the
    /// heavy-atom mode sees only the minority of clashes between heavy atoms.
    #[test]
    fn riding_clash_part_covers_the_clashes_the_validation_counts() -> Result<()> {
        use crate::metrics::geometry::clash::ContactModel;
        use crate::metrics::geometry::hydrogens::protonate;
        let path = shared("adk_tmd/reference.pdb");
        if !path.exists() {
            eprintln!("skipped: {} not found", path.display());
            return Ok(());
        }
        let reference = Structure::read(&path)?;
        let x: Vec<f32> = reference
            .atoms
            .iter()
            .flat_map(|a| {
                let r = a.residue as f64;
                let shift = [(r * 2.399).sin(), (r * 1.3 + 1.0).sin(), (r * 0.7 + 2.0).sin()].map(|v| 0.35 * v);
                (0..3).map(move |k| (a.pos[k] + shift[k]) as f32)
            })
            .collect();
        let shaken = reference.with_coords_f32(&x)?;
        let prot = protonate(&shaken)?;
        let report = ContactModel::new(&prot.structure, &prot.parent).clashes();
        assert!(report.clashes.len() > 50, "{} clashes", report.clashes.len());
        let mut loss = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
        loss.update_pairs(&x)?;
        let riding = loss.riding_hydrogens().expect("riding hydrogens on by default").clone();
        // (residue, atom name) -> index in the combined list of the loss
        let (rp, _) = riding.protonated();
        let mut by_name = std::collections::HashMap::new();
        for (i, c) in riding.combined_index().iter().enumerate() {
            if let Some(c) = c {
                by_name.insert((rp.atoms[i].residue, rp.atoms[i].name.clone()), *c);
            }
        }
        let topo = loss.clash_topology();
        let full = riding.with_hydrogens_host(&x)?;
        let t = Tensor::<B, 3>::from_data(TensorData::new(full, [1, topo.n_atoms(), 3]), &device::device());
        let excess = topo.excess(&t).into_data().into_vec::<f32>().unwrap_or_default();
        let listed: std::collections::HashMap<(usize, usize), f32> =
            topo.pairs().zip(excess).map(|((i, j), e)| ((i.min(j), i.max(j)), e)).collect();
        // the heavy-atom mode on the same coordinates (heavy atoms keep their indices)
        let mut heavy =
            MolprobityLoss::new(&reference, &MolprobityParts { clash_hydrogens: false, ..Default::default() })?;
        heavy.update_pairs(&x)?;
        let ht = heavy.clash_topology();
        let th = Tensor::<B, 3>::from_data(TensorData::new(x.clone(), [1, ht.n_atoms(), 3]), &device::device());
        let he = ht.excess(&th).into_data().into_vec::<f32>().unwrap_or_default();
        let heavy_listed: std::collections::HashMap<(usize, usize), f32> = ht.pairs().zip(he).collect();
        let (mut seen, mut heavy_only, mut heavy_seen, mut total) = (0, 0, 0, 0);
        for c in &report.clashes {
            let key = |a: usize| {
                let at = &prot.structure.atoms[a];
                by_name.get(&(at.residue, at.name.clone())).copied()
            };
            let (Some(a), Some(b)) = (key(c.a), key(c.b)) else { continue };
            if loss.clash_topology().bonded(a, b) {
                continue; // a peptide bond stretched beyond the validation's covalent tolerance
            }
            total += 1;
            if listed.get(&(a.min(b), a.max(b))).is_some_and(|e| *e > 0.0) {
                seen += 1;
            }
            if heavy_listed.get(&(a.min(b), a.max(b))).is_some_and(|e| *e > 0.0) {
                heavy_seen += 1;
            }
            let h = |a: usize| prot.structure.atoms[a].element.is_hydrogen();
            if !h(c.a) && !h(c.b) {
                heavy_only += 1;
            }
        }
        println!(
            "{} clashes, {total} between non-bonded atoms: {seen} penalised with riding hydrogens, {heavy_seen} by the \
             heavy-atom mode ({heavy_only} between heavy atoms)",
            report.clashes.len()
        );
        assert!(total > 30, "{total} clashes between non-bonded atoms");
        assert!(seen as f64 >= 0.95 * total as f64, "{seen} of {total}");
        assert!((heavy_seen as f64) < 0.6 * total as f64, "{heavy_seen} of {total}");
        Ok(())
    }

    #[test]
    fn forward_gathers_the_parts_and_respects_the_switches() -> Result<()> {
        let (s, x) = perturbed();
        let n = s.atoms.len();
        let loss = MolprobityLoss::new(&s, &MolprobityParts::default())?;
        // a batch of two: the reference (bonds and angles are ideal-ish: no cost) and the perturbed copy
        let both: Vec<f32> = s.coords_f32().into_iter().chain(x.iter().copied()).collect();
        let t = Tensor::<AB, 3>::from_data(TensorData::new(both, [2, n, 3]), &device::device());
        let terms = loss.forward(t.clone())?;
        let bond = terms.bond.clone().into_data().into_vec::<f32>().unwrap_or_default();
        assert_eq!(bond.len(), 2);
        assert!(bond[0] == 0.0 && bond[1] > 0.0, "{bond:?}");
        let total = terms.total().into_data().into_vec::<f32>().unwrap_or_default();
        let sum: f32 =
            terms.named().iter().map(|(_, v)| v.clone().into_data().into_vec::<f32>().unwrap_or_default()[1]).sum();
        assert!((total[1] - sum).abs() <= 1e-3 * sum);
        let means = terms.means();
        assert_eq!(means.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), MolprobityTerms::<AB>::NAMES);
        // parts switched off are zeros
        let off = MolprobityParts { rama: false, bond: false, ..MolprobityParts::default() };
        let terms = MolprobityLoss::new(&s, &off)?.forward(t.clone())?;
        assert_eq!(terms.rama.into_data().into_vec::<f32>().unwrap_or_default(), vec![0.0, 0.0]);
        assert_eq!(terms.bond.into_data().into_vec::<f32>().unwrap_or_default(), vec![0.0, 0.0]);
        // a coordinate tensor of the wrong size is an error, not a panic
        assert!(loss.forward(t.narrow(1, 0, n - 1)).is_err());
        Ok(())
    }

    /// Forward + backward time of every part for 4 x the AdK reference (1,656 atoms).
    /// `cargo test -p cryosampler --lib molprobity_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn molprobity_speed_adk_batch_of_4() -> Result<()> {
        let reference = Structure::read(shared("adk_tmd/reference.pdb"))?;
        let n = reference.atoms.len();
        let loss = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
        let base = reference.coords_f32();
        let x: Vec<f32> = (0..4)
            .flat_map(|k| base.iter().enumerate().map(move |(i, v)| v + 0.3 * ((i * (k + 1)) as f32 * 0.7).sin()))
            .collect();
        println!("{loss:?}");
        let dev = device::device();
        let mut times = Vec::new();
        for it in 0..25 {
            let t0 = std::time::Instant::now();
            let t = Tensor::<AB, 3>::from_data(TensorData::new(x.clone(), [4, n, 3]), &dev).require_grad();
            let total = loss.forward(t.clone())?.total().sum();
            let g = total.backward();
            let gx = t.grad(&g).map(|g| g.into_data());
            assert!(gx.is_some());
            if it >= 5 {
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "forward+backward, 4 x {n} atoms: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
        let parts: [(&str, PartFn); 5] = [
            ("rama", &|t| rama(t, &loss.rama)),
            ("rotamer", &|t| rotamer(t, &loss.rotamer)),
            ("clash", &|t| clash(loss.clash_coordinates(t), &loss.clash)),
            ("bond", &|t| bond(t, &loss.bonds)),
            ("angle", &|t| angle(t, &loss.angles)),
        ];
        for (name, f) in parts {
            let mut times = Vec::new();
            for _ in 0..15 {
                let t0 = std::time::Instant::now();
                let t = Tensor::<AB, 3>::from_data(TensorData::new(x.clone(), [4, n, 3]), &dev).require_grad();
                let g = f(t.clone()).sum().backward();
                assert!(t.grad(&g).map(|g| g.into_data()).is_some());
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!("  {name:8} median {:.1} ms", times[times.len() / 2]);
        }
        let mut l = loss.clone();
        let t0 = std::time::Instant::now();
        l.update_pairs(&x)?;
        println!(
            "update_pairs on 4 structures: {:.1} ms ({} pairs)",
            t0.elapsed().as_secs_f64() * 1e3,
            l.clash_topology().len()
        );
        let t0 = std::time::Instant::now();
        let _ = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
        println!("MolprobityLoss::new: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
        Ok(())
    }

    /// Does the loss repair geometry? Adam on the coordinates of a fit without structural loss,
    /// minimising `L_MolProb` alone (pairs refreshed every 20 steps), then `validate_geometry`.
    /// `cargo test -p cryosampler --lib molprobity_repairs -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn molprobity_repairs_a_distorted_fit() -> Result<()> {
        let reference = Structure::read(shared("adk_tmd/reference.pdb"))?;
        let path = calib("distorted_lambda_b0_map0.pdb");
        if !path.exists() {
            return Ok(());
        }
        let bad = Structure::read(&path)?;
        let n = bad.atoms.len();
        let mut loss = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
        let dev = device::device();
        let mut x = bad.coords_f32();
        let (mut m1, mut m2) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        let (lr, b1, b2) = (0.01f32, 0.9f32, 0.999f32);
        for it in 0..400 {
            if it % 20 == 0 {
                loss.update_pairs(&x)?;
            }
            let t = Tensor::<AB, 3>::from_data(TensorData::new(x.clone(), [1, n, 3]), &dev).require_grad();
            let total = loss.forward(t.clone())?.total().sum();
            if it % 100 == 0 {
                println!("step {it}: L_MolProb {:.3e}", total.clone().into_scalar());
            }
            let g = total.backward();
            let g = t.grad(&g).map(|g| g.into_data().into_vec::<f32>().unwrap_or_default()).unwrap_or_default();
            for i in 0..x.len() {
                m1[i] = b1 * m1[i] + (1.0 - b1) * g[i];
                m2[i] = b2 * m2[i] + (1.0 - b2) * g[i] * g[i];
                let (h1, h2) = (m1[i] / (1.0 - b1.powi(it + 1)), m2[i] / (1.0 - b2.powi(it + 1)));
                x[i] -= lr * h1 / (h2.sqrt() + 1e-8);
            }
        }
        let fixed = bad.with_coords_f32(&x)?;
        let drift = crate::structure::geometry::rmsd(&bad.coords(), &fixed.coords());
        for (name, s) in [("before", &bad), ("after", &fixed)] {
            let g = validate_geometry(s)?;
            println!(
                "{name:6} rama out {:.2}% ({} scored) fav {:.2}% rota out {:.2}% clashscore {:.1} bond rmsz {:.2} angle rmsz {:.2} MP {:.2}",
                g.rama_outlier_pct(),
                g.rama.n,
                g.rama_favoured_pct(),
                g.rotamer_outlier_pct(),
                g.clashscore,
                g.bond_rmsz,
                g.angle_rmsz,
                g.molprobity_score
            );
        }
        println!("RMSD moved: {drift:.2} A");
        Ok(())
    }

    /// Raw and weighted parts plus `validate_geometry` numbers of the AdK calibration models.
    /// `cargo test -p cryosampler --lib calibration_on_adk_models -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn calibration_on_adk_models() -> Result<()> {
        let reference = Structure::read(shared("adk_tmd/reference.pdb"))?;
        let mut files = vec![shared("adk_tmd/reference.pdb")];
        files.extend((0..4).map(|k| shared(&format!("adk_tmd/truth_{k}.pdb"))));
        files.push(calib("fitted_lambda_b0.3_map3.pdb"));
        files.extend((0..4).map(|k| calib(&format!("distorted_lambda_b0_map{k}.pdb"))));
        let loss = MolprobityLoss::new(&reference, &MolprobityParts::default())?;
        println!("{loss:?}");
        for f in files.iter().filter(|f| f.exists()) {
            let s = Structure::read(f)?;
            let mut l = loss.clone();
            l.update_pairs(&s.coords_f32())?;
            let t = l.forward(coords(&s))?;
            let g = validate_geometry(&s)?;
            let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let raw = t.means();
            let total: f64 = raw.iter().map(|(_, v)| v).sum();
            println!(
                "{name:32} rama_out {:5.2}% fav {:5.2}% rota_out {:5.2}% clash {:7.1} bond_rmsz {:5.2} ({} out) angle_rmsz {:5.2} ({} out) MP {:.2}",
                g.rama_outlier_pct(),
                g.rama_favoured_pct(),
                g.rotamer_outlier_pct(),
                g.clashscore,
                g.bond_rmsz,
                g.bond_outliers,
                g.angle_rmsz,
                g.angle_outliers,
                g.molprobity_score
            );
            let parts: Vec<String> = raw.iter().map(|(n, v)| format!("{n} {v:.2e} ({:.4})", v * 1e-6)).collect();
            println!("    raw (x 1e-6) {}  total {total:.2e} ({:.4})", parts.join("  "), total * 1e-6);
            // Diagnostics: rama distance by verdict, rotamer distance by verdict, clash excess.
            let d = l.rama_topology().distances(&coords(&s)).into_data().into_vec::<f32>().unwrap_or_default();
            let mut by = std::collections::BTreeMap::<String, Vec<f32>>::new();
            for (k, &r) in l.rama_topology().residues.iter().enumerate() {
                if let Some(row) = g.residues.iter().find(|x| x.residue == r) {
                    by.entry(format!("{:?}", row.rama_verdict)).or_default().push(d[k]);
                }
            }
            for (v, xs) in &by {
                let mut xs = xs.clone();
                xs.sort_by(f32::total_cmp);
                println!(
                    "    rama {v:16} n {:4} dist min {:6.1} median {:6.1} max {:6.1}",
                    xs.len(),
                    xs[0],
                    xs[xs.len() / 2],
                    xs[xs.len() - 1]
                );
            }
            let d = l.rotamer_topology().distances(&coords(&s)).into_data().into_vec::<f32>().unwrap_or_default();
            let mut by = std::collections::BTreeMap::<String, Vec<f32>>::new();
            for (k, &r) in l.rotamer_topology().residues.iter().enumerate() {
                if let Some(row) = g.residues.iter().find(|x| x.residue == r) {
                    let v = row.rotamer_verdict.unwrap_or(Verdict::Outlier);
                    by.entry(format!("{v:?}")).or_default().push(d[k]);
                }
            }
            for (v, xs) in &by {
                let mut xs = xs.clone();
                xs.sort_by(f32::total_cmp);
                let q = |p: f64| xs[((xs.len() - 1) as f64 * p) as usize];
                println!(
                    "    rota {v:16} n {:4} D min {:5.2} q10 {:5.2} median {:5.2} q90 {:5.2} max {:5.2}",
                    xs.len(),
                    q(0.0),
                    q(0.1),
                    q(0.5),
                    q(0.9),
                    q(1.0)
                );
            }
            let ct = l.clash_topology();
            let e = ct.excess(&coords(&s)).into_data().into_vec::<f32>().unwrap_or_default();
            let pos = e.iter().filter(|v| **v > 0.0).count();
            let big = e.iter().filter(|v| **v > 0.2).count();
            println!("    clash pairs {} excess>0 {pos} excess>0.2 {big}", ct.len());
            // H-bond pairs: the closest ones, and how many the allowance excuses.
            let x = s.coords();
            let (mut hb_min, mut excused) = (f64::INFINITY, 0);
            for a in 0..x.len() {
                for b in a + 1..x.len() {
                    let d = crate::structure::geometry::distance(x[a], x[b]);
                    if d < 3.2 && !ct.bonded(a, b) && ct.is_hbond(a, b) {
                        hb_min = hb_min.min(d);
                        if d < ct.allowed(a, b) + clash::HBOND_ALLOWANCE {
                            excused += 1;
                        }
                    }
                }
            }
            println!("    closest H-bond pair {hb_min:.2} A, {excused} H-bond pairs closer than the plain limit");
        }
        Ok(())
    }
}
