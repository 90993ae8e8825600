//! Heat maps of a function on a 2-D lattice (a loss landscape over phi / psi, a density of
//! samples), with optional points drawn on top, as SVG with the raster embedded as a PNG.
//!
//! ```
//! use cryosampler::viz::{Colormap, HeatMap};
//! // f(x, y) = x^2 + y^2 on [-1, 1]^2, 40 x 30 cells, with two marked points
//! let (nx, ny) = (40, 30);
//! let values: Vec<f64> = (0..ny)
//!     .flat_map(|j| (0..nx).map(move |i| {
//!         let (x, y) = (-1.0 + 2.0 * (i as f64 + 0.5) / nx as f64, -1.0 + 2.0 * (j as f64 + 0.5) / ny as f64);
//!         x * x + y * y
//!     }))
//!     .collect();
//! let plot = HeatMap::new("x² + y²", nx, ny, values)
//!     .x_range(-1.0, 1.0)
//!     .y_range(-1.0, 1.0)
//!     .colormap(Colormap::Viridis)
//!     .points("minimum", &[(0.0, 0.0)]);
//! assert!(plot.to_svg()?.contains("data:image/png;base64,"));
//! # Ok::<(), cryosampler::Error>(())
//! ```
//!
//! The raster is laid exactly over the data range of the chart (plotters draws the axes, the
//! points and the legend; the PNG goes in right after the white background, so it sits below
//! them). Row 0 of `values` is the lowest y.

use std::error::Error as StdError;

use base64::Engine;
use plotters::prelude::*;

use crate::viz::html::{Html, display_or_error};
use crate::{Error, Result};

type DrawResult = std::result::Result<(), Box<dyn StdError>>;

/// Colour scales for [`HeatMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    /// matplotlib's viridis (dark blue -> green -> yellow), perceptually uniform.
    Viridis,
    /// White -> dark blue (densities, probabilities).
    Blues,
    /// Blue -> white -> red, centred on the middle of the range (signed values).
    Diverging,
}

impl Colormap {
    fn stops(self) -> &'static [(u8, u8, u8)] {
        match self {
            Colormap::Viridis => &[
                (68, 1, 84),
                (72, 40, 120),
                (62, 74, 137),
                (49, 104, 142),
                (38, 130, 142),
                (31, 158, 137),
                (53, 183, 121),
                (109, 205, 89),
                (180, 222, 44),
                (253, 231, 37),
            ],
            Colormap::Blues => &[(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)],
            Colormap::Diverging => &[(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)],
        }
    }

    /// The colour of `t` in [0, 1] (clamped; NaN is light grey).
    pub fn rgb(self, t: f64) -> (u8, u8, u8) {
        if t.is_nan() {
            return (220, 220, 220);
        }
        let s = self.stops();
        let x = t.clamp(0.0, 1.0) * (s.len() - 1) as f64;
        let i = (x.floor() as usize).min(s.len() - 2);
        let f = x - i as f64;
        let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
        (mix(s[i].0, s[i + 1].0), mix(s[i].1, s[i + 1].1), mix(s[i].2, s[i + 1].2))
    }
}

/// RGB 8-bit PNG of `width x height` pixels (row 0 at the top), `pixels` = 3 bytes per pixel.
pub fn png_rgb(width: usize, height: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    if pixels.len() != 3 * width * height || width == 0 || height == 0 {
        return Err(Error::invalid(format!("png: {} bytes for a {width}x{height} RGB image", pixels.len())));
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| Error::invalid(format!("png: {e}")))?;
        w.write_image_data(pixels).map_err(|e| Error::invalid(format!("png: {e}")))?;
        w.finish().map_err(|e| Error::invalid(format!("png: {e}")))?;
    }
    Ok(out)
}

/// The colour of series `i` (matplotlib's tab10, as in the other plots).
pub(crate) fn series_colour(i: usize) -> RGBColor {
    let (r, g, b) = crate::viz::plot::PALETTE[i % crate::viz::plot::PALETTE.len()];
    RGBColor(r, g, b)
}

/// A raster (PNG bytes, drawn over `x_range x y_range`) under a chart whose axes, points and
/// legend `draw` adds. Returns the SVG document.
pub(crate) struct RasterChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub size: (u32, u32),
    /// Tick spacing on both axes (None: plotters' choice).
    pub ticks: Option<(usize, usize)>,
    /// Right margin (px) kept free, e.g. for a colour bar.
    pub right_margin: u32,
}

type Chart<'b> = ChartContext<
    'b,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

impl RasterChart<'_> {
    pub(crate) fn render(
        &self,
        png: &[u8],
        draw: impl FnOnce(&mut Chart<'_>, &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult,
    ) -> Result<String> {
        let what = format!("plot '{}'", self.title);
        let err = |e: Box<dyn StdError>| Error::invalid(format!("{what}: {e}"));
        let mut buf = String::new();
        let mut corners = ((0, 0), (0, 0));
        {
            let root = SVGBackend::with_string(&mut buf, self.size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
            let run = || -> DrawResult {
                let (x0, x1) = self.x_range;
                let (y0, y1) = self.y_range;
                let mut chart = ChartBuilder::on(&root)
                    .caption(self.title, ("sans-serif", 18))
                    .margin(10)
                    .margin_right(10 + self.right_margin)
                    .x_label_area_size(40)
                    .y_label_area_size(56)
                    .build_cartesian_2d(x0..x1, y0..y1)?;
                let mut mesh = chart.configure_mesh();
                mesh.x_desc(self.x_label)
                    .y_desc(self.y_label)
                    .x_label_formatter(&crate::viz::plot::tick)
                    .y_label_formatter(&crate::viz::plot::tick)
                    .bold_line_style(RGBColor(200, 200, 200).mix(0.5))
                    .light_line_style(TRANSPARENT);
                if let Some((nx, ny)) = self.ticks {
                    mesh.x_labels(nx).y_labels(ny);
                }
                mesh.draw()?;
                corners = (chart.backend_coord(&(x0, y1)), chart.backend_coord(&(x1, y0)));
                draw(&mut chart, &root)?;
                root.present()?;
                Ok(())
            };
            run().map_err(err)?;
        }
        let ((left, top), (right, bottom)) = corners;
        let image = format!(
            "<image x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
             style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>",
            (right - left).max(1),
            (bottom - top).max(1),
            base64::engine::general_purpose::STANDARD.encode(png)
        );
        // after the white background: the first element plotters writes
        let at = buf.find("<rect").and_then(|i| buf[i..].find("/>").map(|j| i + j + 2));
        match at {
            Some(i) => buf.insert_str(i, &image),
            None => return Err(Error::invalid(format!("{what}: unexpected SVG from plotters"))),
        }
        Ok(buf)
    }
}

/// A heat map of values on a regular lattice, with optional point groups on top and a colour bar.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    title: String,
    x_label: String,
    y_label: String,
    nx: usize,
    ny: usize,
    values: Vec<f64>,
    x_range: (f64, f64),
    y_range: (f64, f64),
    value_range: Option<(f64, f64)>,
    colormap: Colormap,
    log: bool,
    points: Vec<(String, Vec<(f64, f64)>)>,
    size: (u32, u32),
}

impl HeatMap {
    /// `values` holds `ny` rows of `nx` cells, row 0 at the lowest y; x and y run over
    /// `[0, nx] x [0, ny]` until [`HeatMap::x_range`] / [`HeatMap::y_range`] say otherwise.
    /// 520 x 440 px, viridis.
    pub fn new(title: impl Into<String>, nx: usize, ny: usize, values: Vec<f64>) -> HeatMap {
        HeatMap {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            nx,
            ny,
            values,
            x_range: (0.0, nx as f64),
            y_range: (0.0, ny as f64),
            value_range: None,
            colormap: Colormap::Viridis,
            log: false,
            points: Vec::new(),
            size: (520, 440),
        }
    }

    /// Sample `f(x, y)` at the centres of an `nx x ny` lattice over the given ranges.
    pub fn from_fn(
        title: impl Into<String>,
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
        (nx, ny): (usize, usize),
        f: impl Fn(f64, f64) -> f64,
    ) -> HeatMap {
        let (nx, ny) = (nx.max(1), ny.max(1));
        let values = (0..ny)
            .flat_map(|j| {
                let y = y0 + (y1 - y0) * (j as f64 + 0.5) / ny as f64;
                let f = &f;
                (0..nx).map(move |i| f(x0 + (x1 - x0) * (i as f64 + 0.5) / nx as f64, y))
            })
            .collect();
        HeatMap::new(title, nx, ny, values).x_range(x0, x1).y_range(y0, y1)
    }

    /// X range of the lattice (the left edge of cell 0 to the right edge of the last cell).
    pub fn x_range(mut self, lo: f64, hi: f64) -> HeatMap {
        self.x_range = (lo, hi);
        self
    }

    /// Y range of the lattice.
    pub fn y_range(mut self, lo: f64, hi: f64) -> HeatMap {
        self.y_range = (lo, hi);
        self
    }

    /// X axis label.
    pub fn x_label(mut self, label: impl Into<String>) -> HeatMap {
        self.x_label = label.into();
        self
    }

    /// Y axis label.
    pub fn y_label(mut self, label: impl Into<String>) -> HeatMap {
        self.y_label = label.into();
        self
    }

    /// Colour scale.
    pub fn colormap(mut self, c: Colormap) -> HeatMap {
        self.colormap = c;
        self
    }

    /// Fix the values mapped to the two ends of the colour scale (default: min and max).
    pub fn value_range(mut self, lo: f64, hi: f64) -> HeatMap {
        self.value_range = Some((lo, hi));
        self
    }

    /// Colour by `log10(value)` (values <= 0 are grey).
    pub fn log(mut self, on: bool) -> HeatMap {
        self.log = on;
        self
    }

    /// Add a named group of points drawn on top.
    pub fn points(mut self, name: impl Into<String>, pts: &[(f64, f64)]) -> HeatMap {
        self.points.push((name.into(), pts.to_vec()));
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> HeatMap {
        self.size = (width.max(160), height.max(120));
        self
    }

    /// The plot as an SVG document (errors on a size mismatch or when no value is finite).
    pub fn to_svg(&self) -> Result<String> {
        if self.nx == 0 || self.ny == 0 || self.values.len() != self.nx * self.ny {
            return Err(Error::invalid(format!(
                "heat map '{}': {} values for {} x {} cells",
                self.title,
                self.values.len(),
                self.nx,
                self.ny
            )));
        }
        if !(self.x_range.1 > self.x_range.0 && self.y_range.1 > self.y_range.0) {
            return Err(Error::invalid(format!("heat map '{}': empty x or y range", self.title)));
        }
        let tr = |v: f64| if self.log { if v > 0.0 { v.log10() } else { f64::NAN } } else { v };
        let shown: Vec<f64> = self.values.iter().map(|v| tr(*v)).collect();
        let (lo, hi) = match self.value_range {
            Some((a, b)) => (tr(a), tr(b)),
            None => {
                let fin = shown.iter().copied().filter(|v| v.is_finite());
                let lo = fin.clone().fold(f64::INFINITY, f64::min);
                let hi = fin.fold(f64::NEG_INFINITY, f64::max);
                (lo, hi)
            }
        };
        if !lo.is_finite() || !hi.is_finite() {
            return Err(Error::invalid(format!("heat map '{}': no finite values", self.title)));
        }
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut pix = Vec::with_capacity(3 * shown.len());
        for j in (0..self.ny).rev() {
            for i in 0..self.nx {
                let v = shown[j * self.nx + i];
                let (r, g, b) = self.colormap.rgb(if v.is_finite() { (v - lo) / span } else { f64::NAN });
                pix.extend([r, g, b]);
            }
        }
        let png = png_rgb(self.nx, self.ny, &pix)?;
        let chart = RasterChart {
            title: &self.title,
            x_label: &self.x_label,
            y_label: &self.y_label,
            x_range: self.x_range,
            y_range: self.y_range,
            size: self.size,
            ticks: None,
            right_margin: 70,
        };
        let cmap = self.colormap;
        let log = self.log;
        chart.render(&png, |chart, root| {
            for (k, (name, pts)) in self.points.iter().enumerate() {
                let c = if self.points.len() == 1 { RGBColor(230, 30, 30) } else { series_colour(k + 3) };
                let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
                let drawn = chart.draw_series(
                    pts.iter().map(|p| Circle::new(*p, 4, ShapeStyle::from(&c).filled().stroke_width(1))),
                )?;
                if !name.is_empty() {
                    drawn.label(name.as_str()).legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
                }
            }
            if self.points.iter().any(|p| !p.0.is_empty()) {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(160, 160, 160))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()?;
            }
            // colour bar in the right margin
            let (w, h) = root.dim_in_pixel();
            let (bx, top, bottom) = (w as i32 - 66, 40, h as i32 - 50);
            let steps = 48;
            for s in 0..steps {
                let t0 = s as f64 / steps as f64;
                let (r, g, b) = cmap.rgb(t0 + 0.5 / steps as f64);
                let ya = bottom - ((bottom - top) as f64 * (s + 1) as f64 / steps as f64).round() as i32;
                let yb = bottom - ((bottom - top) as f64 * s as f64 / steps as f64).round() as i32;
                root.draw(&Rectangle::new([(bx, ya), (bx + 14, yb)], RGBColor(r, g, b).filled()))?;
            }
            let font = ("sans-serif", 11).into_font().color(&BLACK);
            let fmt = |v: f64| {
                let v = if log { 10f64.powf(v) } else { v };
                if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-2) { format!("{v:.1e}") } else { format!("{v:.3}") }
            };
            root.draw(&Text::new(fmt(hi), (bx + 17, top), font.clone()))?;
            root.draw(&Text::new(fmt(lo), (bx + 17, bottom - 10), font.clone()))?;
            if log {
                root.draw(&Text::new("log", (bx, bottom + 6), font))?;
            }
            Ok(())
        })
    }

    /// The plot as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// Show in a notebook cell (an error message in its place when it cannot be drawn).
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_ends_and_middle() {
        assert_eq!(Colormap::Blues.rgb(0.0), (247, 251, 255));
        assert_eq!(Colormap::Blues.rgb(1.0), (8, 48, 107));
        assert_eq!(Colormap::Blues.rgb(2.0), (8, 48, 107), "clamped");
        assert_eq!(Colormap::Diverging.rgb(0.5), (247, 247, 247), "centre of the diverging scale is white");
        assert_eq!(Colormap::Viridis.rgb(f64::NAN), (220, 220, 220));
    }

    #[test]
    fn raster_sits_under_the_axes_and_rows_run_bottom_up() -> Result<()> {
        // 2 x 2 cells: only the top-right cell (row 1, col 1) is high
        let hm =
            HeatMap::new("t<1>", 2, 2, vec![0.0, 0.0, 0.0, 1.0]).colormap(Colormap::Blues).points("p", &[(1.0, 1.0)]);
        let svg = hm.to_svg()?;
        assert_eq!(svg.matches("<image").count(), 1);
        // the image comes right after the background rect, before any text (axes, title)
        let (img, text) = (svg.find("<image").unwrap_or(usize::MAX), svg.find("<text").unwrap_or(0));
        assert!(img < text);
        assert!(svg.contains("t&lt;1&gt;"), "title escaped");
        // decode the PNG and check the pixel order: first row of the image = highest y
        let b64 = svg.split("base64,").nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
        let png = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| Error::invalid(e.to_string()))?;
        let dec = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = dec.read_info().map_err(|e| Error::invalid(e.to_string()))?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(12)];
        reader.next_frame(&mut buf).map_err(|e| Error::invalid(e.to_string()))?;
        assert_eq!(&buf[..12], &[247, 251, 255, 8, 48, 107, 247, 251, 255, 247, 251, 255]);
        Ok(())
    }

    #[test]
    fn from_fn_samples_cell_centres_and_errors_are_reported() {
        let hm = HeatMap::from_fn("f", (0.0, 2.0), (0.0, 1.0), (2, 1), |x, y| x + 10.0 * y);
        assert_eq!(hm.values, vec![5.5, 6.5]);
        assert!(
            HeatMap::new("bad", 2, 2, vec![1.0]).to_svg().is_err_and(|e| e.to_string().contains("1 values for 2 x 2"))
        );
        assert!(HeatMap::new("nan", 1, 1, vec![f64::NAN]).to_svg().is_err());
        assert!(HeatMap::new("log", 1, 1, vec![-1.0]).log(true).to_svg().is_err());
    }
}
