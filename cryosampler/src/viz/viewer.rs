//! A self-contained 3D molecular viewer (NGL) for notebooks and HTML files: models, ensembles,
//! and density maps as isosurfaces, with no network access and no Jupyter widgets.
//!
//! The calls follow nglview and py3Dmol: add structures (or maps), then representations that apply
//! to the most recently added structure.
//!
//! ```no_run
//! use cryosampler::prelude::*;
//! use cryosampler::viz::Viewer;
//! let s = Structure::read("reference.pdb")?;
//! let map = Map::read("map_0.mrc")?;
//! let v = Viewer::new()
//!     .add_structure(&s)
//!     .cartoon()
//!     .licorice("ligand")
//!     .isosurface(&map, 0.5)           // level in the map's own units
//!     .with_param("opacity", 0.3);     // tweak the last representation (NGL parameter names)
//! v.save_html("view.html", false)?;   // refuses to overwrite unless told
//! // in a notebook, ending a cell with `v` shows it
//! # Ok::<(), cryosampler::Error>(())
//! ```
//!
//! Ensembles: [`Viewer::add_models`] shows the models as frames of a trajectory with a slider and a
//! play button; [`Viewer::add_models_superposed`] draws them all at once, coloured by model.
//!
//! How the page works: the models go in as gzipped PDB text and the maps as gzipped 8-bit MRC
//! (see [`map_to_mrc_int8`]), base64-encoded inside an nglview-like JSON spec ([`ViewerSpec`]:
//! components with `[{type, params}]` representations). NGL 2.5.0 (`assets/ngl.js`, MIT, see
//! `assets/ngl.LICENSES.txt`) travels gzipped and base64-encoded (~0.5 MB) in each viewer output
//! and is decoded once per page (a global promise guards it), with `window.define` hidden while it
//! runs so pages that use require.js (classic Jupyter) still get `window.NGL`. With
//! [`Viewer::embed_library`]`(false)` a viewer relies on an earlier one on the same page instead.
//! Once NGL has drawn everything, the container `div` gets `data-status="rendered"` (or
//! `"error: ..."`), which the notebook checks in headless Chromium read. Browsers keep about 16
//! WebGL contexts per page; a viewer frees its own when its output is removed.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value, json};

use crate::density::{Grid, Map};
use crate::structure::Structure;
use crate::viz::html::{Html, display_or_error, escape};
use crate::{Error, Result};

/// NGL 2.5.0 (`dist/ngl.js` of the npm package `ngl`, MIT).
pub const NGL_JS: &str = include_str!("../../assets/ngl.js");

/// Maps above this many voxels are averaged over 2x2x2 blocks (repeatedly) before they are put
/// into a viewer, to keep notebooks small (128^3 = 2,097,152).
pub const MAX_VIEWER_VOXELS: usize = 128 * 128 * 128;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // writing to a Vec cannot fail
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// NGL, gzipped and base64-encoded (computed once per process).
fn ngl_gz_b64() -> &'static str {
    static CELL: OnceLock<String> = OnceLock::new();
    CELL.get_or_init(|| {
        let code = NGL_JS.trim_end();
        // drop the source-map comment: the map is not shipped
        let code = match code.rfind("\n//# sourceMappingURL=") {
            Some(i) => &code[..i],
            None => code,
        };
        b64(&gzip(code.as_bytes()))
    })
}

/// One NGL representation in nglview's format: `{"type": "cartoon", "params": {"sele": "protein"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Representation {
    /// NGL representation type (`cartoon`, `licorice`, `ball+stick`, `spacefill`, `surface`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// NGL parameters (`sele`, `color`, `colorScheme`, `opacity`, `isolevel`, ...).
    pub params: JsonMap<String, Value>,
}

impl Representation {
    /// A representation from a type and a JSON object of parameters (non-objects give no parameters).
    pub fn new(kind: impl Into<String>, params: Value) -> Representation {
        let params = match params {
            Value::Object(m) => m,
            _ => JsonMap::new(),
        };
        Representation { kind: kind.into(), params }
    }
}

/// What a component holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// Atomic model(s), PDB text.
    Structure,
    /// A density map, MRC bytes.
    Volume,
}

/// One file handed to NGL's `stage.loadFile` and its representations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSpec {
    /// Structure or volume.
    pub kind: ComponentKind,
    /// Name shown by NGL.
    pub name: String,
    /// NGL file extension (`pdb`, `mrc`).
    pub ext: String,
    /// Compression of `data` (`gz`).
    pub compressed: String,
    /// The file, base64.
    pub data: String,
    /// Load a multi-model file as trajectory frames.
    pub as_trajectory: bool,
    /// Number of models in the file.
    pub models: usize,
    /// Representations in nglview's `[{type, params}]` form.
    pub representations: Vec<Representation>,
    /// Number of chains (structures), for default colours; not sent to the page.
    #[serde(skip)]
    pub chains: usize,
}

/// Everything the page needs: an nglview-like description of the scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewerSpec {
    /// Background colour.
    pub background: String,
    /// Height of the viewer in pixels (width follows the page).
    pub height: u32,
    /// Rotate the scene slowly.
    pub spin: bool,
    /// The loaded files, in order.
    pub components: Vec<ComponentSpec>,
}

/// A molecular viewer (NGL) that renders to a self-contained HTML fragment or page.
///
/// Builder calls never fail: a problem (e.g. a structure that cannot be written as PDB) is kept and
/// reported by [`Viewer::to_html`] / [`Viewer::save_html`], and shown in place of the viewer in a
/// notebook.
#[derive(Clone, Debug, PartialEq)]
pub struct Viewer {
    spec: ViewerSpec,
    /// Representations asked for before any structure was added (applied to the next one).
    pending: Vec<Representation>,
    /// Where the most recently added representation lives: (component index or None for pending, index).
    last: Option<(Option<usize>, usize)>,
    embed_library: bool,
    errors: Vec<String>,
}

impl Default for Viewer {
    fn default() -> Self {
        Viewer::new()
    }
}

impl Viewer {
    /// An empty viewer: white background, 480 px high.
    pub fn new() -> Viewer {
        Viewer {
            spec: ViewerSpec { background: "white".into(), height: 480, spin: false, components: Vec::new() },
            pending: Vec::new(),
            last: None,
            embed_library: true,
            errors: Vec::new(),
        }
    }

    /// The scene description (what the page receives).
    pub fn spec(&self) -> &ViewerSpec {
        &self.spec
    }

    /// Height in pixels (clamped to 120..=2000).
    pub fn height(mut self, px: u32) -> Viewer {
        self.spec.height = px.clamp(120, 2000);
        self
    }

    /// Background colour (CSS name or `#rrggbb`).
    pub fn background(mut self, colour: impl Into<String>) -> Viewer {
        self.spec.background = colour.into();
        self
    }

    /// Rotate the scene slowly about the vertical axis.
    pub fn spin(mut self, on: bool) -> Viewer {
        self.spec.spin = on;
        self
    }

    /// Carry NGL inside this viewer's HTML (default `true`). With `false` the viewer uses the NGL
    /// that an earlier viewer on the same page loaded, saving ~0.5 MB per output; it reports
    /// `data-status="error: ..."` when there is none.
    pub fn embed_library(mut self, on: bool) -> Viewer {
        self.embed_library = on;
        self
    }

    fn push_structure(&mut self, models: &[Structure], as_trajectory: bool, superposed: bool) {
        let name = models
            .first()
            .and_then(|s| s.source.as_ref())
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("structure {}", self.spec.components.len() + 1));
        let text = match crate::io::models_to_pdb_string(models) {
            Ok(t) if !models.is_empty() => t,
            Ok(_) => {
                self.errors.push(format!("viewer: {name}: no models to show"));
                return;
            }
            Err(e) => {
                self.errors.push(format!("viewer: {name}: {e}"));
                return;
            }
        };
        let mut representations = std::mem::take(&mut self.pending);
        if superposed && representations.is_empty() {
            representations.push(Representation::new("cartoon", json!({"colorScheme": "modelindex"})));
        }
        let ci = self.spec.components.len();
        self.last = representations.len().checked_sub(1).map(|ri| (Some(ci), ri));
        self.spec.components.push(ComponentSpec {
            kind: ComponentKind::Structure,
            name,
            ext: "pdb".into(),
            compressed: "gz".into(),
            data: b64(&gzip(text.as_bytes())),
            as_trajectory,
            models: models.len(),
            representations,
            chains: models.first().map(|m| m.chains.len()).unwrap_or(0),
        });
    }

    /// Add one model.
    pub fn add_structure(mut self, s: &Structure) -> Viewer {
        self.push_structure(std::slice::from_ref(s), false, false);
        self
    }

    /// Add an ensemble (models with the same atoms) as frames: a slider and a play button step
    /// through them.
    pub fn add_models(mut self, models: &[Structure]) -> Viewer {
        self.push_structure(models, true, false);
        self
    }

    /// Add an ensemble with all models drawn at once, superposed (default: cartoon coloured by model).
    pub fn add_models_superposed(mut self, models: &[Structure]) -> Viewer {
        self.push_structure(models, false, true);
        self
    }

    /// Add any NGL representation to the most recent structure (or to the next one added, when
    /// there is none yet): `viewer.representation("ball+stick", json!({"sele": "ligand"}))`.
    pub fn representation(mut self, kind: &str, params: Value) -> Viewer {
        let r = Representation::new(kind, params);
        match self.spec.components.iter().rposition(|c| c.kind == ComponentKind::Structure) {
            Some(ci) => {
                let reps = &mut self.spec.components[ci].representations;
                reps.push(r);
                self.last = Some((Some(ci), reps.len() - 1));
            }
            None => {
                self.pending.push(r);
                self.last = Some((None, self.pending.len() - 1));
            }
        }
        self
    }

    /// Cartoon of the protein/nucleic chains: a rainbow from N- to C-terminus for a single chain,
    /// coloured by chain otherwise.
    pub fn cartoon(self) -> Viewer {
        let chains = self.spec.components.iter().rev().find(|c| c.kind == ComponentKind::Structure).map(|c| c.chains);
        let scheme = if chains == Some(1) { "residueindex" } else { "chainname" };
        self.representation("cartoon", json!({"sele": "polymer", "colorScheme": scheme}))
    }

    /// Sticks for the atoms in an NGL selection (`"ligand"`, `"sidechainAttached and 10-20"`,
    /// `"not hydrogen"`), coloured by element.
    pub fn licorice(self, selection: &str) -> Viewer {
        self.representation("licorice", json!({"sele": selection, "colorScheme": "element"}))
    }

    /// Balls and sticks for an NGL selection, coloured by element.
    pub fn ball_and_stick(self, selection: &str) -> Viewer {
        self.representation("ball+stick", json!({"sele": selection, "colorScheme": "element"}))
    }

    /// Van der Waals spheres for an NGL selection.
    pub fn spacefill(self, selection: &str) -> Viewer {
        self.representation("spacefill", json!({"sele": selection, "colorScheme": "element"}))
    }

    /// Set a parameter of the most recently added representation (NGL names: `color`,
    /// `colorScheme`, `opacity`, `wireframe`, `isolevel`, ...). No effect when there is none.
    pub fn with_param(mut self, key: &str, value: impl Into<Value>) -> Viewer {
        let target = match self.last {
            Some((Some(ci), ri)) => self.spec.components.get_mut(ci).and_then(|c| c.representations.get_mut(ri)),
            Some((None, ri)) => self.pending.get_mut(ri),
            None => None,
        };
        if let Some(r) = target {
            r.params.insert(key.to_string(), value.into());
        }
        self
    }

    /// Add a density map shown as a semi-transparent isosurface at `level` (in the map's units),
    /// in the same frame as the models. Large maps are binned first (see [`MAX_VIEWER_VOXELS`]).
    pub fn isosurface(mut self, map: &Map, level: f64) -> Viewer {
        if map.data.len() != map.grid.len() || map.grid.is_empty() {
            self.errors.push(format!("viewer: map {}: no voxels or a wrong voxel count", map.name()));
            return self;
        }
        if !level.is_finite() {
            self.errors.push(format!("viewer: map {}: isosurface level {level} is not finite", map.name()));
            return self;
        }
        let mut shown = map.clone();
        while shown.grid.len() > MAX_VIEWER_VOXELS {
            shown = bin2(&shown);
        }
        let surface = Representation::new(
            "surface",
            json!({
                "isolevelType": "value",
                "isolevel": level,
                "color": "#3a7bd5",
                "opacity": 0.4,
                "opaqueBack": false,
                "side": "double",
                // marching cubes on the page's thread: done before the viewer reports "rendered"
                // (a worker finishes at a time headless checks cannot wait for reliably)
                "useWorker": false,
            }),
        );
        self.last = Some((Some(self.spec.components.len()), 0));
        self.spec.components.push(ComponentSpec {
            kind: ComponentKind::Volume,
            name: map.name(),
            ext: "mrc".into(),
            compressed: "gz".into(),
            data: b64(&gzip(&map_to_mrc_int8(&shown))),
            as_trajectory: false,
            models: 1,
            representations: vec![surface],
            chains: 0,
        });
        self
    }

    fn check(&self) -> Result<()> {
        if let Some(e) = self.errors.first() {
            return Err(Error::invalid(self.errors.iter().skip(1).fold(e.clone(), |a, b| a + "; " + b)));
        }
        if self.spec.components.is_empty() {
            return Err(Error::invalid("viewer: nothing to show (add a structure or a map)"));
        }
        Ok(())
    }

    /// The scene as JSON (the `ViewerSpec` the page reads).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&self.spec).map_err(|e| Error::invalid(format!("viewer: {e}")))
    }

    /// The viewer as an HTML fragment for a notebook output (a `div` and its scripts).
    pub fn to_html(&self) -> Result<Html> {
        self.check()?;
        let id = unique_id();
        // `<` only occurs inside JSON strings, where \u003c means the same: no `</script>` inside
        let spec = self.to_json()?.replace('<', "\\u003c");
        let lib = if self.embed_library {
            format!("<script type=\"application/octet-stream\" class=\"cryosampler-ngl-gz\">{}</script>", ngl_gz_b64())
        } else {
            String::new()
        };
        let frames = self.spec.components.iter().any(|c| c.as_trajectory && c.models > 1);
        let controls = if frames {
            String::from(
                "<div class=\"cs-controls\" style=\"font:13px sans-serif;margin-top:4px\">\
                 <button type=\"button\" class=\"cs-play\">play</button> \
                 <input type=\"range\" class=\"cs-frame\" min=\"0\" value=\"0\" style=\"width:60%;vertical-align:middle\"> \
                 <span class=\"cs-label\"></span></div>",
            )
        } else {
            String::new()
        };
        Ok(Html(format!(
            "<div class=\"cryosampler-viewer-wrap\">\
             <div id=\"{id}\" class=\"cryosampler-viewer\" data-status=\"loading\" \
             style=\"width:100%;min-width:320px;height:{h}px;position:relative;border:1px solid #ddd\">\
             <div class=\"cs-msg\" style=\"position:absolute;left:8px;top:8px;font:13px sans-serif;color:#666;z-index:10\">\
             loading the 3D viewer... (if this stays, run the cell again: Jupyter does not run the scripts of \
             untrusted notebooks)</div></div>{controls}\
             <script type=\"application/json\" class=\"cs-spec\">{spec}</script>{lib}\
             <script>{js}</script></div>",
            h = self.spec.height,
            js = VIEWER_JS.replace("__ID__", &id),
        )))
    }

    /// The viewer as a complete HTML page (works offline, from a file).
    pub fn to_page(&self, title: &str) -> Result<String> {
        let body = self.to_html()?;
        Ok(format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"margin:8px\">\n{}\n</body></html>\n",
            escape(title),
            body.as_str()
        ))
    }

    /// Write the viewer as a stand-alone HTML page. Refuses to replace a file unless `overwrite`.
    pub fn save_html(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        let path = path.as_ref();
        crate::check_overwrite(path, overwrite)?;
        let title = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "viewer".into());
        let page = self.to_page(&title)?;
        std::fs::write(path, page).map_err(|e| Error::io(path, e))
    }

    /// Show in a notebook cell (an error message in its place when it cannot be built).
    pub fn evcxr_display(&self) {
        display_or_error(self.to_html());
    }
}

/// A page-unique element id.
fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("cs-ngl-{:x}-{:x}-{n}", std::process::id(), t as u64)
}

/// Average over 2x2x2 blocks (a trailing odd plane is dropped); voxel size doubles and the origin
/// moves to the centre of the first block.
pub fn bin2(map: &Map) -> Map {
    let g = &map.grid;
    let [nz, ny, nx] = g.shape;
    let (mx, my, mz) = ((nx / 2).max(1), (ny / 2).max(1), (nz / 2).max(1));
    let (fx, fy, fz) = (if nx > 1 { 2 } else { 1 }, if ny > 1 { 2 } else { 1 }, if nz > 1 { 2 } else { 1 });
    let mut data = Vec::with_capacity(mx * my * mz);
    for z in 0..mz {
        for y in 0..my {
            for x in 0..mx {
                let mut acc = 0.0f64;
                for dz in 0..fz {
                    for dy in 0..fy {
                        for dx in 0..fx {
                            acc += map.data[g.index(x * fx + dx, y * fy + dy, z * fz + dz)] as f64;
                        }
                    }
                }
                data.push((acc / (fx * fy * fz) as f64) as f32);
            }
        }
    }
    let f = [fx as f64, fy as f64, fz as f64];
    let grid = Grid {
        shape: [mz, my, mx],
        voxel: [g.voxel[0] * f[0], g.voxel[1] * f[1], g.voxel[2] * f[2]],
        origin: [0, 1, 2].map(|a| g.origin[a] + 0.5 * (f[a] - 1.0) * g.voxel[a]),
    };
    Map { grid, data, source: map.source.clone() }
}

/// An in-memory MRC file (mode 0, signed 8-bit) of `map`, for NGL.
///
/// Values are quantised linearly between the map's minimum and maximum; header words 39 and 40
/// hold -128 and 127, which tells NGL's MRC reader to map the bytes back to
/// `v = q * (max - min) / 255 + (min + max + (max - min) / 255) / 2`, so isosurface levels stay in
/// the map's units (to within half a step). Axis order 1 2 3, origin in the ORIGIN field, nstart 0.
pub fn map_to_mrc_int8(map: &Map) -> Vec<u8> {
    let g = &map.grid;
    let [nz, ny, nx] = g.shape;
    let (lo, hi) = map.min_max();
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 0.0) };
    let step = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let q: Vec<u8> = map
        .data
        .iter()
        .map(|v| {
            let k = ((v - lo) / step).round().clamp(0.0, 255.0) as i32 - 128;
            (k as i8) as u8
        })
        .collect();
    let (mean, rms) = map.mean_std();
    let mut h = [0u8; 1024];
    let ints: [(usize, i32); 13] = [
        (0, nx as i32),
        (1, ny as i32),
        (2, nz as i32),
        (3, 0), // mode 0: signed 8-bit
        (7, nx as i32),
        (8, ny as i32),
        (9, nz as i32),
        (16, 1),
        (17, 2),
        (18, 3),
        (22, 1), // space group P1
        (39, -128),
        (40, 127),
    ];
    for (w, v) in ints {
        h[4 * w..4 * w + 4].copy_from_slice(&v.to_le_bytes());
    }
    let floats: [(usize, f32); 13] = [
        (10, (g.voxel[0] * nx as f64) as f32),
        (11, (g.voxel[1] * ny as f64) as f32),
        (12, (g.voxel[2] * nz as f64) as f32),
        (13, 90.0),
        (14, 90.0),
        (15, 90.0),
        (19, lo),
        (20, hi),
        (21, mean as f32),
        (49, g.origin[0] as f32),
        (50, g.origin[1] as f32),
        (51, g.origin[2] as f32),
        (54, rms as f32),
    ];
    for (w, v) in floats {
        h[4 * w..4 * w + 4].copy_from_slice(&v.to_le_bytes());
    }
    h[208..212].copy_from_slice(b"MAP ");
    h[212..216].copy_from_slice(&[0x44, 0x44, 0, 0]); // little-endian
    let mut out = Vec::with_capacity(1024 + q.len());
    out.extend_from_slice(&h);
    out.extend_from_slice(&q);
    out
}

/// The page-side loader; `__ID__` is replaced by the container's id.
const VIEWER_JS: &str = r##"(function () {
  var root = document.getElementById("__ID__");
  if (!root) { return; }
  var wrap = root.parentNode;
  var msg = root.querySelector(".cs-msg");
  function status(s) { root.setAttribute("data-status", s); }
  function fail(e) {
    var text = (e && e.message) ? e.message : String(e);
    status("error: " + text);
    if (msg) { msg.style.color = "#b00"; msg.textContent = "3D viewer error: " + text; }
  }
  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function loadNgl() {
    if (window.NGL && window.NGL.Stage) { return Promise.resolve(window.NGL); }
    if (window.__cryosamplerNgl) { return window.__cryosamplerNgl; }
    var holder = wrap.querySelector("script.cryosampler-ngl-gz") || document.querySelector("script.cryosampler-ngl-gz");
    if (!holder) { return Promise.reject(new Error("NGL is not on this page: show a viewer with embed_library(true) first")); }
    if (typeof DecompressionStream === "undefined") {
      return Promise.reject(new Error("this browser has no DecompressionStream (needs Chrome 80+, Firefox 113+, Safari 16.4+)"));
    }
    var stream = new Blob([bytes(holder.textContent.trim())]).stream().pipeThrough(new DecompressionStream("gzip"));
    window.__cryosamplerNgl = new Response(stream).text().then(function (code) {
      var savedDefine = window.define;
      window.define = undefined; // UMD: set window.NGL even on require.js pages
      try { (0, eval)(code); } finally { window.define = savedDefine; }
      if (!window.NGL || !window.NGL.Stage) { throw new Error("NGL did not load"); }
      return window.NGL;
    });
    window.__cryosamplerNgl.catch(function () { window.__cryosamplerNgl = undefined; });
    return window.__cryosamplerNgl;
  }
  var spec;
  try { spec = JSON.parse(wrap.querySelector("script.cs-spec").textContent); } catch (e) { fail(e); return; }
  loadNgl().then(function (NGL) {
    var stage = new NGL.Stage(root, { backgroundColor: spec.background });
    var frames = null;
    var loads = spec.components.map(function (c) {
      var blob = new Blob([bytes(c.data)], { type: "application/octet-stream" });
      return stage.loadFile(blob, { ext: c.ext, compressed: c.compressed, name: c.name,
                                    asTrajectory: c.as_trajectory, defaultRepresentation: false })
        .then(function (comp) {
          if (c.representations.length === 0) {
            if (c.kind === "structure") {
              comp.addRepresentation("cartoon", { sele: "polymer", colorScheme: "chainname" });
              comp.addRepresentation("licorice", { sele: "ligand", colorScheme: "element" });
            } else {
              comp.addRepresentation("surface", { opacity: 0.4 });
            }
          }
          c.representations.forEach(function (r) { comp.addRepresentation(r.type, r.params); });
          if (c.as_trajectory && c.models > 1 && !frames) { frames = comp.addTrajectory().trajectory; }
          return comp;
        });
    });
    return Promise.all(loads).then(function () {
      if (frames) {
        var slider = wrap.querySelector(".cs-frame"), label = wrap.querySelector(".cs-label");
        var play = wrap.querySelector(".cs-play"), timer = null;
        var n = frames.frameCount;
        slider.max = String(Math.max(0, n - 1));
        var show = function (i) { label.textContent = "model " + (i + 1) + " / " + n; };
        frames.signals.frameChanged.add(function (i) { slider.value = String(i); show(i); });
        slider.addEventListener("input", function () { frames.setFrame(parseInt(slider.value, 10)); });
        play.addEventListener("click", function () {
          if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
          play.textContent = "pause";
          timer = setInterval(function () { frames.setFrame((frames.currentFrame + 1) % n); }, 400);
        });
        show(0);
      }
      stage.setSpin(!!spec.spin);
      window.addEventListener("resize", function () { stage.handleResize(); });
      new MutationObserver(function (m, obs) {
        if (!document.body.contains(root)) { obs.disconnect(); stage.dispose(); }
      }).observe(document.body, { childList: true, subtree: true });
      return new Promise(function (resolve) {
        stage.tasks.onZeroOnce(function () {
          stage.autoView();
          stage.viewer.render(); // draw now: headless browsers may not run another animation frame
          resolve();
        });
      });
    }).then(function () {
      if (msg) { msg.remove(); }
      status("rendered");
    });
  }).catch(fail);
})();"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::{Atom, Chain, Element, Residue};

    fn tiny() -> Structure {
        let atom = |name: &str, e: u8, x: f64| Atom {
            name: name.into(),
            element: Element(e),
            pos: [x, 0.0, 0.0],
            b: 20.0,
            occupancy: 1.0,
            hetero: false,
            residue: 0,
        };
        Structure {
            atoms: vec![atom("N", 7, 0.0), atom("CA", 6, 1.46), atom("C", 6, 2.0)],
            residues: vec![Residue { name: "GLY".into(), seq: 1, icode: None, chain: 0, atoms: 0..3 }],
            chains: vec![Chain { id: "A".into(), residues: 0..1 }],
            source: None,
            b_is_plddt: false,
        }
    }

    fn gunzip(b64_text: &str) -> Vec<u8> {
        use std::io::Read;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64_text).unwrap_or_default();
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(raw.as_slice()).read_to_end(&mut out);
        out
    }

    #[test]
    fn spec_json_has_the_nglview_shape() -> Result<()> {
        let s = tiny();
        let v = Viewer::new().cartoon().add_structure(&s).licorice("not hydrogen").with_param("opacity", 0.5);
        let j: Value = serde_json::from_str(&v.to_json()?).map_err(|e| Error::invalid(e.to_string()))?;
        let c = &j["components"][0];
        assert_eq!(c["kind"], "structure");
        assert_eq!(c["ext"], "pdb");
        assert_eq!(c["compressed"], "gz");
        // the cartoon asked for before any structure applies to it, then the licorice
        assert_eq!(c["representations"][0]["type"], "cartoon");
        assert_eq!(c["representations"][0]["params"]["colorScheme"], "chainname"); // chains unknown then
        assert!(c.get("chains").is_none(), "chain count stays on the Rust side");
        let one_chain = Viewer::new().add_structure(&s).cartoon();
        assert_eq!(one_chain.spec().components[0].representations[0].params["colorScheme"], "residueindex");
        assert_eq!(c["representations"][0]["params"]["sele"], "polymer");
        assert_eq!(c["representations"][1]["type"], "licorice");
        assert_eq!(c["representations"][1]["params"]["sele"], "not hydrogen");
        assert_eq!(c["representations"][1]["params"]["opacity"], 0.5);
        // the data is the PDB text, gzipped and base64-encoded
        let pdb = String::from_utf8_lossy(&gunzip(c["data"].as_str().unwrap_or(""))).into_owned();
        let atoms: Vec<&str> = pdb.lines().filter(|l| l.starts_with("ATOM")).collect();
        assert_eq!(atoms.len(), 3);
        assert_eq!(atoms[1][12..16].trim(), "CA");
        Ok(())
    }

    #[test]
    fn ensembles_as_frames_or_superposed() -> Result<()> {
        let a = tiny();
        let b = a.with_coords(&[[0.0, 1.0, 0.0], [1.46, 1.0, 0.0], [2.0, 1.0, 0.0]])?;
        let frames = Viewer::new().add_models(&[a.clone(), b.clone()]);
        let c = &frames.spec().components[0];
        assert!(c.as_trajectory);
        assert_eq!(c.models, 2);
        let pdb = String::from_utf8_lossy(&gunzip(&c.data)).into_owned();
        assert_eq!(pdb.lines().filter(|l| l.starts_with("MODEL")).count(), 2);
        let html = frames.to_html()?;
        assert!(html.as_str().contains("class=\"cs-frame\""), "frames get a slider");
        let sup = Viewer::new().add_models_superposed(&[a, b]);
        let c = &sup.spec().components[0];
        assert!(!c.as_trajectory);
        assert_eq!(c.representations[0].params["colorScheme"], "modelindex");
        assert!(!sup.to_html()?.as_str().contains("class=\"cs-frame\""));
        Ok(())
    }

    #[test]
    fn mrc_int8_header_and_quantisation_follow_ngl() {
        let grid = Grid { shape: [2, 3, 4], voxel: [1.5, 2.0, 2.5], origin: [10.0, -4.0, 3.0] };
        let data: Vec<f32> = (0..24).map(|i| -1.0 + i as f32 * 0.25).collect();
        let map = Map { grid, data: data.clone(), source: None };
        let mrc = map_to_mrc_int8(&map);
        assert_eq!(mrc.len(), 1024 + 24);
        let word_i = |w: usize| i32::from_le_bytes([mrc[4 * w], mrc[4 * w + 1], mrc[4 * w + 2], mrc[4 * w + 3]]);
        let word_f = |w: usize| f32::from_le_bytes([mrc[4 * w], mrc[4 * w + 1], mrc[4 * w + 2], mrc[4 * w + 3]]);
        assert_eq!([word_i(0), word_i(1), word_i(2), word_i(3)], [4, 3, 2, 0]);
        assert_eq!([word_i(16), word_i(17), word_i(18)], [1, 2, 3]);
        assert_eq!([word_f(10), word_f(11), word_f(12)], [6.0, 6.0, 5.0]);
        assert_eq!([word_f(49), word_f(50), word_f(51)], [10.0, -4.0, 3.0]);
        assert_eq!([word_i(39), word_i(40)], [-128, 127]);
        assert_eq!(&mrc[208..212], b"MAP ");
        let (dmin, dmax) = (word_f(19), word_f(20));
        assert_eq!((dmin, dmax), (-1.0, 4.75));
        // NGL's mode-0 rescaling, from its MrcParser: v = t*q + (dmin + dmax + t)/2, t = (dmax-dmin)/255
        let t = (dmax - dmin) / 255.0;
        for (i, v) in data.iter().enumerate() {
            let q = mrc[1024 + i] as i8 as f32;
            let back = t * q + 0.5 * (dmin + dmax + t);
            assert!((back - v).abs() <= 0.5 * t + 1e-5, "voxel {i}: {v} came back as {back}");
        }
        assert_eq!(mrc[1024] as i8, -128);
        assert_eq!(mrc[1024 + 23] as i8, 127);
    }

    #[test]
    fn binning_averages_blocks_and_keeps_positions() {
        let grid = Grid::new([2, 2, 4], 1.0, [0.0; 3]);
        let data: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let b = bin2(&Map { grid, data, source: None });
        assert_eq!(b.grid.shape, [1, 1, 2]);
        // block x 0..2: voxels 0,1,4,5,8,9,12,13 -> mean 6.5; block x 2..4 -> 8.5
        assert_eq!(b.data, vec![6.5, 8.5]);
        assert_eq!(b.grid.voxel, [2.0, 2.0, 2.0]);
        assert_eq!(b.grid.origin, [0.5, 0.5, 0.5]); // centre of the first 2x2x2 block
    }

    #[test]
    fn html_is_self_contained_and_script_safe() -> Result<()> {
        let mut s = tiny();
        s.source = Some("a<!--b<i>.pdb".into());
        let grid = Grid::new([4, 4, 4], 2.0, [0.0; 3]);
        let map = Map { grid, data: (0..64).map(|i| i as f32).collect(), source: None };
        let v = Viewer::new().add_structure(&s).isosurface(&map, 30.0);
        let h = v.to_html()?.into_string();
        assert_eq!(h.matches("</script>").count(), 3, "spec, library and loader scripts only");
        assert!(h.contains("data-status=\"loading\""));
        assert!(!h.contains("<!--b") && !h.contains("b<i>") && h.contains("a\\u003c!--b\\u003ci>.pdb"));
        assert!(!h.contains("http://") && !h.contains("https://"), "no network");
        let lean = v.clone().embed_library(false).to_html()?.into_string();
        assert!(h.len() > lean.len() + 300_000, "the library travels gzipped (~0.5 MB)");
        let vol = &v.spec().components[1];
        assert_eq!(vol.kind, ComponentKind::Volume);
        assert_eq!(vol.representations[0].params["isolevel"], 30.0);
        assert_eq!(vol.representations[0].params["isolevelType"], "value");
        assert_eq!(vol.representations[0].params["useWorker"], false);
        Ok(())
    }

    #[test]
    fn with_param_targets_the_last_representation_added() {
        let grid = Grid::new([2, 2, 2], 1.0, [0.0; 3]);
        let map = Map { grid, data: (0..8).map(|i| i as f32).collect(), source: None };
        let v = Viewer::new()
            .add_structure(&tiny())
            .isosurface(&map, 3.0)
            .with_param("opacity", 0.2) // the surface
            .licorice("all") // goes to the structure, after the map was added
            .with_param("radius", 0.5); // the licorice, not the surface
        let c = &v.spec().components;
        assert_eq!(c[1].representations[0].params["opacity"], 0.2);
        assert_eq!(c[0].representations[0].kind, "licorice");
        assert_eq!(c[0].representations[0].params["radius"], 0.5);
        assert!(!c[1].representations[0].params.contains_key("radius"));
    }

    #[test]
    fn problems_are_reported_not_panicked() {
        assert!(Viewer::new().to_html().is_err());
        let bad = Viewer::new().add_models(&[]);
        assert!(bad.to_html().is_err_and(|e| e.to_string().contains("no models")));
        let grid = Grid::new([2, 2, 2], 1.0, [0.0; 3]);
        let map = Map { grid, data: vec![0.0; 8], source: None };
        assert!(Viewer::new().isosurface(&map, f64::NAN).to_html().is_err());
    }

    #[test]
    fn save_refuses_to_overwrite() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("cs-viewer-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join("v.html");
        let _ = std::fs::remove_file(&path);
        let v = Viewer::new().add_structure(&tiny());
        v.save_html(&path, false)?;
        assert!(v.save_html(&path, false).is_err());
        v.save_html(&path, true)?;
        let page = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("cryosampler-viewer"));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
