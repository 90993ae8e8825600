//! Rich display for notebooks: HTML tables, SVG plots, map slices and a self-contained 3D viewer.
//!
//! Everything here returns a value that displays itself in an evcxr (Jupyter) cell through an
//! inherent `evcxr_display()`; nothing prints as a side effect. A cell that ends with such a value
//! shows it; several values are combined into one output with [`Html::row`] or [`Html::join`],
//! because evcxr keeps only the last output block of each MIME type per cell.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::viz::{Html, LinePlot, MapSlices, Table, Viewer};
//! let s = Structure::read("reference.pdb")?;
//! let map = Map::read("map_0.mrc")?;
//! let table = Table::new(["map", "grid"]).row([map.name(), map.grid.describe()]);
//! let loss = LinePlot::new("loss").log_y(true).series_y("recon", &[0.9, 0.5, 0.3, 0.25]);
//! let slices = MapSlices::new().map("map 0", &map);
//! Html::join([table.to_html(), Html::row([loss.to_html()?, slices.to_html()?])]); // one output
//! Viewer::new().add_structure(&s).cartoon().isosurface(&map, 0.5).save_html("view.html", false)?;
//! # Ok::<(), cryosampler::Error>(())
//! ```
//!
//! - [`html`]: [`Html`] (displayable HTML), [`emit_html`], [`Table`], [`escape`].
//! - [`plot`]: [`LinePlot`] (loss curves, log y), [`ScatterPlot`] (latent PCA, labels),
//!   [`BarChart`] (bars and grouped bars), [`MapSlices`] (orthogonal slices of a map as PNG in SVG).
//! - [`viewer`]: [`Viewer`], an NGL-based molecular viewer that works offline.
//! - [`heatmap`]: [`HeatMap`] (a function on a 2-D lattice, with points on top) and [`Colormap`].
//! - [`rama`]: [`RamaPlot`], residues over the Top8000 Ramachandran contours of one class.
//! - [`pca`]: [`Pca`], principal axes of latents for scatter plots.
//! - [`display`]: `to_html()` / `evcxr_display()` of every pipeline stage and result type
//!   (`Ensemble`, `AlignedEnsemble`, `VaeFit`, `FlowFit`, `Samples`, `SampleEvaluation`,
//!   `MapModelCc`, `RigidFit`, `BlurEstimate`, and `GeometryReport::to_html`), plus
//!   [`heat_table`] and [`geometry_table`].

pub mod display;
pub mod heatmap;
pub mod html;
pub mod pca;
pub mod plot;
pub mod rama;
pub mod viewer;

pub use display::{geometry_table, heat_table, isosurface_level};
pub use heatmap::{Colormap, HeatMap};
pub use html::{Html, Table, emit_html, escape};
pub use pca::Pca;
pub use plot::{BarChart, LinePlot, MapSlices, ScatterPlot, Series};
pub use rama::RamaPlot;
pub use viewer::{Viewer, ViewerSpec};
