//! Stage 0 and the alignment stage on the AdK benchmark.

use cryosampler::prelude::*;
use cryosampler_tests::{data, tmpdir};

fn maps() -> Vec<std::path::PathBuf> {
    (0..4).map(|k| data(&format!("adk_tmd/map_{k}_noisy.mrc"))).collect()
}

#[test]
fn load_normalises_and_reports() {
    let ens = Ensemble::load(&maps()).unwrap();
    assert_eq!(ens.len(), 4);
    for m in ens.maps() {
        let (mean, std) = m.mean_std();
        assert!(mean.abs() < 1e-4 && (std - 1.0).abs() < 1e-4);
    }
    assert!(ens.report().iter().any(|l| l.contains("normalised")));
    assert!(ens.to_string().contains("4 maps"));
}

#[test]
fn load_errors_name_the_file() {
    let e = Ensemble::load::<&str>(&[]).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let mut ps = maps();
    ps.push("does_not_exist.mrc".into());
    let e = Ensemble::load(&ps).unwrap_err().to_string();
    assert!(e.contains("does_not_exist.mrc"), "{e}");
}

#[test]
fn mismatched_grids_resampled_or_refused() {
    let dir = tmpdir("grids");
    let m = Map::read(data("adk_tmd/map_1_noisy.mrc")).unwrap();
    let shifted = Map {
        grid: Grid { origin: [m.grid.origin[0] + 0.75, m.grid.origin[1], m.grid.origin[2]], ..m.grid.clone() },
        ..m
    };
    let p = dir.join("shifted.mrc");
    shifted.write(&p, false).unwrap();
    let paths = vec![data("adk_tmd/map_0_noisy.mrc"), p.clone()];
    let e = Ensemble::load_with(&paths, &LoadOptions::default().with_resample(false)).unwrap_err().to_string();
    assert!(e.contains("shifted.mrc") && e.contains("grid"), "{e}");
    let ens = Ensemble::load(&paths).unwrap();
    assert!(ens.report().iter().any(|l| l.contains("resampled")));
    assert!(ens.map(1).unwrap().grid.same_as(ens.grid()));
}

#[test]
fn align_estimates_width_and_scores_reference() {
    let aligned = Ensemble::load(&maps()).unwrap().with_resolution(4.5).align(data("adk_tmd/reference.pdb")).unwrap();
    println!("{aligned}");
    for l in aligned.report() {
        println!("  {l}");
    }
    // the referee's CC_mask of the reference on maps 0..3: 0.63 / 0.42 / 0.26 / 0.15 (the reference
    // is docked in the map frame; fitting it to the mean map may move it a little)
    let cc: Vec<f64> = aligned.reference_cc().iter().map(|c| c.cc_mask).collect();
    assert!(cc[0] > cc[1] && cc[1] > cc[2] && cc[2] > cc[3], "{cc:?}");
    assert!((cc[0] - 0.63).abs() < 0.08, "{cc:?}");
    assert!((30.0..=160.0).contains(&aligned.blur().b_extra));
    let ca = aligned.reference().ca_indices();
    assert_eq!(ca.len(), 214);
    // the reported fit describes the whole move from the input to the aligned reference
    let input = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let fit = aligned.rigid_fit().unwrap();
    let moved = cryosampler::structure::geometry::rmsd(&input.coords(), &aligned.reference().coords());
    assert!((fit.rmsd_moved - moved).abs() < 1e-6, "{} vs {moved}", fit.rmsd_moved);
}

#[test]
fn align_rejects_structures_without_backbone() {
    let dir = tmpdir("nobb");
    let s = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let side_chains = s.filter_atoms(|a| !matches!(a.name.as_str(), "N" | "CA" | "C" | "O"));
    let p = dir.join("sidechains.pdb");
    side_chains.write(&p, false).unwrap();
    let e = Ensemble::load(&maps()).unwrap().align(p.as_path()).unwrap_err().to_string();
    assert!(e.contains("sidechains.pdb") && e.contains("backbone"), "{e}");
}
