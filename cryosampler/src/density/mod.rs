//! Maps and grids, the differentiable forward model, resampling, filtering and masks.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::density::{render_structure, RenderOptions};
//! let s = Structure::read("truth_0.pdb")?;
//! let map = Map::read("map_0_clean.mrc")?;
//! let model_map = render_structure(&s, &map.grid, &RenderOptions::at(4.5));
//! println!("CC over the box: {:.3}", map.correlation(&model_map)?);
//! # Ok::<(), cryosampler::Error>(())
//! ```

pub mod blur;
pub mod fft;
pub mod formfactor;
mod grid;
pub mod op;
pub mod render;
pub mod simulate;

pub use blur::{BlurEstimate, estimate_blur};
pub use grid::{Grid, Map, mean_std, pearson};
pub use op::{RenderBackend, RenderSpec, render};
pub use render::{RenderOptions, SplatAtoms, render_structure, sigma_for_resolution, splat_backward, splat_forward};
pub use simulate::{SimulateOptions, simulate_map};
