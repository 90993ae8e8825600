//! Ramachandran analysis with MolProbity's definitions (cctbx `mmtbx/validation/ramalyze.py`).
//!
//! * phi(i) = C(i-1)-N-CA-C and psi(i) = N-CA-C-N(i+1), measured only across peptide bonds:
//!   the neighbour must be the previous / next standard amino acid of the same chain and the
//!   C-N distance at most [`PEPTIDE_LINK`] (2.0 A); a residue is scored only when it has both.
//! * Class, in MolProbity's priority: Gly; Pro, cis when omega CA(i-1)-C(i-1)-N-CA lies in
//!   (-90, 90) and trans otherwise; residue followed by Pro (pre-Pro); Ile / Val; general.
//! * Score: bilinear interpolation of the class's rama8000 grid ([`super::tables::rama_grid`]);
//!   favoured at >= 0.02, outlier below 0.0005 (general), 0.002 (cis-Pro) or 0.001 (others).
//!
//! ```no_run
//! use cryosampler::metrics::geometry::rama::{rama_score, rama_verdict};
//! use cryosampler::metrics::geometry::tables::RamaClass;
//! let s = rama_score(RamaClass::General, -63.0, -43.0)?;
//! println!("{s:.3} {:?}", rama_verdict(RamaClass::General, s));
//! # Ok::<(), cryosampler::Error>(())
//! ```

use crate::Result;
use crate::structure::Structure;
use crate::structure::geometry::{dihedral, distance};

use super::Verdict;
use super::tables::{FAVOURED_THRESHOLD, RamaClass, rama_grid};

/// Largest C(i)-N(i+1) distance (A) still counted as a peptide bond (cctbx `are_linked`).
pub const PEPTIDE_LINK: f64 = 2.0;

/// The 20 standard amino acids MolProbity's Ramachandran and rotamer tools evaluate
/// (cctbx `common_amino_acid`); CHARMM / Amber histidine names are read as HIS.
pub fn standard_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "ALA" => "ALA",
        "ARG" => "ARG",
        "ASN" => "ASN",
        "ASP" => "ASP",
        "CYS" => "CYS",
        "GLN" => "GLN",
        "GLU" => "GLU",
        "GLY" => "GLY",
        "HIS" | "HSD" | "HSE" | "HSP" | "HID" | "HIE" | "HIP" => "HIS",
        "ILE" => "ILE",
        "LEU" => "LEU",
        "LYS" => "LYS",
        "MET" => "MET",
        "PHE" => "PHE",
        "PRO" => "PRO",
        "SER" => "SER",
        "THR" => "THR",
        "TRP" => "TRP",
        "TYR" => "TYR",
        "VAL" => "VAL",
        _ => return None,
    })
}

fn pos(s: &Structure, r: usize, name: &str) -> Option<[f64; 3]> {
    s.atom_in(r, name).map(|i| s.atoms[i].pos)
}

/// The standard amino acid before residue `r` in its chain (skipping non-standard residues, as
/// cctbx does), if it is joined to `r` by a peptide bond (C-N <= [`PEPTIDE_LINK`]).
pub fn prev_linked(s: &Structure, r: usize) -> Option<usize> {
    let chain = &s.chains[s.residues[r].chain];
    let p = (chain.residues.start..r).rev().find(|&q| standard_name(&s.residues[q].name).is_some())?;
    let c = pos(s, p, "C")?;
    let n = pos(s, r, "N")?;
    (distance(c, n) <= PEPTIDE_LINK).then_some(p)
}

/// The standard amino acid after residue `r` in its chain, if joined to `r` by a peptide bond.
pub fn next_linked(s: &Structure, r: usize) -> Option<usize> {
    let chain = &s.chains[s.residues[r].chain];
    let q = (r + 1..chain.residues.end).find(|&q| standard_name(&s.residues[q].name).is_some())?;
    prev_linked(s, q).filter(|&p| p == r).map(|_| q)
}

/// Backbone dihedrals of residue `r` in degrees: `(phi, psi)`, each `None` at a chain end, a
/// chain break (C-N > 2.0 A) or when an atom is missing.
pub fn phi_psi(s: &Structure, r: usize) -> (Option<f64>, Option<f64>) {
    let (n, ca, c) = (pos(s, r, "N"), pos(s, r, "CA"), pos(s, r, "C"));
    let phi = (|| {
        let p = prev_linked(s, r)?;
        Some(dihedral(pos(s, p, "C")?, n?, ca?, c?))
    })();
    let psi = (|| {
        let q = next_linked(s, r)?;
        Some(dihedral(n?, ca?, c?, pos(s, q, "N")?))
    })();
    (phi, psi)
}

/// Peptide omega (degrees) between residue `r` and the one before it: CA(i-1)-C(i-1)-N-CA.
pub fn omega(s: &Structure, r: usize) -> Option<f64> {
    let p = prev_linked(s, r)?;
    Some(dihedral(pos(s, p, "CA")?, pos(s, p, "C")?, pos(s, r, "N")?, pos(s, r, "CA")?))
}

/// MolProbity's class from the residue name, the next residue's name and the preceding omega
/// (only used for Pro: cis when -90 < omega < 90, trans otherwise or when unknown).
pub fn rama_class_for(resname: &str, next_resname: Option<&str>, omega: Option<f64>) -> RamaClass {
    match resname {
        "GLY" => RamaClass::Glycine,
        "PRO" => match omega {
            Some(w) if w > -90.0 && w < 90.0 => RamaClass::CisPro,
            _ => RamaClass::TransPro,
        },
        _ if next_resname == Some("PRO") => RamaClass::PrePro,
        "ILE" | "VAL" => RamaClass::IleVal,
        _ => RamaClass::General,
    }
}

/// Ramachandran class of residue `r` (`None` for non-standard residues).
pub fn rama_class(s: &Structure, r: usize) -> Option<RamaClass> {
    let name = standard_name(&s.residues[r].name)?;
    let next = next_linked(s, r).and_then(|q| standard_name(&s.residues[q].name));
    Some(rama_class_for(name, next, omega(s, r)))
}

/// MolProbity score (fraction, 0..1) of a phi/psi pair in a class: bilinear interpolation of the
/// rama8000 grid between 2-degree bin centres, wrapping at +-180.
pub fn rama_score(class: RamaClass, phi: f64, psi: f64) -> Result<f64> {
    Ok(rama_grid(class)?.value_at(&[wrap180(phi), wrap180(psi)]))
}

/// Favoured (>= 0.02), allowed, or outlier (below the class threshold).
pub fn rama_verdict(class: RamaClass, score: f64) -> Verdict {
    if score >= FAVOURED_THRESHOLD {
        Verdict::Favoured
    } else if score >= class.outlier_threshold() {
        Verdict::Allowed
    } else {
        Verdict::Outlier
    }
}

/// Bring an angle into [-180, 180].
pub fn wrap180(a: f64) -> f64 {
    let mut x = a;
    while x > 180.0 {
        x -= 360.0;
    }
    while x < -180.0 {
        x += 360.0;
    }
    x
}

/// Ramachandran result for one residue.
#[derive(Clone, Debug, PartialEq)]
pub struct RamaResult {
    /// Residue index.
    pub residue: usize,
    /// phi (degrees).
    pub phi: f64,
    /// psi (degrees).
    pub psi: f64,
    /// Class.
    pub class: RamaClass,
    /// Score (fraction).
    pub score: f64,
    /// Verdict.
    pub verdict: Verdict,
}

/// Score every standard amino acid that has both phi and psi.
pub fn ramachandran(s: &Structure) -> Result<Vec<RamaResult>> {
    let mut out = Vec::new();
    for r in 0..s.residues.len() {
        let Some(class) = rama_class(s, r) else { continue };
        if let (Some(phi), Some(psi)) = phi_psi(s, r) {
            let score = rama_score(class, phi, psi)?;
            out.push(RamaResult { residue: r, phi, psi, class, score, verdict: rama_verdict(class, score) });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_helix_is_favoured_general() -> Result<()> {
        let s = rama_score(RamaClass::General, -57.0, -47.0)?;
        assert!(s > 0.5, "alpha-helix score {s}");
        assert_eq!(rama_verdict(RamaClass::General, s), Verdict::Favoured);
        let b = rama_score(RamaClass::General, -120.0, 130.0)?;
        assert_eq!(rama_verdict(RamaClass::General, b), Verdict::Favoured);
        Ok(())
    }

    #[test]
    fn forbidden_region_is_outlier() -> Result<()> {
        // Empty regions of the general Top8000 data (cctbx scores 1.8e-5, 0, 1.8e-4, 6.7e-5).
        for (phi, psi) in [(100.0, -60.0), (0.0, 180.0), (-170.0, -30.0), (90.0, -90.0)] {
            let s = rama_score(RamaClass::General, phi, psi)?;
            assert_eq!(rama_verdict(RamaClass::General, s), Verdict::Outlier, "{phi} {psi}: {s}");
        }
        // Left-handed helix: allowed-ish for general, favoured for glycine.
        let g = rama_score(RamaClass::Glycine, 80.0, 10.0)?;
        assert_eq!(rama_verdict(RamaClass::Glycine, g), Verdict::Favoured);
        Ok(())
    }

    #[test]
    fn class_priority() {
        assert_eq!(rama_class_for("GLY", Some("PRO"), None), RamaClass::Glycine);
        assert_eq!(rama_class_for("PRO", Some("PRO"), Some(-5.0)), RamaClass::CisPro);
        assert_eq!(rama_class_for("PRO", None, Some(178.0)), RamaClass::TransPro);
        assert_eq!(rama_class_for("PRO", None, Some(-95.0)), RamaClass::TransPro);
        assert_eq!(rama_class_for("ILE", Some("PRO"), None), RamaClass::PrePro);
        assert_eq!(rama_class_for("VAL", Some("ALA"), None), RamaClass::IleVal);
        assert_eq!(rama_class_for("LYS", None, None), RamaClass::General);
    }

    #[test]
    fn thresholds_follow_the_class() {
        assert_eq!(rama_verdict(RamaClass::General, 0.0006), Verdict::Allowed);
        assert_eq!(rama_verdict(RamaClass::TransPro, 0.0006), Verdict::Outlier);
        assert_eq!(rama_verdict(RamaClass::CisPro, 0.0015), Verdict::Outlier);
        assert_eq!(rama_verdict(RamaClass::Glycine, 0.0015), Verdict::Allowed);
        assert_eq!(rama_verdict(RamaClass::Glycine, 0.02), Verdict::Favoured);
    }
}
