//! Differentiable trilinear sampling of a 3D feature grid at arbitrary points.
//!
//! burn 0.21 has only `grid_sample_2d`, so this builds the 3D version from `select` (a gather on
//! the flattened grid) and elementwise ops: gradients flow to the grid (through `select`'s
//! scatter-add backward) and to the coordinates (through the interpolation weights). Points
//! outside the grid are clamped to its border.

use burn::prelude::*;
use burn::tensor::Int;

/// Sample `grid` `[b, c, d, h, w]` at `points` `[n, 3]` given in fractional voxel coordinates
/// `(x, y, z)` of that grid (`x` indexes `w`). Returns `[b, n, c]`.
///
/// The integer cell of each point is taken from the point's current value (it is piecewise
/// constant, so it carries no gradient).
pub fn grid_sample_3d<B: Backend>(grid: Tensor<B, 5>, points: Tensor<B, 2>) -> Tensor<B, 3> {
    let [b, c, d, h, w] = grid.dims();
    let [n, _] = points.dims();
    let device = grid.device();
    let host: Vec<f32> = points.clone().into_data().convert::<f32>().into_vec::<f32>().unwrap_or_default();
    let size = [w, h, d];
    let mut base = vec![0f32; n * 3];
    let mut idx = Vec::with_capacity(n * 8);
    for p in 0..n {
        let mut i0 = [0usize; 3];
        for a in 0..3 {
            let f = host[p * 3 + a];
            let f = if f.is_finite() { f } else { 0.0 };
            let i = (f.floor() as i64).clamp(0, size[a].saturating_sub(2) as i64) as usize;
            i0[a] = i;
            base[p * 3 + a] = i as f32;
        }
        for corner in 0..8 {
            let (dx, dy, dz) = (corner & 1, (corner >> 1) & 1, (corner >> 2) & 1);
            let x = (i0[0] + dx).min(w - 1);
            let y = (i0[1] + dy).min(h - 1);
            let z = (i0[2] + dz).min(d - 1);
            idx.push(((z * h + y) * w + x) as i64);
        }
    }
    let base = Tensor::<B, 2>::from_data(TensorData::new(base, [n, 3]), &device);
    let t = (points - base).clamp(0.0, 1.0); // [n, 3]
    let one = t.ones_like();
    let tx = t.clone().slice([0..n, 0..1]);
    let ty = t.clone().slice([0..n, 1..2]);
    let tz = t.slice([0..n, 2..3]);
    let ox = one.clone().slice([0..n, 0..1]) - tx.clone();
    let oy = one.clone().slice([0..n, 1..2]) - ty.clone();
    let oz = one.slice([0..n, 2..3]) - tz.clone();
    let mut weights = Vec::with_capacity(8);
    for corner in 0..8 {
        let wx = if corner & 1 == 1 { tx.clone() } else { ox.clone() };
        let wy = if (corner >> 1) & 1 == 1 { ty.clone() } else { oy.clone() };
        let wz = if (corner >> 2) & 1 == 1 { tz.clone() } else { oz.clone() };
        weights.push(wx * wy * wz);
    }
    let weights = Tensor::cat(weights, 1); // [n, 8]
    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n * 8]), &device);
    let flat = grid.reshape([b, c, d * h * w]);
    let picked = flat.select(2, idx).reshape([b, c, n, 8]); // [b, c, n, 8]
    let out = (picked * weights.unsqueeze::<4>()).sum_dim(3).reshape([b, c, n]);
    out.swap_dims(1, 2) // [b, n, c]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};

    fn grid_values(b: usize, c: usize, d: usize, h: usize, w: usize) -> Vec<f32> {
        (0..b * c * d * h * w).map(|i| ((i as f32) * 0.731).sin()).collect()
    }

    #[test]
    fn reproduces_a_linear_field_exactly() {
        // trilinear interpolation is exact for f = 1 + 2x - y + 0.5z
        let dev = device::device();
        let (d, h, w) = (4, 5, 6);
        let mut v = vec![0f32; d * h * w];
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    v[(z * h + y) * w + x] = 1.0 + 2.0 * x as f32 - y as f32 + 0.5 * z as f32;
                }
            }
        }
        let g = Tensor::<AB, 5>::from_data(TensorData::new(v, [1, 1, d, h, w]), &dev);
        let pts = Tensor::<AB, 2>::from_data(TensorData::new(vec![1.3f32, 2.7, 0.4, 4.9, 0.1, 2.95], [2, 3]), &dev);
        let out = grid_sample_3d(g, pts).into_data().into_vec::<f32>().expect("f32");
        let f = |x: f32, y: f32, z: f32| 1.0 + 2.0 * x - y + 0.5 * z;
        assert!((out[0] - f(1.3, 2.7, 0.4)).abs() < 1e-5);
        assert!((out[1] - f(4.9, 0.1, 2.95)).abs() < 1e-5);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let dev = device::device();
        let (b, c, d, h, w) = (2, 3, 4, 5, 6);
        let gv = grid_values(b, c, d, h, w);
        let pv = vec![1.3f32, 2.2, 1.4, 3.6, 0.7, 2.1, 0.2, 3.9, 0.8];
        let weights: Vec<f32> = (0..b * 3 * c).map(|i| 0.3 + 0.1 * i as f32).collect();
        let loss_of = |g: &[f32], p: &[f32]| -> f64 {
            let gt = Tensor::<AB, 5>::from_data(TensorData::new(g.to_vec(), [b, c, d, h, w]), &dev);
            let pt = Tensor::<AB, 2>::from_data(TensorData::new(p.to_vec(), [3, 3]), &dev);
            let wt = Tensor::<AB, 3>::from_data(TensorData::new(weights.clone(), [b, 3, c]), &dev);
            (grid_sample_3d(gt, pt) * wt).sum().into_scalar() as f64
        };
        let gt = Tensor::<AB, 5>::from_data(TensorData::new(gv.clone(), [b, c, d, h, w]), &dev).require_grad();
        let pt = Tensor::<AB, 2>::from_data(TensorData::new(pv.clone(), [3, 3]), &dev).require_grad();
        let wt = Tensor::<AB, 3>::from_data(TensorData::new(weights.clone(), [b, 3, c]), &dev);
        let grads = (grid_sample_3d(gt.clone(), pt.clone()) * wt).sum().backward();
        let gg = gt.grad(&grads).expect("grid grad").into_data().into_vec::<f32>().expect("f32");
        let gp = pt.grad(&grads).expect("point grad").into_data().into_vec::<f32>().expect("f32");
        let eps = 1e-2f32;
        for i in [0usize, 17, 95, 203, gv.len() - 1] {
            let (mut a, mut m) = (gv.clone(), gv.clone());
            a[i] += eps;
            m[i] -= eps;
            let fd = (loss_of(&a, &pv) - loss_of(&m, &pv)) / (2.0 * eps as f64);
            assert!((fd - gg[i] as f64).abs() < 1e-3, "grid {i}: fd {fd} autodiff {}", gg[i]);
        }
        for i in 0..pv.len() {
            let (mut a, mut m) = (pv.clone(), pv.clone());
            a[i] += eps;
            m[i] -= eps;
            let fd = (loss_of(&gv, &a) - loss_of(&gv, &m)) / (2.0 * eps as f64);
            assert!((fd - gp[i] as f64).abs() < 2e-3, "point {i}: fd {fd} autodiff {}", gp[i]);
        }
    }
}
