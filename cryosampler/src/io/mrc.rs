//! MRC / CCP4 maps through the `mrc` crate.
//!
//! The `mrc` crate (like mrcfile) returns the voxels in file order: columns fastest, then rows, then
//! sections, with `mapc/mapr/maps` saying which of X, Y, Z each is. We permute to our fixed `[z][y][x]`
//! layout (x fastest), take the voxel size per axis from `cell / (mx, my, mz)`, and the origin of
//! voxel (0, 0, 0) as `nstart * voxel + ORIGIN` (the convention of the referee's reader; files carry
//! one or the other in practice).

use std::path::Path;

use crate::density::{Grid, Map};
use crate::{Error, Result};

/// Header facts of a map file, in X/Y/Z order (after undoing the axis permutation).
#[derive(Clone, Debug, PartialEq)]
pub struct MapHeaderInfo {
    /// Raw header `nx, ny, nz` (columns, rows, sections).
    pub ncrs: [usize; 3],
    /// `mapc, mapr, maps`.
    pub axis_order: [i32; 3],
    /// Raw `nxstart, nystart, nzstart` (columns, rows, sections).
    pub nstart_crs: [i32; 3],
    /// MRC mode.
    pub mode: i32,
    /// The grid these header fields describe.
    pub grid: Grid,
    /// Space group number.
    pub ispg: i32,
}

fn mrc_err(path: &Path, e: mrc::Error) -> Error {
    let (field, msg) = match &e {
        mrc::Error::UnsupportedMode => ("mode", "unsupported MRC mode".to_string()),
        mrc::Error::InvalidHeader => ("header", "invalid MRC header".to_string()),
        mrc::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ("data", "file is shorter than its header says (truncated?)".to_string())
        }
        mrc::Error::BoundsError { .. } => ("data", format!("{e} (truncated?)")),
        _ => ("file", e.to_string()),
    };
    Error::file(path, field, msg)
}

fn header_info(path: &Path, h: &mrc::Header) -> Result<MapHeaderInfo> {
    let ncrs = [h.nx, h.ny, h.nz];
    for (i, n) in ncrs.iter().enumerate() {
        if *n <= 0 {
            return Err(Error::file(path, ["nx", "ny", "nz"][i], format!("must be positive, found {n}")));
        }
    }
    let order = [h.mapc, h.mapr, h.maps];
    let mut sorted = order;
    sorted.sort();
    let order = if sorted == [1, 2, 3] {
        order
    } else if order == [0, 0, 0] {
        [1, 2, 3] // some writers leave the axis fields empty: the standard order is implied
    } else {
        return Err(Error::file(path, "mapc/mapr/maps", format!("not a permutation of 1 2 3: {order:?}")));
    };
    // sizes and starts along X, Y, Z
    let mut n_xyz = [0usize; 3];
    let mut start_xyz = [0i32; 3];
    let starts = [h.nxstart, h.nystart, h.nzstart];
    for k in 0..3 {
        let axis = (order[k] - 1) as usize;
        n_xyz[axis] = ncrs[k] as usize;
        start_xyz[axis] = starts[k];
    }
    let cell = [h.xlen, h.ylen, h.zlen];
    let mut m = [h.mx, h.my, h.mz];
    let mut voxel = [0.0f64; 3];
    for a in 0..3 {
        if m[a] <= 0 {
            // mx/my/mz = 0 happens in old files: fall back to the grid size on that axis
            m[a] = n_xyz[a] as i32;
        }
        let v = cell[a] as f64 / m[a] as f64;
        if !(v.is_finite() && v > 0.0) {
            let field = ["cell (xlen) / mx", "cell (ylen) / my", "cell (zlen) / mz"][a];
            return Err(Error::file(
                path,
                field,
                format!("voxel size must be positive, found {} / {} = {v}", cell[a], m[a]),
            ));
        }
        voxel[a] = v;
    }
    let origin_field = h.origin.map(|v| if v.is_finite() { v as f64 } else { 0.0 });
    let origin = [0, 1, 2].map(|a| start_xyz[a] as f64 * voxel[a] + origin_field[a]);
    Ok(MapHeaderInfo {
        ncrs: ncrs.map(|v| v as usize),
        axis_order: order,
        nstart_crs: starts,
        mode: h.mode,
        grid: Grid { shape: [n_xyz[2], n_xyz[1], n_xyz[0]], voxel, origin },
        ispg: h.ispg,
    })
}

/// Read only the header of a map (cheap), with the grid it describes.
pub fn read_map_header(path: impl AsRef<Path>) -> Result<MapHeaderInfo> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::file(path, "file", "not found"));
    }
    let reader = mrc::Reader::open(path).map_err(|e| mrc_err(path, e))?;
    header_info(path, reader.header())
}

/// Read a map (MRC/CCP4, `.gz` and `.bz2` too) into `[z][y][x]` order with its grid.
///
/// Errors name the file and the header field: missing file, truncated data, unsupported mode,
/// zero voxel size, invalid axis order, non-finite voxels.
pub fn read_map(path: impl AsRef<Path>) -> Result<Map> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::file(path, "file", "not found"));
    }
    let reader = mrc::Reader::open(path).map_err(|e| mrc_err(path, e))?;
    let info = header_info(path, reader.header())?;
    if reader.is_truncated() {
        return Err(Error::file(path, "data", "file is shorter than nx*ny*nz voxels of its mode (truncated)"));
    }
    let block = reader.convert::<f32>().read_volume().map_err(|e| mrc_err(path, e))?;
    let [nc, nr, ns] = info.ncrs;
    if block.data.len() < nc * nr * ns {
        return Err(Error::file(
            path,
            "data",
            format!("{} voxels read, header says {}x{}x{}", block.data.len(), nc, nr, ns),
        ));
    }
    let bad = block.data.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        return Err(Error::file(path, "data", format!("{bad} voxels are NaN or infinite")));
    }
    let grid = info.grid.clone();
    let [nz, ny, nx] = grid.shape;
    let data = if info.axis_order == [1, 2, 3] {
        block.data[..nx * ny * nz].to_vec()
    } else {
        let mut out = vec![0f32; nx * ny * nz];
        let axis = info.axis_order.map(|a| (a - 1) as usize); // axis of column, row, section
        for s in 0..ns {
            for r in 0..nr {
                for c in 0..nc {
                    let mut xyz = [0usize; 3];
                    xyz[axis[0]] = c;
                    xyz[axis[1]] = r;
                    xyz[axis[2]] = s;
                    out[(xyz[2] * ny + xyz[1]) * nx + xyz[0]] = block.data[(s * nr + r) * nc + c];
                }
            }
        }
        out
    };
    Ok(Map::new(grid, data)?.with_source(path))
}

/// Write a map as MRC-2014 mode 2 (float32), standard axis order 1 2 3, origin in `nxstart..` when
/// it is a whole number of voxels (what cctbx, gemmi, ChimeraX and mrcfile all honour) and in the
/// ORIGIN field otherwise. Refuses to overwrite unless `overwrite`; `.gz` compresses.
pub fn write_map(path: impl AsRef<Path>, map: &Map, overwrite: bool) -> Result<()> {
    let path = path.as_ref();
    crate::error::check_overwrite(path, overwrite)?;
    let g = &map.grid;
    let [nz, ny, nx] = g.shape;
    let mut nstart = [0i32; 3];
    let mut origin = [0f32; 3];
    for a in 0..3 {
        let f = g.origin[a] / g.voxel[a];
        if (f - f.round()).abs() < 1e-4 && f.abs() < 1e8 {
            nstart[a] = f.round() as i32;
        } else {
            origin[a] = g.origin[a] as f32;
        }
    }
    let builder = mrc::create(path)
        .shape([nx, ny, nz])
        .mode::<f32>()
        .cell_lengths((g.voxel[0] * nx as f64) as f32, (g.voxel[1] * ny as f64) as f32, (g.voxel[2] * nz as f64) as f32)
        .cell_angles(90.0, 90.0, 90.0)
        .axis_mapping([1, 2, 3])
        .nstart(nstart)
        .origin(origin)
        .ispg(1)
        .add_label("written by CryoSampler");
    let lower = path.to_string_lossy().to_ascii_lowercase();
    let mut writer = if lower.ends_with(".gz") {
        builder.finish_gzip()
    } else if lower.ends_with(".bz2") {
        builder.finish_bzip2()
    } else {
        builder.finish()
    }
    .map_err(|e| mrc_err(path, e))?;
    writer.set_data(&map.data).map_err(|e| mrc_err(path, e))?;
    let (mean, rms) = map.mean_std();
    let (lo, hi) = map.min_max();
    {
        let h = writer.header_mut();
        h.dmin = lo;
        h.dmax = hi;
        h.dmean = mean as f32;
        h.rms = rms as f32;
    }
    writer.finalize().map_err(|e| mrc_err(path, e))?;
    Ok(())
}
