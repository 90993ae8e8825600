//! File formats: MRC/CCP4 maps (through the `mrc` crate) and PDB/mmCIF structures (through
//! `pdbtbx`).
//!
//! ```no_run
//! use cryosampler::io;
//! let map = io::read_map("map_0_noisy.mrc")?;           // axis order, origin, voxel size handled
//! let s = io::read_structure("reference.pdb", &io::ReadOptions::default())?;
//! io::write_map("copy.mrc", &map, false)?;              // refuses to overwrite unless told
//! # Ok::<(), cryosampler::Error>(())
//! ```

mod mrc;
mod structure;

pub use self::mrc::{MapHeaderInfo, read_map, read_map_header, write_map};
pub use self::structure::{
    ReadOptions, Warning, models_to_pdb_string, read_models, read_structure, read_structure_with_warnings, write_models,
};
