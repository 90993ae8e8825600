//! Riding hydrogens with ideal geometry for heavy-atom protein models, placed the way reduce
//! (Word et al. 1999) does for MolProbity's clashscore.
//!
//! * Existing hydrogens are removed first and everything is rebuilt (cctbx runs `reduce -trim`
//!   then `reduce -build`).
//! * X-H lengths are reduce's electron-cloud values: C-H 0.97 A (0.93 aromatic), N-H 0.86 A
//!   (0.89 for NH3+), O-H 0.84 A, S-H 1.20 A. sp3 CH / CH2 / CH3 and sp2 ring / amide H get
//!   ideal tetrahedral or trigonal directions from their heavy-atom neighbours.
//! * Backbone: amide H in the C(i-1)-N-CA plane (not on Pro); on the first residue of a chain
//!   numbered <= 1, NH3+ (H1-H3; Pro gets H2, H3); a chain fragment starting later gets no N-H
//!   (reduce's `-Nterm1` rule). HA, or HA2 / HA3 on Gly.
//! * Side chains: all hydrogens of the 20 amino acids; Cys HG only when the SG is not in a
//!   disulfide; Asp / Glu stay deprotonated, Lys NH3+, Arg fully protonated.
//! * Adjustable groups are optimised as reduce does with `-OH -ROTNH3` (no Asn / Gln / His flips,
//!   which cctbx's `-pen9999` forbids; methyls, Met's included, stay staggered): Ser / Thr / Tyr
//!   OH, Cys SH, Lys NH3+ and the N-terminal NH3+ are rotated in 10-degree steps, and each His
//!   gets HD1 or HE2, keeping the state with the best reduce-style dot score (contacts,
//!   H-bonds, bumps). reduce searches more finely and optimises interacting groups jointly, so
//!   individual choices can differ (about a third of the hydroxyl / NH3+ orientations on AdK).
//! * Waters, ligands and non-standard residues (e.g. MSE) get no hydrogens.

use crate::structure::geometry::{cross, dot, norm, sub};
use crate::structure::{Atom, Element, Residue, Structure};
use crate::{Error, Result};

use super::clash::{AtomType, ContactModel, excluded_partners, hbond_pair};
use super::rama::{prev_linked, standard_name};
use crate::structure::geometry::distance;

fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = norm(v).max(1e-12);
    v.map(|x| x / n)
}

fn axpy(a: f64, x: [f64; 3], y: [f64; 3]) -> [f64; 3] {
    [a * x[0] + y[0], a * x[1] + y[1], a * x[2] + y[2]]
}

/// Place atom D bonded to C with |CD| = `d`, angle B-C-D = `theta` and dihedral A-B-C-D = `phi`
/// (degrees, IUPAC sign).
pub fn place_dihedral(a: [f64; 3], b: [f64; 3], c: [f64; 3], d: f64, theta: f64, phi: f64) -> [f64; 3] {
    let bc = unit(sub(c, b));
    let n = unit(cross(sub(b, a), bc));
    let m = cross(n, bc);
    let (t, p) = (theta.to_radians(), phi.to_radians());
    let local = [-d * t.cos(), d * t.sin() * p.cos(), d * t.sin() * p.sin()];
    [
        c[0] + local[0] * bc[0] + local[1] * m[0] + local[2] * n[0],
        c[1] + local[0] * bc[1] + local[1] * m[1] + local[2] * n[1],
        c[2] + local[0] * bc[2] + local[1] * m[2] + local[2] * n[2],
    ]
}

/// Rotate `p` by `deg` degrees about the axis through `origin` along `axis`.
fn rotate_about(p: [f64; 3], origin: [f64; 3], axis: [f64; 3], deg: f64) -> [f64; 3] {
    let k = unit(axis);
    let v = sub(p, origin);
    let (s, c) = deg.to_radians().sin_cos();
    let kxv = cross(k, v);
    let kdv = dot(k, v);
    [0, 1, 2].map(|i| origin[i] + v[i] * c + kxv[i] * s + k[i] * kdv * (1.0 - c))
}

/// How a hydrogen is placed from named heavy atoms of its residue (`"-C"` is the previous
/// residue's C).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Geom {
    /// sp3 H on X opposite its three neighbours.
    Methine([&'static str; 4]),
    /// One of the two sp3 H on X with neighbours A, C (sign picks the side).
    Methylene([&'static str; 3], f64),
    /// H on X with angle H-X-A and dihedral H-X-A-B.
    Dihedral([&'static str; 3], f64, f64),
    /// sp2 H on X in the plane of A-X-B, bisecting the exterior angle.
    Planar([&'static str; 3]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct HSpec {
    name: &'static str,
    geom: Geom,
    dist: f64,
}

const CH: f64 = 0.97;
const CH_AROM: f64 = 0.93;
const NH: f64 = 0.86;
const NH3: f64 = 0.89;
const OH: f64 = 0.84;
const SH: f64 = 1.20;

const fn h(name: &'static str, geom: Geom, dist: f64) -> HSpec {
    HSpec { name, geom, dist }
}

const fn ch2(x: &'static str, a: &'static str, c: &'static str) -> [HSpec; 2] {
    [h2name(x, 2, Geom::Methylene([x, a, c], -1.0)), h2name(x, 3, Geom::Methylene([x, a, c], 1.0))]
}

const fn h2name(x: &'static str, k: u8, g: Geom) -> HSpec {
    let name = match (x.as_bytes(), k) {
        (b"CA", 2) => "HA2",
        (b"CA", _) => "HA3",
        (b"CB", 2) => "HB2",
        (b"CB", _) => "HB3",
        (b"CG", 2) => "HG2",
        (b"CG", _) => "HG3",
        (b"CG1", 2) => "HG12",
        (b"CG1", _) => "HG13",
        (b"CD", 2) => "HD2",
        (b"CD", _) => "HD3",
        (b"CE", 2) => "HE2",
        (b"CE", _) => "HE3",
        (b"N", 2) => "H2",
        _ => "H3",
    };
    HSpec { name, geom: g, dist: CH }
}

const fn ch3(x: &'static str, a: &'static str, b: &'static str, names: [&'static str; 3]) -> [HSpec; 3] {
    [
        h(names[0], Geom::Dihedral([x, a, b], 109.5, 180.0), CH),
        h(names[1], Geom::Dihedral([x, a, b], 109.5, -60.0), CH),
        h(names[2], Geom::Dihedral([x, a, b], 109.5, 60.0), CH),
    ]
}

fn side_chain(res: &str) -> Vec<HSpec> {
    let mut v: Vec<HSpec> = Vec::new();
    let arom = |name, x, a, b| h(name, Geom::Planar([x, a, b]), CH_AROM);
    match res {
        "ALA" => v.extend(ch3("CB", "CA", "N", ["HB1", "HB2", "HB3"])),
        "ARG" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "CD"));
            v.extend(ch2("CD", "CG", "NE"));
            v.push(h("HE", Geom::Planar(["NE", "CD", "CZ"]), NH));
            v.push(h("HH11", Geom::Dihedral(["NH1", "CZ", "NE"], 120.0, 0.0), NH));
            v.push(h("HH12", Geom::Dihedral(["NH1", "CZ", "NE"], 120.0, 180.0), NH));
            v.push(h("HH21", Geom::Dihedral(["NH2", "CZ", "NE"], 120.0, 0.0), NH));
            v.push(h("HH22", Geom::Dihedral(["NH2", "CZ", "NE"], 120.0, 180.0), NH));
        }
        "ASN" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(h("HD21", Geom::Dihedral(["ND2", "CG", "OD1"], 120.0, 0.0), NH));
            v.push(h("HD22", Geom::Dihedral(["ND2", "CG", "OD1"], 120.0, 180.0), NH));
        }
        "ASP" => v.extend(ch2("CB", "CA", "CG")),
        "CYS" => {
            v.extend(ch2("CB", "CA", "SG"));
            v.push(h("HG", Geom::Dihedral(["SG", "CB", "CA"], 109.5, 180.0), SH));
        }
        "GLN" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "CD"));
            v.push(h("HE21", Geom::Dihedral(["NE2", "CD", "OE1"], 120.0, 180.0), NH));
            v.push(h("HE22", Geom::Dihedral(["NE2", "CD", "OE1"], 120.0, 0.0), NH));
        }
        "GLU" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "CD"));
        }
        "HIS" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(h("HD1", Geom::Planar(["ND1", "CG", "CE1"]), NH));
            v.push(arom("HD2", "CD2", "CG", "NE2"));
            v.push(arom("HE1", "CE1", "ND1", "NE2"));
            v.push(h("HE2", Geom::Planar(["NE2", "CE1", "CD2"]), NH));
        }
        "ILE" => {
            v.push(h("HB", Geom::Methine(["CB", "CA", "CG1", "CG2"]), CH));
            v.extend(ch2("CG1", "CB", "CD1"));
            v.extend(ch3("CG2", "CB", "CA", ["HG21", "HG22", "HG23"]));
            v.extend(ch3("CD1", "CG1", "CB", ["HD11", "HD12", "HD13"]));
        }
        "LEU" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(h("HG", Geom::Methine(["CG", "CB", "CD1", "CD2"]), CH));
            v.extend(ch3("CD1", "CG", "CB", ["HD11", "HD12", "HD13"]));
            v.extend(ch3("CD2", "CG", "CB", ["HD21", "HD22", "HD23"]));
        }
        "LYS" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "CD"));
            v.extend(ch2("CD", "CG", "CE"));
            v.extend(ch2("CE", "CD", "NZ"));
            for (n, dih) in [("HZ1", 180.0), ("HZ2", -60.0), ("HZ3", 60.0)] {
                v.push(h(n, Geom::Dihedral(["NZ", "CE", "CD"], 109.5, dih), NH3));
            }
        }
        "MET" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "SD"));
            v.extend(ch3("CE", "SD", "CG", ["HE1", "HE2", "HE3"]));
        }
        "PHE" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(arom("HD1", "CD1", "CG", "CE1"));
            v.push(arom("HD2", "CD2", "CG", "CE2"));
            v.push(arom("HE1", "CE1", "CD1", "CZ"));
            v.push(arom("HE2", "CE2", "CD2", "CZ"));
            v.push(arom("HZ", "CZ", "CE1", "CE2"));
        }
        "PRO" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.extend(ch2("CG", "CB", "CD"));
            v.extend(ch2("CD", "CG", "N"));
        }
        "SER" => {
            v.extend(ch2("CB", "CA", "OG"));
            v.push(h("HG", Geom::Dihedral(["OG", "CB", "CA"], 109.5, 180.0), OH));
        }
        "THR" => {
            v.push(h("HB", Geom::Methine(["CB", "CA", "OG1", "CG2"]), CH));
            v.push(h("HG1", Geom::Dihedral(["OG1", "CB", "CA"], 109.5, 180.0), OH));
            v.extend(ch3("CG2", "CB", "CA", ["HG21", "HG22", "HG23"]));
        }
        "TRP" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(arom("HD1", "CD1", "CG", "NE1"));
            v.push(h("HE1", Geom::Planar(["NE1", "CD1", "CE2"]), NH));
            v.push(arom("HE3", "CE3", "CD2", "CZ3"));
            v.push(arom("HZ2", "CZ2", "CE2", "CH2"));
            v.push(arom("HZ3", "CZ3", "CE3", "CH2"));
            v.push(arom("HH2", "CH2", "CZ2", "CZ3"));
        }
        "TYR" => {
            v.extend(ch2("CB", "CA", "CG"));
            v.push(arom("HD1", "CD1", "CG", "CE1"));
            v.push(arom("HD2", "CD2", "CG", "CE2"));
            v.push(arom("HE1", "CE1", "CD1", "CZ"));
            v.push(arom("HE2", "CE2", "CD2", "CZ"));
            v.push(h("HH", Geom::Dihedral(["OH", "CZ", "CE1"], 109.5, 180.0), OH));
        }
        "VAL" => {
            v.push(h("HB", Geom::Methine(["CB", "CA", "CG1", "CG2"]), CH));
            v.extend(ch3("CG1", "CB", "CA", ["HG11", "HG12", "HG13"]));
            v.extend(ch3("CG2", "CB", "CA", ["HG21", "HG22", "HG23"]));
        }
        _ => {}
    }
    v
}

/// A group of hydrogens that rotates about the bond `anchor`-`parent`.
#[derive(Clone, Debug, PartialEq)]
struct Rotor {
    hs: Vec<usize>,
    parent: usize,
    anchor: usize,
    period: f64,
}

/// Alternative protonation of a histidine: indices of HD1 and HE2 and of ND1 and NE2.
#[derive(Clone, Debug, PartialEq)]
struct HisChoice {
    hd1: usize,
    he2: usize,
    nd1: usize,
    ne2: usize,
}

/// A structure with riding hydrogens.
#[derive(Clone, Debug, PartialEq)]
pub struct Protonated {
    /// The model with hydrogens (heavy atoms first in each residue, then its hydrogens).
    pub structure: Structure,
    /// For each atom, the heavy atom a hydrogen rides on (`None` for heavy atoms).
    pub parent: Vec<Option<usize>>,
    /// Number of hydrogens added.
    pub added: usize,
}

fn place(geom: Geom, d: f64, get: &dyn Fn(&str) -> Option<[f64; 3]>) -> Option<[f64; 3]> {
    match geom {
        Geom::Methine([x, a, b, c]) => {
            let (x, a, b, c) = (get(x)?, get(a)?, get(b)?, get(c)?);
            let s = [unit(sub(x, a)), unit(sub(x, b)), unit(sub(x, c))];
            let dir = unit([0, 1, 2].map(|k| s[0][k] + s[1][k] + s[2][k]));
            Some(axpy(d, dir, x))
        }
        Geom::Methylene([x, a, c], sign) => {
            let (x, a, c) = (get(x)?, get(a)?, get(c)?);
            let (ua, uc) = (unit(sub(x, a)), unit(sub(x, c)));
            let bis = unit([0, 1, 2].map(|k| ua[k] + uc[k]));
            let perp = unit(cross(ua, uc));
            let half = (109.5f64 / 2.0).to_radians();
            let dir = [0, 1, 2].map(|k| half.cos() * bis[k] + sign * half.sin() * perp[k]);
            Some(axpy(d, unit(dir), x))
        }
        Geom::Dihedral([x, a, b], theta, phi) => Some(place_dihedral(get(b)?, get(a)?, get(x)?, d, theta, phi)),
        Geom::Planar([x, a, b]) => {
            let (x, a, b) = (get(x)?, get(a)?, get(b)?);
            let dir = unit([0, 1, 2].map(|k| unit(sub(x, a))[k] + unit(sub(x, b))[k]));
            Some(axpy(d, dir, x))
        }
    }
}

fn parent_name(geom: Geom) -> &'static str {
    match geom {
        Geom::Methine([x, ..]) | Geom::Methylene([x, ..], _) | Geom::Dihedral([x, ..], ..) | Geom::Planar([x, ..]) => x,
    }
}

/// Index of atom `name` among `atoms[from..]` (Ile "CD" accepted for "CD1" when `ile`).
fn find(atoms: &[Atom], from: usize, name: &str, ile: bool) -> Option<usize> {
    (from..atoms.len())
        .find(|&i| atoms[i].name == name)
        .or_else(|| if ile && name == "CD1" { (from..atoms.len()).find(|&i| atoms[i].name == "CD") } else { None })
}

/// Add riding hydrogens to every standard amino acid (see the module documentation), returning
/// the new structure with the parent of each hydrogen.
pub fn protonate(s: &Structure) -> Result<Protonated> {
    let heavy = s.filter_atoms(|a| !a.element.is_hydrogen());
    let sg: Vec<[f64; 3]> = heavy
        .atoms
        .iter()
        .filter(|a| a.name == "SG" && standard_name(&heavy.residues[a.residue].name) == Some("CYS"))
        .map(|a| a.pos)
        .collect();
    let mut atoms: Vec<Atom> = Vec::with_capacity(heavy.atoms.len() * 2);
    let mut parent: Vec<Option<usize>> = Vec::with_capacity(heavy.atoms.len() * 2);
    let mut residues: Vec<Residue> = Vec::with_capacity(heavy.residues.len());
    let mut rotors: Vec<Rotor> = Vec::new();
    let mut his: Vec<HisChoice> = Vec::new();
    for (r, res) in heavy.residues.iter().enumerate() {
        let start = atoms.len();
        for a in res.atoms.clone() {
            let mut at = heavy.atoms[a].clone();
            at.residue = residues.len();
            atoms.push(at);
            parent.push(None);
        }
        let Some(name) = standard_name(&res.name) else {
            residues.push(Residue { atoms: start..atoms.len(), ..res.clone() });
            continue;
        };
        let is_ile = name == "ILE";
        let prev = prev_linked(&heavy, r);
        let prev_c = prev.and_then(|p| heavy.atom_in(p, "C")).map(|i| heavy.atoms[i].pos);
        let mut specs: Vec<HSpec> = Vec::new();
        let mut nterm = false;
        if prev.is_some() {
            if name != "PRO" {
                specs.push(h("H", Geom::Planar(["N", "CA", "-C"]), NH));
            }
        } else if res.seq <= 1 {
            nterm = true;
            if name == "PRO" {
                specs.push(HSpec { dist: NH, ..h2name("N", 2, Geom::Methylene(["N", "CD", "CA"], 1.0)) });
                specs.push(HSpec { dist: NH, ..h2name("N", 3, Geom::Methylene(["N", "CD", "CA"], -1.0)) });
            } else {
                for (n, dih) in [("H1", 180.0), ("H2", -60.0), ("H3", 60.0)] {
                    specs.push(h(n, Geom::Dihedral(["N", "CA", "C"], 109.5, dih), NH3));
                }
            }
        }
        if name == "GLY" {
            specs.extend(ch2("CA", "N", "C"));
        } else {
            specs.push(h("HA", Geom::Methine(["CA", "N", "C", "CB"]), CH));
        }
        let mut sc = side_chain(name);
        if name == "CYS"
            && let Some(p) = find(&atoms, start, "SG", false).map(|i| atoms[i].pos)
        {
            let disulfide = sg.iter().any(|q| {
                let d = distance(p, *q);
                d > 0.1 && d < 2.5
            });
            if disulfide {
                sc.retain(|x| x.name != "HG");
            }
        }
        specs.extend(sc);
        let placed: Vec<(HSpec, usize, [f64; 3])> = {
            let get = |n: &str| -> Option<[f64; 3]> {
                if n == "-C" { prev_c } else { find(&atoms, start, n, is_ile).map(|i| atoms[i].pos) }
            };
            specs
                .iter()
                .filter_map(|spec| {
                    let pidx = find(&atoms, start, parent_name(spec.geom), is_ile)?;
                    Some((*spec, pidx, place(spec.geom, spec.dist, &get)?))
                })
                .collect()
        };
        let h0 = atoms.len();
        for (spec, pidx, p) in placed {
            let pa = &atoms[pidx];
            let at = Atom {
                name: spec.name.to_string(),
                element: Element::H,
                pos: p,
                b: pa.b,
                occupancy: pa.occupancy,
                hetero: pa.hetero,
                residue: residues.len(),
            };
            atoms.push(at);
            parent.push(Some(pidx));
        }
        let groups: &[(&[&str], &str, &str, f64)] = match name {
            "SER" => &[(&["HG"], "OG", "CB", 360.0)],
            "THR" => &[(&["HG1"], "OG1", "CB", 360.0)],
            "TYR" => &[(&["HH"], "OH", "CZ", 360.0)],
            "CYS" => &[(&["HG"], "SG", "CB", 360.0)],
            "LYS" => &[(&["HZ1", "HZ2", "HZ3"], "NZ", "CE", 120.0)],
            _ => &[],
        };
        let nterm_group: &[(&[&str], &str, &str, f64)] = &[(&["H1", "H2", "H3"], "N", "CA", 120.0)];
        let all_groups = groups.iter().chain(if nterm && name != "PRO" { nterm_group.iter() } else { [].iter() });
        for (names, par, anchor, period) in all_groups {
            let hs: Vec<usize> = names.iter().filter_map(|n| find(&atoms[..], h0, n, false)).collect();
            if let (false, Some(p), Some(a)) =
                (hs.is_empty(), find(&atoms, start, par, is_ile), find(&atoms, start, anchor, is_ile))
            {
                rotors.push(Rotor { hs, parent: p, anchor: a, period: *period });
            }
        }
        if name == "HIS"
            && let (Some(hd1), Some(he2), Some(nd1), Some(ne2)) = (
                find(&atoms, h0, "HD1", false),
                find(&atoms, h0, "HE2", false),
                find(&atoms, start, "ND1", false),
                find(&atoms, start, "NE2", false),
            )
        {
            his.push(HisChoice { hd1, he2, nd1, ne2 });
        }
        residues.push(Residue { atoms: start..atoms.len(), ..res.clone() });
    }
    let mut out = Structure {
        atoms,
        residues,
        chains: heavy.chains.clone(),
        source: heavy.source.clone(),
        b_is_plddt: heavy.b_is_plddt,
    };
    out.validate_indices()?;
    let present = optimise(&mut out, &parent, &rotors, &his);
    // Drop the histidine hydrogens the optimisation removed, remapping parents.
    let keep: Vec<bool> = present;
    let mut remap = vec![usize::MAX; out.atoms.len()];
    let mut next = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            remap[i] = next;
            next += 1;
        }
    }
    // filter_atoms visits the atoms in order, once each.
    let idx = std::cell::Cell::new(0usize);
    let final_s = out.filter_atoms(|_| {
        let i = idx.get();
        idx.set(i + 1);
        keep[i]
    });
    let final_parent: Vec<Option<usize>> =
        parent.iter().enumerate().filter(|(i, _)| keep[*i]).map(|(_, p)| p.map(|q| remap[q])).collect();
    if final_parent.iter().flatten().any(|&p| p == usize::MAX) {
        return Err(Error::invalid("protonate: a hydrogen lost its parent atom"));
    }
    let added = final_s.atoms.len() - heavy.atoms.len();
    Ok(Protonated { structure: final_s, parent: final_parent, added })
}

/// Add riding hydrogens (see [`protonate`]) and return the new structure.
pub fn add_hydrogens(s: &Structure) -> Result<Structure> {
    Ok(protonate(s)?.structure)
}

/// Donor / acceptor flags of an atom, possibly overridden (histidine nitrogens change role with
/// their protonation state).
fn roles(m: &ContactModel, i: usize, over: &[(usize, bool, bool)]) -> AtomType {
    let mut t = m.types[i];
    if let Some(&(_, d, a)) = over.iter().find(|(j, ..)| *j == i) {
        t.donor = d;
        t.acceptor = a;
    }
    t
}

/// Probe-sphere radius of reduce's dot scoring (A).
const REDUCE_PROBE: f64 = 0.25;

/// reduce's dot score of atom `src` placed at `p` (after `AtomPositions::atomScore`): a probe
/// sphere of 0.25 A rolls over the surface dots (16 per A^2); the gap is measured from the probe
/// centre to the nearest non-bonded atom. Gap > 0: contact, + exp(-(gap / 0.25)^2); gap < 0:
/// H-bond + 4 x gap / 2, or bump - 10 x gap / 2 (H-bonds closer than 0.6 A, 0.8 A charged, count
/// as bumps). Dots inside atoms bonded to `src` are ignored; the sum is divided by the density.
#[allow(clippy::too_many_arguments)]
fn dot_score(
    m: &ContactModel,
    pos: &[[f64; 3]],
    present: &[bool],
    src: usize,
    p: [f64; 3],
    excluded: &[usize],
    skip: &[usize],
    over: &[(usize, bool, bool)],
) -> f64 {
    let ts = roles(m, src, over);
    let mut near: Vec<(usize, [f64; 3], f64)> = Vec::new();
    let mut bonded: Vec<([f64; 3], f64)> = Vec::new();
    m.cells.for_each_near(p, ts.radius + 2.1 + 2.0, |j| {
        if j == src || !present[j] || skip.contains(&j) || !m.types[j].active || m.alternates(src, j) {
            return;
        }
        let rj = m.types[j].radius;
        let d = distance(p, pos[j]);
        if excluded.contains(&j) {
            if d < ts.radius + rj {
                bonded.push((pos[j], rj));
            }
        } else if d < ts.radius + 2.0 * REDUCE_PROBE + rj {
            near.push((j, pos[j], rj));
        }
    });
    if near.is_empty() {
        return 0.0;
    }
    let mut score = 0.0;
    for u in m.dots(ts.radius) {
        let q = [p[0] + ts.radius * u[0], p[1] + ts.radius * u[1], p[2] + ts.radius * u[2]];
        let rp = ts.radius + REDUCE_PROBE;
        let probe = [p[0] + rp * u[0], p[1] + rp * u[1], p[2] + rp * u[2]];
        let mut best: Option<(usize, f64)> = None;
        for &(j, x, r) in &near {
            let d = distance(probe, x);
            if d - REDUCE_PROBE - r < 0.0 && best.is_none_or(|(_, g)| d - r < g) {
                best = Some((j, d - r));
            }
        }
        let Some((j, gap)) = best else { continue };
        if bonded.iter().any(|(x, r)| distance(q, *x) < *r) {
            continue;
        }
        if gap > 0.0 {
            let g = gap / 0.25;
            score += (-g * g).exp();
            continue;
        }
        let tj = roles(m, j, over);
        if hbond_pair(&ts, &tj) {
            let cut = if ts.charge != 0 && tj.charge != 0 { 0.8 } else { 0.6 };
            if gap < -cut {
                score -= 10.0 * 0.5 * -(gap + cut);
            } else {
                score += 4.0 * 0.5 * -gap;
            }
        } else {
            score -= 10.0 * 0.5 * -gap;
        }
    }
    score / super::clash::DOT_DENSITY
}

/// Optimise rotatable hydrogens and histidine protonation in place; returns which atoms remain.
fn optimise(s: &mut Structure, parent: &[Option<usize>], rotors: &[Rotor], his: &[HisChoice]) -> Vec<bool> {
    let mut present = vec![true; s.atoms.len()];
    let mut pos = s.coords();
    {
        let m = ContactModel::new(s, parent);
        let excl = |i: usize| excluded_partners(&m.graph, &m.types, i);
        for _pass in 0..2 {
            for c in his {
                // States: HE2 only or HD1 only (reduce with cctbx's options never keeps both);
                // the protonated N is a donor, the other an acceptor. Ties keep HE2.
                let mut best = (f64::NEG_INFINITY, (false, true));
                for (hd1, he2) in [(false, true), (true, false)] {
                    present[c.hd1] = hd1;
                    present[c.he2] = he2;
                    let over = [(c.nd1, hd1, !hd1), (c.ne2, he2, !he2)];
                    let mut sc = 0.0;
                    for (on, hh) in [(hd1, c.hd1), (he2, c.he2)] {
                        if on {
                            sc += dot_score(&m, &pos, &present, hh, pos[hh], &excl(hh), &[], &over);
                        }
                    }
                    for n in [c.nd1, c.ne2] {
                        sc += dot_score(&m, &pos, &present, n, pos[n], &excl(n), &[], &over);
                    }
                    if sc > best.0 + 1e-9 {
                        best = (sc, (hd1, he2));
                    }
                }
                present[c.hd1] = best.1.0;
                present[c.he2] = best.1.1;
            }
            for rot in rotors {
                let axis = sub(pos[rot.parent], pos[rot.anchor]);
                let origin = pos[rot.parent];
                let start: Vec<[f64; 3]> = rot.hs.iter().map(|&i| pos[i]).collect();
                let excls: Vec<Vec<usize>> = rot.hs.iter().map(|&i| excl(i)).collect();
                let mut best = (f64::NEG_INFINITY, 0.0);
                let steps = (rot.period / 10.0).round() as usize;
                for k in 0..steps {
                    let ang = 10.0 * k as f64;
                    let mut sc = 0.0;
                    for (j, &hidx) in rot.hs.iter().enumerate() {
                        let p = rotate_about(start[j], origin, axis, ang);
                        sc += dot_score(&m, &pos, &present, hidx, p, &excls[j], &rot.hs, &[]);
                    }
                    if sc > best.0 + 1e-9 {
                        best = (sc, ang);
                    }
                }
                for (j, &hidx) in rot.hs.iter().enumerate() {
                    pos[hidx] = rotate_about(start[j], origin, axis, best.1);
                }
            }
        }
    }
    for (a, p) in s.atoms.iter_mut().zip(&pos) {
        a.pos = *p;
    }
    present
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::geometry::{angle, dihedral};

    #[test]
    fn dihedral_placement_roundtrip() {
        let (a, b, c) = ([1.0, 0.3, -0.2], [0.0, 0.0, 0.0], [0.0, 1.5, 0.1]);
        for phi in [-120.0, -60.0, 0.0, 60.0, 179.0] {
            let d = place_dihedral(a, b, c, 1.1, 109.5, phi);
            assert!((distance(c, d) - 1.1).abs() < 1e-9);
            assert!((angle(b, c, d) - 109.5).abs() < 1e-9);
            assert!((dihedral(a, b, c, d) - phi).abs() < 1e-9, "{phi}");
        }
    }
}
