//! The forward model against an independent simulator (gemmi's electron-scattering maps).

use cryosampler::density::{RenderOptions, estimate_blur, render_structure};
use cryosampler::metrics::cc::{MASK_SHRINK, MASK_SOLVENT_RADIUS, envelope_mask};
use cryosampler::prelude::*;
use cryosampler_tests::data;

#[test]
fn rendered_truths_match_independently_simulated_clean_maps() {
    // The clean maps were made by gemmi (5-Gaussian electron form factors, B = 20 + 60, hard cut at
    // 4.5 A). numpy facts: a plain EMAN sigma at 4.5 A gives CC_mask ~0.88, at 5.5 A ~0.94.
    for k in 0..4 {
        let map = Map::read(data(&format!("adk_tmd/map_{k}_clean.mrc"))).unwrap();
        let truth = Structure::read(data(&format!("adk_tmd/truth_{k}.pdb"))).unwrap();
        let est = estimate_blur(&map, &truth, 4.5).unwrap();
        println!("map {k}: {est}");
        assert!((est.cc_mask_nominal - 0.88).abs() < 0.03, "nominal width CC {}", est.cc_mask_nominal);
        assert!(est.cc_mask >= 0.9, "best-width CC_mask {}", est.cc_mask);
        // the maps carry B = 80 in total; our plain Gaussian needs a comparable extra width
        assert!((30.0..=160.0).contains(&est.b_extra), "B_extra {}", est.b_extra);
        // rendering at 5.5 A gives ~0.94 (numpy fact)
        let mask = envelope_mask(&truth, &map.grid, MASK_SOLVENT_RADIUS, MASK_SHRINK);
        let cc55 = cryosampler::density::blur::masked_render_cc(&map, &truth, &mask, 5.5, 0.0);
        assert!((cc55 - 0.94).abs() < 0.03, "CC at 5.5 A: {cc55}");
    }
}

#[test]
fn rendered_map_of_the_wrong_state_scores_lower() {
    let map = Map::read(data("adk_tmd/map_3_clean.mrc")).unwrap();
    let right = Structure::read(data("adk_tmd/truth_3.pdb")).unwrap();
    let wrong = Structure::read(data("adk_tmd/truth_0.pdb")).unwrap();
    let opts = RenderOptions::at(5.5);
    let cr = map.correlation(&render_structure(&right, &map.grid, &opts)).unwrap();
    let cw = map.correlation(&render_structure(&wrong, &map.grid, &opts)).unwrap();
    assert!(cr > cw + 0.1, "right {cr} wrong {cw}");
}
