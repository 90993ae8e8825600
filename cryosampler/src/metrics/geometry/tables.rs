//! Top8000 reference tables (Richardson Laboratory, Duke University, CC BY 4.0), shipped inside the
//! crate and decompressed the first time each one is used.
//!
//! The files live in `cryosampler/data/top8000/` as gzip copies of the upstream files (see the
//! README and LICENSE there, and the repository NOTICE). Four kinds of table are exposed:
//!
//! * [`rama_grid`]: the six MolProbity Ramachandran percentile grids (`rama8000-*`), 180 x 180
//!   bins of 2 degrees over phi, psi in [-180, 180), wrapping;
//! * [`rama_smooth`]: the smoothed Ramachandran landscapes (`*.rama.combined.data`, ala / gly /
//!   prepro / pro) on the same 2-degree lattice, for differentiable losses;
//! * [`rota_grid`] / [`rota_table`]: the rota8000 percentile grids in chi space (1 to 3 dimensions,
//!   bounds, bin counts and wrapping per axis as in the file header);
//! * [`rota_central`]: the named rotamers with their chi means / esds and frequencies per residue
//!   type (Arg and Lys included; the grids have no Arg / Lys).
//!
//! Every grid is an [`NdGrid`]: a dense row-major array (last axis fastest) plus its [`GridAxis`]
//! layout, with [`NdGrid::value_at`] doing the same multilinear interpolation between bin centres
//! as MolProbity (cctbx `mmtbx/rotamer/n_dim_table.py`, and `rama_eval.h` for the 2-D case).
//!
//! ```no_run
//! use cryosampler::metrics::geometry::tables::{rama_grid, RamaClass};
//! let general = rama_grid(RamaClass::General)?;
//! let alpha = general.value_at(&[-63.0, -43.0]); // ~0.9: the heart of the alpha region
//! assert!(alpha > 0.5);
//! # Ok::<(), cryosampler::Error>(())
//! ```

use std::io::Read;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One axis of an [`NdGrid`]: `bins` equal bins covering `[lower, upper)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridAxis {
    /// Lower bound (degrees).
    pub lower: f64,
    /// Upper bound (degrees).
    pub upper: f64,
    /// Number of bins.
    pub bins: usize,
    /// Whether the axis is periodic with period `upper - lower`. A period of 180 degrees (Asp, Glu,
    /// Phe, Tyr last chi) folds the symmetric side chain automatically.
    pub wrap: bool,
}

impl GridAxis {
    /// Bin width (degrees).
    pub fn width(&self) -> f64 {
        (self.upper - self.lower) / self.bins as f64
    }

    /// Centre of bin `i` (degrees).
    pub fn centre(&self, i: usize) -> f64 {
        self.lower + self.width() * (i as f64 + 0.5)
    }

    /// Bin holding coordinate `x`, before wrapping (may be negative or `>= bins` for a periodic
    /// axis), capped at `bins - 1` from above as MolProbity does.
    fn raw_bin(&self, x: f64) -> i64 {
        (((x - self.lower) / self.width()).floor() as i64).min(self.bins as i64 - 1)
    }

    /// Map a raw bin index into `0..bins` (modulo for periodic axes, clamped otherwise).
    fn fold(&self, i: i64) -> usize {
        let n = self.bins as i64;
        let j = if self.wrap { i.rem_euclid(n) } else { i };
        j.clamp(0, n - 1) as usize
    }
}

/// A dense n-dimensional table: `values[index(bins)]`, row-major with the last axis fastest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NdGrid {
    /// Name / description from the file header (e.g. `"General (no G/P/I/V/preP), 70%, B<30"`).
    pub name: String,
    /// Axis layout, one per dimension.
    pub axes: Vec<GridAxis>,
    /// Values, `product(bins)` of them.
    pub values: Vec<f64>,
}

impl NdGrid {
    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }

    /// Bins per axis.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.bins).collect()
    }

    /// Linear index of a bin tuple (each entry `< bins`).
    pub fn index(&self, bins: &[usize]) -> usize {
        let mut idx = 0;
        for (a, &b) in self.axes.iter().zip(bins) {
            idx = idx * a.bins + b;
        }
        idx
    }

    /// Value stored in a bin (`bins[k] < axes[k].bins`).
    pub fn get(&self, bins: &[usize]) -> f64 {
        self.values[self.index(bins)]
    }

    /// Value at an arbitrary point by multilinear interpolation between the centres of the `2^n`
    /// nearest bins, wrapping periodic axes and clamping the others, exactly as MolProbity's
    /// `NDimTable.valueAt`. Coordinates outside the axis range are folded for periodic axes, so
    /// raw dihedrals in (-180, 180] can be passed to tables defined on [0, 360).
    ///
    /// `x` must have [`NdGrid::ndim`] entries; extra entries are ignored, missing ones read as 0.
    pub fn value_at(&self, x: &[f64]) -> f64 {
        let n = self.ndim();
        let mut home = vec![0i64; n];
        let mut neighbour = vec![0i64; n];
        let mut frac = vec![0.0; n];
        for (k, a) in self.axes.iter().enumerate() {
            let xk = x.get(k).copied().unwrap_or(0.0);
            let h = a.raw_bin(xk);
            let centre = a.lower + a.width() * (h as f64 + 0.5);
            home[k] = h;
            neighbour[k] = if xk < centre { h - 1 } else { h + 1 };
            frac[k] = ((xk - centre) / a.width()).abs();
        }
        let mut value = 0.0;
        let mut bins = vec![0usize; n];
        for corner in 0..(1usize << n) {
            let mut w = 1.0;
            for k in 0..n {
                if corner & (1 << k) == 0 {
                    bins[k] = self.axes[k].fold(home[k]);
                    w *= 1.0 - frac[k];
                } else {
                    bins[k] = self.axes[k].fold(neighbour[k]);
                    w *= frac[k];
                }
            }
            if w != 0.0 {
                value += w * self.get(&bins);
            }
        }
        value
    }

    /// Parse MolProbity's n-dimensional table text format (`# Number of dimensions`, one
    /// `#   xK: lower upper bins wrap` line per axis, then `coords... value` lines; bins not listed
    /// are 0).
    pub fn parse_ndft(source: &str, text: &str) -> Result<NdGrid> {
        let bad = |msg: String| Error::file(source, "table", msg);
        let mut name = String::new();
        let mut ndim: Option<usize> = None;
        let mut axes: Vec<GridAxis> = Vec::new();
        let mut values: Vec<f64> = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(h) = line.strip_prefix('#') {
                let h = h.trim();
                if let Some(rest) = h.strip_prefix("Table name/description:") {
                    name = rest.trim().trim_matches('"').to_string();
                } else if let Some(rest) = h.strip_prefix("Number of dimensions:") {
                    let d = rest.trim().parse::<usize>().map_err(|e| bad(format!("line {}: {e}", ln + 1)))?;
                    ndim = Some(d);
                } else if h.starts_with('x') && h.contains(':') && ndim.is_some_and(|d| axes.len() < d) {
                    let f: Vec<&str> = h.split(':').nth(1).unwrap_or("").split_whitespace().collect();
                    if f.len() != 4 {
                        return Err(bad(format!("line {}: axis line `{h}` needs 4 fields", ln + 1)));
                    }
                    let num = |s: &str| s.parse::<f64>().map_err(|e| bad(format!("line {}: `{s}`: {e}", ln + 1)));
                    let bins = f[2].parse::<usize>().map_err(|e| bad(format!("line {}: `{}`: {e}", ln + 1, f[2])))?;
                    let wrap = matches!(f[3].to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1");
                    axes.push(GridAxis { lower: num(f[0])?, upper: num(f[1])?, bins, wrap });
                    if ndim == Some(axes.len()) {
                        let total: usize = axes.iter().map(|a| a.bins).product();
                        values = vec![0.0; total];
                    }
                }
                continue;
            }
            let d = match ndim {
                Some(d) if axes.len() == d => d,
                _ => return Err(bad(format!("line {}: data before the axis header", ln + 1))),
            };
            let f: Vec<f64> = line
                .split_whitespace()
                .map(|s| s.parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(format!("line {}: {e}", ln + 1)))?;
            if f.len() <= d {
                continue;
            }
            let bins: Vec<usize> = axes.iter().zip(&f).map(|(a, &c)| a.fold(a.raw_bin(c))).collect();
            let mut idx = 0;
            for (a, b) in axes.iter().zip(&bins) {
                idx = idx * a.bins + b;
            }
            values[idx] = f[d];
        }
        match ndim {
            Some(d) if d > 0 && axes.len() == d => Ok(NdGrid { name, axes, values }),
            _ => Err(bad("missing or incomplete dimension header".into())),
        }
    }
}

/// The six MolProbity Ramachandran classes (Top8000), in cctbx's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RamaClass {
    /// All residues not in another class.
    General,
    /// Glycine.
    Glycine,
    /// Proline with a cis (|omega| < 90) preceding peptide.
    CisPro,
    /// Proline with a trans preceding peptide.
    TransPro,
    /// Residue (not Gly / Pro) followed by a proline.
    PrePro,
    /// Isoleucine or valine not followed by proline.
    IleVal,
}

impl RamaClass {
    /// All six classes.
    pub const ALL: [RamaClass; 6] = [
        RamaClass::General,
        RamaClass::Glycine,
        RamaClass::CisPro,
        RamaClass::TransPro,
        RamaClass::PrePro,
        RamaClass::IleVal,
    ];

    /// Position in [`RamaClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short label as MolProbity prints it (`"General"`, `"Gly"`, `"cis-Pro"`, ...).
    pub fn label(self) -> &'static str {
        match self {
            RamaClass::General => "General",
            RamaClass::Glycine => "Gly",
            RamaClass::CisPro => "cis-Pro",
            RamaClass::TransPro => "trans-Pro",
            RamaClass::PrePro => "pre-Pro",
            RamaClass::IleVal => "Ile/Val",
        }
    }

    /// Stem of the upstream file (`rama8000-<stem>.data`).
    pub fn file_stem(self) -> &'static str {
        match self {
            RamaClass::General => "general-noGPIVpreP",
            RamaClass::Glycine => "gly-sym",
            RamaClass::CisPro => "cispro",
            RamaClass::TransPro => "transpro",
            RamaClass::PrePro => "prepro-noGP",
            RamaClass::IleVal => "ileval-nopreP",
        }
    }

    /// Score below which a residue of this class is a Ramachandran outlier: 0.0005 general,
    /// 0.002 cis-Pro, 0.001 the others (MolProbity / cctbx `ramalyze`).
    pub fn outlier_threshold(self) -> f64 {
        match self {
            RamaClass::General => 0.0005,
            RamaClass::CisPro => 0.002,
            _ => 0.001,
        }
    }
}

impl std::fmt::Display for RamaClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Score at or above which a residue is Ramachandran- or rotamer-favoured (2 %).
pub const FAVOURED_THRESHOLD: f64 = 0.02;

/// The four smoothed Ramachandran landscapes in `rama_smooth/` (`<stem>.rama.combined.data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RamaSmooth {
    /// Non-Gly, non-Pro, non-pre-Pro residues (`ala`).
    General,
    /// Glycine (`gly`).
    Glycine,
    /// Residues before a proline (`prepro`).
    PrePro,
    /// Proline (`pro`).
    Proline,
}

impl RamaSmooth {
    /// All four landscapes.
    pub const ALL: [RamaSmooth; 4] =
        [RamaSmooth::General, RamaSmooth::Glycine, RamaSmooth::PrePro, RamaSmooth::Proline];

    /// Stem of the upstream file.
    pub fn file_stem(self) -> &'static str {
        match self {
            RamaSmooth::General => "ala",
            RamaSmooth::Glycine => "gly",
            RamaSmooth::PrePro => "prepro",
            RamaSmooth::Proline => "pro",
        }
    }

    /// The landscape matching a MolProbity class (cis- and trans-Pro share `pro`, Ile/Val uses
    /// the general one).
    pub fn for_class(class: RamaClass) -> RamaSmooth {
        match class {
            RamaClass::Glycine => RamaSmooth::Glycine,
            RamaClass::CisPro | RamaClass::TransPro => RamaSmooth::Proline,
            RamaClass::PrePro => RamaSmooth::PrePro,
            RamaClass::General | RamaClass::IleVal => RamaSmooth::General,
        }
    }
}

macro_rules! embed {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/top8000/", $path))
    };
}

const RAMA_FILES: [&[u8]; 6] = [
    embed!("rama/rama8000-general-noGPIVpreP.data.gz"),
    embed!("rama/rama8000-gly-sym.data.gz"),
    embed!("rama/rama8000-cispro.data.gz"),
    embed!("rama/rama8000-transpro.data.gz"),
    embed!("rama/rama8000-prepro-noGP.data.gz"),
    embed!("rama/rama8000-ileval-nopreP.data.gz"),
];

const SMOOTH_FILES: [&[u8]; 4] = [
    embed!("rama_smooth/ala.rama.combined.data.gz"),
    embed!("rama_smooth/gly.rama.combined.data.gz"),
    embed!("rama_smooth/prepro.rama.combined.data.gz"),
    embed!("rama_smooth/pro.rama.combined.data.gz"),
];

/// Stems of the rota8000 tables shipped (`rota8000-<stem>.data`), in the order of [`rota_table`].
pub const ROTA_STEMS: [&str; 17] = [
    "asn", "asp", "cys", "gln", "glu", "his", "ile", "leu", "leu-raw", "met", "phetyr", "pro", "pro3d", "ser", "thr",
    "trp", "val",
];

const ROTA_FILES: [&[u8]; 17] = [
    embed!("rota/rota8000-asn.data.gz"),
    embed!("rota/rota8000-asp.data.gz"),
    embed!("rota/rota8000-cys.data.gz"),
    embed!("rota/rota8000-gln.data.gz"),
    embed!("rota/rota8000-glu.data.gz"),
    embed!("rota/rota8000-his.data.gz"),
    embed!("rota/rota8000-ile.data.gz"),
    embed!("rota/rota8000-leu.data.gz"),
    embed!("rota/rota8000-leu-raw.data.gz"),
    embed!("rota/rota8000-met.data.gz"),
    embed!("rota/rota8000-phetyr.data.gz"),
    embed!("rota/rota8000-pro.data.gz"),
    embed!("rota/rota8000-pro3d.data.gz"),
    embed!("rota/rota8000-ser.data.gz"),
    embed!("rota/rota8000-thr.data.gz"),
    embed!("rota/rota8000-trp.data.gz"),
    embed!("rota/rota8000-val.data.gz"),
];

/// Residue types with a `rota_central/<RES>.csv` table, in the order used internally.
pub const CENTRAL_RESIDUES: [&str; 18] = [
    "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "HIS", "ILE", "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP",
    "TYR", "VAL",
];

const CENTRAL_FILES: [&[u8]; 18] = [
    embed!("rota_central/ARG.csv.gz"),
    embed!("rota_central/ASN.csv.gz"),
    embed!("rota_central/ASP.csv.gz"),
    embed!("rota_central/CYS.csv.gz"),
    embed!("rota_central/GLN.csv.gz"),
    embed!("rota_central/GLU.csv.gz"),
    embed!("rota_central/HIS.csv.gz"),
    embed!("rota_central/ILE.csv.gz"),
    embed!("rota_central/LEU.csv.gz"),
    embed!("rota_central/LYS.csv.gz"),
    embed!("rota_central/MET.csv.gz"),
    embed!("rota_central/PHE.csv.gz"),
    embed!("rota_central/PRO.csv.gz"),
    embed!("rota_central/SER.csv.gz"),
    embed!("rota_central/THR.csv.gz"),
    embed!("rota_central/TRP.csv.gz"),
    embed!("rota_central/TYR.csv.gz"),
    embed!("rota_central/VAL.csv.gz"),
];

type Cell<T> = OnceLock<std::result::Result<T, String>>;

static RAMA: [Cell<NdGrid>; 6] = [const { OnceLock::new() }; 6];
static SMOOTH: [Cell<NdGrid>; 4] = [const { OnceLock::new() }; 4];
static ROTA: [Cell<NdGrid>; 17] = [const { OnceLock::new() }; 17];
static CENTRAL: [Cell<Vec<RotamerCentre>>; 18] = [const { OnceLock::new() }; 18];

fn gunzip(source: &str, bytes: &[u8]) -> std::result::Result<String, String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).map_err(|e| format!("{source}: gunzip: {e}"))?;
    Ok(text)
}

fn cached<T>(cell: &'static Cell<T>, init: impl FnOnce() -> std::result::Result<T, String>) -> Result<&'static T> {
    cell.get_or_init(init).as_ref().map_err(|e| Error::invalid(format!("embedded Top8000 table: {e}")))
}

/// The rama8000 percentile grid of a class: axes phi (x1) then psi (x2), 180 bins of 2 degrees
/// over [-180, 180), wrapping. Values are MolProbity scores (fractions, not percent).
pub fn rama_grid(class: RamaClass) -> Result<&'static NdGrid> {
    let i = class.index();
    cached(&RAMA[i], || {
        let src = format!("top8000/rama/rama8000-{}.data", class.file_stem());
        let text = gunzip(&src, RAMA_FILES[i])?;
        NdGrid::parse_ndft(&src, &text).map_err(|e| e.to_string())
    })
}

/// A smoothed Ramachandran landscape on the rama8000 lattice (axes phi then psi, 180 bins of
/// 2 degrees over [-180, 180), wrapping). Values are as distributed upstream: a smooth score that
/// is higher where conformations are more populated (arbitrary units; e.g. about +15 in the
/// alpha-helix basin of `ala` and below -2 in the forbidden region near phi 60, psi -120).
pub fn rama_smooth(kind: RamaSmooth) -> Result<&'static NdGrid> {
    let i = kind as usize;
    cached(&SMOOTH[i], || {
        let src = format!("top8000/rama_smooth/{}.rama.combined.data", kind.file_stem());
        let text = gunzip(&src, SMOOTH_FILES[i])?;
        parse_smooth(&src, &text).map_err(|e| e.to_string())
    })
}

fn parse_smooth(source: &str, text: &str) -> Result<NdGrid> {
    let axis = GridAxis { lower: -180.0, upper: 180.0, bins: 180, wrap: true };
    let mut values = vec![0.0; 180 * 180];
    let mut seen = vec![false; 180 * 180];
    for (ln, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() || f[0].starts_with('#') {
            continue;
        }
        let num = |s: &str| {
            s.parse::<f64>().map_err(|e| Error::file(source, format!("line {}", ln + 1), format!("`{s}`: {e}")))
        };
        if f.len() < 3 {
            return Err(Error::file(source, format!("line {}", ln + 1), "expected `value phi psi`"));
        }
        let (v, phi, psi) = (num(f[0])?, num(f[1])?, num(f[2])?);
        let idx = axis.fold(axis.raw_bin(phi)) * 180 + axis.fold(axis.raw_bin(psi));
        values[idx] = v;
        seen[idx] = true;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        return Err(Error::file(source, "grid", format!("{missing} of 32400 phi/psi bins missing")));
    }
    Ok(NdGrid { name: format!("smoothed Ramachandran landscape ({source})"), axes: vec![axis.clone(), axis], values })
}

/// A rota8000 table by file stem (one of [`ROTA_STEMS`], e.g. `"leu-raw"` or `"pro3d"`).
pub fn rota_table(stem: &str) -> Result<&'static NdGrid> {
    let i = ROTA_STEMS
        .iter()
        .position(|s| *s == stem)
        .ok_or_else(|| Error::invalid(format!("no rota8000 table `{stem}` (have {})", ROTA_STEMS.join(", "))))?;
    cached(&ROTA[i], || {
        let src = format!("top8000/rota/rota8000-{stem}.data");
        let text = gunzip(&src, ROTA_FILES[i])?;
        NdGrid::parse_ndft(&src, &text).map_err(|e| e.to_string())
    })
}

/// The rota8000 grid MolProbity scores a residue type with (`"PHE"` and `"TYR"` share `phetyr`,
/// `"LEU"` uses `leu`, `"PRO"` the 1-D chi1 table, `"MSE"` maps to `met`). `Ok(None)` for types
/// without a grid (Gly, Ala, Arg, Lys and non-standard residues).
pub fn rota_grid(resname: &str) -> Result<Option<&'static NdGrid>> {
    let stem = match resname {
        "ASN" => "asn",
        "ASP" => "asp",
        "CYS" => "cys",
        "GLN" => "gln",
        "GLU" => "glu",
        "HIS" => "his",
        "ILE" => "ile",
        "LEU" => "leu",
        "MET" | "MSE" => "met",
        "PHE" | "TYR" => "phetyr",
        "PRO" => "pro",
        "SER" => "ser",
        "THR" => "thr",
        "TRP" => "trp",
        "VAL" => "val",
        _ => return Ok(None),
    };
    rota_table(stem).map(Some)
}

/// One named rotamer from `rota_central/<RES>.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RotamerCentre {
    /// Rotamer name (`"mt"`, `"ptp180"`, ...).
    pub name: String,
    /// Number of Top8000 residues in this rotamer.
    pub count: usize,
    /// Share of the residue type's Top8000 residues (percent).
    pub frequency_pct: f64,
    /// Mean chi angles (degrees, chi1 first).
    pub chi_mean: Vec<f64>,
    /// Standard deviations of the chi angles (degrees).
    pub chi_esd: Vec<f64>,
    /// Other geometry columns as `(name, mean, esd)`, e.g. `("CA_CB_CG", 113.7, 1.65)` (degrees).
    pub angles: Vec<(String, f64, f64)>,
}

/// Named rotamer centres of a residue type (`"ARG"`, `"LYS"`, ... `"MSE"` reads as `"MET"`);
/// `Ok(None)` for types without rotamers.
pub fn rota_central(resname: &str) -> Result<Option<&'static [RotamerCentre]>> {
    let res = if resname == "MSE" { "MET" } else { resname };
    let Some(i) = CENTRAL_RESIDUES.iter().position(|r| *r == res) else {
        return Ok(None);
    };
    let v = cached(&CENTRAL[i], || {
        let src = format!("top8000/rota_central/{res}.csv");
        let text = gunzip(&src, CENTRAL_FILES[i])?;
        parse_central(&src, &text).map_err(|e| e.to_string())
    })?;
    Ok(Some(v.as_slice()))
}

fn parse_central(source: &str, text: &str) -> Result<Vec<RotamerCentre>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or("").trim().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(c_rot), Some(c_n), Some(c_freq)) = (col("rotamer"), col("n"), col("frequency%")) else {
        return Err(Error::file(source, "header", "needs columns rotamer, n, frequency%"));
    };
    let nchi = (1..=4).take_while(|k| col(&format!("chi{k}_mean")).is_some()).count();
    let mut out = Vec::new();
    for (ln, line) in lines.enumerate() {
        let f: Vec<&str> = line.trim().split(',').collect();
        let num = |c: usize| -> Result<f64> {
            let s = f.get(c).copied().unwrap_or("");
            s.trim().parse::<f64>().map_err(|e| Error::file(source, format!("line {}", ln + 2), format!("`{s}`: {e}")))
        };
        let mut chi_mean = Vec::new();
        let mut chi_esd = Vec::new();
        for k in 1..=nchi {
            let (Some(m), Some(s)) = (col(&format!("chi{k}_mean")), col(&format!("chi{k}_esd"))) else {
                return Err(Error::file(source, "header", format!("chi{k}_esd missing")));
            };
            chi_mean.push(num(m)?);
            chi_esd.push(num(s)?);
        }
        let mut angles = Vec::new();
        for (c, h) in header.iter().enumerate() {
            if let Some(base) = h.strip_suffix("_mean") {
                if base.starts_with("chi") {
                    continue;
                }
                if let Some(ce) = col(&format!("{base}_esd")) {
                    angles.push((base.to_string(), num(c)?, num(ce)?));
                }
            }
        }
        out.push(RotamerCentre {
            name: f.get(c_rot).copied().unwrap_or("").trim().to_string(),
            count: num(c_n)? as usize,
            frequency_pct: num(c_freq)?,
            chi_mean,
            chi_esd,
            angles,
        });
    }
    if out.is_empty() {
        return Err(Error::file(source, "rows", "no rotamers"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_tables_parse() -> Result<()> {
        for c in RamaClass::ALL {
            let g = rama_grid(c)?;
            assert_eq!(g.shape(), vec![180, 180]);
            assert!(g.values.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        for k in RamaSmooth::ALL {
            assert_eq!(rama_smooth(k)?.shape(), vec![180, 180]);
        }
        for s in ROTA_STEMS {
            let g = rota_table(s)?;
            assert!(g.values.iter().any(|v| *v > 0.5), "{s}");
        }
        for r in CENTRAL_RESIDUES {
            let c = rota_central(r)?.ok_or_else(|| Error::invalid(r))?;
            assert!(c.iter().all(|x| x.chi_mean.len() == x.chi_esd.len() && !x.chi_mean.is_empty()));
        }
        Ok(())
    }

    #[test]
    fn file_values_are_read_back_at_bin_centres() -> Result<()> {
        // First data lines of rama8000-general-noGPIVpreP.data and rota8000-leu.data.
        let g = rama_grid(RamaClass::General)?;
        assert!((g.value_at(&[-179.0, -179.0]) - 0.005560270487425575).abs() < 1e-12);
        assert!((g.value_at(&[-179.0, -177.0]) - 0.0045712337244581255).abs() < 1e-12);
        let leu = rota_grid("LEU")?.ok_or_else(|| Error::invalid("leu"))?;
        assert!((leu.value_at(&[12.5, 57.5]) - 9.677305838054686E-5).abs() < 1e-15);
        // Halfway between two centres is the mean of the two values.
        let mid = g.value_at(&[-179.0, -178.0]);
        assert!((mid - 0.5 * (0.005560270487425575 + 0.0045712337244581255)).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn interpolation_matches_cctbx_reference_values() -> Result<()> {
        // cctbx 2025.11 RotamerEval().evaluate("SER", [60]) and [-60] on these tables (stored as
        // f32 there, hence the tolerance).
        let ser = rota_grid("SER")?.ok_or_else(|| Error::invalid("ser"))?;
        assert!((ser.value_at(&[60.0]) - 0.7596812546253204).abs() < 1e-6);
        assert!((ser.value_at(&[-60.0]) - 0.5559723973274231).abs() < 1e-6);
        Ok(())
    }

    #[test]
    fn wrapping_folds_periodic_axes() -> Result<()> {
        let ser = rota_grid("SER")?.ok_or_else(|| Error::invalid("ser"))?;
        assert!((ser.value_at(&[-60.0]) - ser.value_at(&[300.0])).abs() < 1e-12);
        // Asp chi2 axis spans 180 degrees: chi2 and chi2 + 180 score the same.
        let asp = rota_grid("ASP")?.ok_or_else(|| Error::invalid("asp"))?;
        assert!((asp.value_at(&[-70.0, -30.0]) - asp.value_at(&[-70.0, 150.0])).abs() < 1e-12);
        let g = rama_grid(RamaClass::General)?;
        assert!((g.value_at(&[180.0, 10.0]) - g.value_at(&[-180.0, 10.0])).abs() < 1e-12);
        Ok(())
    }
}
