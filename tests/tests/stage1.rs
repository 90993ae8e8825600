//! Stage 1 (VAE) on the bundled demo data: a small, fast version of the AdK benchmark.

use cryosampler::pipeline::ca_rmsd;
use cryosampler::prelude::*;
use cryosampler_tests::tmpdir;

fn demo(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/demo").join(name)
}

fn aligned() -> AlignedEnsemble {
    let maps: Vec<_> = ["map_closed.mrc", "map_halfway.mrc", "map_open.mrc"].iter().map(|m| demo(m)).collect();
    Ensemble::load(&maps).unwrap().with_resolution(6.0).align(demo("reference_1ake.pdb").as_path()).unwrap()
}

fn truths() -> Vec<Structure> {
    ["closed", "halfway", "open"].iter().map(|s| Structure::read(demo(&format!("truth_{s}.pdb"))).unwrap()).collect()
}

fn quick(epochs: usize) -> VaeConfig {
    VaeConfig::default().with_epochs(epochs).with_log_every(0).with_seed(7)
}

#[test]
fn loss_falls_and_models_move_towards_the_truths() {
    let truths = truths();
    let aligned = aligned().with_truths(truths.clone()).unwrap();
    let before: Vec<f64> = truths.iter().map(|t| ca_rmsd(aligned.reference(), t).unwrap()).collect();
    // 100 epochs at twice the default learning rate: ~40 s in release on 2 cores (the full default
    // schedule of 600 epochs gets the benchmark maps to <= 1 A)
    let fit = aligned.fit_vae(quick(100).with_learning_rate(1e-2)).unwrap();
    let after = fit.ca_rmsd_to(&truths).unwrap();
    println!("C-alpha RMSD before {before:.2?} after {after:.2?}");
    // the loss at the final width falls; compare the first and last epochs of the sharpest level
    let h = fit.history();
    let last_level: Vec<_> = h.iter().filter(|e| e.coarse_b == h.last().unwrap().coarse_b).collect();
    assert!(last_level.last().unwrap().terms.recon < last_level.first().unwrap().terms.recon);
    // the open state starts ~7 A away; the fit must recover a large part of the motion
    assert!(before[2] > 5.0);
    assert!(after[2] < 0.6 * before[2], "open state: {:.2} -> {:.2}", before[2], after[2]);
    assert!(after[1] < before[1], "halfway state: {:.2} -> {:.2}", before[1], after[1]);
    // fitted models correlate with their own map better than the reference does
    for k in 1..3 {
        assert!(fit.cc()[k].cc_mask > fit.aligned().reference_cc()[k].cc_mask);
    }
}

#[test]
fn fixed_seed_repeats_on_cpu() {
    let a = aligned().fit_vae(quick(6)).unwrap();
    let b = aligned().fit_vae(quick(6)).unwrap();
    let la: Vec<f64> = a.history().iter().map(|e| e.terms.total).collect();
    let lb: Vec<f64> = b.history().iter().map(|e| e.terms.total).collect();
    assert_eq!(la, lb);
    let c = aligned().fit_vae(quick(6).with_seed(8)).unwrap();
    assert_ne!(la, c.history().iter().map(|e| e.terms.total).collect::<Vec<_>>());
}

#[test]
fn nan_stops_with_an_error_and_keeps_the_last_good_model() {
    let dir = tmpdir("nan");
    let cfg = quick(20).with_learning_rate(1e30).with_lr_final(1e30).with_run_dir(&dir);
    let err = aligned().fit_vae(cfg).unwrap_err().to_string();
    assert!(err.contains("non-finite") && err.contains("last good"), "{err}");
    assert!(dir.join("last_good.mpk").exists());
}

#[test]
fn run_directory_checkpoint_resume_and_reload() {
    let dir = tmpdir("resume");
    let fit = aligned().fit_vae(quick(4).with_run_dir(&dir).with_checkpoint_every(2)).unwrap();
    for f in
        ["config.json", "model_0.pdb", "model_2.cif", "latents.json", "metrics.json", "vae.mpk", "checkpoint/model.mpk"]
    {
        assert!(dir.join(f).exists(), "{f}");
    }
    // a second run into the same directory is refused unless it resumes
    assert!(aligned().fit_vae(quick(6).with_run_dir(&dir)).is_err());
    let resumed = aligned().fit_vae(quick(6).with_run_dir(&dir).with_resume(true)).unwrap();
    assert_eq!(resumed.history().len(), 6);
    // the first 4 epochs are the saved ones (equal up to summation order in the reloaded logs)
    for (a, b) in resumed.history()[..4].iter().zip(fit.history()) {
        assert_eq!(a.epoch, b.epoch);
        assert!((a.terms.total - b.terms.total).abs() <= 1e-9 * b.terms.total.abs(), "{a:?} vs {b:?}");
    }
    // reload: same latents and models
    let back = VaeFit::load(&dir).unwrap();
    assert_eq!(back.latents().len(), 3);
    for (a, b) in back.latents().iter().zip(resumed.latents()) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4);
        }
    }
}

#[test]
fn time_cap_stops_training() {
    let fit = aligned().fit_vae(quick(100_000).with_max_seconds(2.0)).unwrap();
    assert_eq!(fit.stopped(), "time cap");
    assert!(fit.history().len() < 100_000);
}
