//! Riding hydrogens as a differentiable function of the heavy atoms, for the clash part.
//!
//! MolProbity's clashscore is computed after adding hydrogens (reduce), and most serious overlaps
//! of a protein model involve a hydrogen: a methyl H against a carbonyl O, two H on facing
//! side chains. The heavy atoms of such pairs can sit at distances the heavy-atom rule accepts
//! (C...O at 3.0 A is fine, its H...O at 2.0 A is a clash), so a clash loss on heavy atoms
//! alone leaves them in place. Our model has no hydrogens, so the loss builds them.
//!
//! Each hydrogen rides on its parent heavy atom `X` in a local frame of two further heavy atoms
//! `A` and `B` (`A` bonded to `X`; `B` bonded to `X` or, for terminal groups such as methyls,
//! hydroxyls and NH3+, to `A`):
//!
//! `e1 = (X - A) / |X - A|`, `e2 = t - (t . e1) e1` normalised with `t = B - A`, `e3 = e1 x e2`,
//!
//! `H = X + c1 e1 + c2 e2 + c3 e3`,
//!
//! with the coefficients `c` read off the reference once it is protonated by
//! [`crate::metrics::geometry::hydrogens::protonate`] (reduce's geometry, with optimised OH / NH3+
//! orientations). Every step is a smooth function of the coordinates, so the clash gradient flows
//! from a hydrogen back to `X`, `A` and `B`. A hydrogen whose heavy neighbours cannot define a
//! frame (an isolated atom, collinear neighbours) is left out.
//!
//! burn has no such operation: it is a handful of gathers, cross products and normalisations on
//! `[b, n_h, 3]` tensors, written here.

use burn::prelude::*;

use super::ops::{SQRT_EPS, floats, gather_blocks};
use crate::metrics::geometry::clash::{BondGraph, CellList};
use crate::metrics::geometry::hydrogens::protonate;
use crate::structure::Structure;
use crate::structure::geometry::{cross, dot, norm, sub};
use crate::{Error, Result};

/// Riding hydrogens of a reference structure: frames, coefficients, and the protonated
/// reference they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct RidingHydrogens {
    n_atoms: usize,
    parent: Vec<i64>,
    a: Vec<i64>,
    b: Vec<i64>,
    /// `[n_h * 3]`: `c1, c2, c3` of every hydrogen.
    coef: Vec<f32>,
    /// The protonated reference (heavy atoms in residue order, hydrogens after their residue's
    /// heavy atoms).
    protonated: Structure,
    /// Parent of each atom of `protonated` (indices into `protonated`).
    protonated_parent: Vec<Option<usize>>,
    /// For each atom of `protonated`: its index in the combined list (reference atoms `0..n`,
    /// then the riding hydrogens `n..n + n_h`), `None` for a hydrogen left out.
    combined_index: Vec<Option<usize>>,
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = norm(v).max(1e-12);
    v.map(|x| x / n)
}

/// The local frame `(e1, e2, e3)` of `x` from `a` and `b` (see the module documentation), or
/// `None` when degenerate.
fn frame(x: [f64; 3], a: [f64; 3], b: [f64; 3]) -> Option<[[f64; 3]; 3]> {
    let e1 = sub(x, a);
    if norm(e1) < 1e-6 {
        return None;
    }
    let e1 = unit(e1);
    let t = sub(b, a);
    let along = dot(t, e1);
    let perp = [0, 1, 2].map(|k| t[k] - along * e1[k]);
    if norm(perp) < 0.1 * norm(t).max(1e-6) {
        return None;
    }
    let e2 = unit(perp);
    Some([e1, e2, cross(e1, e2)])
}

impl RidingHydrogens {
    /// Protonate `reference` and record, for every hydrogen, its frame atoms and coefficients.
    /// Hydrogens the reference already carries are ignored (the model moves heavy atoms only);
    /// their places in the coordinate tensor stay as they are.
    pub fn new(reference: &Structure) -> Result<RidingHydrogens> {
        let n = reference.atoms.len();
        let prot = protonate(reference)?;
        let p = &prot.structure;
        // heavy atoms of the protonated structure are the reference's heavy atoms in order
        let heavy_ref: Vec<usize> = (0..n).filter(|&i| !reference.atoms[i].element.is_hydrogen()).collect();
        let mut combined: Vec<Option<usize>> = vec![None; p.atoms.len()];
        let mut k = 0;
        for (i, at) in p.atoms.iter().enumerate() {
            if !at.element.is_hydrogen() {
                let r =
                    *heavy_ref.get(k).ok_or_else(|| Error::invalid("riding hydrogens: heavy atom count mismatch"))?;
                if reference.atoms[r].name != at.name {
                    return Err(Error::invalid(format!(
                        "riding hydrogens: atom order differs after protonation ({} vs {})",
                        reference.atoms[r].name, at.name
                    )));
                }
                combined[i] = Some(r);
                k += 1;
            }
        }
        let cells = CellList::new(&p.coords(), 4.2);
        let graph = BondGraph::build(p, &prot.parent, &cells);
        let heavy_nb = |i: usize| -> Vec<usize> {
            graph.adj[i].iter().copied().filter(|&j| !p.atoms[j].element.is_hydrogen()).collect()
        };
        let (mut parent, mut fa, mut fb, mut coef) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (h, par) in prot.parent.iter().enumerate() {
            let Some(x) = *par else { continue };
            let nx = heavy_nb(x);
            let Some(&a) = nx.first() else { continue };
            let mut cands: Vec<usize> = nx[1..].to_vec();
            cands.extend(heavy_nb(a).into_iter().filter(|&j| j != x));
            let pos = |i: usize| p.atoms[i].pos;
            let found = cands.into_iter().find_map(|b| frame(pos(x), pos(a), pos(b)).map(|f| (b, f)));
            let Some((b, f)) = found else { continue };
            let (Some(cx), Some(ca), Some(cb)) = (combined[x], combined[a], combined[b]) else { continue };
            let v = sub(pos(h), pos(x));
            combined[h] = Some(n + parent.len());
            parent.push(cx as i64);
            fa.push(ca as i64);
            fb.push(cb as i64);
            coef.extend(f.map(|e| dot(v, e) as f32));
        }
        Ok(RidingHydrogens {
            n_atoms: n,
            parent,
            a: fa,
            b: fb,
            coef,
            protonated: prot.structure,
            protonated_parent: prot.parent,
            combined_index: combined,
        })
    }

    /// Number of riding hydrogens.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Atoms of the reference (the heavy-atom coordinate tensor's second dimension).
    pub fn n_atoms(&self) -> usize {
        self.n_atoms
    }

    /// The protonated reference and the parent of each of its atoms.
    pub fn protonated(&self) -> (&Structure, &[Option<usize>]) {
        (&self.protonated, &self.protonated_parent)
    }

    /// Index in the combined list (reference atoms, then riding hydrogens) of each atom of the
    /// protonated reference; `None` for hydrogens left out.
    pub fn combined_index(&self) -> &[Option<usize>] {
        &self.combined_index
    }

    /// Heavy atom each riding hydrogen is bonded to (index into the reference).
    pub fn parents(&self) -> &[i64] {
        &self.parent
    }

    /// Hydrogen positions for coordinates `x` `[b, n, 3]` (A): `[b, n_h, 3]`.
    pub fn place<B: Backend>(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, _, _] = x.dims();
        let m = self.len();
        let dev = x.device();
        if m == 0 {
            return Tensor::zeros([b, 0, 3], &dev);
        }
        let idx: Vec<i64> = self.parent.iter().chain(&self.a).chain(&self.b).copied().collect();
        let g = gather_blocks(&x, &idx, 3);
        let (px, pa, pb) = (g[0].clone(), g[1].clone(), g[2].clone());
        let normalise = |v: Tensor<B, 3>| {
            let len = (v.clone().powi_scalar(2).sum_dim(2) + SQRT_EPS).sqrt(); // [b, m, 1]
            v / len
        };
        let e1 = normalise(px.clone() - pa.clone()); // [b, m, 3]
        let t = pb - pa;
        let along = (t.clone() * e1.clone()).sum_dim(2); // [b, m, 1]
        let e2 = normalise(t - e1.clone() * along);
        let e3 = e1.clone().cross(e2.clone(), 2);
        let c = floats::<B, 3>(&self.coef, [1, m, 3], &dev);
        let c1 = c.clone().narrow(2, 0, 1);
        let c2 = c.clone().narrow(2, 1, 1);
        let c3 = c.narrow(2, 2, 1);
        px + e1 * c1 + e2 * c2 + e3 * c3
    }

    /// The coordinates followed by their riding hydrogens, `[b, n + n_h, 3]`.
    pub fn with_hydrogens<B: Backend>(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let h = self.place(x.clone());
        Tensor::cat(vec![x, h], 1)
    }

    /// Host version of [`RidingHydrogens::with_hydrogens`] for one or more structures (`[k, n, 3]`
    /// flattened), returning `[k, n + n_h, 3]` flattened. Errors when the length is not a
    /// positive multiple of `3 n`.
    pub fn with_hydrogens_host(&self, coords: &[f32]) -> Result<Vec<f32>> {
        let n = self.n_atoms;
        if n == 0 || coords.is_empty() || !coords.len().is_multiple_of(3 * n) {
            return Err(Error::invalid(format!(
                "riding hydrogens: {} coordinates is not a positive multiple of 3 x {n} atoms",
                coords.len()
            )));
        }
        let mut out = Vec::with_capacity(coords.len() / n * (n + self.len()));
        for model in coords.chunks(3 * n) {
            let at = |i: i64| {
                let i = i as usize * 3;
                [model[i] as f64, model[i + 1] as f64, model[i + 2] as f64]
            };
            out.extend_from_slice(model);
            for h in 0..self.len() {
                let (x, a, b) = (at(self.parent[h]), at(self.a[h]), at(self.b[h]));
                let c = &self.coef[3 * h..3 * h + 3];
                // a degenerate frame (atoms on top of each other) puts H on its parent
                let f = frame(x, a, b).unwrap_or([[0.0; 3]; 3]);
                out.extend((0..3).map(|k| (x[k] + (0..3).map(|e| c[e] as f64 * f[e][k]).sum::<f64>()) as f32));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{check_gradient, fragment, tensor};
    use super::*;
    use crate::device::AB;
    use crate::structure::geometry::distance;

    #[test]
    fn reproduces_the_protonated_reference_and_moves_rigidly_with_it() -> Result<()> {
        let s = fragment();
        let r = RidingHydrogens::new(&s)?;
        let (p, parent) = r.protonated();
        let n_h = parent.iter().filter(|q| q.is_some()).count();
        // every hydrogen reduce places on this fragment gets a frame
        assert_eq!(r.len(), n_h);
        assert!(n_h > 40, "{n_h}");
        let placed = r.place(tensor(&s)).into_data().into_vec::<f32>().unwrap_or_default();
        for (i, c) in r.combined_index().iter().enumerate() {
            let Some(c) = *c else { continue };
            if c < s.atoms.len() {
                continue;
            }
            let h = c - s.atoms.len();
            let got = [0, 1, 2].map(|k| placed[3 * h + k] as f64);
            assert!(distance(got, p.atoms[i].pos) < 1e-3, "{} {got:?} vs {:?}", p.atoms[i].name, p.atoms[i].pos);
        }
        // a rotation and translation of the heavy atoms carries the hydrogens along exactly
        let (sn, cs) = 0.7f64.sin_cos();
        let moved: Vec<[f64; 3]> =
            s.coords().iter().map(|q| [cs * q[0] - sn * q[1] + 3.0, sn * q[0] + cs * q[1] - 1.0, q[2] + 2.0]).collect();
        let m = s.with_coords(&moved)?;
        let hm = r.place(tensor(&m)).into_data().into_vec::<f32>().unwrap_or_default();
        let host = r.with_hydrogens_host(&m.coords_f32())?;
        for h in 0..r.len() {
            let q = [0, 1, 2].map(|k| placed[3 * h + k] as f64);
            let want = [cs * q[0] - sn * q[1] + 3.0, sn * q[0] + cs * q[1] - 1.0, q[2] + 2.0];
            let got = [0, 1, 2].map(|k| hm[3 * h + k] as f64);
            assert!(distance(got, want) < 1e-3);
            let off = 3 * (s.atoms.len() + h);
            let got_host = [0, 1, 2].map(|k| host[off + k] as f64);
            assert!(distance(got_host, want) < 1e-3);
        }
        // every hydrogen stays at its bond length from its parent
        for h in 0..r.len() {
            let q = [0, 1, 2].map(|k| hm[3 * h + k] as f64);
            let d = distance(q, moved[r.parents()[h] as usize]);
            assert!((0.8..1.25).contains(&d), "X-H {d}");
        }
        assert!(r.with_hydrogens_host(&[0.0; 5]).is_err());
        Ok(())
    }

    #[test]
    fn gradient_matches_finite_differences() -> Result<()> {
        let s = fragment();
        let r = RidingHydrogens::new(&s)?;
        let x: Vec<f32> = s.coords_f32().iter().enumerate().map(|(i, v)| v + 0.3 * ((i as f32) * 1.7).sin()).collect();
        // a scalar that depends on every hydrogen coordinate non-trivially
        let w: Vec<f32> = (0..r.len() * 3).map(|i| ((i as f32) * 0.37).cos()).collect();
        let f = |t: Tensor<AB, 3>| {
            let h = r.place(t);
            let wt = floats::<AB, 3>(&w, [1, r.len(), 3], &h.device());
            (h * wt).sum_dim(2).sum_dim(1).reshape([1])
        };
        let norm = check_gradient(&f, &x, 1, "riding");
        assert!(norm > 0.0);
        Ok(())
    }
}
