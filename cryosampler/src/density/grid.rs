//! Regular grids and maps on them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::structure::Structure;
use crate::{Error, Result};

/// A regular grid: `shape = [nz, ny, nx]` voxels (x fastest in memory), voxel size per axis
/// `[vx, vy, vz]` (A) and the position of voxel (0, 0, 0) `[x, y, z]` (A).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    /// Voxel size along x, y, z (A).
    pub voxel: [f64; 3],
    /// Position of voxel (0, 0, 0) along x, y, z (A).
    pub origin: [f64; 3],
}

impl Grid {
    /// A cubic-voxel grid.
    pub fn new(shape: [usize; 3], voxel: f64, origin: [f64; 3]) -> Grid {
        Grid { shape, voxel: [voxel; 3], origin }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a grid without voxels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[nx, ny, nz]`.
    pub fn nxyz(&self) -> [usize; 3] {
        [self.shape[2], self.shape[1], self.shape[0]]
    }

    /// Linear index of voxel (ix, iy, iz).
    #[inline]
    pub fn index(&self, ix: usize, iy: usize, iz: usize) -> usize {
        (iz * self.shape[1] + iy) * self.shape[2] + ix
    }

    /// Position (A) of voxel (ix, iy, iz).
    #[inline]
    pub fn position(&self, ix: usize, iy: usize, iz: usize) -> [f64; 3] {
        [
            self.origin[0] + ix as f64 * self.voxel[0],
            self.origin[1] + iy as f64 * self.voxel[1],
            self.origin[2] + iz as f64 * self.voxel[2],
        ]
    }

    /// Fractional voxel coordinates `[fx, fy, fz]` of a point (A).
    #[inline]
    pub fn to_voxel(&self, p: [f64; 3]) -> [f64; 3] {
        [
            (p[0] - self.origin[0]) / self.voxel[0],
            (p[1] - self.origin[1]) / self.voxel[1],
            (p[2] - self.origin[2]) / self.voxel[2],
        ]
    }

    /// The voxel size if it is the same on all axes (to 1e-4 relative).
    pub fn isotropic_voxel(&self) -> Option<f64> {
        let v = self.voxel[0];
        (self.voxel.iter().all(|w| (w - v).abs() <= 1e-4 * v)).then_some(v)
    }

    /// Voxel volume (A^3).
    pub fn voxel_volume(&self) -> f64 {
        self.voxel.iter().product()
    }

    /// True if both grids have the same shape, voxel size and origin (to 1e-3 A).
    pub fn same_as(&self, other: &Grid) -> bool {
        self.shape == other.shape
            && (0..3).all(|a| {
                (self.voxel[a] - other.voxel[a]).abs() < 1e-4 && (self.origin[a] - other.origin[a]).abs() < 1e-3
            })
    }

    /// Physical size of the box (A) along x, y, z.
    pub fn extent(&self) -> [f64; 3] {
        let n = self.nxyz();
        [0, 1, 2].map(|a| n[a] as f64 * self.voxel[a])
    }

    /// Centre of the box (A).
    pub fn centre(&self) -> [f64; 3] {
        let n = self.nxyz();
        [0, 1, 2].map(|a| self.origin[a] + 0.5 * (n[a] as f64 - 1.0) * self.voxel[a])
    }

    /// A box with cubic voxels enclosing the structures with `pad` A on every side; the origin is a
    /// multiple of `voxel` and each size even (as the benchmark maps are built).
    pub fn around(structures: &[&Structure], pad: f64, voxel: f64) -> Result<Grid> {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for s in structures {
            for a in &s.atoms {
                for k in 0..3 {
                    lo[k] = lo[k].min(a.pos[k]);
                    hi[k] = hi[k].max(a.pos[k]);
                }
            }
        }
        if !lo[0].is_finite() || voxel.is_nan() || voxel <= 0.0 {
            return Err(Error::invalid("Grid::around: no atoms, or voxel size not positive"));
        }
        let lo_i = lo.map(|v| ((v - pad) / voxel).floor() as i64);
        let hi_i = hi.map(|v| ((v + pad) / voxel).ceil() as i64);
        let n = [0, 1, 2].map(|k| {
            let n = (hi_i[k] - lo_i[k]) as usize;
            n + n % 2
        });
        Ok(Grid { shape: [n[2], n[1], n[0]], voxel: [voxel; 3], origin: lo_i.map(|v| v as f64 * voxel) })
    }

    /// A grid over the same box with cubic voxels of size `voxel` (the box is kept or slightly
    /// enlarged; the origin is kept).
    pub fn with_voxel(&self, voxel: f64) -> Grid {
        let ext = self.extent();
        let n = ext.map(|e| ((e / voxel) - 1e-6).ceil().max(1.0) as usize);
        Grid { shape: [n[2], n[1], n[0]], voxel: [voxel; 3], origin: self.origin }
    }

    /// The same grid, grown at the far end of each axis so each size is a multiple of `m`.
    pub fn padded_to_multiple(&self, m: usize) -> Grid {
        let shape = self.shape.map(|n| n.div_ceil(m) * m);
        Grid { shape, ..self.clone() }
    }

    /// A short description, e.g. `50x42x48 @ 1.50 A`.
    pub fn describe(&self) -> String {
        let [nz, ny, nx] = self.shape;
        match self.isotropic_voxel() {
            Some(v) => format!("{nx}x{ny}x{nz} @ {v:.2} A"),
            None => format!("{nx}x{ny}x{nz} @ {:.3}/{:.3}/{:.3} A", self.voxel[0], self.voxel[1], self.voxel[2]),
        }
    }
}

/// A density map: a grid and its voxels in `[z][y][x]` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Map {
    /// The grid.
    pub grid: Grid,
    /// Voxel values, `grid.len()` of them, x fastest.
    pub data: Vec<f32>,
    /// File the map came from.
    #[serde(default)]
    pub source: Option<PathBuf>,
}

impl Map {
    /// A map from its grid and voxels (checks the length).
    pub fn new(grid: Grid, data: Vec<f32>) -> Result<Map> {
        if data.len() != grid.len() {
            return Err(Error::invalid(format!(
                "map data has {} voxels, grid {} needs {}",
                data.len(),
                grid.describe(),
                grid.len()
            )));
        }
        Ok(Map { grid, data, source: None })
    }

    /// A map of zeros.
    pub fn zeros(grid: Grid) -> Map {
        let n = grid.len();
        Map { grid, data: vec![0.0; n], source: None }
    }

    /// Record the file this map came from.
    pub fn with_source(mut self, path: &Path) -> Map {
        self.source = Some(path.to_path_buf());
        self
    }

    /// Read an MRC/CCP4 map (see [`crate::io::read_map`]).
    pub fn read(path: impl AsRef<Path>) -> Result<Map> {
        crate::io::read_map(path)
    }

    /// Write as MRC (see [`crate::io::write_map`]).
    pub fn write(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        crate::io::write_map(path, self, overwrite)
    }

    /// A name for messages: the file name or `"<map>"`.
    pub fn name(&self) -> String {
        self.source
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "<map>".into())
    }

    /// Mean and standard deviation over all voxels.
    pub fn mean_std(&self) -> (f64, f64) {
        mean_std(&self.data)
    }

    /// Minimum and maximum.
    pub fn min_max(&self) -> (f32, f32) {
        self.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }

    /// Zero mean and unit standard deviation over the box.
    pub fn normalised(&self) -> Map {
        let (m, s) = self.mean_std();
        let s = if s > 0.0 { s } else { 1.0 };
        Map {
            grid: self.grid.clone(),
            data: self.data.iter().map(|v| ((*v as f64 - m) / s) as f32).collect(),
            source: self.source.clone(),
        }
    }

    /// Trilinear interpolation at a point (A); zero outside the box.
    pub fn value_at(&self, p: [f64; 3]) -> f32 {
        let f = self.grid.to_voxel(p);
        let [nz, ny, nx] = self.grid.shape;
        let i0 = f.map(|v| v.floor());
        let t = [f[0] - i0[0], f[1] - i0[1], f[2] - i0[2]];
        let mut acc = 0.0f64;
        for dz in 0..2 {
            for dy in 0..2 {
                for dx in 0..2 {
                    let (x, y, z) = (i0[0] as i64 + dx, i0[1] as i64 + dy, i0[2] as i64 + dz);
                    if x < 0 || y < 0 || z < 0 || x >= nx as i64 || y >= ny as i64 || z >= nz as i64 {
                        continue;
                    }
                    let w = (if dx == 1 { t[0] } else { 1.0 - t[0] })
                        * (if dy == 1 { t[1] } else { 1.0 - t[1] })
                        * (if dz == 1 { t[2] } else { 1.0 - t[2] });
                    acc += w * self.data[self.grid.index(x as usize, y as usize, z as usize)] as f64;
                }
            }
        }
        acc as f32
    }

    /// Resample onto another grid by trilinear interpolation (zero outside this map's box).
    /// When the target grid is coarser, low-pass the map first ([`Map::lowpass`] at twice the new
    /// voxel size) to avoid aliasing.
    pub fn resample(&self, target: &Grid) -> Map {
        use rayon::prelude::*;
        let [_, ny, nx] = target.shape;
        let data: Vec<f32> = (0..target.len())
            .into_par_iter()
            .map(|i| {
                let ix = i % nx;
                let iy = (i / nx) % ny;
                let iz = i / (nx * ny);
                self.value_at(target.position(ix, iy, iz))
            })
            .collect();
        Map { grid: target.clone(), data, source: self.source.clone() }
    }

    /// Pearson correlation with another map on the same grid, over all voxels.
    pub fn correlation(&self, other: &Map) -> Result<f64> {
        if !self.grid.same_as(&other.grid) {
            return Err(Error::invalid(format!(
                "correlation: grids differ ({} vs {})",
                self.grid.describe(),
                other.grid.describe()
            )));
        }
        Ok(pearson(&self.data, &other.data))
    }
}

impl std::fmt::Display for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Map {} {}>", self.name(), self.grid.describe())
    }
}

/// Mean and (population) standard deviation.
pub fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Pearson correlation of two equally long slices (NaN if either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return f64::NAN;
    }
    let (ma, _) = mean_std(&a[..n]);
    let (mb, _) = mean_std(&b[..n]);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let x = a[i] as f64 - ma;
        let y = b[i] as f64 - mb;
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    let d = (saa * sbb).sqrt();
    if d > 0.0 { sab / d } else { f64::NAN }
}
