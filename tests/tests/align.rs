//! Rigid fitting recovers a known displacement of the reference.

use cryosampler::align::{AlignOptions, fit_rigid};
use cryosampler::prelude::*;
use cryosampler::structure::geometry::{Rigid, rmsd};
use cryosampler_tests::data;

#[test]
fn recovers_a_15_degree_6_angstrom_displacement() {
    let map = Map::read(data("adk_tmd/map_0_noisy.mrc")).unwrap();
    let reference = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let c = reference.centroid();
    let t = Rigid::about([0.3, -0.5, 0.8], 15.0, c, [4.0, -3.0, 3.2]); // 6.0 A shift
    let moved = reference.with_coords(&reference.coords().iter().map(|p| t.apply(*p)).collect::<Vec<_>>()).unwrap();
    let ca: Vec<usize> = reference.ca_indices();
    let before: Vec<[f64; 3]> = ca.iter().map(|&i| moved.atoms[i].pos).collect();
    let truth: Vec<[f64; 3]> = ca.iter().map(|&i| reference.atoms[i].pos).collect();
    println!("C-alpha RMSD before: {:.2} A", rmsd(&before, &truth));
    let fit = fit_rigid(&map, &moved, &AlignOptions::new(4.5).with_b_extra(65.0)).unwrap();
    let fitted = fit.apply(&moved);
    let after: Vec<[f64; 3]> = ca.iter().map(|&i| fitted.atoms[i].pos).collect();
    let r = rmsd(&after, &truth);
    println!("{fit}\nC-alpha RMSD after: {r:.3} A");
    assert!(r <= 0.5, "C-alpha RMSD after fit {r}");
    assert!(fit.cc_after > fit.cc_before);
}
