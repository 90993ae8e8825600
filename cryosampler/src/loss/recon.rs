//! Reconstruction loss `L_recon = 1 - NCC(V_hat, V)` (paper eq. 3-4).

use burn::prelude::*;

/// Stabiliser of the NCC's roots and denominator.
pub const NCC_EPS: f64 = 1e-8;

/// Normalised cross-correlation per map, with means over the voxels:
/// `NCC = mean((a - mean a)(b - mean b)) / (sqrt(var a + eps) sqrt(var b + eps) + eps)`.
/// `pred`, `target`: `[b, d, h, w]`; returns `[b]`.
pub fn ncc<B: Backend>(pred: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
    let [b, d, h, w] = pred.dims();
    let a = pred.reshape([b, d * h * w]);
    let t = target.reshape([b, d * h * w]);
    let a = a.clone() - a.mean_dim(1);
    let t = t.clone() - t.mean_dim(1);
    let cov = (a.clone() * t.clone()).mean_dim(1);
    let va = (a.clone() * a).mean_dim(1);
    let vt = (t.clone() * t).mean_dim(1);
    let den = (va + NCC_EPS).sqrt() * (vt + NCC_EPS).sqrt() + NCC_EPS;
    (cov / den).reshape([b])
}

/// `1 - NCC` per map, `[b]`.
pub fn recon<B: Backend>(pred: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
    ncc(pred, target).neg() + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};

    #[test]
    fn hand_made_cases() {
        let dev = device::device();
        let t = Tensor::<AB, 4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]), &dev);
        // an affine copy correlates perfectly; its negative anti-correlates
        let same = t.clone() * 3.0 + 7.0;
        let l = recon(same, t.clone()).into_scalar();
        assert!(l.abs() < 1e-6, "{l}");
        let l = recon(t.clone().neg(), t.clone()).into_scalar();
        assert!((l - 2.0).abs() < 1e-6, "{l}");
        // [1, 2, 3, 4] vs [1, 3, 2, 4]: centred dot = 2.25+(-.5*.5)*2+2.25 = 4.0, variances 5 -> 0.8
        let p = Tensor::<AB, 4>::from_data(TensorData::new(vec![1.0f32, 3.0, 2.0, 4.0], [1, 1, 2, 2]), &dev);
        let l = recon(p, t).into_scalar();
        assert!((l - 0.2).abs() < 1e-6, "{l}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let dev = device::device();
        let tv: Vec<f32> = (0..24).map(|i| ((i as f32) * 0.37).sin()).collect();
        let pv: Vec<f32> = (0..24).map(|i| ((i as f32) * 0.53 + 0.2).cos()).collect();
        let target = Tensor::<AB, 4>::from_data(TensorData::new(tv.clone(), [2, 3, 2, 2]), &dev);
        let f = |p: &[f32]| {
            let pt = Tensor::<AB, 4>::from_data(TensorData::new(p.to_vec(), [2, 3, 2, 2]), &dev);
            recon(pt, target.clone()).sum().into_scalar() as f64
        };
        let pt = Tensor::<AB, 4>::from_data(TensorData::new(pv.clone(), [2, 3, 2, 2]), &dev).require_grad();
        let g = recon(pt.clone(), target.clone()).sum().backward();
        let g = pt.grad(&g).expect("grad").into_data().into_vec::<f32>().expect("f32");
        for i in 0..pv.len() {
            let (mut a, mut b) = (pv.clone(), pv.clone());
            a[i] += 1e-3;
            b[i] -= 1e-3;
            let fd = (f(&a) - f(&b)) / 2e-3;
            assert!((fd - g[i] as f64).abs() < 2e-3, "{i}: fd {fd} vs {}", g[i]);
        }
    }
}
