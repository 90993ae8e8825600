//! Clash part: atom pairs more than three bonds apart that come closer than the sum of their van
//! der Waals radii minus the allowed overlap.
//!
//! Two modes share the code:
//!
//! * **riding hydrogens** (the default, [`ClashTopology::with_riding`]): the heavy atoms plus
//!   hydrogens built from them ([`super::riding`]), typed exactly as the clashscore of
//!   [`crate::metrics::geometry`] types the reduce-protonated model (probe's explicit-hydrogen
//!   radii: C 1.70, aromatic C 1.75, carbonyl C 1.60, N 1.55, O 1.40, S 1.80, H 1.22, polar or
//!   aromatic H 1.05; a heavy atom carrying a hydrogen is no longer a donor), with probe's
//!   exclusions (within three bonds, four when a hydrogen is involved). Most serious overlaps of
//!   a protein model involve a hydrogen, so this is the mode that lowers the clashscore;
//! * **heavy atoms only** ([`ClashTopology::new`]): the same radii on the heavy atoms alone.
//!
//! For a pair `(i, j)` the closest allowed distance is `l_ij = r_i + r_j - overlap`, with
//! `overlap` = [`RIDING_OVERLAP`] (0.3 A) with riding hydrogens or probe's serious-overlap
//! cut-off [`CLASH_OVERLAP`] (0.4 A) on heavy atoms, minus an allowance for H-bond pairs (donor
//! with acceptor, not both of the same charge: [`hbond_pair`]) of [`RIDING_HBOND_ALLOWANCE`] or
//! [`HBOND_ALLOWANCE`], and
//!
//! `L_clash = CLASH_SCALE * (1000 / n_atoms) sum_pairs h((l_ij - d_ij) / CLASH_WIDTH)`,
//!
//! per 1000 atoms like the clashscore (hydrogens counted in the riding mode), with `h` the
//! flat-bottom Huber penalty ([`super::ops::flat_huber`]) and `CLASH_WIDTH` = 0.2 A.
//!
//! The pair list is built on the host: every pair not excluded by the bond graph closer than
//! `l_ij + CLASH_MARGIN` (1.5 A) in the current coordinates. The training loop refreshes it every
//! few epochs with [`ClashTopology::update_pairs`] on the detached coordinates; pairs that
//! approach from further away in between are missed until the next refresh.

use std::collections::HashSet;

use burn::prelude::*;

use super::ops::{distance, flat_huber, floats, gather_blocks};
use super::riding::RidingHydrogens;
use crate::metrics::geometry::clash::{
    AtomType, BondGraph, CLASH_OVERLAP, CellList, atom_types, excluded_partners, hbond_pair,
};
use crate::structure::Structure;
use crate::{Error, Result};

/// Extra overlap (A) allowed to H-bond pairs: with the 0.4 A of every pair, an N...O pair may
/// come to 2.25 A and an O...O pair to 2.1 A before it costs anything. Probe, which sees the
/// hydrogens, never counts H-bond pairs; between heavy atoms real H-bonds stay above ~2.5 A (the
/// closest donor-acceptor pairs of the AdK reference and MD frames are at 2.51-2.57 A, one or two
/// of them inside the plain N...O limit of 2.55 A).
pub const HBOND_ALLOWANCE: f64 = 0.3;

/// Width (A) of the quadratic part of the clash penalty.
pub const CLASH_WIDTH: f64 = 0.2;

/// Pairs are listed when closer than their allowed distance plus this margin (A).
pub const CLASH_MARGIN: f64 = 1.5;

/// Overlap (A) at which the penalty starts in the riding-hydrogen mode: 0.1 A short of probe's
/// serious-overlap cut-off ([`CLASH_OVERLAP`]), so that a fit balancing the map against the
/// penalty settles just outside what the clashscore counts rather than on its edge.
pub const RIDING_OVERLAP: f64 = 0.3;

/// Extra overlap (A) allowed to H-bond pairs in the riding-hydrogen mode (a polar hydrogen with
/// an acceptor): probe never counts them as clashes; this lets H...O come to ~1.6 A, shorter than
/// any real H-bond, and stops an atom from passing through its partner.
pub const RIDING_HBOND_ALLOWANCE: f64 = 0.55;

/// Atom types, bond exclusions and the current pair list.
#[derive(Clone, Debug, PartialEq)]
pub struct ClashTopology {
    n_atoms: usize,
    /// Atoms counted by the per-1000-atoms normaliser (heavy atoms; with riding hydrogens, every
    /// active atom, hydrogens included, as the clashscore counts them).
    n_counted: usize,
    /// Riding-hydrogen mode: hydrogens take part, probe's exclusions (4 bonds when H is involved).
    riding: bool,
    types: Vec<AtomType>,
    /// Atoms within three bonds of each atom (sorted), never paired with it.
    excluded: Vec<Vec<u32>>,
    /// Largest allowed distance of any pair (A), for the neighbour search.
    max_limit: f64,
    i: Vec<i64>,
    j: Vec<i64>,
    limit: Vec<f32>,
}

impl ClashTopology {
    /// Types and bond graph of the reference; the pair list starts from its coordinates.
    pub fn new(s: &Structure) -> Result<ClashTopology> {
        let n = s.atoms.len();
        let parent = vec![None; n];
        let types = atom_types(s, &parent);
        let cells = CellList::new(&s.coords(), 4.2);
        let graph = BondGraph::build(s, &parent, &cells);
        let excluded = (0..n)
            .map(|a| {
                let mut v: Vec<u32> = graph.within(a, 3).into_iter().map(|(b, _)| b as u32).collect();
                v.sort_unstable();
                v
            })
            .collect();
        let max_r = types.iter().map(|t| t.radius).fold(0.0, f64::max);
        let n_heavy = types.iter().filter(|t| !t.hydrogen).count();
        let mut t = ClashTopology {
            n_atoms: n,
            n_counted: n_heavy,
            riding: false,
            types,
            excluded,
            max_limit: 2.0 * max_r - CLASH_OVERLAP,
            i: Vec::new(),
            j: Vec::new(),
            limit: Vec::new(),
        };
        t.update_pairs(&s.coords_f32())?;
        Ok(t)
    }

    /// The riding-hydrogen mode: atoms `0..n` are the reference's, `n..n + n_h` the hydrogens of
    /// `riding` (coordinates from [`RidingHydrogens::with_hydrogens`]). Types, radii and the bond
    /// graph come from the protonated reference, exactly as the clashscore of
    /// [`crate::metrics::geometry`] sees it: explicit-hydrogen radii, polar hydrogens as donors
    /// (a heavy atom carrying one is no longer a donor), pairs within three bonds excluded (four
    /// when a hydrogen is involved). The penalty starts at [`RIDING_OVERLAP`]; H-bond pairs get
    /// [`RIDING_HBOND_ALLOWANCE`]. Hydrogens the reference itself carries take no part.
    pub fn with_riding(s: &Structure, riding: &RidingHydrogens) -> Result<ClashTopology> {
        let n = s.atoms.len();
        if riding.n_atoms() != n {
            return Err(Error::invalid(format!(
                "clash topology: riding hydrogens are for {} atoms, the structure has {n}",
                riding.n_atoms()
            )));
        }
        let total = n + riding.len();
        let (p, parent) = riding.protonated();
        let p_types = atom_types(p, parent);
        let cells = CellList::new(&p.coords(), 4.2);
        let graph = BondGraph::build(p, parent, &cells);
        let inactive = AtomType {
            radius: 1.0,
            donor: false,
            acceptor: false,
            charge: 0,
            hydrogen: true,
            water: false,
            active: false,
        };
        let mut types = vec![inactive; total];
        let mut excluded: Vec<Vec<u32>> = vec![Vec::new(); total];
        let map = riding.combined_index();
        for (i, c) in map.iter().enumerate() {
            let Some(c) = *c else { continue };
            types[c] = p_types[i];
            let mut v: Vec<u32> =
                excluded_partners(&graph, &p_types, i).into_iter().filter_map(|j| map[j].map(|q| q as u32)).collect();
            v.sort_unstable();
            excluded[c] = v;
        }
        let max_r = types.iter().filter(|t| t.active).map(|t| t.radius).fold(0.0, f64::max);
        let n_counted = types.iter().filter(|t| t.active && !t.water).count();
        let mut t = ClashTopology {
            n_atoms: total,
            n_counted,
            riding: true,
            types,
            excluded,
            max_limit: 2.0 * max_r - RIDING_OVERLAP,
            i: Vec::new(),
            j: Vec::new(),
            limit: Vec::new(),
        };
        t.update_pairs(&riding.with_hydrogens_host(&s.coords_f32())?)?;
        Ok(t)
    }

    /// Whether this topology includes riding hydrogens.
    pub fn is_riding(&self) -> bool {
        self.riding
    }

    /// Atoms the coordinates must have (reference atoms, plus riding hydrogens in that mode).
    pub fn n_atoms(&self) -> usize {
        self.n_atoms
    }

    /// Closest allowed distance (A) of atoms `a` and `b` (no bond check).
    pub fn allowed(&self, a: usize, b: usize) -> f64 {
        let (overlap, allowance) =
            if self.riding { (RIDING_OVERLAP, RIDING_HBOND_ALLOWANCE) } else { (CLASH_OVERLAP, HBOND_ALLOWANCE) };
        let hb = if self.is_hbond(a, b) { allowance } else { 0.0 };
        self.types[a].radius + self.types[b].radius - overlap - hb
    }

    /// Whether `a` and `b` form an H-bond pair (donor with acceptor, not both of the same charge).
    pub fn is_hbond(&self, a: usize, b: usize) -> bool {
        let (ta, tb) = (&self.types[a], &self.types[b]);
        hbond_pair(ta, tb) || hbond_pair(tb, ta)
    }

    /// Whether `a` and `b` are within three bonds of each other.
    pub fn bonded(&self, a: usize, b: usize) -> bool {
        self.excluded[a].binary_search(&(b as u32)).is_ok()
    }

    /// Rebuild the pair list from coordinates `[k, n, 3]` flattened (one or more structures, e.g.
    /// the detached batch of the training step; the list is the union over them). Errors when
    /// the length is not a positive multiple of `3 n`.
    pub fn update_pairs(&mut self, coords: &[f32]) -> Result<()> {
        let n = self.n_atoms;
        if n == 0 || coords.is_empty() || !coords.len().is_multiple_of(3 * n) {
            return Err(Error::invalid(format!(
                "clash pair update: {} coordinates is not a positive multiple of 3 x {n} atoms",
                coords.len()
            )));
        }
        let reach = self.max_limit + CLASH_MARGIN;
        let mut pairs: HashSet<(u32, u32)> = HashSet::new();
        for model in coords.chunks(3 * n) {
            let pts: Vec<[f64; 3]> = model.chunks(3).map(|p| [p[0] as f64, p[1] as f64, p[2] as f64]).collect();
            let cells = CellList::new(&pts, reach);
            let takes_part = |a: usize| {
                let t = &self.types[a];
                if self.riding { t.active && !t.water } else { !t.hydrogen }
            };
            for a in (0..n).filter(|&a| takes_part(a)) {
                cells.for_each_near(pts[a], reach, |b| {
                    if b <= a || !takes_part(b) || self.bonded(a, b) {
                        return;
                    }
                    let d2: f64 = (0..3).map(|k| (pts[a][k] - pts[b][k]).powi(2)).sum();
                    let cut = self.allowed(a, b) + CLASH_MARGIN;
                    if d2 < cut * cut {
                        pairs.insert((a as u32, b as u32));
                    }
                });
            }
        }
        let mut pairs: Vec<(u32, u32)> = pairs.into_iter().collect();
        pairs.sort_unstable();
        self.i = pairs.iter().map(|p| p.0 as i64).collect();
        self.j = pairs.iter().map(|p| p.1 as i64).collect();
        self.limit = pairs.iter().map(|p| self.allowed(p.0 as usize, p.1 as usize) as f32).collect();
        Ok(())
    }

    /// The listed pairs `(i, j)`, `i < j`.
    pub fn pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.i.iter().zip(&self.j).map(|(a, b)| (*a as usize, *b as usize))
    }

    /// Number of listed pairs.
    pub fn len(&self) -> usize {
        self.i.len()
    }

    /// True when no pair is listed.
    pub fn is_empty(&self) -> bool {
        self.i.is_empty()
    }

    /// Excess overlap `l_ij - d_ij` (A) of every listed pair, `[b, p]` (negative: no clash).
    pub fn excess<B: Backend>(&self, x: &Tensor<B, 3>) -> Tensor<B, 2> {
        let idx: Vec<i64> = self.i.iter().chain(&self.j).copied().collect();
        let p = gather_blocks(x, &idx, 2);
        floats::<B, 2>(&self.limit, [1, self.len()], &x.device()) - distance(p[0].clone(), p[1].clone())
    }
}

/// Clash part per structure, `[b]`:
/// `CLASH_SCALE * (1000 / n_atoms) sum_pairs h((l_ij - d_ij) / CLASH_WIDTH)`, `n_atoms` the
/// heavy atoms (with riding hydrogens: every atom, as the clashscore counts). In the
/// riding-hydrogen mode `x` holds the reference atoms followed by the hydrogens
/// ([`RidingHydrogens::with_hydrogens`]).
pub fn clash<B: Backend>(x: Tensor<B, 3>, topo: &ClashTopology) -> Tensor<B, 1> {
    let [b, _, _] = x.dims();
    if topo.is_empty() {
        return Tensor::zeros([b], &x.device());
    }
    let per_1000 = 1000.0 / topo.n_counted.max(1) as f64;
    flat_huber(topo.excess(&x) / CLASH_WIDTH).sum_dim(1).reshape([b]) * (per_1000 * super::CLASH_SCALE)
}

#[cfg(test)]
mod tests {
    use super::super::ops::flat_huber_f64;
    use super::super::testutil::{build, fragment, tensor};
    use super::*;
    use crate::structure::Element;

    /// Two single-atom ligand residues `d` A apart along x.
    fn pair(e: [(&str, Element); 2], d: f64) -> Structure {
        build(&[("LIG", vec![(e[0].0, e[0].1, [0.0, 0.0, 0.0])]), ("LIG", vec![(e[1].0, e[1].1, [d, 0.0, 0.0])])])
    }

    const C: (&str, Element) = ("C1", Element::C);

    #[test]
    fn carbons_one_angstrom_too_close_clash_and_four_apart_do_not() -> Result<()> {
        // allowed C...C distance 1.70 + 1.70 - 0.4 = 3.0 A; at 2.0 A the excess is 1.0 A = 5 widths:
        // h(5) = 4.5, per 1000 atoms (2 atoms)
        let s = pair([C, C], 2.0);
        let topo = ClashTopology::new(&s)?;
        assert_eq!(topo.len(), 1);
        assert!((topo.allowed(0, 1) - 3.0).abs() < 1e-12);
        let got = clash(tensor(&s), &topo).into_scalar() as f64;
        let want = super::super::CLASH_SCALE * 500.0 * 4.5;
        assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
        let s = pair([C, C], 4.0);
        assert_eq!(clash(tensor(&s), &ClashTopology::new(&s)?).into_scalar(), 0.0);
        // 0.1 A inside the limit: quadratic part, h(0.5) = 0.125
        let s = pair([C, C], 2.9);
        let got = clash(tensor(&s), &ClashTopology::new(&s)?).into_scalar() as f64;
        let want = super::super::CLASH_SCALE * 500.0 * flat_huber_f64(0.1 / CLASH_WIDTH);
        assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
        Ok(())
    }

    #[test]
    fn hydrogens_take_no_part() -> Result<()> {
        // the two carbons at 2.0 A plus a hydrogen 0.5 A from one of them: same value as without it
        let s = build(&[
            ("LIG", vec![("C1", Element::C, [0.0, 0.0, 0.0])]),
            ("LIG", vec![("C1", Element::C, [2.0, 0.0, 0.0])]),
            ("LIG", vec![("H1", Element::H, [0.0, 0.5, 0.0])]),
        ]);
        let topo = ClashTopology::new(&s)?;
        assert_eq!(topo.len(), 1);
        let got = clash(tensor(&s), &topo).into_scalar() as f64;
        let want = super::super::CLASH_SCALE * 500.0 * 4.5;
        assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
        Ok(())
    }

    #[test]
    fn hbond_pairs_may_come_closer() -> Result<()> {
        // ligand N and O (donor and acceptor): limit 1.55 + 1.40 - 0.4 - 0.3 = 2.25 A
        let s = pair([("N1", Element::N), ("O1", Element::O)], 2.4);
        let topo = ClashTopology::new(&s)?;
        assert!(topo.is_hbond(0, 1));
        assert!((topo.allowed(0, 1) - 2.25).abs() < 1e-12);
        assert_eq!(clash(tensor(&s), &topo).into_scalar(), 0.0);
        // a carbon at the same distance from the oxygen clashes (limit 1.70 + 1.40 - 0.4 = 2.7 A)
        let s = pair([C, ("O1", Element::O)], 2.4);
        assert!(clash(tensor(&s), &ClashTopology::new(&s)?).into_scalar() > 0.0);
        Ok(())
    }

    #[test]
    fn pairs_come_from_the_last_update() -> Result<()> {
        // listed at 7 A? no (beyond limit + margin): no penalty even when moved to 2 A, until updated
        let far = pair([C, C], 7.0);
        let mut topo = ClashTopology::new(&far)?;
        assert!(topo.is_empty());
        let near = pair([C, C], 2.0);
        assert_eq!(clash(tensor(&near), &topo).into_scalar(), 0.0);
        topo.update_pairs(&near.coords_f32())?;
        assert_eq!(topo.len(), 1);
        assert!(clash(tensor(&near), &topo).into_scalar() > 0.0);
        // a batch: the union of both structures' pairs
        let both: Vec<f32> = far.coords_f32().into_iter().chain(near.coords_f32()).collect();
        topo.update_pairs(&both)?;
        assert_eq!(topo.len(), 1);
        assert!(topo.update_pairs(&both[..5]).is_err());
        Ok(())
    }

    #[test]
    fn atoms_within_three_bonds_are_never_paired() -> Result<()> {
        let s = fragment();
        let topo = ClashTopology::new(&s)?;
        let at = |r: usize, n: &str| super::super::testutil::atom(&s, r, n);
        // 1-2, 1-3, 1-4 along the backbone and across a peptide bond; 1-5 is not excluded
        assert!(topo.bonded(at(2, "N"), at(2, "CA")));
        assert!(topo.bonded(at(2, "N"), at(2, "C")));
        assert!(topo.bonded(at(2, "N"), at(2, "O")));
        assert!(topo.bonded(at(1, "C"), at(2, "CB"))); // C(i-1)-N-CA-CB
        assert!(!topo.bonded(at(1, "O"), at(2, "CB"))); // O(i-1)-C(i-1)-N-CA-CB: 4 bonds
        // the reference fragment has no clash
        assert_eq!(clash(tensor(&s), &topo).into_scalar(), 0.0);
        Ok(())
    }
}
