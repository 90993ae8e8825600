//! Benchmarks printed as tables (`cryosampler bench`): forward model + gradient, one VAE training
//! step, one flow step and a full small fit, with wall time and peak memory. Benchmarks are never
//! timed tests: numbers depend on the machine; the command prints what it measured.

use std::sync::Arc;
use std::time::Instant;

use burn::prelude::*;

use crate::Result;
use crate::density::{Grid, RenderOptions, RenderSpec, SplatAtoms, render};
use crate::device::{self, AB};
use crate::loss::recon;
use crate::structure::Structure;

/// One benchmark row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRow {
    /// What was measured.
    pub name: String,
    /// Problem size.
    pub size: String,
    /// Median wall time (ms).
    pub ms: f64,
    /// Peak resident memory during the measurement (MiB), if the OS reports it.
    pub peak_mib: Option<f64>,
}

/// Reset the kernel's peak-RSS counter of this process (Linux `clear_refs`); returns false elsewhere.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (MiB) since the last reset (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Time `f` (median of `reps` runs after one warm-up) and record peak memory.
pub fn measure(name: &str, size: &str, reps: usize, mut f: impl FnMut()) -> BenchRow {
    f();
    let reset = reset_peak_rss();
    let mut t: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    BenchRow {
        name: name.into(),
        size: size.into(),
        ms: t[t.len() / 2],
        peak_mib: if reset { peak_rss_mib() } else { None },
    }
}

/// Forward model + gradient of an NCC loss for `s` on a cubic box of `n` voxels per side, with the
/// custom burn op (host kernels, autodiff backend).
pub fn bench_render(s: &Structure, n: usize, voxel: f64, resolution: f64, reps: usize) -> BenchRow {
    let dev = device::device();
    let c = s.centroid();
    let half = n as f64 * voxel / 2.0;
    let grid = Grid::new([n, n, n], voxel, [c[0] - half, c[1] - half, c[2] - half]);
    let spec = Arc::new(RenderSpec {
        grid: grid.clone(),
        atoms: SplatAtoms::from_structure(s, &RenderOptions::at(resolution)),
    });
    let na = s.atoms.len();
    let x0 = Tensor::<AB, 3>::from_data(TensorData::new(s.coords_f32(), [1, na, 3]), &dev);
    let target = Tensor::<AB, 4>::zeros([1, n, n, n], &dev) + render(x0.clone().detach(), &spec).detach() * 0.9;
    measure("render + gradient", &format!("{na} atoms, {n}^3"), reps, || {
        let x = x0.clone().require_grad();
        let l = recon(render(x.clone(), &spec), target.clone()).mean();
        let g = l.backward();
        let _ = x.grad(&g).map(|t| t.sum().into_scalar());
    })
}

/// Print rows as a Markdown table.
pub fn table(rows: &[BenchRow]) -> String {
    let mut s = String::from("| benchmark | size | median time | peak memory |\n|---|---|---|---|\n");
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} |\n",
            r.name,
            r.size,
            if r.ms >= 1000.0 { format!("{:.2} s", r.ms / 1e3) } else { format!("{:.1} ms", r.ms) },
            r.peak_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "n/a".into())
        );
    }
    s
}

/// Convenience for the CLI: read a structure without hydrogens.
pub fn load_heavy(path: &std::path::Path) -> Result<Structure> {
    Ok(Structure::read(path)?.without_hydrogens())
}

/// One VAE training step (batch of 1 map) and one flow-matching step on `aligned`.
pub fn bench_steps(aligned: &crate::pipeline::AlignedEnsemble, label: &str, reps: usize) -> Result<Vec<BenchRow>> {
    use crate::loss::{BackboneWindows, backbone, kl};
    use crate::model::{FlowNet, FlowNetConfig, Vae, VaeNetConfig};
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    let dev = device::device();
    let cfg = VaeNetConfig::default();
    let voxel = aligned.ensemble().grid().voxel[0];
    let net_voxel = crate::train::vae::default_net_voxel(voxel, aligned.resolution());
    let data = crate::train::vae::TrainData::new(
        aligned.ensemble().maps(),
        Arc::new(aligned.reference().clone()),
        aligned.resolution(),
        aligned.blur().b_extra,
        net_voxel,
        cfg.input_channels,
    )?;
    let spec = Arc::new(RenderSpec {
        grid: aligned.ensemble().grid().clone(),
        atoms: SplatAtoms::from_structure(
            aligned.reference(),
            &RenderOptions::at(aligned.resolution()).with_b_extra(aligned.blur().b_extra),
        ),
    });
    let [nz, ny, nx] = aligned.ensemble().grid().shape;
    let target =
        Tensor::<AB, 4>::from_data(TensorData::new(aligned.ensemble().maps()[0].data.clone(), [1, nz, ny, nx]), &dev);
    let bw = BackboneWindows::new(aligned.reference(), 5)?.to_tensors::<AB>(&dev);
    let mut model = Vae::<AB>::new(&cfg, &dev);
    let mut optim = AdamConfig::new().init::<AB, Vae<AB>>();
    let sel = Tensor::<AB, 1, Int>::from_data(TensorData::new(vec![0i64], [1]), &dev);
    let mut rows = Vec::new();
    rows.push(measure(
        "VAE training step (1 map)",
        &format!("{label}, {} atoms, net {}", aligned.reference().atoms.len(), data.net_grid.describe()),
        reps,
        || {
            let d = model.encoder.forward(data.inputs.clone().select(0, sel.clone()));
            let off = model.offsets(d.sample(), data.points.clone(), data.coords.clone());
            let x = data.x_ref.clone().unsqueeze::<3>() + off;
            let l = recon(render(x.clone(), &spec), target.clone()).mean()
                + kl(d.mean, d.log_var).mean() * 1e-4
                + backbone(x, &bw).mean();
            let g = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(1e-3, model.clone(), g);
        },
    ));
    let dz = {
        let [c, d, h, w] =
            [cfg.latent_channels, data.net_grid.shape[0] / 8, data.net_grid.shape[1] / 8, data.net_grid.shape[2] / 8];
        c * d * h * w
    };
    let mut flow = FlowNet::<AB>::new(&FlowNetConfig::default(), dz, &dev);
    let mut fopt = AdamConfig::new().init::<AB, FlowNet<AB>>();
    rows.push(measure("flow-matching step (batch 256)", &format!("{label}, latent {dz} values"), reps.max(5), || {
        let z = Tensor::<AB, 2>::random([256, dz], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
        let t = Tensor::<AB, 1>::random([256], burn::tensor::Distribution::Uniform(0.0, 1.0), &dev);
        let l = (flow.forward(z.clone(), t) - z).powi_scalar(2).mean();
        let g = GradientsParams::from_grads(l.backward(), &flow);
        flow = fopt.step(1e-3, flow.clone(), g);
    }));
    Ok(rows)
}

/// A paper-size ensemble: maps simulated (4.5 A, B 20 + 60, SNR 1) from `s` and from a copy moved
/// 2 A along its first normal mode, in an `n`^3 box, aligned (reference = `s`).
pub fn paper_size_ensemble(
    s: &Structure,
    n: usize,
    voxel: f64,
    resolution: f64,
) -> Result<crate::pipeline::AlignedEnsemble> {
    use crate::baseline::nma::{AnmConfig, Nma};
    use crate::density::{SimulateOptions, simulate_map};
    use crate::pipeline::{AlignConfig, Ensemble, FitTarget, LoadOptions};
    let c = s.centroid();
    let half = n as f64 * voxel / 2.0;
    let grid = Grid::new([n, n, n], voxel, [c[0] - half, c[1] - half, c[2] - half]);
    let nma = Nma::anm(s, &AnmConfig::default().with_n_modes(3))?;
    let moved = nma.conformations(2, 2.0, &[0])?.pop().unwrap_or_else(|| s.clone());
    let maps = vec![
        simulate_map(s, &grid, &SimulateOptions::at(resolution).with_seed(1))?,
        simulate_map(&moved, &grid, &SimulateOptions::at(resolution).with_seed(2))?,
    ];
    Ensemble::from_maps(maps, &LoadOptions::default().with_resolution(resolution))?
        .align_with(s, &AlignConfig { target: FitTarget::AssumeAligned, ..Default::default() })
}
