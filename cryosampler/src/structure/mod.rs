//! Atomic models: atoms, residues, chains, backbone indices and geometry helpers.
//!
//! A [`Structure`] is a flat, index-based view of one model (coordinates in A). It is what the
//! forward model renders, what the VAE deforms and what the validation code scores. Reading and
//! writing go through [`crate::io`].
//!
//! ```no_run
//! use cryosampler::structure::Structure;
//! let s = Structure::read("reference.pdb")?;
//! println!("{} atoms, {} residues, {} chains", s.atoms.len(), s.residues.len(), s.chains.len());
//! let bb = s.backbone()?; // N, CA, C, O per residue; errors if there is none
//! # Ok::<(), cryosampler::Error>(())
//! ```

pub mod edit;
mod element;
pub mod geometry;

pub use element::Element;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One atom.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Atom {
    /// Atom name, trimmed (`"CA"`).
    pub name: String,
    /// Element.
    pub element: Element,
    /// Position (A).
    pub pos: [f64; 3],
    /// B-factor (A^2) as read. Boltz-2 / AlphaFold write pLDDT here: see [`Structure::b_is_plddt`].
    pub b: f64,
    /// Occupancy.
    pub occupancy: f64,
    /// HETATM record.
    pub hetero: bool,
    /// Index of the residue in [`Structure::residues`].
    pub residue: usize,
}

/// One residue: a contiguous run of atoms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Residue {
    /// Residue name (`"ALA"`).
    pub name: String,
    /// Residue sequence number.
    pub seq: isize,
    /// Insertion code.
    pub icode: Option<String>,
    /// Index of the chain in [`Structure::chains`].
    pub chain: usize,
    /// Atoms of this residue in [`Structure::atoms`].
    pub atoms: Range<usize>,
}

/// One chain: a contiguous run of residues.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    /// Chain identifier (auth_asym_id for mmCIF).
    pub id: String,
    /// Residues of this chain in [`Structure::residues`].
    pub residues: Range<usize>,
}

/// A single atomic model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    /// Atoms in file order.
    pub atoms: Vec<Atom>,
    /// Residues in file order.
    pub residues: Vec<Residue>,
    /// Chains in file order.
    pub chains: Vec<Chain>,
    /// File it was read from, if any.
    pub source: Option<PathBuf>,
    /// True when the B column looks like pLDDT (Boltz-2 / AlphaFold): values in 0..=100 with mean
    /// above 50 and the file says so or the model has no crystallographic header. The loader resets
    /// B in that case (see [`crate::io::ReadOptions`]).
    pub b_is_plddt: bool,
}

/// Backbone atom indices (N, CA, C, O) of one residue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackboneResidue {
    /// Residue index.
    pub residue: usize,
    /// Atom indices of N, CA, C, O.
    pub atoms: [usize; 4],
}

/// Backbone of a structure: the residues with all four backbone atoms, in order, and where the
/// chain is broken (different chain or C(i)-N(i+1) longer than [`PEPTIDE_BREAK`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Backbone {
    /// Residues with N, CA, C and O.
    pub residues: Vec<BackboneResidue>,
    /// `segment[i]` numbers the unbroken segment residue `i` belongs to.
    pub segment: Vec<usize>,
}

/// A C(i)-N(i+1) distance beyond this (A) is a chain break.
pub const PEPTIDE_BREAK: f64 = 2.0;

impl Structure {
    /// Read a PDB or mmCIF file (optionally gzipped) with default options: first model,
    /// first alternate conformation, hydrogens kept, waters dropped. See [`crate::io::read_structure`].
    pub fn read(path: impl AsRef<Path>) -> Result<Structure> {
        crate::io::read_structure(path, &crate::io::ReadOptions::default())
    }

    /// Write as PDB or mmCIF, chosen by extension (`.pdb`, `.ent`, `.cif`, `.mmcif`, optionally
    /// `.gz`). Refuses to replace an existing file unless `overwrite`.
    pub fn write(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        crate::io::write_models(path, std::slice::from_ref(self), overwrite)
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// True if there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// Coordinates of all atoms.
    pub fn coords(&self) -> Vec<[f64; 3]> {
        self.atoms.iter().map(|a| a.pos).collect()
    }

    /// Coordinates as a flat `f32` array `[x0, y0, z0, x1, ...]` (tensor layout `[N, 3]`).
    pub fn coords_f32(&self) -> Vec<f32> {
        self.atoms.iter().flat_map(|a| a.pos.map(|v| v as f32)).collect()
    }

    /// A copy with new coordinates (same atom order).
    pub fn with_coords(&self, coords: &[[f64; 3]]) -> Result<Structure> {
        if coords.len() != self.atoms.len() {
            return Err(Error::invalid(format!(
                "with_coords: {} coordinates for a structure of {} atoms",
                coords.len(),
                self.atoms.len()
            )));
        }
        let mut s = self.clone();
        for (a, c) in s.atoms.iter_mut().zip(coords) {
            a.pos = *c;
        }
        Ok(s)
    }

    /// A copy with coordinates from a flat `f32` array of length `3 N`.
    pub fn with_coords_f32(&self, flat: &[f32]) -> Result<Structure> {
        let c: Vec<[f64; 3]> = flat.chunks_exact(3).map(|p| [p[0] as f64, p[1] as f64, p[2] as f64]).collect();
        if !flat.len().is_multiple_of(3) {
            return Err(Error::invalid(format!("with_coords_f32: length {} is not 3 N", flat.len())));
        }
        self.with_coords(&c)
    }

    /// Index of atom `name` in residue `r`.
    pub fn atom_in(&self, r: usize, name: &str) -> Option<usize> {
        self.residues[r].atoms.clone().find(|&i| self.atoms[i].name == name)
    }

    /// Indices of the C-alpha atoms of amino-acid residues, in order (calcium ions, also named
    /// "CA", are not included).
    pub fn ca_indices(&self) -> Vec<usize> {
        (0..self.residues.len())
            .filter(|&r| is_amino_acid(&self.residues[r].name))
            .filter_map(|r| self.atom_in(r, "CA"))
            .filter(|&i| self.atoms[i].element == Element::C)
            .collect()
    }

    /// Backbone (N, CA, C, O) per residue, with chain-break segments.
    ///
    /// Errors if no residue has all four backbone atoms (e.g. a ligand-only or C-alpha-only file),
    /// naming the source file.
    pub fn backbone(&self) -> Result<Backbone> {
        let mut residues = Vec::new();
        for r in 0..self.residues.len() {
            let ids = ["N", "CA", "C", "O"].map(|n| self.atom_in(r, n));
            if let [Some(n), Some(ca), Some(c), Some(o)] = ids {
                residues.push(BackboneResidue { residue: r, atoms: [n, ca, c, o] });
            }
        }
        if residues.is_empty() {
            let file = self.source.clone().unwrap_or_else(|| PathBuf::from("<structure>"));
            return Err(Error::file(
                file,
                "atom names",
                format!(
                    "no residue has all backbone atoms N, CA, C, O ({} atoms in {} residues)",
                    self.atoms.len(),
                    self.residues.len()
                ),
            ));
        }
        let mut segment = Vec::with_capacity(residues.len());
        let mut seg = 0;
        for (i, br) in residues.iter().enumerate() {
            if i > 0 {
                let prev = residues[i - 1];
                let same_chain = self.residues[prev.residue].chain == self.residues[br.residue].chain;
                let d = geometry::distance(self.atoms[prev.atoms[2]].pos, self.atoms[br.atoms[0]].pos);
                if !same_chain || d > PEPTIDE_BREAK {
                    seg += 1;
                }
            }
            segment.push(seg);
        }
        Ok(Backbone { residues, segment })
    }

    /// A copy without hydrogen atoms (residue and chain ranges rebuilt).
    pub fn without_hydrogens(&self) -> Structure {
        self.filter_atoms(|a| !a.element.is_hydrogen())
    }

    /// A copy keeping the atoms for which `keep` is true; residues and chains left empty are dropped.
    pub fn filter_atoms(&self, keep: impl Fn(&Atom) -> bool) -> Structure {
        let mut out = Structure {
            atoms: Vec::new(),
            residues: Vec::new(),
            chains: Vec::new(),
            source: self.source.clone(),
            b_is_plddt: self.b_is_plddt,
        };
        for ch in &self.chains {
            let r0 = out.residues.len();
            for r in ch.residues.clone() {
                let res = &self.residues[r];
                let a0 = out.atoms.len();
                for a in res.atoms.clone() {
                    if keep(&self.atoms[a]) {
                        let mut at = self.atoms[a].clone();
                        at.residue = out.residues.len();
                        out.atoms.push(at);
                    }
                }
                if out.atoms.len() > a0 {
                    out.residues.push(Residue { atoms: a0..out.atoms.len(), chain: out.chains.len(), ..res.clone() });
                }
            }
            if out.residues.len() > r0 {
                out.chains.push(Chain { id: ch.id.clone(), residues: r0..out.residues.len() });
            }
        }
        out
    }

    /// Set every atom's B-factor.
    pub fn set_b(&mut self, b: f64) {
        for a in &mut self.atoms {
            a.b = b;
        }
        self.b_is_plddt = false;
    }

    /// Centre of mass of the atoms weighted by electrons (A).
    pub fn centroid(&self) -> [f64; 3] {
        let mut c = [0.0; 3];
        let mut w = 0.0;
        for a in &self.atoms {
            let e = a.element.electrons() as f64;
            for (ck, pk) in c.iter_mut().zip(a.pos) {
                *ck += e * pk;
            }
            w += e;
        }
        c.map(|v| v / w.max(1e-12))
    }

    /// Short human-readable label of residue `r`, e.g. `"A:ARG 123"`.
    pub fn residue_label(&self, r: usize) -> String {
        let res = &self.residues[r];
        format!("{}:{} {}{}", self.chains[res.chain].id, res.name, res.seq, res.icode.as_deref().unwrap_or(""))
    }

    /// Structural check of the residue/chain index ranges (used after building by hand).
    pub fn validate_indices(&self) -> Result<()> {
        let mut next_atom = 0;
        for (ri, r) in self.residues.iter().enumerate() {
            if r.atoms.start != next_atom || r.chain >= self.chains.len() {
                return Err(Error::invalid(format!("residue {ri} has inconsistent atom range")));
            }
            for a in r.atoms.clone() {
                if self.atoms[a].residue != ri {
                    return Err(Error::invalid(format!("atom {a} points at the wrong residue")));
                }
            }
            next_atom = r.atoms.end;
        }
        if next_atom != self.atoms.len() {
            return Err(Error::invalid("atoms outside any residue"));
        }
        Ok(())
    }
}

impl std::fmt::Display for Structure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Structure {} atoms, {} residues, {} chains{}>",
            self.atoms.len(),
            self.residues.len(),
            self.chains.len(),
            self.source
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| format!(" from {}", n.to_string_lossy()))
                .unwrap_or_default()
        )
    }
}

/// Standard amino-acid residue names (the 20, plus MSE read as an amino acid).
pub fn is_amino_acid(name: &str) -> bool {
    matches!(
        name,
        "ALA"
            | "ARG"
            | "ASN"
            | "ASP"
            | "CYS"
            | "GLN"
            | "GLU"
            | "GLY"
            | "HIS"
            | "ILE"
            | "LEU"
            | "LYS"
            | "MET"
            | "PHE"
            | "PRO"
            | "SER"
            | "THR"
            | "TRP"
            | "TYR"
            | "VAL"
            | "MSE"
            | "HSD"
            | "HSE"
            | "HSP"
            | "HID"
            | "HIE"
            | "HIP"
    )
}
