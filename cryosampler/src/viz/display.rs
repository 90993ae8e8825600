//! Rich notebook displays of the pipeline's stages and results.
//!
//! Every stage and result type gets an inherent `to_html() -> Html` and `evcxr_display()` (one
//! HTML block per call, several plots inside it), so a notebook cell that ends with the value shows
//! tables, plots and a 3D viewer. The `Display` one-liners stay as they are.
//!
//! | type | what the display holds |
//! |---|---|
//! | [`Ensemble`] | maps table (grid, origin, statistics as read), orthogonal slices of each map, the load report |
//! | [`AlignedEnsemble`] | rigid fit, blur estimate, reference CC per map, viewer of the reference in the mean map |
//! | [`VaeFit`] | loss terms and MolProbity parts (log y), NCC per map, C-alpha RMSD to the truths, latent PCA, per-map CC table |
//! | [`FlowFit`] | flow-matching loss, PCA of the training latents against flow samples |
//! | [`Samples`] | C-alpha RMSD to the reference per model, viewer of the models |
//! | [`SampleEvaluation`] | CC heat tables (models x maps), precision / recall / W2 |
//! | [`MapModelCc`], [`RigidFit`], [`BlurEstimate`] | small tables |
//! | [`GeometryReport`] | [`GeometryReport::to_html`]: summary, Ramachandran plots, worst clashes (its `evcxr_display` lives in `metrics`) |
//!
//! Helpers for notebooks: [`heat_table`], [`geometry_table`], [`isosurface_level`],
//! [`GeometryReport::residue_table`] and [`GeometryReport::clash_table`].
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! let ens = Ensemble::load(&["map_0.mrc", "map_1.mrc"])?.with_resolution(6.0);
//! let html = ens.to_html();           // or end a notebook cell with `ens`
//! assert!(html.as_str().contains("<svg"));
//! # Ok::<(), cryosampler::Error>(())
//! ```

use crate::Result;
use crate::align::RigidFit;
use crate::density::{BlurEstimate, Map};
use crate::metrics::cc::MapModelCc;
use crate::metrics::geometry::{GeometryReport, Verdict};
use crate::pipeline::{AlignedEnsemble, Ensemble, FlowFit, SampleEvaluation, Samples, VaeFit, ca_rmsd};
use crate::train::flow::{augment_latents, sample_latents};
use crate::train::vae::EpochLog;
use crate::viz::heatmap::Colormap;
use crate::viz::html::{Html, Table, escape};
use crate::viz::pca::Pca;
use crate::viz::plot::{LinePlot, MapSlices, ScatterPlot};
use crate::viz::rama::RamaPlot;
use crate::viz::viewer::Viewer;

/// Most maps shown as slices in an [`Ensemble`] display.
pub const MAX_SLICED_MAPS: usize = 8;
/// Most models drawn superposed in a [`Samples`] viewer; larger ensembles are shown as frames.
pub const MAX_SUPERPOSED: usize = 24;
/// Flow samples drawn for the latent PCA of a [`FlowFit`] display.
pub const FLOW_DISPLAY_SAMPLES: usize = 64;
/// Heavy-atom volume (A^3) used by [`isosurface_level`] to pick a contour enclosing the model.
pub const VOLUME_PER_ATOM: f64 = 18.0;

// ---------------------------------------------------------------------------------------------
// small pieces

/// A fixed-precision number, or an en dash for a non-finite value.
fn num(v: f64, prec: usize) -> String {
    if v.is_finite() { format!("{v:.prec$}") } else { "–".to_string() }
}

/// The one-line summary of a value as a bold line.
fn summary(text: &str) -> Html {
    Html(format!("<div style=\"font:bold 14px sans-serif;margin:4px 0 8px 0\">{}</div>", escape(text)))
}

/// A grey note (what is not shown and why).
fn note(text: &str) -> Html {
    Html(format!("<div style=\"font:12px sans-serif;color:#666;margin:4px 0\">{}</div>", escape(text)))
}

/// A plot, or a red note saying why it could not be drawn (so one bad plot never hides the rest).
fn plot_or_note(what: &str, r: Result<Html>) -> Html {
    match r {
        Ok(h) => h,
        Err(e) => Html::error_note(&format!("{what}: {e}")),
    }
}

/// Content in a box that scrolls past `max_px` of height.
fn scroll(inner: Html, max_px: u32) -> Html {
    Html(format!("<div style=\"max-height:{max_px}px;overflow-y:auto;display:inline-block\">{}</div>", inner.0))
}

/// Text lines folded into a `<details>` element.
fn details(title: &str, lines: &[String]) -> Html {
    Html(format!(
        "<details style=\"font:12px sans-serif;margin-top:6px\"><summary>{}</summary><pre>{}</pre></details>",
        escape(title),
        escape(&lines.join("\n"))
    ))
}

/// Two-column key / value table.
fn kv_table(caption: &str, rows: &[(&str, String)]) -> Table {
    let mut t = Table::new(["", ""]).caption(caption);
    for (k, v) in rows {
        t.push_row([k.to_string(), v.clone()]);
    }
    t
}

/// Mean of each window of `w` consecutive values (centred, shrinking at the ends).
fn moving_average(v: &[f64], w: usize) -> Vec<f64> {
    let h = w / 2;
    (0..v.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(h), (i + h + 1).min(v.len()));
            let s: Vec<f64> = v[a..b].iter().copied().filter(|x| x.is_finite()).collect();
            if s.is_empty() { f64::NAN } else { s.iter().sum::<f64>() / s.len() as f64 }
        })
        .collect()
}

/// An isosurface level of `map` that encloses about the volume of `n_atoms` heavy atoms
/// ([`VOLUME_PER_ATOM`] each; between 2 % and 50 % of the box): the matching upper quantile.
pub fn isosurface_level(map: &Map, n_atoms: usize) -> f64 {
    let box_volume = map.grid.voxel_volume() * map.grid.len() as f64;
    let frac = if box_volume > 0.0 { (n_atoms as f64 * VOLUME_PER_ATOM / box_volume).clamp(0.02, 0.5) } else { 0.1 };
    let mut v: Vec<f32> = map.data.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let k = (((1.0 - frac) * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
    v[k] as f64
}

/// An HTML table of `values[row][col]` with cells shaded from white (lowest) to blue (highest);
/// `bold[row]` marks one column per row (e.g. the nearest map of each model).
pub fn heat_table(
    caption: &str,
    corner: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
    bold: Option<&[usize]>,
    prec: usize,
) -> Html {
    let finite = values.iter().flatten().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut h = String::from(
        "<table class=\"cryosampler-table cryosampler-heat\" style=\"border-collapse:collapse;font-family:sans-serif;font-size:13px\">",
    );
    h.push_str(&format!("<caption style=\"text-align:left;font-weight:bold\">{}</caption>", escape(caption)));
    h.push_str(&format!("<thead><tr><th style=\"padding:2px 8px;text-align:left\">{}</th>", escape(corner)));
    for c in cols {
        h.push_str(&format!(
            "<th style=\"border-bottom:1px solid #444;padding:2px 8px;text-align:right\">{}</th>",
            escape(c)
        ));
    }
    h.push_str("</tr></thead><tbody>");
    for (i, name) in rows.iter().enumerate() {
        h.push_str(&format!(
            "<tr><th style=\"padding:2px 8px;text-align:left;font-weight:normal\">{}</th>",
            escape(name)
        ));
        let row = values.get(i).map(Vec::as_slice).unwrap_or(&[]);
        for j in 0..cols.len() {
            let v = row.get(j).copied().unwrap_or(f64::NAN);
            let t = if v.is_finite() { (v - lo) / span } else { f64::NAN };
            let (r, g, b) = if t.is_finite() { Colormap::Blues.rgb(0.85 * t) } else { (255, 255, 255) };
            let fg = if t.is_finite() && t > 0.6 { "#fff" } else { "#000" };
            let weight = if bold.and_then(|b| b.get(i)) == Some(&j) { "bold" } else { "normal" };
            h.push_str(&format!(
                "<td style=\"padding:2px 8px;text-align:right;background:rgb({r},{g},{b});color:{fg};font-weight:{weight}\">{}</td>",
                num(v, prec)
            ));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    Html(h)
}

/// Several validation reports side by side: one row per model with the MolProbity numbers.
pub fn geometry_table(caption: &str, reports: &[(&str, &GeometryReport)]) -> Table {
    let mut t = Table::new([
        "model",
        "Rama favoured %",
        "Rama outliers %",
        "rotamer outliers %",
        "clashscore",
        "bonds RMSZ",
        "angles RMSZ",
        "MolProbity score",
    ])
    .caption(caption);
    for (name, r) in reports {
        t.push_row([
            name.to_string(),
            num(r.rama_favoured_pct(), 2),
            num(r.rama_outlier_pct(), 2),
            num(r.rotamer_outlier_pct(), 2),
            num(r.clashscore, 1),
            num(r.bond_rmsz, 2),
            num(r.angle_rmsz, 2),
            num(r.molprobity_score, 2),
        ]);
    }
    t
}

/// A named group of latents with one label per latent, for [`latent_pca`].
type LatentGroup<'a> = (&'a str, &'a [Vec<f32>], Vec<String>);

/// A scatter plot of latents on two principal axes fitted to `fit_on`. Each group is
/// `(name, latents, labels)`.
fn latent_pca(title: &str, fit_on: &[Vec<f32>], groups: &[LatentGroup]) -> Result<Html> {
    let pca = Pca::fit(fit_on, 2)?;
    let mut plot = ScatterPlot::new(title).x_label(pca.axis_label(0)).y_label(pca.axis_label(1));
    for (name, lat, labels) in groups {
        let pts: Vec<(f64, f64)> = lat.iter().map(|z| pca.project2(z)).collect();
        plot = plot.group_labelled(*name, &pts, labels.iter().cloned());
    }
    plot.to_html()
}

// ---------------------------------------------------------------------------------------------
// small result types

impl RigidFit {
    /// The fit as a table.
    pub fn to_html(&self) -> Html {
        kv_table(
            "rigid fit",
            &[
                ("CC before", num(self.cc_before, 4)),
                ("CC after", num(self.cc_after, 4)),
                ("rotation (°)", num(self.rotation_deg, 2)),
                ("shift (Å)", num(self.shift, 2)),
                ("atoms moved, RMSD (Å)", num(self.rmsd_moved, 2)),
            ],
        )
        .to_html()
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

impl BlurEstimate {
    /// The estimate as a table.
    pub fn to_html(&self) -> Html {
        kv_table(
            "forward-model width",
            &[
                ("nominal resolution (Å)", num(self.resolution, 2)),
                ("extra B (Å²)", num(self.b_extra, 1)),
                ("effective resolution (Å)", num(self.effective_resolution, 2)),
                ("CC_mask at that width", num(self.cc_mask, 4)),
                ("CC_mask at the nominal width", num(self.cc_mask_nominal, 4)),
            ],
        )
        .to_html()
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

impl MapModelCc {
    /// The four correlations as a table.
    pub fn to_html(&self) -> Html {
        kv_table(
            "map-model correlation (Phenix definitions)",
            &[
                ("CC_mask", num(self.cc_mask, 4)),
                ("CC_volume", num(self.cc_volume, 4)),
                ("CC_peaks", num(self.cc_peaks, 4)),
                ("CC_box", num(self.cc_box, 4)),
                ("mask voxels N", self.n_mask.to_string()),
                ("d_min (Å)", num(self.d_min, 2)),
            ],
        )
        .to_html()
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

/// Phenix CCs of several models or maps as one table (one row per name).
fn cc_table(caption: &str, names: &[String], ccs: &[MapModelCc]) -> Table {
    let mut t = Table::new(["map", "CC_mask", "CC_volume", "CC_peaks", "CC_box"]).caption(caption);
    for (n, c) in names.iter().zip(ccs) {
        t.push_row([n.clone(), num(c.cc_mask, 4), num(c.cc_volume, 4), num(c.cc_peaks, 4), num(c.cc_box, 4)]);
    }
    t
}

// ---------------------------------------------------------------------------------------------
// stages

impl Ensemble {
    /// Maps table, slices of each map and the load report.
    pub fn to_html(&self) -> Html {
        let mut t = Table::new(["#", "map", "grid as read", "origin (Å)", "mean as read", "std as read", "resampled"])
            .caption(format!("{} maps on the common grid {}", self.len(), self.grid().describe()));
        for (k, (e, m)) in self.entries().iter().zip(self.maps()).enumerate() {
            let o = e.original_grid.origin;
            t.push_row([
                k.to_string(),
                m.name(),
                e.original_grid.describe(),
                format!("({:.1}, {:.1}, {:.1})", o[0], o[1], o[2]),
                format!("{:.4}", e.original_mean),
                format!("{:.4}", e.original_std),
                if e.resampled { "yes".into() } else { "no".to_string() },
            ]);
        }
        let mut slices = MapSlices::new().panel_size(150);
        for m in self.maps().iter().take(MAX_SLICED_MAPS) {
            slices = slices.map(m.name(), m);
        }
        let mut parts = vec![summary(&self.to_string()), t.to_html(), plot_or_note("map slices", slices.to_html())];
        if self.len() > MAX_SLICED_MAPS {
            parts.push(note(&format!("slices of the first {MAX_SLICED_MAPS} maps of {}", self.len())));
        }
        parts.push(details("load report", self.report()));
        Html::join(parts)
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

impl AlignedEnsemble {
    /// Rigid fit, width estimate, the reference's CC per map and a viewer of the reference in
    /// the mean map.
    pub fn to_html(&self) -> Html {
        let ens = self.ensemble();
        let fit = match self.rigid_fit() {
            Some(f) => f.to_html(),
            None => note("reference taken as docked: no rigid fit"),
        };
        let ccs = cc_table(
            &format!(
                "the unchanged reference against each map ({:.1} Å{})",
                self.resolution(),
                if self.resolution_estimated() { ", estimated" } else { "" }
            ),
            &ens.names(),
            self.reference_cc(),
        );
        let mean = ens.mean_map();
        let level = isosurface_level(&mean, self.reference().atoms.len());
        let viewer = Viewer::new().add_structure(self.reference()).cartoon().isosurface(&mean, level).height(420);
        Html::join([
            summary(&self.to_string()),
            Html::row([fit, self.blur().to_html(), ccs.to_html()]),
            note(&format!("the reference (cartoon) in the mean of the {} maps (surface at {level:.2})", ens.len())),
            plot_or_note("viewer", viewer.to_html()),
            details("load and alignment report", self.report()),
        ])
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

/// What a [`VaeFit`] display shows, as plain data (so it can be tested without a network).
struct VaeView<'a> {
    summary: String,
    names: Vec<String>,
    history: &'a [EpochLog],
    latents: &'a [Vec<f32>],
    cc: &'a [MapModelCc],
    reference_cc: &'a [MapModelCc],
    b_factor: Vec<f64>,
    rmsd_reference: Vec<f64>,
    rmsd_truth: Option<Vec<f64>>,
    settings: Vec<(&'static str, String)>,
}

fn vae_html(v: &VaeView) -> Html {
    let mut parts = vec![summary(&v.summary)];
    let h = v.history;
    let epochs: Vec<f64> = h.iter().map(|e| e.epoch as f64).collect();
    let mut plots = Vec::new();
    if h.is_empty() {
        parts.push(note("no training history (a run loaded without history.json?)"));
    } else {
        let term = |f: fn(&EpochLog) -> f64| h.iter().map(f).collect::<Vec<f64>>();
        let losses = LinePlot::new("loss terms (unweighted; total weighted)")
            .x_label("epoch")
            .log_y(true)
            .series("total", &epochs, &term(|e| e.terms.total))
            .series("recon = 1 - NCC", &epochs, &term(|e| e.terms.recon))
            .series("KL", &epochs, &term(|e| e.terms.kl))
            .series("backbone (Å²)", &epochs, &term(|e| e.terms.backbone))
            .series("MolProbity", &epochs, &term(|e| e.terms.molprobity));
        plots.push(plot_or_note("loss terms", losses.to_html()));
        // MolProbity parts, by name, in the order of the first epoch that has them
        let names: Vec<String> = h
            .iter()
            .find(|e| !e.terms.molprobity_parts.is_empty())
            .map_or(Vec::new(), |e| e.terms.molprobity_parts.iter().map(|p| p.0.clone()).collect());
        let mut parts_plot = LinePlot::new("MolProbity-style parts (unweighted)").x_label("epoch").log_y(true);
        let mut any_positive = false;
        for n in &names {
            let y: Vec<f64> = h
                .iter()
                .map(|e| e.terms.molprobity_parts.iter().find(|p| &p.0 == n).map_or(f64::NAN, |p| p.1))
                .collect();
            any_positive |= y.iter().any(|v| *v > 0.0 && v.is_finite());
            parts_plot = parts_plot.series(n.as_str(), &epochs, &y);
        }
        if any_positive {
            plots.push(plot_or_note("MolProbity parts", parts_plot.to_html()));
        }
        let n_maps = h.iter().map(|e| e.ncc.len()).max().unwrap_or(0);
        if n_maps > 0 {
            let mut ncc = LinePlot::new("NCC per map (training pass)").x_label("epoch").y_label("NCC");
            for k in 0..n_maps {
                let y: Vec<f64> = h.iter().map(|e| e.ncc.get(k).copied().unwrap_or(f64::NAN)).collect();
                ncc = ncc.series(v.names.get(k).cloned().unwrap_or_else(|| format!("map {k}")), &epochs, &y);
            }
            plots.push(plot_or_note("NCC", ncc.to_html()));
        }
        let logged: Vec<(f64, &Vec<f64>)> =
            h.iter().filter_map(|e| e.ca_rmsd.as_ref().map(|r| (e.epoch as f64, r))).collect();
        if !logged.is_empty() {
            let x: Vec<f64> = logged.iter().map(|l| l.0).collect();
            let n = logged.iter().map(|l| l.1.len()).max().unwrap_or(0);
            let mut rm = LinePlot::new("C-alpha RMSD to the truth")
                .x_label("epoch")
                .y_label("RMSD (Å)")
                .markers(logged.len() < 40);
            for k in 0..n {
                let y: Vec<f64> = logged.iter().map(|l| l.1.get(k).copied().unwrap_or(f64::NAN)).collect();
                rm = rm.series(v.names.get(k).cloned().unwrap_or_else(|| format!("map {k}")), &x, &y);
            }
            plots.push(plot_or_note("C-alpha RMSD", rm.to_html()));
        }
    }
    if v.latents.len() >= 2 {
        let labels = v.names.clone();
        plots.push(plot_or_note(
            "latent PCA",
            latent_pca("mean latent of each map (PCA)", v.latents, &[("maps", v.latents, labels)]),
        ));
    }
    if !plots.is_empty() {
        parts.push(Html::row(plots));
    }
    let mut header = vec!["map", "CC_mask", "CC_volume", "CC_peaks", "CC_box", "B (Å²)", "reference CC_mask", "gain"];
    header.push("Cα RMSD to reference (Å)");
    if v.rmsd_truth.is_some() {
        header.push("Cα RMSD to truth (Å)");
    }
    let mut t = Table::new(header).caption("each map's fitted model against its map (Phenix CCs)");
    for (k, c) in v.cc.iter().enumerate() {
        let r = v.reference_cc.get(k).map_or(f64::NAN, |r| r.cc_mask);
        let mut row = vec![
            v.names.get(k).cloned().unwrap_or_else(|| format!("map {k}")),
            num(c.cc_mask, 4),
            num(c.cc_volume, 4),
            num(c.cc_peaks, 4),
            num(c.cc_box, 4),
            num(v.b_factor.get(k).copied().unwrap_or(f64::NAN), 1),
            num(r, 4),
            num(c.cc_mask - r, 4),
            num(v.rmsd_reference.get(k).copied().unwrap_or(f64::NAN), 2),
        ];
        if let Some(t) = &v.rmsd_truth {
            row.push(num(t.get(k).copied().unwrap_or(f64::NAN), 2));
        }
        t.push_row(row);
    }
    let settings = kv_table("settings", &v.settings);
    parts.push(Html::row([t.to_html(), settings.to_html()]));
    Html::join(parts)
}

impl VaeFit {
    /// Loss curves (every term and MolProbity part, log y), NCC per map, C-alpha RMSD to the
    /// truths when attached, PCA of the maps' mean latents and the per-map CC table.
    pub fn to_html(&self) -> Html {
        let a = self.aligned();
        let cfg = self.config();
        let rmsd_truth = a.truths().and_then(|t| self.ca_rmsd_to(t).ok());
        let view = VaeView {
            summary: self.to_string(),
            names: a.ensemble().names(),
            history: self.history(),
            latents: self.latents(),
            cc: self.cc(),
            reference_cc: a.reference_cc(),
            b_factor: self.models().iter().map(|m| m.atoms.first().map_or(f64::NAN, |x| x.b)).collect(),
            rmsd_reference: self.models().iter().map(|m| ca_rmsd(m, a.reference()).unwrap_or(f64::NAN)).collect(),
            rmsd_truth,
            settings: vec![
                ("epochs", format!("{} ({})", self.history().len(), self.stopped())),
                ("λ_KL, λ_B, λ_M", format!("{:e}, {:e}, {:e}", cfg.lambda_kl, cfg.lambda_b, cfg.lambda_m)),
                ("structural loss", if cfg.structural_loss { "on".into() } else { "off (ablation)".to_string() }),
                ("latent grid [c, d, h, w]", format!("{:?}", self.latent_shape())),
                ("resolution (Å)", num(a.resolution(), 1)),
            ],
        };
        vae_html(&view)
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

/// The flow part of a [`FlowFit`] display from plain data.
fn flow_html(
    summary_line: &str,
    losses: &[f64],
    names: &[String],
    map_latents: &[Vec<f32>],
    augmented: &[Vec<f32>],
    sampled: &[Vec<f32>],
) -> Html {
    let mut plots = Vec::new();
    if losses.is_empty() {
        plots.push(note("no flow-matching losses recorded"));
    } else {
        let w = (losses.len() / 20).clamp(1, 100);
        let smooth = moving_average(losses, w);
        let plot = LinePlot::new("flow-matching loss")
            .x_label("step")
            .log_y(true)
            .series_y("per step", losses)
            .series_y(format!("mean of {w}"), &smooth);
        plots.push(plot_or_note("flow loss", plot.to_html()));
    }
    if !map_latents.is_empty() {
        let mut training: Vec<Vec<f32>> = map_latents.to_vec();
        training.extend(augmented.iter().cloned());
        // axes of the training latents; when they span fewer than two directions (two maps),
        // the samples decide the second axis
        let fit_on = match Pca::fit(&training, 2) {
            Ok(p) if p.variance.get(1).is_some_and(|v| *v > 0.0) => training.clone(),
            _ => [training.clone(), sampled.to_vec()].concat(),
        };
        let mut groups: Vec<LatentGroup> = vec![("maps", map_latents, names.to_vec())];
        if !augmented.is_empty() {
            groups.push(("interpolated (training)", augmented, Vec::new()));
        }
        if !sampled.is_empty() {
            groups.push(("flow samples", sampled, Vec::new()));
        }
        plots.push(plot_or_note("latent PCA", latent_pca("training latents and flow samples (PCA)", &fit_on, &groups)));
    }
    Html::join([summary(summary_line), Html::row(plots)])
}

impl FlowFit {
    /// The loss curve and a PCA of the training latents against fresh flow samples
    /// ([`FLOW_DISPLAY_SAMPLES`] latents drawn with a fixed seed; the fit's own sampling sequence
    /// is not advanced).
    pub fn to_html(&self) -> Html {
        let vae = self.vae();
        // augment_latents returns the maps' latents first, then the interpolants
        let augmented = augment_latents(vae.latents(), self.config.augment).split_off(vae.latents().len());
        let seed = self.config.seed ^ 0xd15_91a7;
        let sampled = if vae.latents().is_empty() {
            Vec::new()
        } else {
            sample_latents(&self.model, &self.norm, FLOW_DISPLAY_SAMPLES, self.config.euler_steps, seed)
        };
        flow_html(
            &self.to_string(),
            self.losses(),
            &vae.aligned().ensemble().names(),
            vae.latents(),
            &augmented,
            &sampled,
        )
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

/// The RMSD table and plot of a [`Samples`] display.
fn samples_tables(kind: &str, rmsd: &[f64]) -> Html {
    let mut t = Table::new(["model", "Cα RMSD to reference (Å)"]).caption(format!("{kind}: {} models", rmsd.len()));
    for (k, r) in rmsd.iter().enumerate() {
        t.push_row([k.to_string(), num(*r, 2)]);
    }
    let mut parts = vec![scroll(t.to_html(), 340)];
    if rmsd.len() >= 2 {
        let plot = LinePlot::new("Cα RMSD to the reference")
            .x_label("model")
            .y_label("RMSD (Å)")
            .markers(true)
            .size(440, 300)
            .series_y(kind, rmsd);
        parts.push(plot_or_note("RMSD plot", plot.to_html()));
    }
    Html::row(parts)
}

impl Samples {
    /// The models' C-alpha RMSD to the reference (table and plot) and a viewer: paths
    /// (interpolations) and ensembles of more than [`MAX_SUPERPOSED`] models as frames with a
    /// slider, smaller ensembles superposed and coloured by model.
    pub fn to_html(&self) -> Html {
        let rmsd = self.ca_rmsd_to_reference();
        let mut parts = vec![summary(&self.to_string()), samples_tables(self.kind(), &rmsd)];
        if self.is_empty() {
            parts.push(note("no models"));
        } else {
            let frames = self.kind().starts_with("interpolation") || self.len() > MAX_SUPERPOSED;
            let v = if frames {
                Viewer::new().add_models(self.models()).cartoon()
            } else {
                Viewer::new().add_models_superposed(self.models())
            };
            parts.push(note(if frames {
                "models as frames: press play or drag the slider"
            } else {
                "models superposed, coloured by model"
            }));
            parts.push(plot_or_note("viewer", v.height(420).to_html()));
        }
        Html::join(parts)
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

impl SampleEvaluation {
    /// Precision / recall / W2 and the model x map CC tables (each model's nearest map in bold).
    pub fn to_html(&self) -> Html {
        let m = &self.metrics;
        let (cov_p, cov_r) = if m.n_models() > 0 && m.n_maps() > 0 { m.coverage(0.5) } else { (f64::NAN, f64::NAN) };
        let metrics = kv_table(
            "ensemble metrics on d = sqrt(1 - CC_volume)",
            &[
                ("models x maps", format!("{} x {}", self.cc_volume.len(), self.maps.len())),
                ("precision", num(m.precision, 3)),
                ("recall", num(m.recall, 3)),
                ("W2", num(m.w2, 3)),
                ("coverage at d <= 0.5 (P / R)", format!("{} / {}", num(cov_p, 2), num(cov_r, 2))),
            ],
        );
        let rows: Vec<String> = (0..self.cc_volume.len()).map(|i| format!("model {i}")).collect();
        let bold = (m.nearest_map.len() == rows.len()).then_some(m.nearest_map.as_slice());
        let vol = heat_table("CC_volume", "", &rows, &self.maps, &self.cc_volume, bold, 3);
        let mask = heat_table("CC_mask", "", &rows, &self.maps, &self.cc_mask, bold, 3);
        Html::join([
            summary(&self.to_string()),
            Html::row([metrics.to_html(), scroll(vol, 420), scroll(mask, 420)]),
            note("bold: each model's nearest map (smallest d)"),
        ])
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display()
    }
}

// ---------------------------------------------------------------------------------------------
// validation reports

fn verdict_cell(v: Option<Verdict>) -> String {
    v.map(|v| v.label().to_string()).unwrap_or_default()
}

impl GeometryReport {
    /// The summary numbers as a table.
    pub fn summary_table(&self) -> Table {
        kv_table(
            "MolProbity-style validation",
            &[
                (
                    "Ramachandran favoured",
                    format!("{:.2} % ({} of {})", self.rama_favoured_pct(), self.rama.favoured, self.rama.n),
                ),
                ("Ramachandran outliers", format!("{:.2} % ({})", self.rama_outlier_pct(), self.rama.outliers)),
                (
                    "rotamer outliers",
                    format!(
                        "{:.2} % ({} of {}; {:.2} % without Arg/Lys)",
                        self.rotamer_outlier_pct(),
                        self.rotamer.outliers,
                        self.rotamer.n,
                        self.rotamer_no_arg_lys.outlier_pct()
                    ),
                ),
                (
                    "clashscore",
                    format!("{:.2} ({} clashes, {} atoms with H)", self.clashscore, self.clashes.len(), self.n_atoms),
                ),
                ("bonds RMSZ", format!("{:.3} ({} of {} beyond 4σ)", self.bond_rmsz, self.bond_outliers, self.n_bonds)),
                (
                    "angles RMSZ",
                    format!("{:.3} ({} of {} beyond 4σ)", self.angle_rmsz, self.angle_outliers, self.n_angles),
                ),
                ("MolProbity score", num(self.molprobity_score, 2)),
            ],
        )
    }

    /// The per-residue rows as a table (only residues with an outlier or a clash when
    /// `problems_only`).
    pub fn residue_table(&self, problems_only: bool) -> Table {
        let mut t = Table::new([
            "residue",
            "phi",
            "psi",
            "Rama class",
            "Rama score",
            "Rama",
            "chis",
            "rotamer",
            "rotamer score",
            "rotamer verdict",
            "worst clash",
            "overlap (Å)",
        ]);
        for r in &self.residues {
            let bad = r.rama_verdict == Some(Verdict::Outlier)
                || r.rotamer_verdict == Some(Verdict::Outlier)
                || r.worst_clash.is_some();
            if problems_only && !bad {
                continue;
            }
            let opt = |v: Option<f64>, p: usize| v.map(|x| num(x, p)).unwrap_or_default();
            t.push_row([
                format!("{}:{} {}{}", r.chain, r.resname, r.seq, r.icode.as_deref().unwrap_or("")),
                opt(r.phi, 1),
                opt(r.psi, 1),
                r.rama_class.map(|c| c.label().to_string()).unwrap_or_default(),
                opt(r.rama_score, 4),
                verdict_cell(r.rama_verdict),
                r.chis.iter().map(|c| format!("{c:.0}")).collect::<Vec<_>>().join(" "),
                r.rotamer.clone().unwrap_or_default(),
                opt(r.rotamer_score, 4),
                verdict_cell(r.rotamer_verdict),
                r.worst_clash.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
                opt(r.worst_clash.as_ref().map(|c| c.1), 2),
            ]);
        }
        let n = t.len();
        t.caption(format!("{n} residues{}", if problems_only { " with an outlier or a clash" } else { "" }))
    }

    /// The `n` worst clashes.
    pub fn clash_table(&self, n: usize) -> Table {
        let mut t = Table::new(["atom 1", "atom 2", "overlap (Å)"]).caption(format!(
            "worst clashes ({} of {} serious overlaps >= 0.4 Å)",
            n.min(self.clashes.len()),
            self.clashes.len()
        ));
        for c in self.clashes.iter().take(n) {
            t.push_row([c.a.clone(), c.b.clone(), num(c.overlap, 2)]);
        }
        t
    }

    /// A Ramachandran plot of the general class (see [`RamaPlot`] for the others).
    pub fn rama_plot(&self, title: &str) -> RamaPlot {
        RamaPlot::new(title).report(self)
    }

    /// Summary table, Ramachandran plots of every class present, and the worst clashes.
    pub fn to_html(&self) -> Html {
        Html::join([
            Html::row([self.summary_table().to_html(), scroll(self.clash_table(20).to_html(), 320)]),
            plot_or_note("Ramachandran", RamaPlot::all_classes("model", self)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::Grid;
    use crate::loss::LossTerms;
    use crate::pipeline::LoadOptions;

    fn cc(v: f64) -> MapModelCc {
        MapModelCc { cc_mask: v, cc_volume: v - 0.01, cc_peaks: v - 0.02, cc_box: v - 0.03, n_mask: 10, d_min: 6.0 }
    }

    fn epoch(e: usize, parts: bool, rmsd: Option<Vec<f64>>) -> EpochLog {
        let names = ["rama", "rotamer", "clash", "bond", "angle"];
        EpochLog {
            epoch: e,
            terms: LossTerms {
                total: 1.0 / e as f64,
                recon: 0.5 / e as f64,
                kl: 0.01,
                backbone: 0.1,
                molprobity: if parts { 100.0 } else { 0.0 },
                molprobity_parts: names.iter().map(|n| (n.to_string(), if parts { 20.0 } else { 0.0 })).collect(),
            },
            ncc: vec![0.5, 0.6],
            coarse_b: 0.0,
            lr: 1e-3,
            seconds: e as f64,
            ca_rmsd: rmsd,
            grad_norm: 1.0,
            clipped: 0,
        }
    }

    fn view<'a>(history: &'a [EpochLog], latents: &'a [Vec<f32>], ccs: &'a [MapModelCc], truth: bool) -> VaeView<'a> {
        VaeView {
            summary: "<VaeFit 2 maps>".into(),
            names: vec!["a<1>.mrc".into(), "b.mrc".into()],
            history,
            latents,
            cc: ccs,
            reference_cc: ccs,
            b_factor: vec![20.0, 30.0],
            rmsd_reference: vec![1.0, 2.0],
            rmsd_truth: truth.then(|| vec![0.5, 0.7]),
            settings: vec![("epochs", "3".into())],
        }
    }

    #[test]
    fn vae_display_has_one_plot_per_panel_and_escapes_names() {
        let hist: Vec<EpochLog> =
            (1..=4).map(|e| epoch(e, true, if e % 2 == 0 { Some(vec![3.0 / e as f64, 2.0]) } else { None })).collect();
        let lat = vec![vec![0.0f32, 1.0, 2.0], vec![1.0, 0.0, 2.0]];
        let ccs = [cc(0.8), cc(0.7)];
        let h = vae_html(&view(&hist, &lat, &ccs, true)).into_string();
        // loss terms, MolProbity parts, NCC, C-alpha RMSD, latent PCA
        assert_eq!(h.matches("<svg").count(), 5, "{h}");
        assert!(h.contains("&lt;VaeFit 2 maps&gt;") && !h.contains("<VaeFit"));
        assert!(h.contains("a&lt;1&gt;.mrc") && !h.contains("a<1>.mrc"));
        assert!(h.contains("Cα RMSD to truth"));
        // gain column: CC_mask - reference CC_mask = 0 here
        assert!(h.contains(">0.0000</td>"));
    }

    #[test]
    fn vae_display_survives_empty_history_and_switched_off_parts() {
        let ccs = [cc(0.8), cc(0.7)];
        let h = vae_html(&view(&[], &[], &ccs, false)).into_string();
        assert_eq!(h.matches("<svg").count(), 0);
        assert!(h.contains("no training history"));
        assert!(!h.contains("Cα RMSD to truth"));
        // ablation: every MolProbity part is 0, so that plot is left out (log axis) and no error shows
        let hist: Vec<EpochLog> = (1..=3).map(|e| epoch(e, false, None)).collect();
        let h = vae_html(&view(&hist, &[], &ccs, false)).into_string();
        assert_eq!(h.matches("<svg").count(), 2, "loss terms + NCC");
        assert!(!h.contains("color:#b00"), "no error note: {h}");
    }

    #[test]
    fn flow_display_plots_loss_and_pca_and_handles_empty_losses() {
        let maps = vec![vec![0.0f32, 0.0, 0.0], vec![1.0, 1.0, 0.0], vec![2.0, 0.0, 1.0]];
        let aug = augment_latents(&maps, 2).split_off(3);
        assert_eq!(aug.len(), 4);
        let sampled = vec![vec![0.5f32, 0.5, 0.1]; 5];
        let names = vec!["m0".to_string(), "m1".into(), "m2".into()];
        let h = flow_html("<FlowFit>", &[1.0, 0.8, 0.6], &names, &maps, &aug, &sampled).into_string();
        assert_eq!(h.matches("<svg").count(), 2);
        for l in ["m0", "m1", "m2", "flow samples", "interpolated (training)"] {
            assert!(h.contains(l), "{l}");
        }
        let h = flow_html("x", &[], &names, &[], &[], &[]).into_string();
        assert_eq!(h.matches("<svg").count(), 0);
        assert!(h.contains("no flow-matching losses"));
        // two maps only: the second axis comes from the samples, no error
        let h = flow_html("x", &[1.0], &names, &maps[..2], &[], &sampled).into_string();
        assert!(!h.contains("color:#b00"), "{h}");
    }

    #[test]
    fn heat_table_shades_extremes_and_bolds_the_chosen_cells() {
        let rows = vec!["model 0".to_string(), "model 1".into()];
        let cols = vec!["<m>".to_string(), "n".into()];
        let h =
            heat_table("CC", "", &rows, &cols, &[vec![0.1, 0.9], vec![0.5, f64::NAN]], Some(&[1, 0]), 2).into_string();
        assert!(h.contains("&lt;m&gt;"));
        // lowest value white-ish (Blues at 0), highest the darkest shade used (Blues at 0.85) with white text
        assert!(h.contains("background:rgb(247,251,255);color:#000;font-weight:normal\">0.10"));
        let (r, g, b) = Colormap::Blues.rgb(0.85);
        assert!(h.contains(&format!("background:rgb({r},{g},{b});color:#fff;font-weight:bold\">0.90")));
        assert!(h.contains("font-weight:bold\">0.50"));
        assert!(h.contains(">–</td>"), "NaN shown as a dash");
        assert_eq!(h.matches("<td").count(), 4);
    }

    #[test]
    fn samples_tables_list_every_model() {
        let h = samples_tables("flow <samples>", &[1.0, 2.5, f64::NAN]).into_string();
        assert_eq!(h.matches("<tr>").count(), 4); // header + 3 models
        assert!(h.contains(">2.50</td>") && h.contains(">–</td>"));
        assert!(h.contains("flow &lt;samples&gt;"));
        assert_eq!(h.matches("<svg").count(), 1);
        assert_eq!(samples_tables("one", &[1.0]).into_string().matches("<svg").count(), 0);
    }

    #[test]
    fn isosurface_level_encloses_the_asked_volume() {
        // 10 x 10 x 10 voxels of 1 A^3 holding 0..999: 10 atoms x 18 A^3 = 180 voxels = 18 %
        let grid = Grid::new([10, 10, 10], 1.0, [0.0; 3]);
        let map = Map::new(grid, (0..1000).map(|v| v as f32).collect()).expect("map");
        let level = isosurface_level(&map, 10);
        let above = map.data.iter().filter(|v| **v as f64 >= level).count();
        assert!((179..=181).contains(&above), "{above} voxels at or above {level}");
        // clamped to 50 % for a huge model
        let l = isosurface_level(&map, 1_000_000);
        assert!((l - 500.0).abs() <= 1.0, "{l}");
    }

    #[test]
    fn ensemble_display_has_a_table_row_and_slices_per_map() -> Result<()> {
        let grid = Grid::new([6, 5, 4], 2.0, [1.0, 2.0, 3.0]);
        let maps: Vec<Map> = (0..3)
            .map(|k| {
                let data = (0..grid.len()).map(|i| ((i * (k + 3)) % 11) as f32).collect();
                Map::new(grid.clone(), data).map(|m| m.with_source(std::path::Path::new(&format!("m{k}&.mrc"))))
            })
            .collect::<Result<_>>()?;
        let ens = Ensemble::from_maps(maps, &LoadOptions::default())?;
        let h = ens.to_html().into_string();
        assert_eq!(h.matches("<svg").count(), 1, "one slices figure");
        assert_eq!(h.matches("data:image/png;base64,").count(), 9, "3 views x 3 maps");
        assert!(h.contains("m1&amp;.mrc") && !h.contains("m1&.mrc"));
        assert!(h.contains("(1.0, 2.0, 3.0)"));
        assert!(h.contains("<details"));
        Ok(())
    }

    #[test]
    fn small_tables_show_their_numbers() {
        let h = cc(0.75).to_html().into_string();
        assert!(h.contains(">0.7500</td>") && h.contains(">0.7200</td>"));
        let b = BlurEstimate {
            resolution: 6.0,
            b_extra: 80.0,
            effective_resolution: 7.9,
            cc_mask: 0.8,
            cc_mask_nominal: 0.7,
        };
        assert!(b.to_html().into_string().contains(">80.0</td>"));
        assert_eq!(moving_average(&[1.0, 2.0, 3.0, f64::NAN, 5.0], 3), vec![1.5, 2.0, 2.5, 4.0, 5.0]);
    }
}
