//! The decoder's last layer, evaluated only where it is needed.
//!
//! The last decoder layer is a stride-2, kernel-2 transposed convolution from `c` channels at half
//! resolution to `f` feature channels at full resolution: full-resolution voxel `v` gets
//! `Y(v) = W_{s(v)} H(v / 2) + b`, where `s(v) in 0..8` is `v`'s position inside its 2x2x2 block. The
//! method samples `Y` trilinearly at the reference atoms only. Materialising `Y` (f x 8 x the
//! half-resolution voxels) and gathering from it dominated the backward pass, so [`ImplicitUpsample`]
//! computes exactly the same trilinear samples from `H`: for each atom, the 8 corners of its cell are
//! the 8 sub-positions, so the sample is `sum_s w_s W_s H(parent_s) + b`, one gather and one matrix
//! product. [`ImplicitUpsample::grid`] still builds `Y` when it is wanted (display, tests).

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::Int;

/// A stride-2, kernel-2 transposed convolution evaluated at points (see the module docs).
#[derive(Module, Debug)]
pub struct ImplicitUpsample<B: Backend> {
    /// `[8 * c_in, c_out]`: row block `s * c_in .. (s + 1) * c_in` is `W_s`, `s = dx + 2 dy + 4 dz`.
    pub weight: Param<Tensor<B, 2>>,
    /// `[c_out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> ImplicitUpsample<B> {
    /// A fresh layer (Kaiming-uniform like burn's transposed convolution, fan-in `c_in`).
    pub fn new(c_in: usize, c_out: usize, device: &B::Device) -> Self {
        let k = (1.0 / c_in as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        ImplicitUpsample {
            weight: init.init_with([8 * c_in, c_out], Some(c_in), Some(c_out), device),
            bias: Initializer::Uniform { min: -k, max: k }.init_with([c_out], Some(c_in), Some(c_out), device),
        }
    }

    /// Trilinear samples of the full-resolution output at `points` `[n, 3]` (fractional voxel
    /// coordinates `(x, y, z)` of the full-resolution grid of shape `2 x` that of `h`):
    /// `h` `[b, c, D/2, H/2, W/2]` -> `[b, n, c_out]`.
    pub fn sample(&self, h: Tensor<B, 5>, points: Tensor<B, 2>) -> Tensor<B, 3> {
        let [b, c, d2, h2, w2] = h.dims();
        let size = [2 * w2, 2 * h2, 2 * d2];
        let [n, _] = points.dims();
        let device = h.device();
        let host: Vec<f32> = points.clone().into_data().convert::<f32>().into_vec::<f32>().unwrap_or_default();
        let mut base = vec![0f32; n * 3];
        let mut idx = vec![0i64; n * 8];
        // for each atom and sub-position s, which corner (dx, dy, dz) of its cell has that parity
        let mut corner_of = vec![0u8; n * 8];
        for p in 0..n {
            let mut i0 = [0usize; 3];
            for a in 0..3 {
                let f = host[p * 3 + a];
                let f = if f.is_finite() { f } else { 0.0 };
                i0[a] = (f.floor() as i64).clamp(0, size[a] as i64 - 2) as usize;
                base[p * 3 + a] = i0[a] as f32;
            }
            for corner in 0..8usize {
                let d = [corner & 1, (corner >> 1) & 1, (corner >> 2) & 1];
                let v = [i0[0] + d[0], i0[1] + d[1], i0[2] + d[2]];
                let s = (v[0] % 2) + 2 * (v[1] % 2) + 4 * (v[2] % 2);
                let parent = ((v[2] / 2) * h2 + v[1] / 2) * w2 + v[0] / 2;
                idx[p * 8 + s] = parent as i64;
                corner_of[p * 8 + s] = corner as u8;
            }
        }
        // trilinear weights per corner from the (differentiable) fractional coordinates
        let basis = Tensor::<B, 2>::from_data(TensorData::new(base, [n, 3]), &device);
        let t = (points - basis).clamp(0.0, 1.0);
        let tx = t.clone().slice([0..n, 0..1]);
        let ty = t.clone().slice([0..n, 1..2]);
        let tz = t.slice([0..n, 2..3]);
        let w_corner: Vec<Tensor<B, 2>> = (0..8)
            .map(|corner| {
                let f = |t: &Tensor<B, 2>, bit: usize| if bit == 1 { t.clone() } else { t.clone().neg() + 1.0 };
                f(&tx, corner & 1) * f(&ty, (corner >> 1) & 1) * f(&tz, (corner >> 2) & 1)
            })
            .collect();
        let w_corner = Tensor::cat(w_corner, 1); // [n, 8] by corner
        let perm: Vec<i64> = corner_of.iter().enumerate().map(|(i, c)| ((i / 8) * 8 + *c as usize) as i64).collect();
        let perm = Tensor::<B, 1, Int>::from_data(TensorData::new(perm, [n * 8]), &device);
        let w_sub = w_corner.reshape([n * 8]).select(0, perm).reshape([n, 8]); // [n, 8] by sub-position
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n * 8]), &device);
        let g = h.reshape([b, c, d2 * h2 * w2]).select(2, idx).reshape([b, c, n, 8]); // [b, c, n, 8]
        let g = g * w_sub.clone().unsqueeze::<4>(); // weighted
        let g = g.permute([0, 2, 3, 1]).reshape([b, n, 8 * c]); // [b, n, (s, c)]
        let y = g.matmul(self.weight.val().unsqueeze::<3>()); // [b, n, c_out]
        // the bias is added once: the trilinear weights sum to one
        y + self.bias.val().unsqueeze::<3>()
    }

    /// The full-resolution output grid `[b, c_out, D, H, W]` (for display and tests).
    pub fn grid(&self, h: Tensor<B, 5>) -> Tensor<B, 5> {
        let [b, c, d2, h2, w2] = h.dims();
        let c_out = self.bias.dims()[0];
        let x = h.permute([0, 2, 3, 4, 1]).reshape([b * d2 * h2 * w2, c]); // [v, c]
        let mut subs = Vec::with_capacity(8);
        for s in 0..8 {
            let w = self.weight.val().slice([s * c..(s + 1) * c, 0..c_out]);
            subs.push((x.clone().matmul(w) + self.bias.val().unsqueeze::<2>()).reshape([b, d2, h2, w2, 1, c_out]));
        }
        // interleave: sub-position s = dx + 2 dy + 4 dz
        let y = Tensor::cat(subs, 4).reshape([b, d2, h2, w2, 2, 2, 2, c_out]); // [b, d, h, w, dz, dy, dx, c]
        y.permute([0, 7, 1, 4, 2, 5, 3, 6]).reshape([b, c_out, 2 * d2, 2 * h2, 2 * w2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};
    use burn::tensor::Distribution;

    #[test]
    fn sampling_equals_trilinear_sampling_of_the_materialised_grid() {
        let dev = device::device();
        let layer = ImplicitUpsample::<AB>::new(3, 5, &dev);
        let h = Tensor::<AB, 5>::random([2, 3, 3, 4, 5], Distribution::Normal(0.0, 1.0), &dev);
        let pts = Tensor::<AB, 2>::from_data(
            TensorData::new(vec![0.3f32, 1.7, 2.2, 5.5, 0.1, 4.9, 8.9, 7.2, 0.0, 3.0, 3.0, 3.0], [4, 3]),
            &dev,
        );
        let direct = layer.sample(h.clone(), pts.clone()).into_data().into_vec::<f32>().expect("f32");
        let via_grid = crate::model::grid_sample_3d(layer.grid(h), pts).into_data().into_vec::<f32>().expect("f32");
        for (a, b) in direct.iter().zip(&via_grid) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn grid_matches_burns_transposed_convolution() {
        // same weights in burn's layout [c_in, c_out, kd, kh, kw]
        use burn::nn::conv::ConvTranspose3dConfig;
        let dev = device::device();
        let (ci, co) = (2, 3);
        let layer = ImplicitUpsample::<AB>::new(ci, co, &dev);
        let mut conv = ConvTranspose3dConfig::new([ci, co], [2, 2, 2]).with_stride([2, 2, 2]).init::<AB>(&dev);
        let w: Vec<f32> = layer.weight.val().into_data().into_vec().expect("f32");
        let mut wc = vec![0f32; ci * co * 8];
        for s in 0..8 {
            let (dx, dy, dz) = (s & 1, (s >> 1) & 1, (s >> 2) & 1);
            for i in 0..ci {
                for o in 0..co {
                    wc[(((i * co + o) * 2 + dz) * 2 + dy) * 2 + dx] = w[(s * ci + i) * co + o];
                }
            }
        }
        conv.weight = Param::from_tensor(Tensor::from_data(TensorData::new(wc, [ci, co, 2, 2, 2]), &dev));
        conv.bias = Some(Param::from_tensor(layer.bias.val()));
        let h = Tensor::<AB, 5>::random([1, ci, 2, 3, 2], Distribution::Normal(0.0, 1.0), &dev);
        let a: Vec<f32> = layer.grid(h.clone()).into_data().into_vec().expect("f32");
        let b: Vec<f32> = conv.forward(h).into_data().into_vec().expect("f32");
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
}
