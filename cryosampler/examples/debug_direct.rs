use std::sync::Arc;
use burn::prelude::*;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::module::Param;
use cryosampler::density::{render, RenderOptions, RenderSpec, SplatAtoms};
use cryosampler::device::{self, AB};
use cryosampler::loss::recon;
use cryosampler::prelude::*;

#[derive(Module, Debug)]
struct Free<B: Backend> { off: Param<Tensor<B, 3>> }

fn main() {
    let dev = device::device();
    let d = "/work/shared/data/adk_tmd";
    let map = Map::read(format!("{d}/map_3_noisy.mrc")).unwrap().normalised();
    let r = Structure::read(format!("{d}/reference.pdb")).unwrap();
    let t = Structure::read(format!("{d}/truth_3.pdb")).unwrap();
    let n = r.atoms.len();
    let lr: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0.05);
    let b: f64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(85.0);
    let spec = Arc::new(RenderSpec { grid: map.grid.clone(), atoms: SplatAtoms::from_structure(&r, &RenderOptions::at(4.5).with_b_extra(b)) });
    let target = Tensor::<AB, 4>::from_data(TensorData::new(map.blur_b(b - 85.0).data.clone(), [1, 50, 42, 48]), &dev);
    let xr = Tensor::<AB, 3>::from_data(TensorData::new(r.coords_f32(), [1, n, 3]), &dev);
    let mut m = Free { off: Param::from_tensor(Tensor::<AB, 3>::zeros([1, n, 3], &dev)) };
    let mut opt = AdamConfig::new().init::<AB, Free<AB>>();
    for step in 0..=200 {
        let x = xr.clone() + m.off.val();
        let l = recon(render(x.clone(), &spec), target.clone()).mean();
        if step % 20 == 0 {
            let xv: Vec<f32> = x.clone().into_data().into_vec().unwrap();
            let s = r.with_coords_f32(&xv).unwrap();
            println!("step {step} recon {:.4} ca_rmsd {:.2}", l.clone().into_scalar(), cryosampler::pipeline::ca_rmsd(&s, &t).unwrap());
        }
        let g = GradientsParams::from_grads(l.backward(), &m);
        m = opt.step(lr, m, g);
    }
}
