//! The user-facing stages, each its own owned type:
//! `Ensemble -> AlignedEnsemble -> VaeFit -> FlowFit -> Samples`.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! let aligned = Ensemble::load(&["map_0.mrc", "map_1.mrc"])?.with_resolution(4.5).align("reference.pdb")?;
//! println!("{aligned}");
//! # Ok::<(), cryosampler::Error>(())
//! ```

mod aligned;
mod ensemble;
mod flow_fit;
mod samples;
mod vae_fit;

pub use aligned::{AlignConfig, AlignedEnsemble, FitTarget, ReferenceSource};
pub use ensemble::{Ensemble, LoadOptions, MapEntry};
pub use flow_fit::FlowFit;
pub use samples::{SampleEvaluation, Samples};
pub use vae_fit::{RunInfo, VaeFit, ca_rmsd};
