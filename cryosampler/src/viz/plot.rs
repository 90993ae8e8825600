//! SVG plots for notebooks (plotters' SVG backend) and PNG slices of maps.
//!
//! Each plot is a small builder that renders to an SVG string ([`LinePlot::to_svg`]) or to
//! displayable [`Html`] ([`LinePlot::to_html`]), and shows itself when it ends a notebook cell.
//! Nothing prints as a side effect.
//!
//! ```
//! use cryosampler::viz::{BarChart, Html, LinePlot, ScatterPlot};
//! let loss = LinePlot::new("training loss")
//!     .x_label("epoch")
//!     .log_y(true)
//!     .series_y("recon", &[0.9, 0.5, 0.3, 0.2])
//!     .series_y("kl", &[0.05, 0.08, 0.09, 0.1]);
//! let pca = ScatterPlot::new("latent PCA").group_labelled("states", &[(0.0, 1.0), (1.0, 0.5)], ["s0", "s1"]);
//! let cc = BarChart::new("CC_mask", ["state 0", "state 1"]).group("VAE", &[0.81, 0.78]).group("reference", &[0.70, 0.74]);
//! let html = Html::row([loss.to_html()?, pca.to_html()?, cc.to_html()?]);
//! assert_eq!(html.as_str().matches("<svg").count(), 3);
//! # Ok::<(), cryosampler::Error>(())
//! ```
//!
//! Non-finite values (and, on a log axis, values <= 0) are left out: a line is broken there.

use std::error::Error as StdError;
use std::ops::Range;

use base64::Engine;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::density::Map;
use crate::viz::html::{Html, display_or_error, escape};
use crate::{Error, Result};

type DrawResult = std::result::Result<(), Box<dyn StdError>>;

/// The colour cycle of the plots (matplotlib's "tab10").
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Render with an SVG backend into a string.
fn render_svg(
    size: (u32, u32),
    what: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        draw(&root).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        root.present().map_err(|e| Error::invalid(format!("{what}: {e}")))?;
    }
    Ok(buf)
}

/// `lo..hi` widened by `frac` of its span on each side; a zero span becomes `v +- 0.5` (or 5 %).
fn padded(lo: f64, hi: f64, frac: f64) -> Range<f64> {
    if hi > lo {
        let pad = (hi - lo) * frac;
        (lo - pad)..(hi + pad)
    } else {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        (lo - pad)..(hi + pad)
    }
}

/// Range on a log axis: a factor of 1.3 of margin, one decade when all values are equal.
fn padded_log(lo: f64, hi: f64) -> Range<f64> {
    if hi > lo { (lo / 1.3)..(hi * 1.3) } else { (lo / 3.0)..(hi * 3.0) }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A tick label: up to 5 significant digits without trailing zeros (`3`, `0.45`, `1000`), and
/// scientific notation for very small or large magnitudes (`1e-4`, `2.5e6`).
pub(crate) fn tick(v: &f64) -> String {
    let v = *v;
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        let s = format!("{v:.3e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        return format!("{m}e{e}");
    }
    let decimals = (4 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// [`tick`], with values within a billionth of the axis span of 0 shown as `0` (no `-2.2e-16`).
fn tick_near_zero(v: f64, span: f64) -> String {
    if v.abs() <= 1e-9 * span.abs() { "0".into() } else { tick(&v) }
}

/// The legend's box as fractions `(width, height)` of the plot area, estimated from its entries
/// and the whole plot's size in pixels.
fn legend_box(names: &[&str], size: (u32, u32)) -> (f64, f64) {
    let chars = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as f64;
    let area_w = (size.0 as f64 - 90.0).max(60.0);
    let area_h = (size.1 as f64 - 90.0).max(60.0);
    (((chars * 7.0 + 50.0) / area_w).min(1.0), ((names.len() as f64 * 20.0 + 20.0) / area_h).min(0.9))
}

/// Where a legend hides no data: the first corner of the plot area (upper right, upper left,
/// lower right, lower left) whose legend-sized box holds none of `points`, given as fractions
/// (0..1) of the plot area's width and height, y up. `None` when every corner holds data; the
/// caller then makes room at the top (see [`headroom`]).
pub(crate) fn legend_corner(points: &[(f64, f64)], names: &[&str], size: (u32, u32)) -> Option<SeriesLabelPosition> {
    let (fw, fh) = legend_box(names, size);
    let empty = |right: bool, top: bool| {
        !points.iter().any(|(x, y)| {
            (if right { *x >= 1.0 - fw } else { *x <= fw }) && (if top { *y >= 1.0 - fh } else { *y <= fh })
        })
    };
    [(true, true), (false, true), (true, false), (false, false)].iter().position(|&(r, t)| empty(r, t)).map(|i| match i
    {
        1 => SeriesLabelPosition::UpperLeft,
        2 => SeriesLabelPosition::LowerRight,
        3 => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::UpperRight,
    })
}

/// A y range raised at the top so that the data stay below the legend's band (height `fh` as a
/// fraction of the plot area): `lo..hi` holds the data now; the result keeps `lo` and puts `hi` at
/// `1 - fh` of the new range (on a log scale when `log`).
pub(crate) fn headroom(r: &Range<f64>, fh: f64, log: bool) -> Range<f64> {
    let k = 1.0 / (1.0 - fh - 0.03).max(0.2);
    if log {
        let (a, b) = (r.start.ln(), r.end.ln());
        r.start..(a + (b - a) * k).exp()
    } else {
        r.start..(r.start + (r.end - r.start) * k)
    }
}

/// Points of polylines as fractions of the ranges `xr`, `yr` (y logarithmic when `log_y`), with
/// each segment sampled at 8 intermediate points so that lines count, not only their vertices.
fn line_fractions(runs: &[Vec<(f64, f64)>], xr: &Range<f64>, yr: &Range<f64>, log_y: bool) -> Vec<(f64, f64)> {
    let fx = |x: f64| (x - xr.start) / (xr.end - xr.start);
    let fy = |y: f64| {
        if log_y {
            (y.ln() - yr.start.ln()) / (yr.end.ln() - yr.start.ln())
        } else {
            (y - yr.start) / (yr.end - yr.start)
        }
    };
    let mut out = Vec::new();
    for run in runs {
        let f: Vec<(f64, f64)> = run.iter().map(|p| (fx(p.0), fy(p.1))).collect();
        for (i, p) in f.iter().enumerate() {
            out.push(*p);
            if let Some(q) = f.get(i + 1) {
                out.extend((1..9).map(|k| {
                    let t = k as f64 / 9.0;
                    (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
                }));
            }
        }
    }
    out
}

/// One named series of points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// X values.
    pub x: Vec<f64>,
    /// Y values, as many as `x`.
    pub y: Vec<f64>,
}

impl Series {
    /// A series from x and y values (lengths are checked when the plot is drawn).
    pub fn new<X: Copy + Into<f64>, Y: Copy + Into<f64>>(name: impl Into<String>, x: &[X], y: &[Y]) -> Series {
        Series {
            name: name.into(),
            x: x.iter().map(|v| (*v).into()).collect(),
            y: y.iter().map(|v| (*v).into()).collect(),
        }
    }

    /// A series of y values at x = 0, 1, 2, ...
    pub fn from_y<Y: Copy + Into<f64>>(name: impl Into<String>, y: &[Y]) -> Series {
        Series {
            name: name.into(),
            x: (0..y.len()).map(|i| i as f64).collect(),
            y: y.iter().map(|v| (*v).into()).collect(),
        }
    }

    fn check(&self, plot: &str) -> Result<()> {
        if self.x.len() != self.y.len() {
            return Err(Error::invalid(format!(
                "plot '{plot}': series '{}' has {} x values but {} y values",
                self.name,
                self.x.len(),
                self.y.len()
            )));
        }
        Ok(())
    }

    /// The drawable runs of points: split at non-finite values (and at y <= 0 on a log axis).
    fn runs(&self, log_y: bool) -> Vec<Vec<(f64, f64)>> {
        let mut runs = Vec::new();
        let mut cur = Vec::new();
        for (&x, &y) in self.x.iter().zip(&self.y) {
            if x.is_finite() && y.is_finite() && (!log_y || y > 0.0) {
                cur.push((x, y));
            } else if !cur.is_empty() {
                runs.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            runs.push(cur);
        }
        runs
    }
}

/// Line plot of several named series (loss curves), optionally with a logarithmic y axis.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePlot {
    title: String,
    x_label: String,
    y_label: String,
    log_y: bool,
    markers: bool,
    size: (u32, u32),
    series: Vec<Series>,
}

impl LinePlot {
    /// An empty plot with a title; 560 x 340 px.
    pub fn new(title: impl Into<String>) -> LinePlot {
        LinePlot {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            log_y: false,
            markers: false,
            size: (560, 340),
            series: Vec::new(),
        }
    }

    /// X axis label.
    pub fn x_label(mut self, label: impl Into<String>) -> LinePlot {
        self.x_label = label.into();
        self
    }

    /// Y axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> LinePlot {
        self.y_label = label.into();
        self
    }

    /// Logarithmic y axis (values <= 0 are left out).
    pub fn log_y(mut self, on: bool) -> LinePlot {
        self.log_y = on;
        self
    }

    /// Draw a dot at every point as well as the line.
    pub fn markers(mut self, on: bool) -> LinePlot {
        self.markers = on;
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> LinePlot {
        self.size = (width.max(120), height.max(100));
        self
    }

    /// Add a series with x and y values.
    pub fn series<X: Copy + Into<f64>, Y: Copy + Into<f64>>(
        mut self,
        name: impl Into<String>,
        x: &[X],
        y: &[Y],
    ) -> LinePlot {
        self.series.push(Series::new(name, x, y));
        self
    }

    /// Add a series of y values at x = 0, 1, 2, ...
    pub fn series_y<Y: Copy + Into<f64>>(mut self, name: impl Into<String>, y: &[Y]) -> LinePlot {
        self.series.push(Series::from_y(name, y));
        self
    }

    /// Add a prepared [`Series`].
    pub fn with_series(mut self, series: Series) -> LinePlot {
        self.series.push(series);
        self
    }

    /// The plot as an SVG document.
    ///
    /// Errors when a series has mismatched x/y lengths or no series has a drawable point.
    pub fn to_svg(&self) -> Result<String> {
        for s in &self.series {
            s.check(&self.title)?;
        }
        let runs: Vec<Vec<Vec<(f64, f64)>>> = self.series.iter().map(|s| s.runs(self.log_y)).collect();
        let points = || runs.iter().flatten().flatten();
        let (Some((x0, x1)), Some((y0, y1))) = (min_max(points().map(|p| p.0)), min_max(points().map(|p| p.1))) else {
            return Err(Error::invalid(format!(
                "plot '{}': no finite{} points to draw",
                self.title,
                if self.log_y { " positive" } else { "" }
            )));
        };
        let xr = padded(x0, x1, 0.02);
        let mut yr_lin = padded(y0, y1, 0.05);
        let mut yr_log = padded_log(y0, y1);
        let all_runs: Vec<Vec<(f64, f64)>> = runs.iter().flatten().cloned().collect();
        let names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).filter(|n| !n.is_empty()).collect();
        let frac = line_fractions(&all_runs, &xr, if self.log_y { &yr_log } else { &yr_lin }, self.log_y);
        let corner = legend_corner(&frac, &names, self.size).unwrap_or_else(|| {
            let fh = legend_box(&names, self.size).1;
            yr_lin = headroom(&yr_lin, fh, false);
            yr_log = headroom(&yr_log, fh, true);
            SeriesLabelPosition::UpperRight
        });
        // whole numbers along x (model or epoch indices) get whole-number ticks only
        let int_x = self.series.iter().flat_map(|s| s.x.iter()).all(|x| !x.is_finite() || x.fract() == 0.0);
        let x_tick = |v: &f64| {
            if !int_x {
                tick(v)
            } else if (v - v.round()).abs() < 1e-9 {
                tick(&v.round())
            } else {
                String::new()
            }
        };
        // at most one label per whole number on short integer axes (3 models: 0, 1, 2)
        let x_labels = if int_x { ((x1 - x0).round() as usize + 1).clamp(2, 10) } else { 10 };
        let what = format!("plot '{}'", self.title);
        macro_rules! draw_body {
            ($root:expr, $yr:expr) => {{
                let mut chart = ChartBuilder::on($root)
                    .caption(&self.title, ("sans-serif", 18))
                    .margin(10)
                    .x_label_area_size(40)
                    .y_label_area_size(64)
                    .build_cartesian_2d(xr.clone(), $yr)?;
                chart
                    .configure_mesh()
                    .x_desc(self.x_label.as_str())
                    .y_desc(self.y_label.as_str())
                    .x_label_formatter(&x_tick)
                    .y_label_formatter(&tick)
                    .x_labels(x_labels)
                    .bold_line_style(RGBColor(225, 225, 225))
                    .light_line_style(WHITE)
                    .draw()?;
                for (i, (s, runs)) in self.series.iter().zip(&runs).enumerate() {
                    let c = colour(i);
                    let style = c.stroke_width(2);
                    let mut first = true;
                    for run in runs {
                        let drawn = chart.draw_series(LineSeries::new(run.iter().copied(), style))?;
                        if first {
                            drawn
                                .label(s.name.as_str())
                                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                            first = false;
                        }
                        if self.markers {
                            chart.draw_series(run.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
                        }
                    }
                }
                if self.series.iter().any(|s| !s.name.is_empty()) {
                    chart
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(RGBColor(160, 160, 160))
                        .position(corner.clone())
                        .draw()?;
                }
                Ok(())
            }};
        }
        render_svg(self.size, &what, |root| {
            if self.log_y { draw_body!(root, yr_log.clone().log_scale()) } else { draw_body!(root, yr_lin.clone()) }
        })
    }

    /// The plot as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// Show in a notebook cell (an error message in place of the plot when it cannot be drawn).
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html())
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Group {
    name: String,
    points: Vec<(f64, f64)>,
    labels: Vec<String>,
}

/// Scatter plot of named groups of points, with optional text labels (latent PCA).
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterPlot {
    title: String,
    x_label: String,
    y_label: String,
    connect: bool,
    size: (u32, u32),
    groups: Vec<Group>,
}

impl ScatterPlot {
    /// An empty scatter plot; 480 x 400 px.
    pub fn new(title: impl Into<String>) -> ScatterPlot {
        ScatterPlot {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            connect: false,
            size: (480, 400),
            groups: Vec::new(),
        }
    }

    /// X axis label.
    pub fn x_label(mut self, label: impl Into<String>) -> ScatterPlot {
        self.x_label = label.into();
        self
    }

    /// Y axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> ScatterPlot {
        self.y_label = label.into();
        self
    }

    /// Join the points of each group by a thin line in order (a path through latent space).
    pub fn connect(mut self, on: bool) -> ScatterPlot {
        self.connect = on;
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> ScatterPlot {
        self.size = (width.max(120), height.max(100));
        self
    }

    /// Add a group of points.
    pub fn group(mut self, name: impl Into<String>, points: &[(f64, f64)]) -> ScatterPlot {
        self.groups.push(Group { name: name.into(), points: points.to_vec(), labels: Vec::new() });
        self
    }

    /// Add a group of points, each with a text label (missing labels are left blank).
    pub fn group_labelled<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        points: &[(f64, f64)],
        labels: impl IntoIterator<Item = S>,
    ) -> ScatterPlot {
        let labels = labels.into_iter().map(Into::into).collect();
        self.groups.push(Group { name: name.into(), points: points.to_vec(), labels });
        self
    }

    /// The plot as an SVG document (errors when there is no finite point).
    pub fn to_svg(&self) -> Result<String> {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let all = || self.groups.iter().flat_map(|g| g.points.iter().filter(finite));
        let (Some((x0, x1)), Some((y0, y1))) = (min_max(all().map(|p| p.0)), min_max(all().map(|p| p.1))) else {
            return Err(Error::invalid(format!("scatter plot '{}': no finite points to draw", self.title)));
        };
        let (xr, yr) = (padded(x0, x1, 0.08), padded(y0, y1, 0.08));
        let runs: Vec<Vec<(f64, f64)>> = self
            .groups
            .iter()
            .map(|g| g.points.iter().filter(finite).copied().collect::<Vec<_>>())
            .flat_map(|pts| if self.connect { vec![pts] } else { pts.into_iter().map(|p| vec![p]).collect() })
            .collect();
        let names: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).filter(|n| !n.is_empty()).collect();
        let mut yr = yr;
        let corner = legend_corner(&line_fractions(&runs, &xr, &yr, false), &names, self.size).unwrap_or_else(|| {
            yr = headroom(&yr, legend_box(&names, self.size).1, false);
            SeriesLabelPosition::UpperRight
        });
        let (xs, ys) = (xr.end - xr.start, yr.end - yr.start);
        let (x_tick, y_tick) = (move |v: &f64| tick_near_zero(*v, xs), move |v: &f64| tick_near_zero(*v, ys));
        let x_mid = 0.5 * (xr.start + xr.end);
        render_svg(self.size, &format!("scatter plot '{}'", self.title), |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(&self.title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(xr, yr)?;
            chart
                .configure_mesh()
                .x_desc(self.x_label.as_str())
                .y_desc(self.y_label.as_str())
                .x_label_formatter(&x_tick)
                .y_label_formatter(&y_tick)
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(WHITE)
                .draw()?;
            // legend entries in group order; points drawn last group first, so that the first group
            // (e.g. the maps among many samples) stays on top; labelled points get a dark ring
            for (i, g) in self.groups.iter().enumerate() {
                let c = colour(i);
                if !g.name.is_empty() {
                    chart
                        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                        .label(g.name.as_str())
                        .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
                }
            }
            for (i, g) in self.groups.iter().enumerate().rev() {
                let c = colour(i);
                let pts: Vec<(f64, f64)> = g.points.iter().filter(finite).copied().collect();
                if self.connect && pts.len() > 1 {
                    chart.draw_series(LineSeries::new(pts.iter().copied(), c.mix(0.5).stroke_width(1)))?;
                }
                let ringed = g.labels.iter().any(|l| !l.is_empty());
                if ringed {
                    chart.draw_series(pts.iter().map(|p| Circle::new(*p, 6, RGBColor(40, 40, 40).filled())))?;
                }
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, if ringed { 5 } else { 4 }, c.filled())))?;
            }
            // labels to the right of points in the left half, to the left in the right half (inside the plot)
            let font = ("sans-serif", 12).into_font().color(&RGBColor(40, 40, 40));
            let left_font = font.clone().pos(Pos::new(HPos::Right, VPos::Top));
            for g in &self.groups {
                let labelled = g.points.iter().zip(&g.labels).filter(|(p, l)| finite(p) && !l.is_empty());
                chart.draw_series(labelled.map(|(p, l)| {
                    if p.0 > x_mid {
                        EmptyElement::at(*p) + Text::new(l.clone(), (-8, -16), left_font.clone())
                    } else {
                        EmptyElement::at(*p) + Text::new(l.clone(), (8, -16), font.clone())
                    }
                }))?;
            }
            if self.groups.iter().any(|g| !g.name.is_empty()) {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(160, 160, 160))
                    .position(corner.clone())
                    .draw()?;
            }
            Ok(())
        })
    }

    /// The plot as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html())
    }
}

/// Bar chart over named categories; several groups give grouped bars side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    title: String,
    y_label: String,
    categories: Vec<String>,
    groups: Vec<(String, Vec<f64>)>,
    size: (u32, u32),
}

impl BarChart {
    /// A chart with these categories along x; 520 x 340 px.
    pub fn new<S: Into<String>>(title: impl Into<String>, categories: impl IntoIterator<Item = S>) -> BarChart {
        BarChart {
            title: title.into(),
            y_label: String::new(),
            categories: categories.into_iter().map(Into::into).collect(),
            groups: Vec::new(),
            size: (520, 340),
        }
    }

    /// Y axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> BarChart {
        self.y_label = label.into();
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> BarChart {
        self.size = (width.max(120), height.max(100));
        self
    }

    /// Add a group: one value per category.
    pub fn group<V: Copy + Into<f64>>(mut self, name: impl Into<String>, values: &[V]) -> BarChart {
        self.groups.push((name.into(), values.iter().map(|v| (*v).into()).collect()));
        self
    }

    /// The chart as an SVG document.
    ///
    /// Errors when a group does not have one value per category or nothing is finite.
    pub fn to_svg(&self) -> Result<String> {
        let n = self.categories.len();
        for (name, v) in &self.groups {
            if v.len() != n {
                return Err(Error::invalid(format!(
                    "bar chart '{}': group '{name}' has {} values for {n} categories",
                    self.title,
                    v.len()
                )));
            }
        }
        let values = || self.groups.iter().flat_map(|g| g.1.iter().copied()).filter(|v| v.is_finite());
        let Some((lo, hi)) = min_max(values()) else {
            return Err(Error::invalid(format!("bar chart '{}': no finite values to draw", self.title)));
        };
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let yr = if hi > lo { (lo - 0.02 * (hi - lo)).min(lo)..(hi + 0.08 * (hi - lo)) } else { -0.5..0.5 };
        let xr = -0.5..(n as f64 - 0.5);
        let ng = self.groups.len().max(1) as f64;
        let width = 0.8 / ng;
        // each bar as three vertical lines (its edges and centre) for the legend placement
        let bars: Vec<Vec<(f64, f64)>> = self
            .groups
            .iter()
            .enumerate()
            .flat_map(|(gi, (_, vals))| {
                vals.iter().enumerate().filter(|(_, v)| v.is_finite()).flat_map(move |(ci, v)| {
                    let x0 = ci as f64 - 0.4 + gi as f64 * width;
                    [x0, x0 + 0.5 * width, x0 + 0.95 * width].map(|x| vec![(x, 0.0), (x, *v)])
                })
            })
            .collect();
        let names: Vec<&str> = self.groups.iter().map(|g| g.0.as_str()).filter(|n| !n.is_empty()).collect();
        let mut yr = yr;
        let corner = legend_corner(&line_fractions(&bars, &xr, &yr, false), &names, self.size).unwrap_or_else(|| {
            yr = headroom(&yr, legend_box(&names, self.size).1, false);
            SeriesLabelPosition::UpperRight
        });
        render_svg(self.size, &format!("bar chart '{}'", self.title), |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(&self.title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(xr, yr.clone())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(self.y_label.as_str())
                .y_label_formatter(&tick)
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(WHITE)
                .draw()?;
            // category names under the axis, centred on each group of bars
            let font = ("sans-serif", 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
            for (i, cat) in self.categories.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(i as f64, yr.start));
                root.draw(&Text::new(cat.clone(), (px, py + 6), font.clone()))?;
            }
            for (gi, (name, vals)) in self.groups.iter().enumerate() {
                let c = colour(gi);
                let bars = vals.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(ci, v)| {
                    let x0 = ci as f64 - 0.4 + gi as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.95, *v)], c.filled())
                });
                let drawn = chart.draw_series(bars)?;
                if !name.is_empty() {
                    drawn
                        .label(name.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
                }
            }
            if self.groups.iter().any(|g| !g.0.is_empty()) {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(160, 160, 160))
                    .position(corner.clone())
                    .draw()?;
            }
            Ok(())
        })
    }

    /// The chart as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html())
    }
}

/// Grey-scale 8-bit PNG of `width x height` pixels (row 0 at the top).
pub fn png_gray(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    if pixels.len() != width * height || width == 0 || height == 0 {
        return Err(Error::invalid(format!("png: {} pixels for a {width}x{height} image", pixels.len())));
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| Error::invalid(format!("png: {e}")))?;
        w.write_image_data(pixels).map_err(|e| Error::invalid(format!("png: {e}")))?;
        w.finish().map_err(|e| Error::invalid(format!("png: {e}")))?;
    }
    Ok(out)
}

/// A 2D panel of a map: values row-major with row 0 at the top, and its physical size (A).
struct Panel {
    title: String,
    width: usize,
    height: usize,
    values: Vec<f32>,
    extent: (f64, f64),
}

/// Which 2D views of a map [`MapSlices`] draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceKind {
    /// The central XY, XZ and YZ sections.
    Central,
    /// Sums along z, y and x (projections, like a 2D class average of the map).
    Projection,
}

/// Orthogonal central slices (or projections) of maps, as PNG images inside one SVG.
///
/// One row per map with the XY (looking down z), XZ and YZ views; the second axis of each view
/// points up. Grey levels run from the 0.5th to the 99.95th percentile of each map (slices) or of
/// each panel (projections), so a few hot voxels do not wash the picture out.
#[derive(Clone, Debug, PartialEq)]
pub struct MapSlices {
    maps: Vec<(String, Map)>,
    kind: SliceKind,
    panel_px: u32,
}

impl Default for MapSlices {
    fn default() -> Self {
        MapSlices::new()
    }
}

impl MapSlices {
    /// No maps yet; central slices, 180 px panels.
    pub fn new() -> MapSlices {
        MapSlices { maps: Vec::new(), kind: SliceKind::Central, panel_px: 180 }
    }

    /// Add a map (one row), labelled.
    pub fn map(mut self, label: impl Into<String>, map: &Map) -> MapSlices {
        self.maps.push((label.into(), map.clone()));
        self
    }

    /// Central slices or projections.
    pub fn kind(mut self, kind: SliceKind) -> MapSlices {
        self.kind = kind;
        self
    }

    /// The longest side of a panel, in pixels.
    pub fn panel_size(mut self, px: u32) -> MapSlices {
        self.panel_px = px.clamp(32, 1024);
        self
    }

    fn panels(&self, map: &Map) -> Vec<Panel> {
        let g = &map.grid;
        let [nz, ny, nx] = g.shape;
        let [vx, vy, vz] = g.voxel;
        let at = |x: usize, y: usize, z: usize| map.data[g.index(x, y, z)];
        let (cx, cy, cz) = (nx / 2, ny / 2, nz / 2);
        let proj = self.kind == SliceKind::Projection;
        // each view: (title, width axis n, height axis n, value at (col, row-from-bottom))
        let xy: Vec<f32> = (0..ny)
            .rev()
            .flat_map(|y| (0..nx).map(move |x| if proj { (0..nz).map(|z| at(x, y, z)).sum() } else { at(x, y, cz) }))
            .collect();
        let xz: Vec<f32> = (0..nz)
            .rev()
            .flat_map(|z| (0..nx).map(move |x| if proj { (0..ny).map(|y| at(x, y, z)).sum() } else { at(x, cy, z) }))
            .collect();
        let yz: Vec<f32> = (0..nz)
            .rev()
            .flat_map(|z| (0..ny).map(move |y| if proj { (0..nx).map(|x| at(x, y, z)).sum() } else { at(cx, y, z) }))
            .collect();
        let pos = g.position(cx, cy, cz);
        let (t_xy, t_xz, t_yz) = if proj {
            ("XY (sum over z)".to_string(), "XZ (sum over y)".to_string(), "YZ (sum over x)".to_string())
        } else {
            (
                format!("XY at z = {:.1} Å", pos[2]),
                format!("XZ at y = {:.1} Å", pos[1]),
                format!("YZ at x = {:.1} Å", pos[0]),
            )
        };
        vec![
            Panel { title: t_xy, width: nx, height: ny, values: xy, extent: (nx as f64 * vx, ny as f64 * vy) },
            Panel { title: t_xz, width: nx, height: nz, values: xz, extent: (nx as f64 * vx, nz as f64 * vz) },
            Panel { title: t_yz, width: ny, height: nz, values: yz, extent: (ny as f64 * vy, nz as f64 * vz) },
        ]
    }

    /// All rows as one SVG document with embedded PNGs.
    pub fn to_svg(&self) -> Result<String> {
        if self.maps.is_empty() {
            return Err(Error::invalid("map slices: no maps added"));
        }
        let px = self.panel_px as f64;
        let (label_h, title_h, gap) = (22.0, 18.0, 10.0);
        let mut rows = Vec::new();
        let mut total_w: f64 = 0.0;
        let mut y = 0.0;
        for (label, map) in &self.maps {
            if map.data.len() != map.grid.len() || map.grid.is_empty() {
                return Err(Error::invalid(format!("map slices '{label}': map has no voxels or a wrong voxel count")));
            }
            let panels = self.panels(map);
            let range = match self.kind {
                SliceKind::Central => Some(percentile_range(&map.data)),
                SliceKind::Projection => None,
            };
            let mut x = 0.0;
            let mut row = format!(
                "<text x=\"0\" y=\"{:.1}\" font-family=\"sans-serif\" font-size=\"14\" font-weight=\"bold\">{}</text>",
                y + 15.0,
                escape(label)
            );
            let mut row_h: f64 = 0.0;
            for p in panels {
                let (lo, hi) = range.unwrap_or_else(|| percentile_range(&p.values));
                let pix: Vec<u8> = p.values.iter().map(|v| grey(*v, lo, hi)).collect();
                let png = png_gray(p.width, p.height, &pix)?;
                let scale = px / p.extent.0.max(p.extent.1);
                let (w, h) = (p.extent.0 * scale, p.extent.1 * scale);
                let top = y + label_h + title_h;
                row.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-family=\"sans-serif\" font-size=\"12\">{}</text>\
                     <image x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" preserveAspectRatio=\"none\" \
                     style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>",
                    x,
                    top - 5.0,
                    escape(&p.title),
                    base64::engine::general_purpose::STANDARD.encode(&png)
                ));
                x += w + gap;
                row_h = row_h.max(h);
            }
            total_w = total_w.max(x - gap);
            y += label_h + title_h + row_h + gap;
            rows.push(row);
        }
        Ok(format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cryosampler-map-slices\" width=\"{:.0}\" height=\"{:.0}\" \
             viewBox=\"0 0 {:.0} {:.0}\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>{}</svg>",
            total_w.ceil(),
            y.ceil(),
            total_w.ceil(),
            y.ceil(),
            rows.concat()
        ))
    }

    /// The slices as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html())
    }
}

/// The 0.5th and 99.95th percentiles of the finite values (on a sample of at most 1M values).
fn percentile_range(values: &[f32]) -> (f32, f32) {
    let step = (values.len() / 1_000_000).max(1);
    let mut v: Vec<f32> = values.iter().step_by(step).copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f32::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.005), at(0.9995))
}

/// Grey level of `v` on a linear ramp from `lo` (black) to `hi` (white), clamped.
fn grey(v: f32, lo: f32, hi: f32) -> u8 {
    if !v.is_finite() {
        return 0;
    }
    if hi <= lo {
        return if v > lo { 255 } else { 0 };
    }
    (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::Grid;

    /// The trimmed contents of every `<text>` element.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>'))
            .map(|(_, rest)| rest.split("</text>").next().unwrap_or("").trim().to_string())
            .collect()
    }

    #[test]
    fn runs_break_at_nan_and_at_non_positive_values_on_log_axes() {
        let s = Series::from_y("loss", &[1.0, f64::NAN, 3.0, 4.0, 0.0, 6.0]);
        assert_eq!(s.runs(false), vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0), (4.0, 0.0), (5.0, 6.0)]]);
        assert_eq!(s.runs(true), vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0)], vec![(5.0, 6.0)]]);
    }

    #[test]
    fn line_plot_draws_one_polyline_per_run_and_a_legend() -> Result<()> {
        let svg = LinePlot::new("loss <total>")
            .log_y(true)
            .series_y("recon", &[1.0, 0.5, 0.25])
            .series("kl", &[0.0, 2.0], &[0.01, 0.02])
            .to_svg()?;
        assert!(svg.starts_with("<svg"));
        // two series, one unbroken run each, plus the two legend samples (axes are 1 px wide)
        assert_eq!(svg.matches("stroke-width=\"2\"").count(), 4);
        let t = texts(&svg);
        assert!(t.iter().any(|x| x == "recon") && t.iter().any(|x| x == "kl"));
        assert!(t.iter().any(|x| x == "loss &lt;total&gt;"), "title must be escaped");
        Ok(())
    }

    #[test]
    fn integer_x_axes_label_whole_numbers_only() -> Result<()> {
        let svg = LinePlot::new("rmsd").series_y("models", &[100.0, 250.0, 430.0]).to_svg()?; // y labels never 0..2
        let t = texts(&svg);
        for label in ["0", "1", "2"] {
            assert!(t.iter().any(|x| x == label), "{label} in {t:?}");
        }
        assert!(!t.iter().any(|x| x == "0.5" || x == "1.5"), "{t:?}");
        Ok(())
    }

    #[test]
    fn line_plot_errors_name_the_series() {
        let bad = LinePlot::new("p").series("a", &[1.0, 2.0], &[1.0]).to_svg();
        assert!(bad.is_err_and(|e| e.to_string().contains("series 'a' has 2 x values but 1 y values")));
        let empty = LinePlot::new("p").log_y(true).series_y("a", &[0.0, -1.0]).to_svg();
        assert!(empty.is_err_and(|e| e.to_string().contains("no finite positive points")));
    }

    #[test]
    fn grouped_bars_draw_one_rectangle_per_finite_value() -> Result<()> {
        let svg = BarChart::new("CC", ["a", "b", "c"])
            .group("x", &[0.5, 0.7, f64::NAN])
            .group("y", &[0.1, 0.2, 0.3])
            .to_svg()?;
        // 5 finite bars + 2 legend boxes (+ the legend frame and background)
        let rects = svg.matches("<rect").count();
        assert!((7..=10).contains(&rects), "{rects} rects");
        let t = texts(&svg);
        for c in ["a", "b", "c"] {
            assert!(t.iter().any(|x| x == c), "category label {c}");
        }
        assert!(BarChart::new("CC", ["a"]).group("x", &[1.0, 2.0]).to_svg().is_err());
        Ok(())
    }

    #[test]
    fn scatter_labels_every_labelled_point() -> Result<()> {
        let svg =
            ScatterPlot::new("pca").group_labelled("s", &[(0.0, 0.0), (1.0, 1.0)], ["first", "second"]).to_svg()?;
        let t = texts(&svg);
        assert!(t.iter().any(|x| x == "first") && t.iter().any(|x| x == "second"));
        // two ringed points (ring + dot each) + legend marker
        assert_eq!(svg.matches("<circle").count(), 5);
        Ok(())
    }

    #[test]
    fn tick_labels_drop_trailing_zeros() {
        let t = |v: f64| tick(&v);
        assert_eq!(
            (t(0.0), t(3.0), t(1000.0), t(0.45), t(-2.5)),
            ("0".into(), "3".into(), "1000".into(), "0.45".into(), "-2.5".into())
        );
        assert_eq!(
            (t(0.1 + 0.2), t(0.00125), t(1e-4), t(2.5e6)),
            ("0.3".into(), "0.00125".into(), "1e-4".into(), "2.5e6".into())
        );
    }

    #[test]
    fn legend_goes_to_an_empty_corner_or_gets_headroom() {
        let names = ["closed map", "open map"];
        let pos = |p: &[(f64, f64)]| legend_corner(p, &names, (520, 340));
        // a curve along the top (a CC that rises and stays high): the legend goes to a lower corner
        let top: Vec<(f64, f64)> =
            (0..=20).map(|i| (i as f64 / 20.0, 0.7 + 0.3 * (i as f64 / 20.0).min(0.3) / 0.3)).collect();
        assert!(matches!(pos(&top), Some(SeriesLabelPosition::LowerRight)));
        // a falling loss curve leaves the upper right free (the default); a rising one the upper left
        let falling: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 / 20.0, 1.0 - i as f64 / 20.0)).collect();
        assert!(matches!(pos(&falling), Some(SeriesLabelPosition::UpperRight)));
        let rising: Vec<(f64, f64)> = falling.iter().map(|p| (p.0, 1.0 - p.1)).collect();
        assert!(matches!(pos(&rising), Some(SeriesLabelPosition::UpperLeft)));
        // data in every corner: no place, and the raised range puts the old top below the legend band
        let corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)];
        assert!(pos(&corners).is_none());
        let fh = legend_box(&names, (520, 340)).1;
        let r = headroom(&(0.0..1.0), fh, false);
        assert!((1.0 - 0.0) / (r.end - r.start) < 1.0 - fh);
        let r = headroom(&(1e-3..1.0), fh, true);
        assert!((1.0f64.ln() - 1e-3f64.ln()) / (r.end.ln() - r.start.ln()) < 1.0 - fh && r.start == 1e-3);
        // densified lines count between their vertices
        let frac = line_fractions(&[vec![(0.0, 0.0), (1.0, 1.0)]], &(0.0..1.0), &(0.0..1.0), false);
        assert_eq!(frac.len(), 10);
        assert!((frac[4].0 - 4.0 / 9.0).abs() < 1e-12);
        assert_eq!(tick_near_zero(-2.22e-16, 2.0), "0");
        assert_eq!(tick_near_zero(0.5, 2.0), "0.5");
    }

    #[test]
    fn bar_chart_legend_never_covers_bars() -> Result<()> {
        // bars fill every corner: the y axis is raised and the legend sits above the tallest bar
        let svg = BarChart::new("CC", ["a", "b", "c", "d"])
            .group("x", &[0.9, 0.2, 0.2, 0.9])
            .group("y", &[0.9, 0.2, 0.2, 0.9])
            .to_svg()?;
        let t = texts(&svg);
        assert!(t.iter().any(|x| x == "1.2" || x == "1.1" || x == "1.3"), "raised axis: {t:?}");
        Ok(())
    }

    #[test]
    fn grey_ramp_and_percentiles() {
        assert_eq!(grey(0.0, 0.0, 1.0), 0);
        assert_eq!(grey(1.0, 0.0, 1.0), 255);
        assert_eq!(grey(0.5, 0.0, 1.0), 128);
        assert_eq!(grey(7.0, 0.0, 1.0), 255);
        let v: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        assert_eq!(percentile_range(&v), (5.0, 1000.0)); // 0.5 % of 1000 = index 5; 99.95 % rounds to 1000
    }

    #[test]
    fn png_has_signature_and_size() -> Result<()> {
        let png = png_gray(3, 2, &[0, 50, 100, 150, 200, 250])?;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height big-endian at bytes 16..24
        assert_eq!(&png[16..24], &[0, 0, 0, 3, 0, 0, 0, 2]);
        assert!(png_gray(3, 3, &[0; 6]).is_err());
        Ok(())
    }

    #[test]
    fn slices_put_the_right_voxels_in_each_view() -> Result<()> {
        // 4 x 3 x 2 (x, y, z) map whose only bright voxel is at x = 3, y = 2, z = 1 (the centre slices
        // are x = 2, y = 1, z = 1): it shows in XY (top-right pixel) and in none of XZ / YZ.
        let grid = Grid::new([2, 3, 4], 1.0, [0.0; 3]);
        let mut map = Map::zeros(grid.clone());
        map.data[grid.index(3, 2, 1)] = 10.0;
        let ms = MapSlices::new().map("m", &map);
        let panels = ms.panels(&map);
        assert_eq!((panels[0].width, panels[0].height), (4, 3));
        assert_eq!(panels[0].values.iter().position(|v| *v == 10.0), Some(3)); // row 0 = y 2, col 3
        assert!(panels[1].values.iter().all(|v| *v == 0.0));
        assert!(panels[2].values.iter().all(|v| *v == 0.0));
        let proj = MapSlices::new().kind(SliceKind::Projection);
        let p = proj.panels(&map);
        // XZ sums over y: the voxel lands at col 3, row 0 (z = 1 is the top of 2 rows)
        assert_eq!(p[1].values.iter().position(|v| *v == 10.0), Some(3));
        // YZ sums over x: col = y = 2, row 0
        assert_eq!(p[2].values.iter().position(|v| *v == 10.0), Some(2));
        let svg = ms.to_svg()?;
        assert_eq!(svg.matches("data:image/png;base64,").count(), 3);
        Ok(())
    }
}
