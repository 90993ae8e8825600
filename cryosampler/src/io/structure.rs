//! PDB / mmCIF reading and writing: reading and mmCIF writing through `pdbtbx`; PDB writing is
//! our own ([`models_to_pdb_string`]), because pdbtbx 0.12's PDB writer left-justifies the numeric fields
//! and the atom name (`ATOM  1     N    MET A1  ...`), which cctbx, ChimeraX and most other
//! programs reject or misread.

use std::io::BufWriter;
use std::path::Path;

use pdbtbx::StrictnessLevel;

use crate::structure::{Atom, Chain, Element, Residue, Structure};
use crate::{Error, Result};

/// How to read a structure file.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadOptions {
    /// Keep hydrogen atoms (default true; the pipeline drops them).
    pub keep_hydrogens: bool,
    /// Keep water molecules (default false).
    pub keep_waters: bool,
    /// Keep HETATM records other than water (ligands; default true).
    pub keep_hetero: bool,
    /// When the B column holds pLDDT (Boltz-2 / AlphaFold files), replace it by this B (A^2);
    /// `None` keeps the numbers as they are. Default `Some(20.0)`.
    pub plddt_b: Option<f64>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { keep_hydrogens: true, keep_waters: false, keep_hetero: true, plddt_b: Some(20.0) }
    }
}

/// A recoverable oddity met while reading (the value is still returned).
#[derive(Clone, Debug, PartialEq)]
pub struct Warning(pub String);

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_water(name: &str) -> bool {
    matches!(name, "HOH" | "WAT" | "H2O" | "DOD" | "TIP" | "TIP3" | "SOL")
}

fn open_pdb(path: &Path) -> Result<(pdbtbx::PDB, Vec<Warning>)> {
    if !path.exists() {
        return Err(Error::file(path, "file", "not found"));
    }
    let name = path.to_string_lossy().to_string();
    let mut opts = pdbtbx::ReadOptions::new();
    opts.set_level(StrictnessLevel::Loose).set_format(pdbtbx::Format::Auto);
    if name.ends_with(".gz") {
        opts.set_decompress(true);
    }
    match opts.read(&name) {
        Ok((pdb, errs)) => {
            let warnings = errs
                .iter()
                .filter(|e| e.level() != pdbtbx::ErrorLevel::GeneralWarning)
                .map(|e| Warning(format!("{}: {}", e.short_description(), e.long_description())))
                .collect();
            Ok((pdb, warnings))
        }
        Err(errs) if !is_cif_name(&name) => {
            // Header records written by other tools sometimes break the PDB grammar (ProDy writes
            // "REMARK AtomGroup ..."): retry with the coordinate records alone and say so.
            match read_coordinates_only(path) {
                Some(Ok((pdb, _))) => {
                    let why = errs.first().map(|e| e.short_description().to_string()).unwrap_or_default();
                    Ok((pdb, vec![Warning(format!("header records ignored ({why}); coordinates read"))]))
                }
                _ => Err(pdb_error(path, &errs)),
            }
        }
        Err(errs) => Err(pdb_error(path, &errs)),
    }
}

fn is_cif_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    let l = l.trim_end_matches(".gz");
    l.ends_with(".cif") || l.ends_with(".mmcif")
}

/// What pdbtbx's readers return: the structure and its warnings, or the errors.
type PdbtbxResult = std::result::Result<(pdbtbx::PDB, Vec<pdbtbx::PDBError>), Vec<pdbtbx::PDBError>>;

fn read_coordinates_only(path: &Path) -> Option<PdbtbxResult> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    let mut reader: Box<dyn Read> =
        if path.to_string_lossy().ends_with(".gz") { Box::new(flate2::read::GzDecoder::new(f)) } else { Box::new(f) };
    reader.read_to_string(&mut text).ok()?;
    let kept: String = text
        .lines()
        .filter(|l| ["ATOM  ", "HETATM", "MODEL ", "ENDMDL", "TER", "END", "CRYST1"].iter().any(|k| l.starts_with(k)))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut o = pdbtbx::ReadOptions::new();
    o.set_level(StrictnessLevel::Loose).set_format(pdbtbx::Format::Pdb);
    Some(o.read_raw(std::io::BufReader::new(std::io::Cursor::new(kept.into_bytes()))))
}

fn pdb_error(path: &Path, errs: &[pdbtbx::PDBError]) -> Error {
    let first = errs
        .iter()
        .find(|e| e.fails(StrictnessLevel::Loose))
        .or_else(|| errs.first())
        .map(|e| format!("{}: {}", e.short_description(), e.long_description()))
        .unwrap_or_else(|| "unreadable structure file".into());
    Error::file(path, "records", first)
}

fn header_mentions_plddt(path: &Path) -> bool {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else { return false };
    let mut buf = Vec::new();
    let mut reader: Box<dyn Read> =
        if path.to_string_lossy().ends_with(".gz") { Box::new(flate2::read::GzDecoder::new(f)) } else { Box::new(f) };
    if reader.by_ref().take(200_000).read_to_end(&mut buf).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    ["_ma_qa_metric", "plddt", "alphafold", "boltz", "esmfold", "colabfold"].iter().any(|k| text.contains(k))
}

fn convert_model(
    path: &Path,
    model: &pdbtbx::Model,
    opts: &ReadOptions,
    warnings: &mut Vec<Warning>,
) -> Result<Structure> {
    let mut s = Structure {
        atoms: Vec::new(),
        residues: Vec::new(),
        chains: Vec::new(),
        source: Some(path.to_path_buf()),
        b_is_plddt: false,
    };
    let mut altloc_dropped = 0usize;
    let mut unknown_elements = 0usize;
    let mut duplicates = 0usize;
    for chain in model.chains() {
        let r0 = s.residues.len();
        for res in chain.residues() {
            // first conformer = no alt loc or the first alternate location
            let Some(conf) = res.conformers().next() else { continue };
            altloc_dropped += res.conformers().skip(1).map(|c| c.atom_count()).sum::<usize>();
            let name = conf.name().to_string();
            if !opts.keep_waters && is_water(&name) {
                continue;
            }
            let a0 = s.atoms.len();
            let mut seen: Vec<&str> = Vec::new();
            for atom in conf.atoms() {
                if seen.contains(&atom.name()) {
                    // an alternate conformation whose altloc flag was stripped: keep the first copy
                    duplicates += 1;
                    continue;
                }
                seen.push(atom.name());
                if atom.hetero() && !opts.keep_hetero && !crate::structure::is_amino_acid(&name) {
                    continue;
                }
                let element = match atom.element() {
                    Some(e) => Element(e.atomic_number() as u8),
                    None => match Element::guess_from_atom_name(atom.name()) {
                        Some(e) => {
                            unknown_elements += 1;
                            e
                        }
                        None => {
                            return Err(Error::file(
                                path,
                                "element",
                                format!("atom {} of {} {} has no element", atom.name(), name, res.serial_number()),
                            ));
                        }
                    },
                };
                if element.is_hydrogen() && !opts.keep_hydrogens {
                    continue;
                }
                let (x, y, z) = atom.pos();
                if !(x.is_finite() && y.is_finite() && z.is_finite()) {
                    return Err(Error::file(
                        path,
                        "coordinates",
                        format!("atom {} of {} {} has non-finite coordinates", atom.name(), name, res.serial_number()),
                    ));
                }
                s.atoms.push(Atom {
                    name: atom.name().to_string(),
                    element,
                    pos: [x, y, z],
                    b: atom.b_factor(),
                    occupancy: atom.occupancy(),
                    hetero: atom.hetero(),
                    residue: s.residues.len(),
                });
            }
            if s.atoms.len() > a0 {
                s.residues.push(Residue {
                    name,
                    seq: res.serial_number(),
                    icode: res.insertion_code().map(|c| c.to_string()),
                    chain: s.chains.len(),
                    atoms: a0..s.atoms.len(),
                });
            }
        }
        if s.residues.len() > r0 {
            s.chains.push(Chain { id: chain.id().to_string(), residues: r0..s.residues.len() });
        }
    }
    if altloc_dropped > 0 {
        warnings
            .push(Warning(format!("kept the first alternate conformation; dropped {altloc_dropped} alternate atoms")));
    }
    if duplicates > 0 {
        warnings.push(Warning(format!(
            "{duplicates} atoms repeat an atom name within their residue (alternate conformations without altloc flags?): kept the first"
        )));
    }
    if unknown_elements > 0 {
        warnings.push(Warning(format!("{unknown_elements} atoms had no element column; guessed from the atom name")));
    }
    Ok(s)
}

fn apply_plddt_policy(path: &Path, s: &mut Structure, opts: &ReadOptions, warnings: &mut Vec<Warning>) {
    if s.atoms.is_empty() {
        return;
    }
    let (lo, hi, sum) = s
        .atoms
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY, 0.0), |(lo, hi, sum), a| (lo.min(a.b), hi.max(a.b), sum + a.b));
    let mean = sum / s.atoms.len() as f64;
    let looks_like_plddt = lo >= 0.0 && hi <= 100.0 && mean > 40.0 && header_mentions_plddt(path);
    if looks_like_plddt {
        match opts.plddt_b {
            Some(b) => {
                s.set_b(b);
                warnings.push(Warning(format!(
                    "B column holds pLDDT (mean {mean:.1}): not a B-factor; reset to {b} A^2 \
                     (ReadOptions::plddt_b = None keeps it)"
                )));
            }
            None => s.b_is_plddt = true,
        }
    }
}

/// Read the first model of a PDB or mmCIF file, returning recoverable oddities as warnings.
pub fn read_structure_with_warnings(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<(Structure, Vec<Warning>)> {
    let path = path.as_ref();
    let (pdb, mut warnings) = open_pdb(path)?;
    let model =
        pdb.models().next().ok_or_else(|| Error::file(path, "MODEL/ATOM", "no model with atoms in the file"))?;
    let mut s = convert_model(path, model, opts, &mut warnings)?;
    if s.atoms.is_empty() {
        return Err(Error::file(path, "ATOM", "no atoms left after filtering (waters/hydrogens/hetero)"));
    }
    if pdb.model_count() > 1 {
        warnings.push(Warning(format!("file holds {} models; read the first", pdb.model_count())));
    }
    apply_plddt_policy(path, &mut s, opts, &mut warnings);
    Ok((s, warnings))
}

/// Read the first model of a PDB or mmCIF file (`.gz` allowed).
pub fn read_structure(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Structure> {
    read_structure_with_warnings(path, opts).map(|(s, _)| s)
}

/// Read every model of a multi-model file (NMR ensembles, our own sample files).
pub fn read_models(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Vec<Structure>> {
    let path = path.as_ref();
    let (pdb, mut warnings) = open_pdb(path)?;
    let mut out = Vec::new();
    for model in pdb.models() {
        let mut s = convert_model(path, model, opts, &mut warnings)?;
        apply_plddt_policy(path, &mut s, opts, &mut warnings);
        out.push(s);
    }
    if out.is_empty() {
        return Err(Error::file(path, "MODEL/ATOM", "no model with atoms in the file"));
    }
    Ok(out)
}

/// Models written to one file must share their atoms (an ensemble).
fn check_same_atoms(models: &[Structure]) -> Result<()> {
    let first = &models[0];
    for (mi, s) in models.iter().enumerate() {
        if s.atoms.len() != first.atoms.len() {
            return Err(Error::invalid(format!(
                "write_models: model {mi} has {} atoms, model 0 has {}: models must share their atoms",
                s.atoms.len(),
                first.atoms.len()
            )));
        }
    }
    Ok(())
}

fn to_pdbtbx(models: &[Structure]) -> Result<pdbtbx::PDB> {
    check_same_atoms(models)?;
    let first = &models[0];
    let mut pdb = pdbtbx::PDB::new();
    for (mi, s) in models.iter().enumerate() {
        let mut model = pdbtbx::Model::new(mi + 1);
        let mut serial = 1usize;
        for ch in &first.chains {
            let mut chain = pdbtbx::Chain::new(&ch.id)
                .ok_or_else(|| Error::invalid(format!("chain id {:?} cannot be written", ch.id)))?;
            for r in ch.residues.clone() {
                let res = &first.residues[r];
                let mut conf = pdbtbx::Conformer::new(&res.name, None, None)
                    .ok_or_else(|| Error::invalid(format!("residue name {:?} cannot be written", res.name)))?;
                for ai in res.atoms.clone() {
                    let a = &first.atoms[ai];
                    let p = s.atoms[ai].pos;
                    let b = s.atoms[ai].b;
                    let atom = pdbtbx::Atom::new(
                        a.hetero,
                        serial,
                        &a.name,
                        p[0],
                        p[1],
                        p[2],
                        a.occupancy,
                        b,
                        a.element.symbol(),
                        0,
                    )
                    .ok_or_else(|| Error::invalid(format!("atom {:?} cannot be written", a.name)))?;
                    serial += 1;
                    conf.add_atom(atom);
                }
                let residue = pdbtbx::Residue::new(res.seq, res.icode.as_deref(), Some(conf))
                    .ok_or_else(|| Error::invalid(format!("residue {} cannot be written", res.seq)))?;
                chain.add_residue(residue);
            }
            model.add_chain(chain);
        }
        pdb.add_model(model);
    }
    Ok(pdb)
}

/// Write one or several models sharing the same atoms (an ensemble) to PDB or mmCIF, chosen by the
/// extension. Models are written with identical atom records, so the file reads back as an
/// ensemble. Refuses to replace an existing file unless `overwrite`.
pub fn write_models(path: impl AsRef<Path>, models: &[Structure], overwrite: bool) -> Result<()> {
    let path = path.as_ref();
    if models.is_empty() {
        return Err(Error::invalid(format!("write_models {}: no models to write", path.display())));
    }
    crate::error::check_overwrite(path, overwrite)?;
    let name = path.to_string_lossy().to_string();
    let lower = name.to_ascii_lowercase();
    let stem = lower.trim_end_matches(".gz");
    let is_cif = stem.ends_with(".cif") || stem.ends_with(".mmcif");
    let is_pdb = stem.ends_with(".pdb") || stem.ends_with(".ent");
    if !is_cif && !is_pdb {
        return Err(Error::file(path, "extension", "use .pdb, .ent, .cif or .mmcif (optionally .gz)"));
    }
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let sink: Box<dyn std::io::Write> = if lower.ends_with(".gz") {
        Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Box::new(file)
    };
    let mut writer = BufWriter::new(sink);
    if is_cif {
        pdbtbx::save_mmcif_raw(&to_pdbtbx(models)?, writer);
    } else {
        use std::io::Write;
        writer.write_all(pdb_text(models)?.as_bytes()).map_err(|e| Error::io(path, e))?;
        writer.flush().map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// The 4-column atom name field of a PDB ATOM record (columns 13-16): names of one-letter
/// elements shorter than four characters start in column 14 (`" CA "`), the others in column 13
/// (`"FE  "`, `"HD21"`), as the wwPDB format does.
fn pdb_atom_name(name: &str, element: Element) -> String {
    if name.len() < 4 && element.symbol().len() == 1 { format!(" {name:<3}") } else { format!("{name:<4}") }
}

/// Models as fixed-column PDB text (wwPDB format 3.3 ATOM / HETATM, TER after each chain,
/// MODEL / ENDMDL when there are several models, END). Atom serial numbers above 99,999 and
/// residue numbers outside -999..9999 wrap (PDB has no room for them; use mmCIF); a chain id
/// longer than one character, a residue name longer than three or an atom name longer than four
/// is an error.
fn pdb_text(models: &[Structure]) -> Result<String> {
    use std::fmt::Write;
    check_same_atoms(models)?;
    let first = &models[0];
    for ch in &first.chains {
        if ch.id.chars().count() > 1 {
            return Err(Error::invalid(format!(
                "chain id {:?} does not fit the PDB format: write mmCIF (.cif)",
                ch.id
            )));
        }
    }
    if let Some(r) = first.residues.iter().find(|r| r.name.len() > 3) {
        return Err(Error::invalid(format!(
            "residue name {:?} does not fit the PDB format: write mmCIF (.cif)",
            r.name
        )));
    }
    if let Some(a) = first.atoms.iter().find(|a| a.name.len() > 4) {
        return Err(Error::invalid(format!("atom name {:?} does not fit the PDB format: write mmCIF (.cif)", a.name)));
    }
    let wrap_seq = |v: isize| if (-999..=9999).contains(&v) { v } else { v.rem_euclid(10000) };
    let mut out = String::with_capacity(first.atoms.len() * 81 * models.len() + 128);
    out.push_str("REMARK   1 WRITTEN BY CRYOSAMPLER\n");
    for (mi, s) in models.iter().enumerate() {
        if models.len() > 1 {
            let _ = writeln!(out, "MODEL     {:>4}", mi + 1);
        }
        let mut serial = 0usize;
        for ch in &first.chains {
            let mut last: Option<&Residue> = None;
            for r in ch.residues.clone() {
                let res = &first.residues[r];
                for ai in res.atoms.clone() {
                    let a = &first.atoms[ai];
                    let p = s.atoms[ai].pos;
                    serial += 1;
                    let _ = writeln!(
                        out,
                        "{:<6}{:>5} {} {:>3} {}{:>4}{}   {:>8.3}{:>8.3}{:>8.3}{:>6.2}{:>6.2}          {:>2}",
                        if a.hetero { "HETATM" } else { "ATOM" },
                        serial % 100_000,
                        pdb_atom_name(&a.name, a.element),
                        res.name,
                        ch.id.chars().next().unwrap_or(' '),
                        wrap_seq(res.seq),
                        res.icode.as_deref().and_then(|c| c.chars().next()).unwrap_or(' '),
                        p[0],
                        p[1],
                        p[2],
                        a.occupancy,
                        s.atoms[ai].b.clamp(-99.99, 999.99),
                        a.element.symbol().to_ascii_uppercase(),
                    );
                }
                last = Some(res);
            }
            if let Some(res) = last {
                serial += 1;
                let _ = writeln!(
                    out,
                    "TER   {:>5}      {:>3} {}{:>4}{}",
                    serial % 100_000,
                    res.name,
                    ch.id.chars().next().unwrap_or(' '),
                    wrap_seq(res.seq),
                    res.icode.as_deref().and_then(|c| c.chars().next()).unwrap_or(' ')
                );
            }
        }
        if models.len() > 1 {
            out.push_str("ENDMDL\n");
        }
    }
    out.push_str("END\n");
    Ok(out)
}

/// Models as fixed-column PDB text (for files, the molecular viewer and tests): wwPDB format 3.3
/// ATOM / HETATM records, TER after each chain, MODEL / ENDMDL when there are several models,
/// END. Names that do not fit the format are errors (write mmCIF instead).
pub fn models_to_pdb_string(models: &[Structure]) -> Result<String> {
    if models.is_empty() {
        return Ok(String::new());
    }
    pdb_text(models)
}
