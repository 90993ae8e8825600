//! The `cryosampler` command line: thin shells over the library.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use cryosampler::pipeline::{ca_rmsd, Ensemble, LoadOptions};
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
    /// Training epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// KL weight.
    #[arg(long)]
    lambda_kl: Option<f64>,
    /// MolProbity-style loss weight.
    #[arg(long)]
    lambda_m: Option<f64>,
    /// Backbone loss weight.
    #[arg(long)]
    lambda_b: Option<f64>,
    /// Voxel size of the network grid (A).
    #[arg(long)]
    net_voxel: Option<f64>,
    /// Starting blur of the coarse-to-fine schedule (A^2; 0 = off).
    #[arg(long)]
    coarse_start_b: Option<f64>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Maps per optimiser step (default: all).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Time cap (seconds).
    #[arg(long)]
    max_seconds: Option<f64>,
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
    let mut cfg = VaeConfig::default().with_run_dir(&a.out).with_resume(a.resume).with_structural_loss(!a.no_structural_loss);
    if let Some(v) = a.epochs {
        cfg = cfg.with_epochs(v);
    }
    if let Some(v) = a.lr {
        cfg = cfg.with_learning_rate(v).with_lr_final(v / 10.0);
    }
    if let Some(v) = a.lambda_kl {
        cfg = cfg.with_lambda_kl(v);
    }
    if let Some(v) = a.lambda_m {
        cfg = cfg.with_lambda_m(v);
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
    if let Some(v) = a.batch_size {
        cfg = cfg.with_batch_size(v);
    }
    if let Some(v) = a.max_seconds {
        cfg = cfg.with_max_seconds(v);
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
    }
}
