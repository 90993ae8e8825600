use cryosampler::density::{render_structure, RenderOptions, pearson};
use cryosampler::prelude::*;
fn main() {
    let d = "/work/shared/data/adk_tmd";
    let run = std::env::args().nth(1).unwrap_or("/tmp/run600".into());
    let b: f64 = 85.3;
    for k in 0..4 {
        let map = Map::read(format!("{d}/map_{k}_noisy.mrc")).unwrap();
        let truth = Structure::read(format!("{d}/truth_{k}.pdb")).unwrap();
        let refr = Structure::read(format!("{run}/reference_aligned.pdb")).unwrap();
        let fitted = Structure::read(format!("{run}/model_{k}.pdb")).unwrap();
        let clean = Map::read(format!("{d}/map_{k}_clean.mrc")).unwrap();
        let f = |s: &Structure, m: &Map| pearson(&m.data, &render_structure(s, &m.grid, &RenderOptions::at(4.5).with_b_extra(b)).data);
        println!("map {k}: NCC(noisy) truth {:.4} fitted {:.4} reference {:.4} | NCC(clean) truth {:.4} fitted {:.4}", f(&truth, &map), f(&fitted, &map), f(&refr, &map), f(&truth, &clean), f(&fitted, &clean));
    }
}
