use burn::prelude::*;
use cryosampler::device::{self, AB};
use cryosampler::loss::{backbone, BackboneWindows};
use cryosampler::prelude::*;
fn main() {
    let dev = device::device();
    let d = "/work/shared/data/adk_tmd";
    let r = Structure::read(format!("{d}/reference.pdb")).unwrap();
    let w = BackboneWindows::new(&r, 5).unwrap();
    let wt = w.to_tensors::<AB>(&dev);
    for k in 0..4 {
        let t = Structure::read(format!("{d}/truth_{k}.pdb")).unwrap();
        let x = Tensor::<AB, 3>::from_data(TensorData::new(t.coords_f32(), [1, t.atoms.len(), 3]), &dev);
        let l = backbone(x, &wt).into_scalar();
        println!("truth_{k}: L_backbone vs reference = {l:.4} A^2  (x100 = {:.3})", 100.0 * l);
    }
}
