//! Ramachandran plots: residues' (phi, psi) over the Top8000 (rama8000) contours of one class,
//! coloured by MolProbity verdict, the way MolProbity draws them.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::viz::RamaPlot;
//! let report = validate_geometry(&Structure::read("model.pdb")?)?;
//! let plot = RamaPlot::new("model").report(&report);        // general class by default
//! let html = plot.to_html()?;                                // or end a notebook cell with `plot`
//! # Ok::<(), cryosampler::Error>(())
//! ```
//!
//! The background shows the class's favoured region (score >= 2 %, darker blue) and allowed
//! region (score >= the class's outlier threshold, light blue) from the shipped rama8000 grid
//! (180 x 180 bins of 2 degrees); what lies outside is the outlier region. Residues of other
//! classes are left out (each class has its own plot in MolProbity): [`RamaPlot::class`] picks
//! the class, [`RamaPlot::all_classes`] shows one plot per class that has residues.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Result;
use crate::metrics::geometry::tables::{FAVOURED_THRESHOLD, RamaClass, rama_grid};
use crate::metrics::geometry::{GeometryReport, Verdict};
use crate::viz::heatmap::{RasterChart, png_rgb};
use crate::viz::html::{Html, display_or_error, escape};

/// One point of a Ramachandran plot.
#[derive(Clone, Debug, PartialEq)]
pub struct RamaPoint {
    /// phi (degrees).
    pub phi: f64,
    /// psi (degrees).
    pub psi: f64,
    /// Label shown next to outliers (`"A:GLY 10"`).
    pub label: String,
    /// Class of the residue (`None`: a free point, scored against the plot's class).
    pub class: Option<RamaClass>,
}

/// A Ramachandran plot of one class.
#[derive(Clone, Debug, PartialEq)]
pub struct RamaPlot {
    title: String,
    class: RamaClass,
    points: Vec<RamaPoint>,
    label_outliers: bool,
    size: (u32, u32),
}

const FAVOURED_RGB: [u8; 3] = [140, 180, 226];
const ALLOWED_RGB: [u8; 3] = [214, 229, 246];
const OUTLIER_RGB: [u8; 3] = [255, 255, 255];

impl RamaPlot {
    /// An empty plot of the general class; 440 x 460 px.
    pub fn new(title: impl Into<String>) -> RamaPlot {
        RamaPlot {
            title: title.into(),
            class: RamaClass::General,
            points: Vec::new(),
            label_outliers: true,
            size: (440, 460),
        }
    }

    /// The class whose contours are drawn and whose residues are shown.
    pub fn class(mut self, class: RamaClass) -> RamaPlot {
        self.class = class;
        self
    }

    /// Add every residue of a validation report that has phi, psi and a class.
    pub fn report(mut self, report: &GeometryReport) -> RamaPlot {
        for r in &report.residues {
            if let (Some(phi), Some(psi), Some(class)) = (r.phi, r.psi, r.rama_class) {
                let label = format!("{}:{} {}{}", r.chain, r.resname, r.seq, r.icode.as_deref().unwrap_or(""));
                self.points.push(RamaPoint { phi, psi, label, class: Some(class) });
            }
        }
        self
    }

    /// Add a free point (scored against the plot's class).
    pub fn point(mut self, phi: f64, psi: f64, label: impl Into<String>) -> RamaPlot {
        self.points.push(RamaPoint { phi, psi, label: label.into(), class: None });
        self
    }

    /// Write the residue label next to each outlier (default true).
    pub fn label_outliers(mut self, on: bool) -> RamaPlot {
        self.label_outliers = on;
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> RamaPlot {
        self.size = (width.max(200), height.max(200));
        self
    }

    /// The points this plot draws (those of its class, and free points) with their score and verdict.
    pub fn scored_points(&self) -> Result<Vec<(RamaPoint, f64, Verdict)>> {
        let grid = rama_grid(self.class)?;
        Ok(self
            .points
            .iter()
            .filter(|p| p.class.is_none_or(|c| c == self.class) && p.phi.is_finite() && p.psi.is_finite())
            .map(|p| {
                let score = grid.value_at(&[p.phi, p.psi]);
                let verdict = crate::metrics::geometry::rama::rama_verdict(self.class, score);
                (p.clone(), score, verdict)
            })
            .collect())
    }

    /// The background: favoured / allowed / outlier regions of the class, row 0 = psi near +180.
    fn background(&self) -> Result<Vec<u8>> {
        let grid = rama_grid(self.class)?;
        let (nphi, npsi) = (grid.axes[0].bins, grid.axes[1].bins);
        let cut = self.class.outlier_threshold();
        let mut pix = Vec::with_capacity(3 * nphi * npsi);
        for j in (0..npsi).rev() {
            for i in 0..nphi {
                let v = grid.get(&[i, j]);
                let c = if v >= FAVOURED_THRESHOLD {
                    FAVOURED_RGB
                } else if v >= cut {
                    ALLOWED_RGB
                } else {
                    OUTLIER_RGB
                };
                pix.extend(c);
            }
        }
        png_rgb(nphi, npsi, &pix)
    }

    /// The plot as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        let png = self.background()?;
        let pts = self.scored_points()?;
        let count = |v: Verdict| pts.iter().filter(|p| p.2 == v).count();
        let (nf, na, no) = (count(Verdict::Favoured), count(Verdict::Allowed), count(Verdict::Outlier));
        let title = format!("{} · {} ({} residues)", self.title, self.class.label(), pts.len());
        let chart = RasterChart {
            title: &title,
            x_label: "phi (°)",
            y_label: "psi (°)",
            x_range: (-180.0, 180.0),
            y_range: (-180.0, 180.0),
            size: self.size,
            ticks: Some((7, 7)),
            right_margin: 0,
        };
        chart.render(&png, |chart, _root| {
            let groups = [
                (Verdict::Favoured, RGBColor(20, 20, 20), 2, format!("favoured {nf}")),
                (Verdict::Allowed, RGBColor(240, 140, 0), 3, format!("allowed {na}")),
                (Verdict::Outlier, RGBColor(220, 20, 20), 4, format!("outlier {no}")),
            ];
            for (verdict, colour, r, name) in groups {
                let drawn = chart.draw_series(
                    pts.iter().filter(|p| p.2 == verdict).map(|p| Circle::new((p.0.phi, p.0.psi), r, colour.filled())),
                )?;
                drawn.label(name).legend(move |(x, y)| Circle::new((x + 8, y), r, colour.filled()));
            }
            if self.label_outliers {
                // labels right of the point, or left of it near the right edge (so they stay inside)
                let font =
                    ("sans-serif", 11).into_font().color(&RGBColor(160, 0, 0)).pos(Pos::new(HPos::Left, VPos::Bottom));
                let left = font.clone().pos(Pos::new(HPos::Right, VPos::Bottom));
                chart.draw_series(pts.iter().filter(|p| p.2 == Verdict::Outlier && !p.0.label.is_empty()).map(
                    |p| {
                        let at = EmptyElement::at((p.0.phi, p.0.psi));
                        if p.0.phi > 90.0 {
                            at + Text::new(p.0.label.clone(), (-5, -3), left.clone())
                        } else {
                            at + Text::new(p.0.label.clone(), (5, -3), font.clone())
                        }
                    },
                ))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .position(SeriesLabelPosition::LowerRight)
                .draw()?;
            Ok(())
        })
    }

    /// The plot as displayable HTML.
    pub fn to_html(&self) -> Result<Html> {
        Ok(Html(self.to_svg()?))
    }

    /// One plot per class that has residues (general first), side by side.
    pub fn all_classes(title: &str, report: &GeometryReport) -> Result<Html> {
        let mut plots = Vec::new();
        for class in RamaClass::ALL {
            if report.residues.iter().any(|r| r.rama_class == Some(class) && r.phi.is_some() && r.psi.is_some()) {
                plots.push(RamaPlot::new(title).class(class).report(report).to_html()?);
            }
        }
        if plots.is_empty() {
            return Ok(Html(format!("<p>{}: no residue has both phi and psi</p>", escape(title))));
        }
        Ok(Html::row(plots))
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
    fn verdicts_of_free_points_follow_molprobity() -> Result<()> {
        // alpha helix favoured; phi 100 / psi -60 is an empty region of the general data
        // (cctbx scores it 1.8e-5, an outlier; see metrics::geometry::rama tests)
        let plot = RamaPlot::new("t").point(-57.0, -47.0, "helix").point(100.0, -60.0, "bad");
        let scored = plot.scored_points()?;
        assert_eq!(scored[0].2, Verdict::Favoured);
        assert_eq!(scored[1].2, Verdict::Outlier);
        let svg = plot.to_svg()?;
        // the outlier is labelled, the favoured point is not
        assert!(svg.contains(">bad<") || svg.contains(">\nbad\n<") || svg.contains("bad</text>"));
        assert!(!svg.contains("helix</text>"));
        assert!(svg.contains("outlier 1") && svg.contains("favoured 1") && svg.contains("allowed 0"));
        assert_eq!(svg.matches("<image").count(), 1);
        Ok(())
    }

    #[test]
    fn background_colours_the_three_regions() -> Result<()> {
        let png = RamaPlot::new("t").background()?;
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .map_err(|e| crate::Error::invalid(e.to_string()))?;
        let mut buf = vec![0; 3 * 180 * 180];
        reader.next_frame(&mut buf).map_err(|e| crate::Error::invalid(e.to_string()))?;
        // pixel of (phi, psi): column (phi + 180) / 2, row (180 - psi) / 2
        let at = |phi: f64, psi: f64| {
            let (c, r) = (((phi + 180.0) / 2.0) as usize, ((180.0 - psi) / 2.0) as usize);
            [buf[3 * (r * 180 + c)], buf[3 * (r * 180 + c) + 1], buf[3 * (r * 180 + c) + 2]]
        };
        assert_eq!(at(-63.0, -43.0), FAVOURED_RGB, "alpha helix");
        assert_eq!(at(-121.0, 131.0), FAVOURED_RGB, "beta sheet");
        assert_eq!(at(101.0, -61.0), OUTLIER_RGB, "empty region");
        Ok(())
    }

    #[test]
    fn other_classes_are_left_out() -> Result<()> {
        let mut p = RamaPlot::new("t").point(-60.0, -40.0, "free");
        p.points.push(RamaPoint { phi: -60.0, psi: -40.0, label: "gly".into(), class: Some(RamaClass::Glycine) });
        assert_eq!(p.scored_points()?.len(), 1);
        assert_eq!(p.clone().class(RamaClass::Glycine).scored_points()?.len(), 2);
        Ok(())
    }
}
