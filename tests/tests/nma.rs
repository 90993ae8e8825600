//! Normal-mode baseline against ProDy 2.6.1 (facts in `fixtures/prody_anm_adk.json`, written by
//! `fixtures/prody_anm_adk.py`) and against what the conformations must satisfy by construction.

use std::time::Instant;

use cryosampler::baseline::nma::{AnmConfig, AnmSolver, Nma, calpha_nodes};
use cryosampler::structure::Structure;
use cryosampler::structure::geometry::{distance, rmsd, rmsd_superposed};
use cryosampler_tests::data;
use serde_json::Value;

fn prody() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prody_anm_adk.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ca_coords(s: &Structure) -> Vec<[f64; 3]> {
    calpha_nodes(s).iter().map(|&a| s.atoms[a].pos).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_adk_against_prody(nma: &Nma, facts: &Value) {
    let adk = &facts["adk"];
    assert_eq!(nma.nodes().len() as u64, adk["n_ca"].as_u64().unwrap());
    let want = floats(&adk["eigenvalues"]);
    let mut worst: f64 = 0.0;
    for (k, (ours, theirs)) in nma.eigenvalues().iter().zip(&want).enumerate() {
        assert!((ours - theirs).abs() <= 1e-3 * theirs, "eigenvalue {}: ours {ours} ProDy {theirs}", k + 1);
        worst = worst.max((ours - theirs).abs() / theirs);
    }
    // same first mode up to sign
    let cos = dot(nma.mode(0).unwrap(), &floats(&adk["mode1"])).abs();
    assert!(cos > 0.999, "|cos(mode 1, ProDy mode 1)| = {cos}");
    // closed -> open overlap, CA(truth_3) - CA(reference) in the map frame
    let reference = nma.reference();
    let truth = Structure::read(data("adk_tmd/truth_3.pdb")).unwrap();
    let disp: Vec<[f64; 3]> =
        ca_coords(&truth).iter().zip(ca_coords(reference)).map(|(t, r)| [0, 1, 2].map(|k| t[k] - r[k])).collect();
    let ov = nma.overlap(0, &disp).unwrap();
    let ov_prody = adk["overlap_mode1_raw"].as_f64().unwrap();
    assert!((ov - ov_prody).abs() < 0.01, "overlap ours {ov} ProDy {ov_prody}");
    println!(
        "AdK {:?}: eigenvalues 1-10 max relative difference to ProDy {worst:.1e}, |cos| with ProDy mode 1 {cos:.12}, overlap with closed->open {ov:.4} (ProDy {ov_prody:.4})",
        nma.modes().solver
    );
}

#[test]
fn adk_anm_matches_prody() {
    let facts = prody();
    let reference = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let t = Instant::now();
    let dense = Nma::anm(&reference, &AnmConfig::default()).unwrap();
    let t_dense = t.elapsed().as_secs_f64();
    assert_eq!(dense.modes().solver, AnmSolver::Dense);
    assert_eq!(dense.modes().n_zero, 6);
    assert_eq!(dense.to_string(), "<Nma ANM 214 nodes, cutoff 15 A, gamma 1, 20 modes, lambda_1 0.9767>");
    check_adk_against_prody(&dense, &facts);
    let t = Instant::now();
    let sparse = Nma::anm(&reference, &AnmConfig::default().with_solver(AnmSolver::Sparse)).unwrap();
    let t_sparse = t.elapsed().as_secs_f64();
    check_adk_against_prody(&sparse, &facts);
    println!("AdK 214 CA (642 dof), 20 modes: dense {t_dense:.2} s, sparse {t_sparse:.2} s");
}

#[test]
fn adk_extended_mode_matches_prody_extend_model() {
    let facts = prody();
    let adk = &facts["adk"];
    let reference = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let nma = Nma::anm(&reference, &AnmConfig::default()).unwrap();
    let ext = nma.extend(0).unwrap();
    assert_eq!(ext.len() as u64, adk["extended_n_atoms"].as_u64().unwrap());
    let norm: f64 = ext.iter().map(|d| d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-12);
    let sign = dot(nma.mode(0).unwrap(), &floats(&adk["mode1"])).signum();
    let theirs = floats(&adk["extended_mode1_first_30"]);
    let ours: Vec<f64> = ext.iter().flatten().take(30).map(|v| sign * v).collect();
    for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!((a - b).abs() < 1e-4, "component {k}: ours {a} ProDy {b}");
    }
}

#[test]
fn large_complex_7cth_sparse_matches_prody() {
    let facts = prody();
    let big = &facts["7cth"];
    let s = Structure::read(data("pdb/7cth.cif")).unwrap();
    let t = Instant::now();
    let nma = Nma::anm(&s, &AnmConfig::default()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(nma.modes().solver, AnmSolver::Sparse);
    assert_eq!(nma.nodes().len() as u64, big["n_ca"].as_u64().unwrap());
    let want = floats(&big["eigenvalues"]);
    let mut worst: f64 = 0.0;
    for (k, (ours, theirs)) in nma.eigenvalues().iter().zip(&want).enumerate() {
        assert!((ours - theirs).abs() <= 1e-3 * theirs, "7cth eigenvalue {}: ours {ours} ProDy {theirs}", k + 1);
        worst = worst.max((ours - theirs).abs() / theirs);
    }
    println!("7cth eigenvalues 1-10: max relative difference to ProDy {worst:.1e}");
    println!(
        "7cth {} CA ({} dof, {} springs), 20 modes sparse: {secs:.2} s (ProDy dense LAPACK {} s)",
        nma.nodes().len(),
        3 * nma.nodes().len(),
        nma.modes().n_springs,
        big["seconds_modes_dense_lapack"]
    );
}

#[test]
fn conformations_have_the_requested_rmsd() {
    let reference = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let nma = Nma::anm(&reference, &AnmConfig::default()).unwrap();
    let confs = nma.conformations(16, 1.0, &[0]).unwrap();
    assert_eq!(confs.len(), 16);
    let ca_ref = ca_coords(&reference);
    for (c, s) in confs.iter().enumerate() {
        assert_eq!(s.atoms.len(), reference.atoms.len());
        let t = -1.0 + 2.0 * c as f64 / 15.0;
        let r = rmsd(&ca_coords(s), &ca_ref);
        assert!((r - t.abs()).abs() <= 0.01 * t.abs(), "conformation {c}: CA RMSD {r}, wanted {}", t.abs());
        // ANM modes carry no rigid-body motion, so superposition removes (almost) nothing
        let rs = rmsd_superposed(&ca_coords(s), &ca_ref);
        assert!((rs - t.abs()).abs() <= 0.01 * t.abs(), "conformation {c}: superposed CA RMSD {rs}");
        // each residue moves rigidly with its C-alpha: intra-residue distances are unchanged
        for res in s.residues.iter().take(30) {
            let a = res.atoms.start;
            for b in res.atoms.clone() {
                let d0 = distance(reference.atoms[a].pos, reference.atoms[b].pos);
                assert!((distance(s.atoms[a].pos, s.atoms[b].pos) - d0).abs() < 1e-9);
            }
        }
    }
    // the extremes move along +-mode 1: displacement / |displacement| == mode 1 (up to sign)
    let last = ca_coords(&confs[15]);
    let disp: Vec<[f64; 3]> = last.iter().zip(&ca_ref).map(|(a, b)| [0, 1, 2].map(|k| a[k] - b[k])).collect();
    assert!((nma.overlap(0, &disp).unwrap() - 1.0).abs() < 1e-9);
    // several modes: still the requested RMSD
    let multi = nma.conformations(5, 2.0, &[0, 1, 2]).unwrap();
    assert!((rmsd(&ca_coords(&multi[0]), &ca_ref) - 2.0).abs() < 0.02);
    assert_eq!(rmsd(&ca_coords(&multi[2]), &ca_ref), 0.0);
    assert!(nma.conformations(4, 1.0, &[99]).is_err());
    assert!(nma.conformations(0, 1.0, &[0]).is_err());
}
