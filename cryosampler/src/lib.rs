//! # CryoSampler
//!
//! Atomic conformational ensembles of proteins from cryo-EM density maps: a VAE deforms a static
//! reference structure to fit each map of an ensemble (stage 1), a flow-matching model learns the
//! distribution of the VAE latents (stage 2) and samples new conformations, and a validation suite
//! scores models the way the PDB does (map-model CCs, MolProbity-style geometry).
//!
//! The user-facing API is a chain of owned stages:
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! let ens = Ensemble::load(&["map_0.mrc", "map_1.mrc"])?.with_resolution(4.5);
//! let aligned = ens.align("reference.pdb")?;
//! # Ok::<(), cryosampler::Error>(())
//! ```

pub mod align;
pub mod baseline;
pub mod bench;
pub mod density;
pub mod device;
mod error;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod structure;
pub mod train;
pub mod viz;

pub use error::{Error, FileError, Result, check_overwrite};

/// Everything a notebook needs, in one `use cryosampler::prelude::*;`.
pub mod prelude {
    pub use crate::align::{AlignOptions, RigidFit, fit_rigid};
    pub use crate::baseline::nma::{AnmConfig, Nma};
    pub use crate::density::{
        Grid, Map, RenderOptions, SimulateOptions, estimate_blur, render_structure, simulate_map,
    };
    pub use crate::metrics::cc::{MapModelCc, map_model_cc};
    pub use crate::metrics::ensemble::EnsembleMetrics;
    pub use crate::metrics::geometry::{GeometryReport, validate_geometry};
    pub use crate::model::{FlowNetConfig, VaeNetConfig};
    pub use crate::pipeline::{
        AlignConfig, AlignedEnsemble, Ensemble, FitTarget, FlowFit, LoadOptions, SampleEvaluation, Samples, VaeFit,
    };
    pub use crate::structure::Structure;
    pub use crate::train::{FlowConfig, MolprobityParts, VaeConfig};
    pub use crate::viz::{BarChart, HeatMap, Html, LinePlot, MapSlices, RamaPlot, ScatterPlot, Table, Viewer};
    pub use crate::{Error, Result};
    pub use burn;
    pub use plotters;
    pub use serde_json;
}
