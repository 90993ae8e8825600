//! Ideal covalent geometry of the 20 amino acids and bond / angle RMSZ.
//!
//! Source of the numbers: R. A. Engh & R. Huber (1991), "Accurate bond and angle parameters for
//! X-ray protein structure refinement", Acta Cryst. A47:392-400, Table 3 (the "EH91" set used by
//! X-PLOR / CNS and by most validation programs of that era), transcribed by hand for this crate:
//! residue-specific backbone values for Gly and Pro, beta-branched CA-CB, and the side-chain atom
//! classes (CH1E, CH2E, C, OC, ...). Aromatic ring angles were checked to close (pentagons 540,
//! hexagons 720 degrees). Hydrogens are not included (they are placed, not validated).
//!
//! The same bond list is the residue template of the bond graph used by the clash analysis.
//!
//! A z-score is `(observed - ideal) / sigma`; RMSZ = sqrt(mean z^2); an outlier has |z| > 4
//! (MolProbity's cut-off for bond-length and bond-angle outliers).

use crate::structure::Structure;
use crate::structure::geometry::{angle, distance};

use super::rama::{next_linked, standard_name};

/// An ideal bond length between two atoms of one residue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdealBond {
    /// First atom name.
    pub a: &'static str,
    /// Second atom name.
    pub b: &'static str,
    /// Ideal length (A).
    pub length: f64,
    /// Standard deviation (A).
    pub sigma: f64,
}

/// An ideal bond angle a-b-c (b is the vertex) within one residue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdealAngle {
    /// First atom name.
    pub a: &'static str,
    /// Vertex atom name.
    pub b: &'static str,
    /// Third atom name.
    pub c: &'static str,
    /// Ideal angle (degrees).
    pub angle: f64,
    /// Standard deviation (degrees).
    pub sigma: f64,
}

const fn b(a: &'static str, b: &'static str, length: f64, sigma: f64) -> IdealBond {
    IdealBond { a, b, length, sigma }
}

const fn t(a: &'static str, b: &'static str, c: &'static str, angle: f64, sigma: f64) -> IdealAngle {
    IdealAngle { a, b, c, angle, sigma }
}

// Side-chain bonds (EH91 atom classes in the comments).
const SC_BONDS: &[(&str, &[IdealBond])] = &[
    (
        "ARG",
        &[
            b("CB", "CG", 1.520, 0.030), // CH2E-CH2E
            b("CG", "CD", 1.520, 0.030),
            b("CD", "NE", 1.460, 0.018),  // CH2E-NH1
            b("NE", "CZ", 1.329, 0.014),  // NH1-C
            b("CZ", "NH1", 1.326, 0.018), // C-NC2
            b("CZ", "NH2", 1.326, 0.018),
        ],
    ),
    (
        "ASN",
        &[
            b("CB", "CG", 1.516, 0.025),  // CH2E-C
            b("CG", "OD1", 1.231, 0.020), // C=O
            b("CG", "ND2", 1.328, 0.021), // C-NH2
        ],
    ),
    (
        "ASP",
        &[
            b("CB", "CG", 1.516, 0.025),
            b("CG", "OD1", 1.249, 0.019), // C-OC
            b("CG", "OD2", 1.249, 0.019),
        ],
    ),
    ("CYS", &[b("CB", "SG", 1.808, 0.033)]), // CH2E-SH1E
    (
        "GLN",
        &[
            b("CB", "CG", 1.520, 0.030),
            b("CG", "CD", 1.516, 0.025),
            b("CD", "OE1", 1.231, 0.020),
            b("CD", "NE2", 1.328, 0.021),
        ],
    ),
    (
        "GLU",
        &[
            b("CB", "CG", 1.520, 0.030),
            b("CG", "CD", 1.516, 0.025),
            b("CD", "OE1", 1.249, 0.019),
            b("CD", "OE2", 1.249, 0.019),
        ],
    ),
    (
        "HIS",
        &[
            b("CB", "CG", 1.497, 0.014),   // CH2E-C5
            b("CG", "ND1", 1.371, 0.017),  // C5-NR / C5-NH1
            b("CG", "CD2", 1.356, 0.011),  // C5-CR1E
            b("ND1", "CE1", 1.319, 0.013), // NR-CR1E
            b("CD2", "NE2", 1.374, 0.021), // CR1E-NH1
            b("CE1", "NE2", 1.374, 0.021),
        ],
    ),
    (
        "ILE",
        &[
            b("CB", "CG1", 1.530, 0.020),  // CH1E-CH2E
            b("CB", "CG2", 1.521, 0.033),  // CH1E-CH3E
            b("CG1", "CD1", 1.513, 0.039), // CH2E-CH3E
        ],
    ),
    ("LEU", &[b("CB", "CG", 1.530, 0.020), b("CG", "CD1", 1.521, 0.033), b("CG", "CD2", 1.521, 0.033)]),
    (
        "LYS",
        &[
            b("CB", "CG", 1.520, 0.030),
            b("CG", "CD", 1.520, 0.030),
            b("CD", "CE", 1.520, 0.030),
            b("CE", "NZ", 1.489, 0.030), // CH2E-NH3
        ],
    ),
    (
        "MET",
        &[
            b("CB", "CG", 1.520, 0.030),
            b("CG", "SD", 1.803, 0.034), // CH2E-SM
            b("SD", "CE", 1.791, 0.059), // SM-CH3E
        ],
    ),
    (
        "PHE",
        &[
            b("CB", "CG", 1.502, 0.023),  // CH2E-CF
            b("CG", "CD1", 1.384, 0.021), // CF-CR1E
            b("CG", "CD2", 1.384, 0.021),
            b("CD1", "CE1", 1.382, 0.030), // CR1E-CR1E
            b("CD2", "CE2", 1.382, 0.030),
            b("CE1", "CZ", 1.382, 0.030),
            b("CE2", "CZ", 1.382, 0.030),
        ],
    ),
    (
        "PRO",
        &[
            b("CB", "CG", 1.492, 0.050), // CH2E-CH2P
            b("CG", "CD", 1.503, 0.034), // CH2P-CH2P
            b("CD", "N", 1.473, 0.014),  // CH2P-N
        ],
    ),
    ("SER", &[b("CB", "OG", 1.417, 0.020)]), // CH2E-OH1
    (
        "THR",
        &[
            b("CB", "OG1", 1.433, 0.016), // CH1E-OH1
            b("CB", "CG2", 1.521, 0.033),
        ],
    ),
    (
        "TRP",
        &[
            b("CB", "CG", 1.498, 0.031),   // CH2E-C5W
            b("CG", "CD1", 1.365, 0.025),  // C5W-CR1E
            b("CG", "CD2", 1.433, 0.018),  // C5W-CW
            b("CD1", "NE1", 1.374, 0.021), // CR1E-NH1
            b("NE1", "CE2", 1.370, 0.011), // NH1-CW
            b("CD2", "CE2", 1.409, 0.017), // CW-CW
            b("CD2", "CE3", 1.398, 0.016), // CW-CR1E
            b("CE2", "CZ2", 1.394, 0.021), // CW-CR1W
            b("CE3", "CZ3", 1.382, 0.030), // CR1E-CR1E
            b("CZ2", "CH2", 1.368, 0.019), // CR1W-CR1W
            b("CZ3", "CH2", 1.400, 0.025), // CR1E-CR1W
        ],
    ),
    (
        "TYR",
        &[
            b("CB", "CG", 1.512, 0.015),  // CH2E-CY
            b("CG", "CD1", 1.389, 0.015), // CY-CR1E
            b("CG", "CD2", 1.389, 0.015),
            b("CD1", "CE1", 1.382, 0.030),
            b("CD2", "CE2", 1.382, 0.030),
            b("CE1", "CZ", 1.378, 0.013), // CR1E-CY2
            b("CE2", "CZ", 1.378, 0.013),
            b("CZ", "OH", 1.376, 0.021), // CY2-OH1
        ],
    ),
    ("VAL", &[b("CB", "CG1", 1.521, 0.033), b("CB", "CG2", 1.521, 0.033)]),
];

// Side-chain angles (EH91).
const SC_ANGLES: &[(&str, &[IdealAngle])] = &[
    (
        "ARG",
        &[
            t("CA", "CB", "CG", 114.1, 2.0),
            t("CB", "CG", "CD", 111.3, 2.3),
            t("CG", "CD", "NE", 112.0, 2.2),
            t("CD", "NE", "CZ", 124.2, 1.5),
            t("NE", "CZ", "NH1", 120.0, 1.9),
            t("NE", "CZ", "NH2", 120.0, 1.9),
            t("NH1", "CZ", "NH2", 119.7, 1.8),
        ],
    ),
    (
        "ASN",
        &[
            t("CA", "CB", "CG", 112.6, 1.0),
            t("CB", "CG", "OD1", 120.8, 2.0),
            t("CB", "CG", "ND2", 116.4, 1.5),
            t("OD1", "CG", "ND2", 122.6, 1.8),
        ],
    ),
    (
        "ASP",
        &[
            t("CA", "CB", "CG", 112.6, 1.0),
            t("CB", "CG", "OD1", 118.4, 2.3),
            t("CB", "CG", "OD2", 118.4, 2.3),
            t("OD1", "CG", "OD2", 122.9, 2.4),
        ],
    ),
    ("CYS", &[t("CA", "CB", "SG", 114.4, 2.3)]),
    (
        "GLN",
        &[
            t("CA", "CB", "CG", 114.1, 2.0),
            t("CB", "CG", "CD", 112.6, 1.7),
            t("CG", "CD", "OE1", 120.8, 2.0),
            t("CG", "CD", "NE2", 116.4, 1.5),
            t("OE1", "CD", "NE2", 122.6, 1.8),
        ],
    ),
    (
        "GLU",
        &[
            t("CA", "CB", "CG", 114.1, 2.0),
            t("CB", "CG", "CD", 112.6, 1.7),
            t("CG", "CD", "OE1", 118.4, 2.3),
            t("CG", "CD", "OE2", 118.4, 2.3),
            t("OE1", "CD", "OE2", 122.9, 2.4),
        ],
    ),
    (
        "HIS",
        &[
            t("CA", "CB", "CG", 113.8, 1.0),
            t("CB", "CG", "ND1", 122.7, 1.5),
            t("CB", "CG", "CD2", 131.2, 1.3),
            t("ND1", "CG", "CD2", 106.1, 1.0),
            t("CG", "ND1", "CE1", 109.3, 1.7),
            t("ND1", "CE1", "NE2", 108.4, 1.0),
            t("CE1", "NE2", "CD2", 109.0, 1.0),
            t("NE2", "CD2", "CG", 107.2, 1.0),
        ],
    ),
    (
        "ILE",
        &[
            t("CA", "CB", "CG1", 110.4, 1.7),
            t("CA", "CB", "CG2", 110.5, 1.7),
            t("CG1", "CB", "CG2", 110.7, 3.0),
            t("CB", "CG1", "CD1", 113.8, 2.1),
        ],
    ),
    (
        "LEU",
        &[
            t("CA", "CB", "CG", 116.3, 3.5),
            t("CB", "CG", "CD1", 110.7, 3.0),
            t("CB", "CG", "CD2", 110.7, 3.0),
            t("CD1", "CG", "CD2", 110.8, 2.2),
        ],
    ),
    (
        "LYS",
        &[
            t("CA", "CB", "CG", 114.1, 2.0),
            t("CB", "CG", "CD", 111.3, 2.3),
            t("CG", "CD", "CE", 111.3, 2.3),
            t("CD", "CE", "NZ", 111.9, 3.2),
        ],
    ),
    ("MET", &[t("CA", "CB", "CG", 114.1, 2.0), t("CB", "CG", "SD", 112.7, 3.0), t("CG", "SD", "CE", 100.9, 2.2)]),
    (
        "PHE",
        &[
            t("CA", "CB", "CG", 113.8, 1.0),
            t("CB", "CG", "CD1", 120.7, 1.7),
            t("CB", "CG", "CD2", 120.7, 1.7),
            t("CD1", "CG", "CD2", 118.6, 1.5),
            t("CG", "CD1", "CE1", 120.7, 1.7),
            t("CG", "CD2", "CE2", 120.7, 1.7),
            t("CD1", "CE1", "CZ", 120.0, 1.8),
            t("CD2", "CE2", "CZ", 120.0, 1.8),
            t("CE1", "CZ", "CE2", 120.0, 1.8),
        ],
    ),
    (
        "PRO",
        &[
            t("CA", "CB", "CG", 104.5, 1.9),
            t("CB", "CG", "CD", 106.1, 3.2),
            t("CG", "CD", "N", 103.2, 1.5),
            t("CD", "N", "CA", 112.0, 1.4),
        ],
    ),
    ("SER", &[t("CA", "CB", "OG", 111.1, 2.0)]),
    ("THR", &[t("CA", "CB", "OG1", 109.6, 1.5), t("CA", "CB", "CG2", 110.5, 1.5), t("OG1", "CB", "CG2", 109.3, 2.0)]),
    (
        "TRP",
        &[
            t("CA", "CB", "CG", 113.6, 1.9),
            t("CB", "CG", "CD1", 126.9, 1.5),
            t("CB", "CG", "CD2", 126.8, 1.4),
            t("CD1", "CG", "CD2", 106.3, 0.8),
            t("CG", "CD1", "NE1", 110.2, 1.3),
            t("CD1", "NE1", "CE2", 108.9, 1.8),
            t("NE1", "CE2", "CD2", 107.4, 1.3),
            t("CE2", "CD2", "CG", 107.2, 1.2),
            t("CG", "CD2", "CE3", 133.9, 0.9),
            t("NE1", "CE2", "CZ2", 130.1, 1.5),
            t("CD2", "CE2", "CZ2", 122.4, 1.0),
            t("CE2", "CZ2", "CH2", 117.5, 1.3),
            t("CZ2", "CH2", "CZ3", 121.5, 1.3),
            t("CH2", "CZ3", "CE3", 121.1, 1.3),
            t("CZ3", "CE3", "CD2", 118.6, 1.3),
            t("CE3", "CD2", "CE2", 118.8, 1.0),
        ],
    ),
    (
        "TYR",
        &[
            t("CA", "CB", "CG", 113.9, 1.8),
            t("CB", "CG", "CD1", 120.8, 1.5),
            t("CB", "CG", "CD2", 120.8, 1.5),
            t("CD1", "CG", "CD2", 118.1, 1.5),
            t("CG", "CD1", "CE1", 121.2, 1.5),
            t("CG", "CD2", "CE2", 121.2, 1.5),
            t("CD1", "CE1", "CZ", 119.6, 1.8),
            t("CD2", "CE2", "CZ", 119.6, 1.8),
            t("CE1", "CZ", "CE2", 120.3, 2.0),
            t("CE1", "CZ", "OH", 119.9, 2.7),
            t("CE2", "CZ", "OH", 119.9, 2.7),
        ],
    ),
    ("VAL", &[t("CA", "CB", "CG1", 110.5, 1.5), t("CA", "CB", "CG2", 110.5, 1.5), t("CG1", "CB", "CG2", 110.8, 2.2)]),
];

/// Heavy-atom bonds of a standard residue (backbone with residue-specific EH91 values, then side
/// chain). `OXT` is included (C-terminal carboxylate, 1.249 A); it is simply absent elsewhere.
pub fn residue_bonds(resname: &str) -> Vec<IdealBond> {
    let Some(name) = standard_name(resname) else { return Vec::new() };
    let mut v = match name {
        "GLY" => vec![b("N", "CA", 1.451, 0.016), b("CA", "C", 1.516, 0.018)],
        "PRO" => vec![b("N", "CA", 1.466, 0.015), b("CA", "C", 1.525, 0.021)],
        _ => vec![b("N", "CA", 1.458, 0.019), b("CA", "C", 1.525, 0.021)],
    };
    v.push(b("C", "O", 1.231, 0.020));
    v.push(b("C", "OXT", 1.249, 0.019));
    match name {
        "GLY" => {}
        "ALA" => v.push(b("CA", "CB", 1.521, 0.033)),
        "ILE" | "THR" | "VAL" => v.push(b("CA", "CB", 1.540, 0.027)),
        _ => v.push(b("CA", "CB", 1.530, 0.020)),
    }
    if let Some((_, sc)) = SC_BONDS.iter().find(|(r, _)| *r == name) {
        v.extend_from_slice(sc);
    }
    v
}

/// Bond angles within a standard residue (backbone and side chain, EH91).
pub fn residue_angles(resname: &str) -> Vec<IdealAngle> {
    let Some(name) = standard_name(resname) else { return Vec::new() };
    let mut v = match name {
        "GLY" => vec![t("N", "CA", "C", 112.5, 2.9), t("CA", "C", "O", 120.8, 2.1)],
        "PRO" => vec![t("N", "CA", "C", 111.8, 2.5), t("CA", "C", "O", 120.2, 2.4)],
        _ => vec![t("N", "CA", "C", 111.2, 2.8), t("CA", "C", "O", 120.8, 1.7)],
    };
    match name {
        "GLY" => {}
        "PRO" => {
            v.push(t("N", "CA", "CB", 103.0, 1.1));
            v.push(t("CB", "CA", "C", 110.1, 1.9));
        }
        "ALA" => {
            v.push(t("N", "CA", "CB", 110.4, 1.5));
            v.push(t("CB", "CA", "C", 110.5, 1.5));
        }
        "ILE" | "THR" | "VAL" => {
            v.push(t("N", "CA", "CB", 111.5, 1.7));
            v.push(t("CB", "CA", "C", 109.1, 2.2));
        }
        _ => {
            v.push(t("N", "CA", "CB", 110.5, 1.7));
            v.push(t("CB", "CA", "C", 110.1, 1.9));
        }
    }
    if let Some((_, sc)) = SC_ANGLES.iter().find(|(r, _)| *r == name) {
        v.extend_from_slice(sc);
    }
    v
}

/// Ideal peptide bond C(i)-N(i+1): 1.329 (0.014) A, 1.341 (0.016) A before a proline.
pub fn peptide_bond(next_resname: &str) -> (f64, f64) {
    if next_resname == "PRO" { (1.341, 0.016) } else { (1.329, 0.014) }
}

/// Ideal angles across a peptide bond, as `(name, ideal, sigma)` for CA(i)-C(i)-N(i+1),
/// O(i)-C(i)-N(i+1), C(i)-N(i+1)-CA(i+1) (EH91; Gly and Pro variants).
pub fn peptide_angles(resname: &str, next_resname: &str) -> [(&'static str, f64, f64); 3] {
    let ca_c_n = if resname == "GLY" { 116.4 } else { 116.2 };
    let ca_c_n_s = if resname == "GLY" { 2.1 } else { 2.0 };
    let (c_n_ca, c_n_ca_s) = match next_resname {
        "GLY" => (120.6, 1.7),
        "PRO" => (122.6, 5.0),
        _ => (121.7, 1.8),
    };
    [("CA-C-N", ca_c_n, ca_c_n_s), ("O-C-N", 123.0, 1.6), ("C-N-CA", c_n_ca, c_n_ca_s)]
}

/// One bond or angle deviation.
#[derive(Clone, Debug, PartialEq)]
pub struct Deviation {
    /// Residue index (of the first atom).
    pub residue: usize,
    /// Atom names joined by `-` (`"CA-CB"`, `"C-N(+1)"` across a peptide bond).
    pub atoms: String,
    /// Observed value (A or degrees).
    pub observed: f64,
    /// Ideal value.
    pub ideal: f64,
    /// z-score.
    pub z: f64,
}

/// RMSZ summary for bonds or angles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RmszSummary {
    /// Number of restraints evaluated.
    pub n: usize,
    /// Root-mean-square z-score.
    pub rmsz: f64,
    /// Root-mean-square deviation from ideal (A or degrees).
    pub rmsd: f64,
    /// Deviations with |z| > 4, worst first.
    pub outliers: Vec<Deviation>,
}

impl RmszSummary {
    fn from(devs: Vec<Deviation>) -> RmszSummary {
        let n = devs.len();
        if n == 0 {
            return RmszSummary::default();
        }
        let rmsz = (devs.iter().map(|d| d.z * d.z).sum::<f64>() / n as f64).sqrt();
        let rmsd = (devs.iter().map(|d| (d.observed - d.ideal).powi(2)).sum::<f64>() / n as f64).sqrt();
        let mut outliers: Vec<Deviation> = devs.into_iter().filter(|d| d.z.abs() > OUTLIER_Z).collect();
        outliers.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
        RmszSummary { n, rmsz, rmsd, outliers }
    }
}

/// |z| beyond which a bond or angle is an outlier.
pub const OUTLIER_Z: f64 = 4.0;

/// All bond-length deviations of the standard residues (intra-residue and peptide bonds).
pub fn bond_deviations(s: &Structure) -> Vec<Deviation> {
    let mut out = Vec::new();
    let p = |r: usize, n: &str| s.atom_in(r, n).map(|i| s.atoms[i].pos);
    for r in 0..s.residues.len() {
        let name = &s.residues[r].name;
        for bd in residue_bonds(name) {
            if let (Some(x), Some(y)) = (p(r, bd.a), p(r, bd.b)) {
                let d = distance(x, y);
                out.push(Deviation {
                    residue: r,
                    atoms: format!("{}-{}", bd.a, bd.b),
                    observed: d,
                    ideal: bd.length,
                    z: (d - bd.length) / bd.sigma,
                });
            }
        }
        if let Some(q) = next_linked(s, r) {
            let next = standard_name(&s.residues[q].name).unwrap_or("");
            if let (Some(c), Some(n)) = (p(r, "C"), p(q, "N")) {
                let (ideal, sigma) = peptide_bond(next);
                let d = distance(c, n);
                out.push(Deviation { residue: r, atoms: "C-N(+1)".into(), observed: d, ideal, z: (d - ideal) / sigma });
            }
        }
    }
    out
}

/// All bond-angle deviations of the standard residues (intra-residue and across peptide bonds).
pub fn angle_deviations(s: &Structure) -> Vec<Deviation> {
    let mut out = Vec::new();
    let p = |r: usize, n: &str| s.atom_in(r, n).map(|i| s.atoms[i].pos);
    for r in 0..s.residues.len() {
        let name = &s.residues[r].name;
        for ag in residue_angles(name) {
            if let (Some(x), Some(y), Some(z)) = (p(r, ag.a), p(r, ag.b), p(r, ag.c)) {
                let a = angle(x, y, z);
                out.push(Deviation {
                    residue: r,
                    atoms: format!("{}-{}-{}", ag.a, ag.b, ag.c),
                    observed: a,
                    ideal: ag.angle,
                    z: (a - ag.angle) / ag.sigma,
                });
            }
        }
        if let Some(q) = next_linked(s, r) {
            let this = standard_name(name).unwrap_or("");
            let next = standard_name(&s.residues[q].name).unwrap_or("");
            let [a1, a2, a3] = peptide_angles(this, next);
            let trip = [
                (a1, p(r, "CA"), p(r, "C"), p(q, "N")),
                (a2, p(r, "O"), p(r, "C"), p(q, "N")),
                (a3, p(r, "C"), p(q, "N"), p(q, "CA")),
            ];
            for ((label, ideal, sigma), x, y, z) in trip {
                if let (Some(x), Some(y), Some(z)) = (x, y, z) {
                    let a = angle(x, y, z);
                    out.push(Deviation {
                        residue: r,
                        atoms: format!("{label}(+1)"),
                        observed: a,
                        ideal,
                        z: (a - ideal) / sigma,
                    });
                }
            }
        }
    }
    out
}

/// Bond RMSZ / RMSD and |z| > 4 outliers.
pub fn bond_rmsz(s: &Structure) -> RmszSummary {
    RmszSummary::from(bond_deviations(s))
}

/// Angle RMSZ / RMSD and |z| > 4 outliers.
pub fn angle_rmsz(s: &Structure) -> RmszSummary {
    RmszSummary::from(angle_deviations(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_angles_close() {
        // Interior angles of planar rings sum to 180 (n - 2).
        let sum = |res: &str, ring: &[&str]| -> f64 {
            let angles = residue_angles(res);
            let n = ring.len();
            (0..n)
                .map(|i| {
                    let (a, v, c) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
                    angles
                        .iter()
                        .find(|x| x.b == v && ((x.a == a && x.c == c) || (x.a == c && x.c == a)))
                        .map(|x| x.angle)
                        .unwrap_or(f64::NAN)
                })
                .sum()
        };
        assert!((sum("PHE", &["CG", "CD1", "CE1", "CZ", "CE2", "CD2"]) - 720.0).abs() < 0.5);
        assert!((sum("TYR", &["CG", "CD1", "CE1", "CZ", "CE2", "CD2"]) - 720.0).abs() < 0.5);
        assert!((sum("HIS", &["CG", "ND1", "CE1", "NE2", "CD2"]) - 540.0).abs() < 0.5);
        assert!((sum("TRP", &["CG", "CD1", "NE1", "CE2", "CD2"]) - 540.0).abs() < 0.5);
        assert!((sum("TRP", &["CD2", "CE2", "CZ2", "CH2", "CZ3", "CE3"]) - 720.0).abs() < 0.5);
    }

    #[test]
    fn every_residue_has_a_connected_template() {
        for res in [
            "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS", "MET", "PHE", "PRO",
            "SER", "THR", "TRP", "TYR", "VAL",
        ] {
            let bonds = residue_bonds(res);
            // Every angle's two arms are template bonds.
            for a in residue_angles(res) {
                let has = |x: &str, y: &str| bonds.iter().any(|b| (b.a == x && b.b == y) || (b.a == y && b.b == x));
                assert!(has(a.a, a.b) && has(a.b, a.c), "{res} {}-{}-{}", a.a, a.b, a.c);
            }
        }
    }
}
