//! Stage 0: an ensemble of maps of one protein, on one grid, normalised.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::density::{Grid, Map};
use crate::{Error, Result};

/// How [`Ensemble::load_with`] prepares the maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadOptions {
    /// Nominal resolution (A) of the maps, if known. Otherwise it is estimated at `align` from the
    /// fitted reference (see [`crate::density::estimate_blur`]).
    pub resolution: Option<f64>,
    /// Resample maps whose grid differs from the first map's onto it (default true). When false,
    /// mismatched grids are an error.
    pub resample: bool,
    /// Bring every map to this cubic voxel size (A) first (low-pass + trilinear resampling), e.g. to
    /// trade detail for speed. Default: keep the first map's grid.
    pub voxel: Option<f64>,
    /// Normalise each map to zero mean and unit standard deviation over the box (default true).
    pub normalise: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { resolution: None, resample: true, voxel: None, normalise: true }
    }
}

impl LoadOptions {
    /// Set the resolution (A).
    pub fn with_resolution(mut self, r: f64) -> Self {
        self.resolution = Some(r);
        self
    }
    /// Set the working voxel size (A).
    pub fn with_voxel(mut self, v: f64) -> Self {
        self.voxel = Some(v);
        self
    }
    /// Allow or forbid resampling onto a common grid.
    pub fn with_resample(mut self, yes: bool) -> Self {
        self.resample = yes;
        self
    }
}

/// One map of the ensemble and what was done to it on loading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapEntry {
    /// File it came from.
    pub path: PathBuf,
    /// Grid as read.
    pub original_grid: Grid,
    /// Mean and standard deviation as read.
    pub original_mean: f64,
    /// Standard deviation as read.
    pub original_std: f64,
    /// Whether it was resampled onto the common grid.
    pub resampled: bool,
}

/// M maps of one protein on one common grid, normalised: the input of the method.
///
/// ```no_run
/// use cryosampler::prelude::*;
/// let ens = Ensemble::load(&["map_0.mrc", "map_1.mrc"])?.with_resolution(4.5);
/// println!("{ens}");          // <Ensemble 2 maps 48x42x50 @ 1.50 A, 4.5 A>
/// for line in ens.report() { println!("{line}"); }
/// # Ok::<(), cryosampler::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Ensemble {
    pub(crate) maps: Vec<Arc<Map>>,
    pub(crate) entries: Vec<MapEntry>,
    pub(crate) grid: Grid,
    pub(crate) resolution: Option<f64>,
    pub(crate) report: Vec<String>,
}

impl Ensemble {
    /// Load maps with the default preparation (common grid, normalisation).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Ensemble> {
        Self::load_with(paths, &LoadOptions::default())
    }

    /// Load maps with explicit options.
    pub fn load_with<P: AsRef<Path>>(paths: &[P], opts: &LoadOptions) -> Result<Ensemble> {
        if paths.is_empty() {
            return Err(Error::invalid("Ensemble::load: the list of maps is empty"));
        }
        if let Some(r) = opts.resolution
            && (!r.is_finite() || r <= 0.0)
        {
            return Err(Error::invalid(format!("Ensemble::load: resolution must be positive, got {r}")));
        }
        let raw: Vec<Map> = paths.iter().map(|p| Map::read(p.as_ref())).collect::<Result<_>>()?;
        Self::from_maps(raw, opts)
    }

    /// Build an ensemble from maps already in memory (each should carry its `source`).
    pub fn from_maps(raw: Vec<Map>, opts: &LoadOptions) -> Result<Ensemble> {
        if raw.is_empty() {
            return Err(Error::invalid("Ensemble: no maps"));
        }
        let mut report = Vec::new();
        let mut grid = raw[0].grid.clone();
        if let Some(v) = opts.voxel {
            if v.is_nan() || v <= 0.0 {
                return Err(Error::invalid(format!("LoadOptions::voxel must be positive, got {v}")));
            }
            grid = grid.with_voxel(v);
            report.push(format!("working grid {} (voxel set to {v} A)", grid.describe()));
        } else {
            report.push(format!("working grid {} (from {})", grid.describe(), raw[0].name()));
        }
        let mut maps = Vec::with_capacity(raw.len());
        let mut entries = Vec::with_capacity(raw.len());
        for m in raw {
            let (mean, std) = m.mean_std();
            let path = m.source.clone().unwrap_or_else(|| PathBuf::from(m.name()));
            if std == 0.0 {
                return Err(Error::file(&path, "data", "the map is constant (standard deviation 0)"));
            }
            let same = m.grid.same_as(&grid);
            let mut resampled = false;
            let mut prepared = if same {
                m.clone()
            } else if opts.resample || opts.voxel.is_some() {
                resampled = true;
                let coarser = grid.voxel.iter().zip(&m.grid.voxel).any(|(g, s)| g > &(s * 1.01));
                let src =
                    if coarser { m.lowpass(2.0 * grid.voxel.iter().cloned().fold(0.0, f64::max)) } else { m.clone() };
                report.push(format!("{}: resampled from {} onto {}", m.name(), m.grid.describe(), grid.describe()));
                src.resample(&grid)
            } else {
                return Err(Error::file(
                    &path,
                    "grid",
                    format!(
                        "{} differs from the first map's {} and resampling is off (LoadOptions::with_resample(true))",
                        m.grid.describe(),
                        grid.describe()
                    ),
                ));
            };
            if opts.normalise {
                prepared = prepared.normalised();
            }
            prepared.source = m.source.clone();
            report.push(format!(
                "{}: {} origin ({:.1}, {:.1}, {:.1}) A, mean {:.4} std {:.4}{}",
                m.name(),
                m.grid.describe(),
                m.grid.origin[0],
                m.grid.origin[1],
                m.grid.origin[2],
                mean,
                std,
                if opts.normalise { " -> normalised to mean 0, std 1" } else { "" }
            ));
            entries.push(MapEntry {
                path,
                original_grid: m.grid.clone(),
                original_mean: mean,
                original_std: std,
                resampled,
            });
            maps.push(Arc::new(prepared));
        }
        Ok(Ensemble { maps, entries, grid, resolution: opts.resolution, report })
    }

    /// Set the nominal resolution (A).
    pub fn with_resolution(mut self, resolution: f64) -> Ensemble {
        self.resolution = Some(resolution);
        self.report.push(format!("resolution set to {resolution} A"));
        self
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// True if there are no maps (never, for a loaded ensemble).
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The prepared maps.
    pub fn maps(&self) -> &[Arc<Map>] {
        &self.maps
    }

    /// Map `k`.
    pub fn map(&self, k: usize) -> Result<&Map> {
        self.maps
            .get(k)
            .map(|m| m.as_ref())
            .ok_or_else(|| Error::invalid(format!("map index {k} out of range (ensemble of {} maps)", self.maps.len())))
    }

    /// What loading did, one line per step.
    pub fn report(&self) -> &[String] {
        &self.report
    }

    /// Per-map provenance.
    pub fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    /// The common grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The nominal resolution, if set.
    pub fn resolution(&self) -> Option<f64> {
        self.resolution
    }

    /// Voxel-wise mean of the maps.
    pub fn mean_map(&self) -> Map {
        let mut data = vec![0f32; self.grid.len()];
        for m in &self.maps {
            for (d, v) in data.iter_mut().zip(&m.data) {
                *d += *v / self.maps.len() as f32;
            }
        }
        Map { grid: self.grid.clone(), data, source: None }
    }

    /// Names of the maps (file names).
    pub fn names(&self) -> Vec<String> {
        self.maps.iter().map(|m| m.name()).collect()
    }
}

impl std::fmt::Display for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Ensemble {} maps {}{}>",
            self.maps.len(),
            self.grid.describe(),
            self.resolution.map(|r| format!(", {r} A")).unwrap_or_default()
        )
    }
}
