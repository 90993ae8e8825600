use cryosampler::metrics::cc::{fit_global_b, map_model_cc};
use cryosampler::prelude::*;
fn main() {
    let d = "/work/shared/data/adk_tmd";
    let run = std::env::args().nth(1).unwrap_or("/tmp/sw_new_lb03".into());
    for k in 0..4 {
        let map = Map::read(format!("{d}/map_{k}_noisy.mrc")).unwrap();
        let t = Structure::read(format!("{d}/truth_{k}.pdb")).unwrap();
        let m = Structure::read(format!("{run}/model_{k}.pdb")).unwrap();
        let (bt, ct) = fit_global_b(&map, &t, 4.5).unwrap();
        let mut m20 = m.clone(); m20.set_b(20.0);
        let c20 = map_model_cc(&map, &m20, 4.5).unwrap();
        let (bm, cm) = fit_global_b(&map, &m, 4.5).unwrap();
        println!("map {k}: truth B20 {:.3} | truth refined B {bt:.0}: {:.3} | fitted B20 {:.3} | fitted refined B {bm:.0}: {:.3}", map_model_cc(&map, &t, 4.5).unwrap().cc_mask, ct.cc_mask, c20.cc_mask, cm.cc_mask);
    }
}
