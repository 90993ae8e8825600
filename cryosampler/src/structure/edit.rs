//! Editing structures: match atoms between two models, morph between them, mutate residues, delete
//! residues. Used to build demo data and related references (e.g. a mutant with a loop deleted, for
//! transfer).
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::structure::edit::{delete_residues, morph, mutate};
//! let closed = Structure::read("1ake_A.pdb")?;
//! let open = Structure::read("4ake_A.pdb")?;
//! let halfway = morph(&closed, &open, 0.5)?;               // atoms of `closed`, moved halfway
//! let mutant = mutate(&closed, "A", 57, "ALA")?;            // side chain truncated to CB
//! let shorter = delete_residues(&mutant, "A", 133, 137)?;   // a loop removed (chain break)
//! # Ok::<(), cryosampler::Error>(())
//! ```

use std::collections::HashMap;

use super::Structure;
use super::geometry::kabsch;
use crate::{Error, Result};

type AtomKey = (String, isize, Option<String>, String);

fn key(s: &Structure, i: usize) -> AtomKey {
    let a = &s.atoms[i];
    let r = &s.residues[a.residue];
    (s.chains[r.chain].id.clone(), r.seq, r.icode.clone(), a.name.clone())
}

/// Pairs `(i, j)` of atoms of `a` and `b` with the same chain, residue number, insertion code and
/// atom name, in `a`'s order.
pub fn match_atoms(a: &Structure, b: &Structure) -> Vec<(usize, usize)> {
    let index: HashMap<AtomKey, usize> = (0..b.atoms.len()).map(|j| (key(b, j), j)).collect();
    (0..a.atoms.len()).filter_map(|i| index.get(&key(a, i)).map(|&j| (i, j))).collect()
}

/// Pairs `(i, j)` of the protein C-alpha atoms ([`Structure::ca_indices`]) of `a` and `b` with the
/// same chain, residue number and insertion code, in `a`'s order.
pub fn match_ca(a: &Structure, b: &Structure) -> Vec<(usize, usize)> {
    let index: HashMap<AtomKey, usize> = b.ca_indices().into_iter().map(|j| (key(b, j), j)).collect();
    a.ca_indices().into_iter().filter_map(|i| index.get(&key(a, i)).map(|&j| (i, j))).collect()
}

/// The atoms of `a` moved a fraction `t` of the way to their matches in `b` (after superposing `b`
/// onto `a` on the matched C-alpha atoms). Atoms of `a` without a match move with the rigid part.
/// The result is a linear morph: fine for making test maps, not a physical path.
pub fn morph(a: &Structure, b: &Structure, t: f64) -> Result<Structure> {
    let pairs = match_atoms(a, b);
    let ca = match_ca(a, b);
    if ca.len() < 3 {
        return Err(Error::invalid(format!("morph: only {} matching C-alpha atoms", ca.len())));
    }
    let pa: Vec<[f64; 3]> = ca.iter().map(|&(i, _)| a.atoms[i].pos).collect();
    let pb: Vec<[f64; 3]> = ca.iter().map(|&(_, j)| b.atoms[j].pos).collect();
    let onto_a = kabsch(&pb, &pa);
    let mut out = a.clone();
    for &(i, j) in &pairs {
        let q = onto_a.apply(b.atoms[j].pos);
        let p = a.atoms[i].pos;
        out.atoms[i].pos = [0, 1, 2].map(|k| p[k] + t * (q[k] - p[k]));
    }
    Ok(out)
}

/// Atom names a residue type has (heavy atoms), used by [`mutate`].
fn residue_atoms(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "GLY" => &["N", "CA", "C", "O", "OXT"],
        "ALA" => &["N", "CA", "C", "O", "OXT", "CB"],
        "SER" => &["N", "CA", "C", "O", "OXT", "CB", "OG"],
        "CYS" => &["N", "CA", "C", "O", "OXT", "CB", "SG"],
        "VAL" => &["N", "CA", "C", "O", "OXT", "CB", "CG1", "CG2"],
        "THR" => &["N", "CA", "C", "O", "OXT", "CB", "OG1", "CG2"],
        "LEU" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD1", "CD2"],
        "ILE" => &["N", "CA", "C", "O", "OXT", "CB", "CG1", "CG2", "CD1"],
        "MET" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "SD", "CE"],
        "PRO" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD"],
        "ASP" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "OD1", "OD2"],
        "ASN" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "OD1", "ND2"],
        "GLU" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD", "OE1", "OE2"],
        "GLN" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD", "OE1", "NE2"],
        "LYS" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD", "CE", "NZ"],
        "ARG" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"],
        "HIS" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "ND1", "CD2", "CE1", "NE2"],
        "PHE" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"],
        "TYR" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"],
        "TRP" => &["N", "CA", "C", "O", "OXT", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"],
        _ => return None,
    })
}

fn find_residue(s: &Structure, chain: &str, seq: isize) -> Result<usize> {
    (0..s.residues.len())
        .find(|&r| s.residues[r].seq == seq && s.chains[s.residues[r].chain].id == chain)
        .ok_or_else(|| Error::invalid(format!("no residue {chain}:{seq}")))
}

/// Point mutation by truncation: residue `chain:seq` is renamed `new_name` and keeps only the atoms
/// the new type shares with the old one by name (backbone, CB, and e.g. CG for Lys -> Arg). Exact for
/// mutations to Ala or Gly; for larger residues the missing side-chain atoms are not built.
pub fn mutate(s: &Structure, chain: &str, seq: isize, new_name: &str) -> Result<Structure> {
    let r = find_residue(s, chain, seq)?;
    let keep =
        residue_atoms(new_name).ok_or_else(|| Error::invalid(format!("mutate: unknown residue type {new_name}")))?;
    let mut out = s.filter_atoms(|a| a.residue != r || keep.contains(&a.name.as_str()));
    let r2 = find_residue(&out, chain, seq)?;
    out.residues[r2].name = new_name.to_string();
    Ok(out)
}

/// Remove residues `first..=last` of `chain` (numbering as in the file), leaving a chain break.
pub fn delete_residues(s: &Structure, chain: &str, first: isize, last: isize) -> Result<Structure> {
    let doomed: Vec<usize> = (0..s.residues.len())
        .filter(|&r| s.chains[s.residues[r].chain].id == chain && (first..=last).contains(&s.residues[r].seq))
        .collect();
    if doomed.is_empty() {
        return Err(Error::invalid(format!("delete_residues: no residues {chain}:{first}-{last}")));
    }
    Ok(s.filter_atoms(|a| !doomed.contains(&a.residue)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::geometry::rmsd;

    fn fixture() -> Structure {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/loss/molprobity/testdata/adk_84_91.pdb");
        Structure::read(p).expect("fixture")
    }

    #[test]
    fn morph_endpoints_and_midpoint() {
        let a = fixture();
        let mut b = a.clone();
        for at in &mut b.atoms {
            at.pos[0] += 2.0 * at.pos[1] / 10.0; // a shear: not a rigid motion
        }
        let m0 = morph(&a, &b, 0.0).expect("morph");
        let m1 = morph(&a, &b, 1.0).expect("morph");
        let mh = morph(&a, &b, 0.5).expect("morph");
        assert!(rmsd(&m0.coords(), &a.coords()) < 1e-9);
        // at t = 1 the atoms sit on b superposed onto a: same internal geometry as b
        let d = |s: &Structure| crate::structure::geometry::distance(s.atoms[0].pos, s.atoms[10].pos);
        assert!((d(&m1) - d(&b)).abs() < 1e-6);
        let r_half = rmsd(&mh.coords(), &a.coords());
        let r_full = rmsd(&m1.coords(), &a.coords());
        assert!((r_half - 0.5 * r_full).abs() < 1e-6);
    }

    #[test]
    fn mutation_truncates_and_deletion_breaks_the_chain() {
        let s = fixture();
        let r = s.residues[3].seq;
        let chain = s.chains[0].id.clone();
        let m = mutate(&s, &chain, r, "ALA").expect("mutate");
        let res = &m.residues[3];
        assert_eq!(res.name, "ALA");
        let names: Vec<&str> = res.atoms.clone().map(|i| m.atoms[i].name.as_str()).collect();
        assert!(names.iter().all(|n| ["N", "CA", "C", "O", "CB", "OXT"].contains(n)), "{names:?}");
        let gly = mutate(&s, &chain, r, "GLY").expect("mutate");
        assert_eq!(gly.atoms.len(), s.atoms.len() - (s.residues[3].atoms.len() - 4));
        let first = s.residues[2].seq;
        let cut = delete_residues(&s, &chain, first, first + 1).expect("delete");
        assert_eq!(cut.residues.len(), s.residues.len() - 2);
        let bb = cut.backbone().expect("backbone");
        assert!(*bb.segment.last().expect("segments") >= 1, "the deletion leaves a chain break");
        assert!(mutate(&s, &chain, 9999, "ALA").is_err());
        assert!(mutate(&s, &chain, r, "XYZ").is_err());
    }
}
