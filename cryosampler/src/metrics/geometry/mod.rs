//! MolProbity-style geometry validation (not differentiable): Ramachandran, rotamers, all-atom
//! clashscore, bond / angle RMSZ and the MolProbity score, with MolProbity's definitions (see
//! `METHOD.md`, "Evaluation") and agreement with the cctbx / MolProbity referee checked in
//! `tests/tests/geometry.rs`.
//!
//! * [`tables`]: the Top8000 grids and rotamer centres, shipped in the crate.
//! * [`rama`]: phi / psi, the six classes, scores and verdicts.
//! * [`rotamer`]: chi angles, rota8000 scores, names; Arg / Lys approximated.
//! * [`hydrogens`]: riding hydrogens as reduce places them.
//! * [`clash`]: probe-like contact analysis and clashscore.
//! * [`ideal`]: Engh & Huber bond / angle targets and RMSZ.
//!
//! ```no_run
//! use cryosampler::metrics::geometry::validate_geometry;
//! use cryosampler::structure::Structure;
//! let report = validate_geometry(&Structure::read("model.pdb")?)?;
//! println!("{report}");
//! std::fs::write("model_geometry.csv", report.to_csv()).ok();
//! # Ok::<(), cryosampler::Error>(())
//! ```

pub mod clash;
pub mod hydrogens;
pub mod ideal;
pub mod rama;
pub mod rotamer;
pub mod tables;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::structure::Structure;

use self::clash::ContactModel;
use self::ideal::RmszSummary;
use self::tables::RamaClass;

/// MolProbity verdict for a Ramachandran or rotamer score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// Score >= 0.02.
    Favoured,
    /// Between the outlier threshold and 0.02.
    Allowed,
    /// Below the outlier threshold.
    Outlier,
}

impl Verdict {
    /// `"Favored"`, `"Allowed"` or `"OUTLIER"` as MolProbity prints them.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Favoured => "Favored",
            Verdict::Allowed => "Allowed",
            Verdict::Outlier => "OUTLIER",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Per-residue validation row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResidueGeometry {
    /// Residue index in the input structure.
    pub residue: usize,
    /// Chain identifier.
    pub chain: String,
    /// Residue number.
    pub seq: isize,
    /// Insertion code.
    pub icode: Option<String>,
    /// Residue name.
    pub resname: String,
    /// phi (degrees), when there is a linked previous residue.
    pub phi: Option<f64>,
    /// psi (degrees), when there is a linked next residue.
    pub psi: Option<f64>,
    /// Ramachandran class (standard residues with phi and psi).
    pub rama_class: Option<RamaClass>,
    /// Ramachandran score (fraction).
    pub rama_score: Option<f64>,
    /// Ramachandran verdict.
    pub rama_verdict: Option<Verdict>,
    /// Chi angles (degrees).
    pub chis: Vec<f64>,
    /// Rotamer name (nearest Top8000 centre), when not an outlier.
    pub rotamer: Option<String>,
    /// Rotamer score (fraction).
    pub rotamer_score: Option<f64>,
    /// Rotamer verdict.
    pub rotamer_verdict: Option<Verdict>,
    /// True for Arg / Lys scored from the approximate rotamer-centre mixture.
    pub rotamer_approximate: bool,
    /// Worst clash partner (`"A:LEU 45 HD12"`) and overlap (A) involving this residue.
    pub worst_clash: Option<(String, f64)>,
    /// Local map-model correlation; left empty here, filled in from the map by the caller.
    pub local_cc: Option<f64>,
}

/// Counts and percentages for one category.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Residues evaluated.
    pub n: usize,
    /// Favoured.
    pub favoured: usize,
    /// Allowed.
    pub allowed: usize,
    /// Outliers.
    pub outliers: usize,
}

impl Counts {
    fn add(&mut self, v: Verdict) {
        self.n += 1;
        match v {
            Verdict::Favoured => self.favoured += 1,
            Verdict::Allowed => self.allowed += 1,
            Verdict::Outlier => self.outliers += 1,
        }
    }

    /// Outliers in percent of `n` (0 when nothing was evaluated).
    pub fn outlier_pct(&self) -> f64 {
        pct(self.outliers, self.n)
    }

    /// Favoured in percent of `n`.
    pub fn favoured_pct(&self) -> f64 {
        pct(self.favoured, self.n)
    }
}

fn pct(k: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 }
}

/// One clash, with readable atom labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClashPair {
    /// First atom (`"A:ARG 131 CB"`).
    pub a: String,
    /// Second atom.
    pub b: String,
    /// Overlap (A).
    pub overlap: f64,
}

/// Result of [`validate_geometry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeometryReport {
    /// Ramachandran counts (standard residues with phi and psi).
    pub rama: Counts,
    /// Rotamer counts over all rotameric residues (Arg / Lys approximate).
    pub rotamer: Counts,
    /// Rotamer counts without Arg / Lys (what the referee's snapshot of MolProbity evaluates).
    pub rotamer_no_arg_lys: Counts,
    /// Non-water atoms counted for the clashscore (hydrogens included).
    pub n_atoms: usize,
    /// Hydrogens added.
    pub hydrogens_added: usize,
    /// Serious clashes, worst first.
    pub clashes: Vec<ClashPair>,
    /// Clashes per 1000 atoms.
    pub clashscore: f64,
    /// Bond-length RMSZ against Engh & Huber.
    pub bond_rmsz: f64,
    /// Bond-length RMSD (A).
    pub bond_rmsd: f64,
    /// Bonds evaluated.
    pub n_bonds: usize,
    /// Bond outliers (|z| > 4).
    pub bond_outliers: usize,
    /// Bond-angle RMSZ.
    pub angle_rmsz: f64,
    /// Bond-angle RMSD (degrees).
    pub angle_rmsd: f64,
    /// Angles evaluated.
    pub n_angles: usize,
    /// Angle outliers (|z| > 4).
    pub angle_outliers: usize,
    /// MolProbity score (uses the rotamer outliers including the approximate Arg / Lys).
    pub molprobity_score: f64,
    /// Per-residue rows (protein residues).
    pub residues: Vec<ResidueGeometry>,
}

/// MolProbity score: 0.426 ln(1 + clashscore) + 0.33 ln(1 + max(0, rota_out% - 1))
/// + 0.25 ln(1 + max(0, (100 - rama_favoured%) - 2)) + 0.5.
pub fn molprobity_score(clashscore: f64, rotamer_outlier_pct: f64, rama_favoured_pct: f64) -> f64 {
    0.426 * (1.0 + clashscore).ln()
        + 0.33 * (1.0 + (rotamer_outlier_pct - 1.0).max(0.0)).ln()
        + 0.25 * (1.0 + ((100.0 - rama_favoured_pct) - 2.0).max(0.0)).ln()
        + 0.5
}

fn atom_label(s: &Structure, i: usize) -> String {
    format!("{} {}", s.residue_label(s.atoms[i].residue), s.atoms[i].name)
}

/// Validate a model's geometry: Ramachandran, rotamers, clashscore (riding hydrogens added),
/// bond / angle RMSZ and the MolProbity score, with a per-residue table.
///
/// Hydrogens in the input are replaced by riding ones ([`hydrogens::protonate`]). Waters in the
/// structure are clash targets, as in MolProbity; [`Structure::read`] drops them, so read crystal
/// structures with `ReadOptions { keep_waters: true, .. }` to compare with MolProbity (3O21:
/// clashscore 11.4 with waters, 10.5 without; the referee says 11.7). Only the first alternate
/// conformation is scored. Errors on non-finite coordinates.
pub fn validate_geometry(s: &Structure) -> Result<GeometryReport> {
    if let Some(i) = s.atoms.iter().position(|a| a.pos.iter().any(|v| !v.is_finite())) {
        return Err(crate::Error::invalid(format!(
            "validate_geometry: atom {} ({} {}) has a non-finite coordinate {:?}",
            i,
            s.residue_label(s.atoms[i].residue),
            s.atoms[i].name,
            s.atoms[i].pos
        )));
    }
    let rama_results = rama::ramachandran(s)?;
    let rota_results = rotamer::rotamers(s)?;
    let prot = hydrogens::protonate(s)?;
    let model = ContactModel::new(&prot.structure, &prot.parent);
    let clash_report = model.clashes();
    let bonds: RmszSummary = ideal::bond_rmsz(s);
    let angles: RmszSummary = ideal::angle_rmsz(s);

    // The protonated copy drops hydrogen-only residues; map its residues back by identity.
    let key = |st: &Structure, r: usize| {
        let res = &st.residues[r];
        (st.chains[res.chain].id.clone(), res.seq, res.icode.clone(), res.name.clone())
    };
    let mut back = std::collections::HashMap::new();
    for r in 0..s.residues.len() {
        back.entry(key(s, r)).or_insert(r);
    }
    let mut worst: Vec<Option<(String, f64)>> = vec![None; s.residues.len()];
    let ps = &prot.structure;
    let mut clashes = Vec::with_capacity(clash_report.clashes.len());
    for c in &clash_report.clashes {
        clashes.push(ClashPair { a: atom_label(ps, c.a), b: atom_label(ps, c.b), overlap: c.overlap });
        for (me, other) in [(c.a, c.b), (c.b, c.a)] {
            if let Some(&r) = back.get(&key(ps, ps.atoms[me].residue))
                && worst[r].as_ref().is_none_or(|(_, o)| c.overlap > *o)
            {
                worst[r] = Some((atom_label(ps, other), c.overlap));
            }
        }
    }

    let mut rows: Vec<Option<ResidueGeometry>> = vec![None; s.residues.len()];
    let row = |r: usize| ResidueGeometry {
        residue: r,
        chain: s.chains[s.residues[r].chain].id.clone(),
        seq: s.residues[r].seq,
        icode: s.residues[r].icode.clone(),
        resname: s.residues[r].name.clone(),
        phi: None,
        psi: None,
        rama_class: None,
        rama_score: None,
        rama_verdict: None,
        chis: Vec::new(),
        rotamer: None,
        rotamer_score: None,
        rotamer_verdict: None,
        rotamer_approximate: false,
        worst_clash: None,
        local_cc: None,
    };
    for (r, slot) in rows.iter_mut().enumerate() {
        if rama::standard_name(&s.residues[r].name).is_some() {
            let mut x = row(r);
            let (phi, psi) = rama::phi_psi(s, r);
            x.phi = phi;
            x.psi = psi;
            *slot = Some(x);
        }
    }
    let mut rama_counts = Counts::default();
    for rr in &rama_results {
        rama_counts.add(rr.verdict);
        if let Some(x) = rows[rr.residue].as_mut() {
            x.rama_class = Some(rr.class);
            x.rama_score = Some(rr.score);
            x.rama_verdict = Some(rr.verdict);
        }
    }
    let mut rota_counts = Counts::default();
    let mut rota_strict = Counts::default();
    for ro in &rota_results {
        rota_counts.add(ro.verdict);
        if !ro.approximate {
            rota_strict.add(ro.verdict);
        }
        if let Some(x) = rows[ro.residue].as_mut() {
            x.chis = ro.chis.clone();
            x.rotamer = ro.name.clone();
            x.rotamer_score = Some(ro.score);
            x.rotamer_verdict = Some(ro.verdict);
            x.rotamer_approximate = ro.approximate;
        }
    }
    for (r, w) in worst.into_iter().enumerate() {
        if let Some(x) = rows[r].as_mut() {
            x.worst_clash = w;
        }
    }
    let molprobity = molprobity_score(clash_report.clashscore, rota_counts.outlier_pct(), rama_counts.favoured_pct());
    Ok(GeometryReport {
        rama: rama_counts,
        rotamer: rota_counts,
        rotamer_no_arg_lys: rota_strict,
        n_atoms: clash_report.n_atoms,
        hydrogens_added: prot.added,
        clashes,
        clashscore: clash_report.clashscore,
        bond_rmsz: bonds.rmsz,
        bond_rmsd: bonds.rmsd,
        n_bonds: bonds.n,
        bond_outliers: bonds.outliers.len(),
        angle_rmsz: angles.rmsz,
        angle_rmsd: angles.rmsd,
        n_angles: angles.n,
        angle_outliers: angles.outliers.len(),
        molprobity_score: molprobity,
        residues: rows.into_iter().flatten().collect(),
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map(|x| format!("{x:.prec$}")).unwrap_or_default()
}

impl GeometryReport {
    /// Ramachandran outliers (percent).
    pub fn rama_outlier_pct(&self) -> f64 {
        self.rama.outlier_pct()
    }

    /// Ramachandran favoured (percent).
    pub fn rama_favoured_pct(&self) -> f64 {
        self.rama.favoured_pct()
    }

    /// Rotamer outliers (percent, Arg / Lys included approximately).
    pub fn rotamer_outlier_pct(&self) -> f64 {
        self.rotamer.outlier_pct()
    }

    /// The per-residue table as CSV (one header line, one line per protein residue).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "chain,resseq,icode,resname,phi,psi,rama_class,rama_score,rama_verdict,chi1,chi2,chi3,chi4,\
             rotamer,rotamer_score,rotamer_verdict,rotamer_approximate,worst_clash_partner,worst_clash_overlap,local_cc\n",
        );
        for r in &self.residues {
            let chi = |k: usize| r.chis.get(k).map(|v| format!("{v:.1}")).unwrap_or_default();
            let quote = |s: &str| if s.contains(',') { format!("\"{s}\"") } else { s.to_string() };
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                quote(&r.chain),
                r.seq,
                r.icode.as_deref().unwrap_or(""),
                r.resname,
                opt(r.phi, 1),
                opt(r.psi, 1),
                r.rama_class.map(|c| c.label()).unwrap_or(""),
                opt(r.rama_score, 5),
                r.rama_verdict.map(|v| v.label()).unwrap_or(""),
                chi(0),
                chi(1),
                chi(2),
                chi(3),
                r.rotamer.as_deref().unwrap_or(""),
                opt(r.rotamer_score, 5),
                r.rotamer_verdict.map(|v| v.label()).unwrap_or(""),
                if r.rotamer_verdict.is_some() { r.rotamer_approximate.to_string() } else { String::new() },
                r.worst_clash.as_ref().map(|(p, _)| quote(p)).unwrap_or_default(),
                opt(r.worst_clash.as_ref().map(|(_, o)| *o), 3),
                opt(r.local_cc, 4),
            ));
        }
        out
    }

    /// Notebook display (evcxr): the summary and clash tables and the Ramachandran plots of
    /// [`GeometryReport::to_html`].
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display();
    }
}

impl std::fmt::Display for GeometryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<GeometryReport {} res: Rama fav {:.1}% out {:.2}% | rot out {:.2}% | clashscore {:.2} | \
             bonds RMSZ {:.2} | angles RMSZ {:.2} | MolProbity {:.2}>",
            self.residues.len(),
            self.rama_favoured_pct(),
            self.rama_outlier_pct(),
            self.rotamer_outlier_pct(),
            self.clashscore,
            self.bond_rmsz,
            self.angle_rmsz,
            self.molprobity_score
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn molprobity_score_formula() {
        // Hand-computed: clashscore 10, 3 % rotamer outliers, 95 % favoured.
        let v = molprobity_score(10.0, 3.0, 95.0);
        let expect = 0.426 * 11f64.ln() + 0.33 * 3f64.ln() + 0.25 * 4f64.ln() + 0.5;
        assert!((v - expect).abs() < 1e-12);
        // A perfect model scores 0.5 (the floor terms vanish).
        assert!((molprobity_score(0.0, 0.5, 99.0) - 0.5).abs() < 1e-12);
    }
}
