//! All-atom clashes and clashscore, following MolProbity's probe (Word et al. 1999) as run by
//! cctbx `mmtbx/validation/clashscore.py` (`probe -u -q -mc -het -once -NOVDWOUT -CON`).
//!
//! * Radii (probe's explicit-H electron-cloud table): H 1.22, polar H (on N/O/S) and aromatic
//!   ring H 1.05, C 1.70, aromatic ring C 1.75, carbonyl C 1.70 x 1.65 / 1.75, N 1.55, O 1.40,
//!   S 1.80, Se 1.90, P 1.80; ions and metals from probe's table.
//! * Donors / acceptors from probe's residue tables; a heavy atom that carries a hydrogen is no
//!   longer a donor (its hydrogen is), aromatic ring atoms of Phe / Tyr / Trp accept.
//! * Bonded atoms never clash: atoms up to 3 bonds apart, or 4 when either is a hydrogen.
//!   The bond graph is the residue templates ([`super::ideal::residue_bonds`]) plus peptide
//!   bonds and disulfides, each kept only when its length passes probe's covalent test
//!   (`d <= r_cov,a + r_cov,b + 0.2` and `d > r_cov,a + r_cov,b - 0.6`; a CB-CG stretched to
//!   1.75 A is therefore *not* a bond and its atoms clash, as in probe), plus riding-H parents.
//!   Ligands, waters and non-standard residues are bonded by distance alone, as probe does for
//!   everything; for two standard residues probe's distance-only rule would also bond any two
//!   non-bonded heavy atoms closer than ~1.7 A, which this code counts as a clash instead.
//! * Hydrogen-bond pairs (donor with acceptor, unless both carry the same charge) never count,
//!   whatever their overlap: cctbx drops every atom pair that probe also lists as an H-bond.
//! * A pair clashes when probe's dot test finds a surface dot of one atom at least 0.4 A inside
//!   the other: dots (16 per A^2) that lie inside an atom bonded to the source atom are removed,
//!   and each dot belongs to the target it penetrates most. Waters are targets only and never
//!   clash with waters. Atoms with occupancy <= 0.01 are ignored (probe `ogt1`).
//! * clashscore = 1000 x clashes / non-water atoms (hydrogens included).
//!
//! Neighbours come from a cell list ([`CellList`]), so 30,000-atom models take well under a
//! second.

use std::collections::HashMap;

use crate::structure::geometry::distance;
use crate::structure::{Element, Structure};

use super::ideal::residue_bonds;
use super::rama::{next_linked, standard_name};

/// Overlap (A) at or beyond which a contact is a serious clash.
pub const CLASH_OVERLAP: f64 = 0.4;
/// Dot density on the van der Waals surfaces (dots per A^2), probe's default.
pub const DOT_DENSITY: f64 = 16.0;

/// Residue names probe treats as amino acids (for carbonyl radii and donor / acceptor tables).
fn probe_amino_acid(name: &str) -> bool {
    standard_name(name).is_some()
        || matches!(name, "ASX" | "GLX" | "ACE" | "FOR" | "NH2" | "NME" | "MSE" | "AIB" | "ABU" | "PCA")
}

/// Water residue names.
pub fn is_water(name: &str) -> bool {
    matches!(name, "HOH" | "WAT" | "H2O" | "DOD" | "TIP" | "TIP3" | "SOL" | "MTO")
}

/// probe's covalent radius (A) of an element.
pub fn covalent_radius(e: Element) -> f64 {
    match e.atomic_number() {
        1 => 0.30,
        5 => 0.86,
        6 => 0.77,
        7 => 0.70,
        8 => 0.66,
        9 => 0.58,
        11 => 1.69,
        12 => 1.39,
        15 => 1.10,
        16 => 1.04,
        17 => 0.99,
        19 => 2.07,
        20 => 1.73,
        25 => 1.54,
        26 => 1.48,
        27 => 1.44,
        28 => 1.40,
        29 => 1.46,
        30 => 1.45,
        33 => 1.21,
        34 => 1.17,
        35 => 1.14,
        48 => 1.65,
        53 => 1.33,
        80 => 1.74,
        _ => 1.50,
    }
}

/// Explicit-hydrogen van der Waals radius (A) of a heavy element in probe's table (the carbon
/// value before the aromatic / carbonyl adjustments).
pub fn element_radius(e: Element) -> f64 {
    match e.atomic_number() {
        1 => 1.22,
        5 => 0.20,
        6 => 1.70,
        7 => 1.55,
        8 => 1.40,
        9 => 1.30,
        11 => 0.95,
        12 => 0.65,
        13 => 0.50,
        15 => 1.80,
        16 => 1.80,
        17 => 1.77,
        19 => 1.33,
        20 => 0.99,
        25 => 0.80,
        26 => 0.74,
        27 => 0.70,
        28 => 0.66,
        29 => 0.72,
        30 => 0.71,
        33 => 2.00,
        34 => 1.90,
        35 => 1.95,
        48 => 0.91,
        53 => 2.10,
        80 => 1.00,
        _ => 1.05,
    }
}

fn is_metal(e: Element) -> bool {
    matches!(e.atomic_number(), 3 | 4 | 11..=13 | 19..=32 | 37..=50 | 55..=84 | 87..=103)
}

fn is_halide(e: Element) -> bool {
    matches!(e.atomic_number(), 9 | 17 | 35 | 53)
}

/// Aromatic ring atoms (probe: 1.75 A carbons, 1.05 A hydrogens; Phe / Tyr / Trp ring atoms also
/// accept H-bonds on their faces).
fn aromatic(res: &str, atom: &str) -> bool {
    match res {
        "PHE" | "TYR" => {
            matches!(atom, "CG" | "CD1" | "CD2" | "CE1" | "CE2" | "CZ" | "HD1" | "HD2" | "HE1" | "HE2" | "HZ")
        }
        "HIS" => matches!(atom, "CG" | "ND1" | "CD2" | "CE1" | "NE2" | "HD1" | "HD2" | "HE1" | "HE2"),
        "TRP" => matches!(
            atom,
            "CG" | "CD1"
                | "CD2"
                | "NE1"
                | "CE2"
                | "CE3"
                | "CZ2"
                | "CZ3"
                | "CH2"
                | "HD1"
                | "HE1"
                | "HE3"
                | "HZ2"
                | "HZ3"
                | "HH2"
        ),
        _ => false,
    }
}

/// Carbonyl carbons, whose radius probe scales by 1.65 / 1.75 (`CORadScale`).
fn carbonyl(res: &str, atom: &str) -> bool {
    (probe_amino_acid(res) && atom == "C")
        || (matches!(res, "ASP" | "ASN" | "ASX") && atom == "CG")
        || (matches!(res, "GLU" | "GLN" | "GLX") && atom == "CD")
}

/// Per-atom properties for the contact analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AtomType {
    /// van der Waals radius (A).
    pub radius: f64,
    /// H-bond donor (polar H, and the heavy donors of probe's table).
    pub donor: bool,
    /// H-bond acceptor.
    pub acceptor: bool,
    /// Formal charge sign (-1, 0, +1) as probe assigns it.
    pub charge: i8,
    /// Hydrogen.
    pub hydrogen: bool,
    /// Water atom (a target only).
    pub water: bool,
    /// Taken into account (occupancy above the cut-off).
    pub active: bool,
}

/// Whether two atoms form an H-bond pair in probe's sense (the donor / acceptor masks of the
/// source atom `a` against `b`; same-sign charged pairs excluded).
pub fn hbond_pair(a: &AtomType, b: &AtomType) -> bool {
    // probe: a donor looks for acceptors, an acceptor for donors (both when ambivalent).
    let complementary = (a.donor && b.acceptor) || (a.acceptor && b.donor);
    if !complementary {
        return false;
    }
    let both_charged = a.charge != 0 && b.charge != 0;
    !both_charged || a.charge != b.charge
}

/// Classify every atom of a (protonated) structure. `parent[i]` is the heavy atom a hydrogen
/// rides on (used to tell polar from non-polar hydrogens).
pub fn atom_types(s: &Structure, parent: &[Option<usize>]) -> Vec<AtomType> {
    let max_occ = s.atoms.iter().map(|a| a.occupancy).fold(0.0, f64::max);
    let occ_cut = if max_occ >= 1.0 { 0.01 } else { 0.0 };
    // First / last standard residue of each chain segment, for terminal charges.
    let mut n_term = vec![false; s.residues.len()];
    let mut c_term = vec![false; s.residues.len()];
    for r in 0..s.residues.len() {
        if standard_name(&s.residues[r].name).is_some() {
            n_term[r] = super::rama::prev_linked(s, r).is_none();
            c_term[r] = next_linked(s, r).is_none();
        }
    }
    // probe: a heavy atom carrying a hydrogen (occupancy >= 0.25) is not itself the donor.
    let mut has_h = vec![false; s.atoms.len()];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = *p
            && s.atoms[i].occupancy.abs() >= 0.25
            && let Some(x) = has_h.get_mut(p)
        {
            *x = true;
        }
    }
    s.atoms
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let res = s.residues[a.residue].name.as_str();
            let sres = standard_name(res).unwrap_or(res);
            let name = a.name.as_str();
            let water = is_water(res);
            let hydrogen = a.element.is_hydrogen();
            let active = max_occ <= 0.0 || a.occupancy > occ_cut;
            let parent_elem = parent.get(i).copied().flatten().map(|p| s.atoms[p].element.atomic_number());
            let polar_h = hydrogen && matches!(parent_elem, Some(7 | 8 | 16));
            let radius = if hydrogen {
                if polar_h || aromatic(sres, name) { 1.05 } else { 1.22 }
            } else if a.element == Element::C {
                if aromatic(sres, name) {
                    1.75
                } else if carbonyl(res, name) || carbonyl(sres, name) {
                    1.70 * 1.65 / 1.75
                } else {
                    1.70
                }
            } else {
                element_radius(a.element)
            };
            let z = a.element.atomic_number();
            let (mut donor, mut acceptor) = (false, false);
            let mut charge = 0i8;
            if water {
                donor = z == 8;
                acceptor = z == 8;
            } else if probe_amino_acid(res) {
                if hydrogen {
                    donor = polar_h;
                } else if matches!(z, 7 | 8 | 16 | 34) {
                    (donor, acceptor) = match (sres, name) {
                        (_, "N") => (true, false),
                        (_, "O" | "OXT") => (false, true),
                        ("ASN", "OD1") | ("GLN", "OE1") => (false, true),
                        ("ASN", "ND2") | ("GLN", "NE2") => (true, false),
                        ("ASP", "OD1" | "OD2") | ("GLU", "OE1" | "OE2") => (false, true),
                        ("LYS", "NZ") | ("ARG", "NE" | "NH1" | "NH2") | ("TRP", "NE1") => (true, false),
                        ("HIS", "ND1" | "NE2") => (true, true),
                        ("SER", "OG") | ("THR", "OG1") | ("TYR", "OH") => (true, true),
                        ("CYS", "SG") | ("MET", "SD") => (false, true),
                        _ => (false, true),
                    };
                }
                if !hydrogen && matches!(sres, "PHE" | "TYR" | "TRP") && aromatic(sres, name) {
                    acceptor = true; // H-bonds to aromatic faces (probe default)
                }
                charge = match (sres, name) {
                    ("ASP", "OD1" | "OD2") | ("GLU", "OE1" | "OE2") => -1,
                    ("LYS", "NZ" | "HZ1" | "HZ2" | "HZ3") => 1,
                    ("ARG", "NE" | "NH1" | "NH2" | "HE" | "HH11" | "HH12" | "HH21" | "HH22") => 1,
                    ("HIS", "ND1" | "NE2" | "HD1" | "HE2" | "CG" | "CD2" | "CE1") => 1,
                    (_, "OXT") => -1,
                    (_, "O") if c_term[a.residue] => -1,
                    (_, "N" | "H1" | "H2" | "H3") if n_term[a.residue] => 1,
                    _ => 0,
                };
            } else if hydrogen {
                donor = polar_h;
            } else if is_metal(a.element) {
                charge = 1;
            } else if is_halide(a.element) {
                charge = -1;
                acceptor = true;
            } else if matches!(z, 7 | 8 | 16) {
                donor = true;
                acceptor = true;
            }
            if has_h[i] && !water {
                donor = false;
            }
            AtomType { radius, donor, acceptor, charge, hydrogen, water, active }
        })
        .collect()
}

/// A uniform-grid neighbour search structure.
#[derive(Clone, Debug)]
pub struct CellList {
    origin: [f64; 3],
    cell: f64,
    dims: [usize; 3],
    start: Vec<usize>,
    items: Vec<usize>,
}

impl CellList {
    /// Bin `points` into cubic cells of edge `cell` (A).
    pub fn new(points: &[[f64; 3]], cell: f64) -> CellList {
        let cell = cell.max(0.5);
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in points.iter().filter(|p| p.iter().all(|v| v.is_finite())) {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        if !lo.iter().chain(&hi).all(|v| v.is_finite()) {
            // No finite point at all.
            lo = [0.0; 3];
            hi = [0.0; 3];
        }
        // Keep the cell count proportional to the number of points (sparse or far-flung models
        // get bigger cells rather than a huge grid).
        let mut cell = cell;
        let budget = (8 * points.len()).max(4096) as f64;
        let count = |c: f64| (0..3).map(|k| ((hi[k] - lo[k]) / c).floor() + 1.0).product::<f64>();
        while count(cell) > budget {
            cell *= 1.5;
        }
        let dims = [0, 1, 2].map(|k| ((hi[k] - lo[k]) / cell).floor() as usize + 1);
        let ncell = dims[0] * dims[1] * dims[2];
        let mut counts = vec![0usize; ncell + 1];
        let idx: Vec<usize> = points
            .iter()
            .map(|p| {
                let c = [0, 1, 2].map(|k| (((p[k] - lo[k]) / cell).floor().max(0.0) as usize).min(dims[k] - 1));
                (c[0] * dims[1] + c[1]) * dims[2] + c[2]
            })
            .collect();
        for &c in &idx {
            counts[c + 1] += 1;
        }
        for c in 0..ncell {
            counts[c + 1] += counts[c];
        }
        let mut fill = counts.clone();
        let mut items = vec![0; points.len()];
        for (i, &c) in idx.iter().enumerate() {
            items[fill[c]] = i;
            fill[c] += 1;
        }
        CellList { origin: lo, cell, dims, start: counts, items }
    }

    /// Call `f(j)` for every point in the cells that can hold points within `radius` of `p`
    /// (a superset: the caller checks the distance).
    pub fn for_each_near(&self, p: [f64; 3], radius: f64, mut f: impl FnMut(usize)) {
        let mut lo = [0usize; 3];
        let mut hi = [0usize; 3];
        for k in 0..3 {
            let a = ((p[k] - radius - self.origin[k]) / self.cell).floor();
            let b = ((p[k] + radius - self.origin[k]) / self.cell).floor();
            if b < 0.0 || a > (self.dims[k] - 1) as f64 {
                return;
            }
            lo[k] = a.max(0.0) as usize;
            hi[k] = (b as usize).min(self.dims[k] - 1);
        }
        for x in lo[0]..=hi[0] {
            for y in lo[1]..=hi[1] {
                let base = (x * self.dims[1] + y) * self.dims[2];
                for c in base + lo[2]..=base + hi[2] {
                    for &j in &self.items[self.start[c]..self.start[c + 1]] {
                        f(j);
                    }
                }
            }
        }
    }
}

/// Covalent connectivity used to exclude bonded atoms from clashes.
#[derive(Clone, Debug, PartialEq)]
pub struct BondGraph {
    /// Neighbours of each atom.
    pub adj: Vec<Vec<usize>>,
}

fn covalent_ok(s: &Structure, a: usize, b: usize) -> bool {
    let ra = covalent_radius(s.atoms[a].element);
    let rb = covalent_radius(s.atoms[b].element);
    let d = distance(s.atoms[a].pos, s.atoms[b].pos);
    d <= ra + rb + 0.2 && d > ra + rb - 0.6
}

/// Every atom of residue `r` called `name` (files with stripped alternate-location flags carry
/// several copies; all of them take part in the template bonds, as with probe's distance rule).
/// Ile "CD" is accepted for "CD1".
fn template_atoms(s: &Structure, r: usize, name: &str) -> Vec<usize> {
    let ile = standard_name(&s.residues[r].name) == Some("ILE") && name == "CD1";
    s.residues[r].atoms.clone().filter(|&i| s.atoms[i].name == name || (ile && s.atoms[i].name == "CD")).collect()
}

impl BondGraph {
    /// Build the bond graph of a structure whose hydrogens ride on `parent` atoms (see the module
    /// documentation for the rules).
    pub fn build(s: &Structure, parent: &[Option<usize>], cells: &CellList) -> BondGraph {
        let n = s.atoms.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        let add = |a: usize, b: usize, adj: &mut Vec<Vec<usize>>| {
            if a != b && !adj[a].contains(&b) {
                adj[a].push(b);
                adj[b].push(a);
            }
        };
        let standard: Vec<bool> = s.residues.iter().map(|r| standard_name(&r.name).is_some()).collect();
        for (r, _) in standard.iter().enumerate().filter(|(_, st)| **st) {
            for bd in residue_bonds(&s.residues[r].name) {
                for a in template_atoms(s, r, bd.a) {
                    for b in template_atoms(s, r, bd.b) {
                        if covalent_ok(s, a, b) {
                            add(a, b, &mut adj);
                        }
                    }
                }
            }
            if let Some(q) = next_linked(s, r) {
                for c in template_atoms(s, r, "C") {
                    for nn in template_atoms(s, q, "N") {
                        if covalent_ok(s, c, nn) {
                            add(c, nn, &mut adj);
                        }
                    }
                }
            }
        }
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = *p {
                add(i, p, &mut adj);
            }
        }
        // Disulfides and everything involving a non-standard residue: distance rule.
        for i in 0..n {
            let ai = &s.atoms[i];
            if ai.element.is_hydrogen() {
                continue;
            }
            let ri = ai.residue;
            let ssg = standard[ri] && ai.name == "SG";
            if standard[ri] && !ssg {
                // Standard atoms only pair with non-standard ones here (found from that side).
                continue;
            }
            let reach = covalent_radius(ai.element) + 2.07 + 0.2;
            cells.for_each_near(ai.pos, reach, |j| {
                let aj = &s.atoms[j];
                if j == i || aj.element.is_hydrogen() {
                    return;
                }
                let rj = aj.residue;
                let pair_ok = if standard[ri] && standard[rj] { ssg && aj.name == "SG" && rj != ri } else { true };
                if pair_ok && covalent_ok(s, i, j) && !adj[i].contains(&j) {
                    adj[i].push(j);
                    adj[j].push(i);
                }
            });
        }
        BondGraph { adj }
    }

    /// Atoms within `max` bonds of `a` (excluding `a`), with their bond distance.
    pub fn within(&self, a: usize, max: u8) -> Vec<(usize, u8)> {
        let mut out: Vec<(usize, u8)> = vec![(a, 0)];
        let mut frontier = vec![a];
        for depth in 1..=max {
            let mut next = Vec::new();
            for &x in &frontier {
                for &y in &self.adj[x] {
                    if !out.iter().any(|(z, _)| *z == y) {
                        out.push((y, depth));
                        next.push(y);
                    }
                }
            }
            frontier = next;
        }
        out.remove(0);
        out
    }
}

/// Atoms excluded from contacts with `a`: up to 3 bonds away, or 4 when either atom is H
/// (probe's default `-4H`).
pub fn excluded_partners(graph: &BondGraph, types: &[AtomType], a: usize) -> Vec<usize> {
    graph
        .within(a, 4)
        .into_iter()
        .filter(|&(b, d)| d <= 3 || types[a].hydrogen || types[b].hydrogen)
        .map(|(b, _)| b)
        .collect()
}

/// Unit vectors of the surface dots probe and reduce put on a sphere of radius `r` at `density`
/// dots per A^2: latitude rings (about `sqrt(pi n)` dots on the equator for `n = 4 pi density r^2`
/// dots), alternate rings offset by 0.2 / ring size of a turn, the whole set tilted by 2.5
/// degrees about x. Using the same layout as probe makes borderline overlaps (a few hundredths
/// above 0.4 A) come out the same way.
pub fn dot_sphere(r: f64, density: f64) -> Vec<[f64; 3]> {
    use std::f64::consts::PI;
    let maxpnts = (4.0 * PI * density * r * r).floor().max(1.0) as usize;
    let nequator = ((maxpnts as f64 * PI).sqrt()).floor() as usize;
    let nvert = (nequator / 2).max(1);
    let (sin_t, cos_t) = (5.0 * PI / 360.0).sin_cos();
    let mut out = Vec::with_capacity(maxpnts);
    let mut odd = true;
    'rings: for j in 0..=nvert {
        let phi = PI * j as f64 / nvert as f64;
        let (z0, xy0) = (phi.cos(), phi.sin());
        let nhoriz = ((nequator as f64 * phi.sin()).floor() as usize).max(1);
        for k in 0..nhoriz {
            if out.len() >= maxpnts {
                break 'rings;
            }
            let theta = (2.0 * PI * k as f64 + if odd { 0.2 } else { 0.0 }) / nhoriz as f64;
            let (x0, y0) = (theta.cos() * xy0, theta.sin() * xy0);
            out.push([x0, y0 * cos_t - z0 * sin_t, y0 * sin_t + z0 * cos_t]);
        }
        odd = !odd;
    }
    out
}

/// One serious clash.
#[derive(Clone, Debug, PartialEq)]
pub struct Clash {
    /// First atom (index in the protonated structure).
    pub a: usize,
    /// Second atom.
    pub b: usize,
    /// Largest overlap found by the dot test (A).
    pub overlap: f64,
}

/// Clash analysis of a protonated structure.
#[derive(Clone, Debug, PartialEq)]
pub struct ClashReport {
    /// Non-water atoms counted (hydrogens included).
    pub n_atoms: usize,
    /// Serious clashes (overlap >= 0.4 A), worst first.
    pub clashes: Vec<Clash>,
    /// Clashes per 1000 atoms.
    pub clashscore: f64,
}

/// Everything the dot test needs, built once per structure.
pub struct ContactModel<'a> {
    /// The structure.
    pub s: &'a Structure,
    /// Atom types.
    pub types: Vec<AtomType>,
    /// Bond graph.
    pub graph: BondGraph,
    /// Cell list over all atoms.
    pub cells: CellList,
    dots: HashMap<u64, Vec<[f64; 3]>>,
    /// 0 for atoms with a unique name in their residue, k for the k-th copy of a repeated name
    /// (alternate conformations whose flags were stripped); different copies never interact.
    copy: Vec<u8>,
}

/// Largest van der Waals radius in use (for neighbour searches).
const MAX_RADIUS: f64 = 2.1;

impl<'a> ContactModel<'a> {
    /// Type the atoms and build the bond graph and cell list.
    pub fn new(s: &'a Structure, parent: &[Option<usize>]) -> ContactModel<'a> {
        let coords = s.coords();
        let cells = CellList::new(&coords, 2.0 * MAX_RADIUS);
        let graph = BondGraph::build(s, parent, &cells);
        let types = atom_types(s, parent);
        let mut dots = HashMap::new();
        for t in &types {
            dots.entry(t.radius.to_bits()).or_insert_with(|| dot_sphere(t.radius, DOT_DENSITY));
        }
        let mut copy = vec![0u8; s.atoms.len()];
        for res in &s.residues {
            for i in res.atoms.clone() {
                let same: Vec<usize> = res.atoms.clone().filter(|&j| s.atoms[j].name == s.atoms[i].name).collect();
                if same.len() > 1 {
                    copy[i] = 1 + same.iter().position(|&j| j == i).unwrap_or(0).min(250) as u8;
                }
            }
        }
        // A hydrogen belongs to its parent's copy.
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = *p
                && copy[i] == 0
            {
                copy[i] = copy[p];
            }
        }
        ContactModel { s, types, graph, cells, dots, copy }
    }

    /// Largest overlap of a "bad" dot on `src`'s surface inside `targ`, after probe's filters
    /// (dots inside atoms bonded to `src` dropped; a dot belongs to the target it penetrates
    /// most). `None` when no dot reaches [`CLASH_OVERLAP`].
    fn dot_overlap(&self, src: usize, targ: usize, excluded: &[usize]) -> Option<f64> {
        let s = self.s;
        let ts = &self.types[src];
        let pa = s.atoms[src].pos;
        let pb = s.atoms[targ].pos;
        let rb = self.types[targ].radius;
        let near_bonded: Vec<([f64; 3], f64)> = excluded
            .iter()
            .filter(|&&x| distance(s.atoms[x].pos, pa) < ts.radius + self.types[x].radius)
            .map(|&x| (s.atoms[x].pos, self.types[x].radius))
            .collect();
        let mut rivals: Vec<([f64; 3], f64)> = Vec::new();
        self.cells.for_each_near(pa, ts.radius + MAX_RADIUS, |c| {
            let tc = &self.types[c];
            if c == src
                || c == targ
                || !tc.active
                || excluded.contains(&c)
                || (ts.water && tc.water)
                || self.alternates(src, c)
            {
                return;
            }
            if distance(s.atoms[c].pos, pa) < ts.radius + tc.radius {
                rivals.push((s.atoms[c].pos, tc.radius));
            }
        });
        let dots = self.dots.get(&ts.radius.to_bits())?;
        let mut best: Option<f64> = None;
        for u in dots {
            let d = [pa[0] + ts.radius * u[0], pa[1] + ts.radius * u[1], pa[2] + ts.radius * u[2]];
            let gap = distance(d, pb) - rb;
            if gap > -CLASH_OVERLAP || best.is_some_and(|b| -gap <= b) {
                continue;
            }
            if near_bonded.iter().any(|(x, r)| distance(d, *x) <= *r) {
                continue;
            }
            if rivals.iter().any(|(x, r)| distance(d, *x) - r < gap) {
                continue;
            }
            best = Some(-gap);
        }
        best
    }

    /// Unit dot vectors for a sphere of `radius` (empty for a radius not in use).
    pub fn dots(&self, radius: f64) -> &[[f64; 3]] {
        self.dots.get(&radius.to_bits()).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Whether two atoms belong to different alternate copies (see `copy`).
    pub fn alternates(&self, a: usize, b: usize) -> bool {
        self.copy[a] != 0 && self.copy[b] != 0 && self.copy[a] != self.copy[b]
    }

    /// Whether `a` and `b` are excluded from contacts (bonded within the limit).
    pub fn bonded(&self, a: usize, b: usize) -> bool {
        excluded_partners(&self.graph, &self.types, a).contains(&b)
    }

    /// Find all serious clashes.
    pub fn clashes(&self) -> ClashReport {
        let s = self.s;
        let n = s.atoms.len();
        let mut out = Vec::new();
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for i in 0..n {
            let ti = &self.types[i];
            if !ti.active {
                continue;
            }
            let pi = s.atoms[i].pos;
            self.cells.for_each_near(pi, ti.radius + MAX_RADIUS, |j| {
                if j <= i {
                    return;
                }
                let tj = &self.types[j];
                if !tj.active || (ti.water && tj.water) || self.alternates(i, j) {
                    return;
                }
                let d = distance(pi, s.atoms[j].pos);
                if ti.radius + tj.radius - d >= CLASH_OVERLAP && d > 1e-3 {
                    candidates.push((i, j));
                }
            });
        }
        let mut excl_cache: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, j) in candidates {
            let (ti, tj) = (self.types[i], self.types[j]);
            let ei = excl_cache.entry(i).or_insert_with(|| excluded_partners(&self.graph, &self.types, i)).clone();
            if ei.contains(&j) {
                continue;
            }
            if hbond_pair(&ti, &tj) || hbond_pair(&tj, &ti) {
                continue;
            }
            let ej = excl_cache.entry(j).or_insert_with(|| excluded_partners(&self.graph, &self.types, j)).clone();
            let mut best: Option<f64> = None;
            if !ti.water {
                best = self.dot_overlap(i, j, &ei);
            }
            if !tj.water
                && let Some(o) = self.dot_overlap(j, i, &ej)
            {
                best = Some(best.map_or(o, |b: f64| b.max(o)));
            }
            if let Some(overlap) = best {
                out.push(Clash { a: i, b: j, overlap });
            }
        }
        out.sort_by(|x, y| y.overlap.total_cmp(&x.overlap));
        let n_atoms = self.types.iter().filter(|t| t.active && !t.water).count();
        let clashscore = if n_atoms == 0 { 0.0 } else { 1000.0 * out.len() as f64 / n_atoms as f64 };
        ClashReport { n_atoms, clashes: out, clashscore }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::{Atom, Chain, Residue};

    fn two_atom_structure(res: [&str; 2], names: [&str; 2], elems: [Element; 2], d: f64) -> Structure {
        let mut atoms = Vec::new();
        let mut residues = Vec::new();
        for k in 0..2 {
            atoms.push(Atom {
                name: names[k].into(),
                element: elems[k],
                pos: [k as f64 * d, 0.0, 0.0],
                b: 20.0,
                occupancy: 1.0,
                hetero: true,
                residue: k,
            });
            residues.push(Residue { name: res[k].into(), seq: k as isize + 1, icode: None, chain: 0, atoms: k..k + 1 });
        }
        Structure {
            atoms,
            residues,
            chains: vec![Chain { id: "A".into(), residues: 0..2 }],
            source: None,
            b_is_plddt: false,
        }
    }

    #[test]
    fn pair_half_an_angstrom_too_close_is_one_clash() {
        // Two ligand carbons (radius 1.70 each) at 2.9 A overlap by 0.5 A: one clash.
        let s = two_atom_structure(["LIG", "LIG"], ["C1", "C2"], [Element::C, Element::C], 3.4 - 0.5);
        let m = ContactModel::new(&s, &[None, None]);
        let r = m.clashes();
        assert_eq!(r.clashes.len(), 1);
        assert!((r.clashes[0].overlap - 0.5).abs() < 0.02, "{:?}", r.clashes);
        assert!((r.clashscore - 500.0).abs() < 1e-9);
        // 0.3 A overlap is not serious.
        let s = two_atom_structure(["LIG", "LIG"], ["C1", "C2"], [Element::C, Element::C], 3.1);
        assert!(ContactModel::new(&s, &[None, None]).clashes().clashes.is_empty());
    }

    #[test]
    fn hbond_pairs_and_bonded_atoms_do_not_clash() {
        // A water oxygen and a ligand nitrogen at 2.3 A overlap by 0.65 A but H-bond.
        let s = two_atom_structure(["HOH", "LIG"], ["O", "N1"], [Element::O, Element::N], 2.3);
        assert!(ContactModel::new(&s, &[None, None]).clashes().clashes.is_empty());
        // Two ligand carbons 1.5 A apart are covalently bonded.
        let s = two_atom_structure(["LIG", "LIG"], ["C1", "C2"], [Element::C, Element::C], 1.5);
        assert!(ContactModel::new(&s, &[None, None]).clashes().clashes.is_empty());
        // Two waters never clash with each other.
        let s = two_atom_structure(["HOH", "HOH"], ["O", "O"], [Element::O, Element::O], 2.0);
        assert!(ContactModel::new(&s, &[None, None]).clashes().clashes.is_empty());
    }

    #[test]
    fn cell_list_finds_every_neighbour() {
        let pts: Vec<[f64; 3]> = (0..500)
            .map(|i| [(i * 37 % 101) as f64 * 0.3, (i * 53 % 97) as f64 * 0.3, (i * 11 % 89) as f64 * 0.3])
            .collect();
        let cl = CellList::new(&pts, 4.2);
        for (i, p) in pts.iter().enumerate().step_by(17) {
            let mut found = Vec::new();
            cl.for_each_near(*p, 3.0, |j| {
                if distance(*p, pts[j]) <= 3.0 {
                    found.push(j)
                }
            });
            let brute = (0..pts.len()).filter(|&j| distance(*p, pts[j]) <= 3.0).count();
            assert_eq!(found.len(), brute, "point {i}");
        }
    }
}
