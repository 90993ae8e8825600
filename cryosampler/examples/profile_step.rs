use std::sync::Arc;
use std::time::Instant;
use burn::prelude::*;
use cryosampler::density::{render, RenderOptions, RenderSpec, SplatAtoms};
use cryosampler::device::{self, AB};
use cryosampler::loss::{backbone, recon, BackboneWindows};
use cryosampler::model::{Vae, VaeNetConfig};
use cryosampler::prelude::*;
use cryosampler::train::vae::TrainData;

fn main() {
    let dev = device::device();
    let d = "/work/shared/data/adk_tmd";
    let ens = Ensemble::load(&(0..4).map(|k| format!("{d}/map_{k}_noisy.mrc")).collect::<Vec<_>>()).unwrap().with_resolution(4.5);
    let al = ens.align_with(format!("{d}/reference.pdb"), &AlignConfig { target: FitTarget::AssumeAligned, ..Default::default() }).unwrap();
    let data = TrainData::new(al.ensemble().maps(), Arc::new(al.reference().clone()), 4.5, 85.0, 2.25, 2).unwrap();
    let model = Vae::<AB>::new(&VaeNetConfig::default(), &dev);
    let bw = BackboneWindows::new(al.reference(), 5).unwrap().to_tensors::<AB>(&dev);
    let spec = Arc::new(RenderSpec { grid: al.ensemble().grid().clone(), atoms: SplatAtoms::from_structure(al.reference(), &RenderOptions::at(4.5).with_b_extra(85.0)) });
    let t: Vec<f32> = al.ensemble().maps()[0].data.clone();
    let target = Tensor::<AB, 4>::from_data(TensorData::new(t, [1, 50, 42, 48]), &dev);
    let sel = Tensor::<AB, 1, Int>::from_data(TensorData::new(vec![0i64], [1]), &dev);
    for rep in 0..3 {
        let t0 = Instant::now();
        let dist = model.encoder.forward(data.inputs.clone().select(0, sel.clone()));
        let z = dist.sample();
        let _ = z.clone().sum().into_scalar(); let t1 = t0.elapsed();
        let feat = model.decoder.half(z.clone());
        let _ = feat.clone().sum().into_scalar(); let t2 = t0.elapsed();
        let _ = feat;
        let f = model.decoder.sample(z.clone(), data.points.clone());
        let off = model.deform.forward(data.coords.clone(), f);
        let x = data.x_ref.clone().unsqueeze::<3>() + off;
        let _ = x.clone().sum().into_scalar(); let t3 = t0.elapsed();
        let v = render(x.clone(), &spec);
        let l = recon(v, target.clone()).mean() + backbone(x, &bw).mean() * 0.3;
        let _ = l.clone().into_scalar(); let t4 = t0.elapsed();
        let g = l.backward();
        let t5 = t0.elapsed();
        drop(g);
        println!("rep {rep}: encoder {:?} decoder {:?} sample+mlp {:?} render+loss {:?} backward {:?} total {:?}", t1, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5);
    }
}
