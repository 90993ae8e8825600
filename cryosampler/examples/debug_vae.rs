use burn::prelude::*;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use cryosampler::density::render;
use cryosampler::device::{self, AB};
use cryosampler::loss::recon;
use cryosampler::model::{Vae, VaeNetConfig};
use cryosampler::prelude::*;
use cryosampler::train::vae::TrainData;
use std::sync::Arc;

fn main() {
    let dev = device::device();
    let d = "/work/shared/data/adk_tmd";
    let ens = Ensemble::load(&(0..4).map(|k| format!("{d}/map_{k}_noisy.mrc")).collect::<Vec<_>>()).unwrap().with_resolution(4.5);
    let al = ens.align_with(format!("{d}/reference.pdb"), &AlignConfig { target: FitTarget::AssumeAligned, ..Default::default() }).unwrap();
    let data = TrainData::new(al.ensemble().maps(), Arc::new(al.reference().clone()), 4.5, al.blur().b_extra, 2.25, 2).unwrap();
    let cfg = VaeNetConfig::default();
    let mut model = Vae::<AB>::new(&cfg, &dev);
    let mut opt = AdamConfig::new().init::<AB, Vae<AB>>();
    let spec = Arc::new(cryosampler::density::RenderSpec { grid: al.ensemble().grid().clone(), atoms: cryosampler::density::SplatAtoms::from_structure(al.reference(), &RenderOptions::at(4.5).with_b_extra(85.0)) });
    let t: Vec<f32> = al.ensemble().maps().iter().flat_map(|m| m.data.clone()).collect();
    let targets = Tensor::<AB, 4>::from_data(TensorData::new(t, [4, 50, 42, 48]), &dev);
    let lr: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    for step in 0..60 {
        let dist = model.encoder.forward(data.inputs.clone());
        let off = model.offsets(dist.mean.clone(), data.points.clone(), data.coords.clone());
        let x = data.x_ref.clone().unsqueeze::<3>() + off.clone();
        let l = recon(render(x, &spec), targets.clone()).mean();
        let lv = l.clone().into_scalar();
        let grads = l.backward();
        let gw = model.deform.out.weight.grad(&grads).map(|g| g.abs().max().into_scalar()).unwrap_or(-1.0);
        let gb = model.deform.out.bias.as_ref().and_then(|b| b.grad(&grads)).map(|g| g.abs().max().into_scalar()).unwrap_or(-1.0);
        let offmax = off.abs().max().into_scalar();
        if step % 5 == 0 { println!("step {step} recon {lv:.5} |grad W_out| {gw:.3e} |grad b_out| {gb:.3e} max|offset| {offmax:.4}"); }
        let g = GradientsParams::from_grads(grads, &model);
        model = opt.step(lr, model, g);
    }
}
