//! The stage-2 network: a time-conditioned MLP velocity field on flattened latent grids.
//!
//! `F(z_t, t)`: the latent `[b, d_z]` concatenated with a sinusoidal embedding of `t` `[b, e]`, four
//! fully-connected layers of width `d` with SiLU, and a linear read-out back to `d_z`.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;
use serde::{Deserialize, Serialize};

/// Architecture of the flow network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowNetConfig {
    /// Width `d` of the hidden layers (default 512).
    pub width: usize,
    /// Number of hidden fully-connected layers (default 4, as the paper).
    pub layers: usize,
    /// Size of the sinusoidal time embedding (default 64).
    pub time_embedding: usize,
}

impl Default for FlowNetConfig {
    fn default() -> Self {
        FlowNetConfig { width: 512, layers: 4, time_embedding: 64 }
    }
}

/// Sinusoidal embedding of times `t` `[b]` in `[0, 1]`: `[sin(t w_k), cos(t w_k)]` with
/// frequencies `w_k = 1000^(k / (e/2 - 1))`, `k = 0 .. e/2`; returns `[b, e]`.
pub fn time_embedding<B: Backend>(t: Tensor<B, 1>, dim: usize) -> Tensor<B, 2> {
    let half = (dim / 2).max(1);
    let [b] = t.dims();
    let freqs: Vec<f32> = (0..half).map(|k| 1000f32.powf(k as f32 / (half.saturating_sub(1)).max(1) as f32)).collect();
    let f = Tensor::<B, 1>::from_data(TensorData::new(freqs, [half]), &t.device());
    let arg = t.reshape([b, 1]) * f.reshape([1, half]); // [b, half]
    Tensor::cat(vec![arg.clone().sin(), arg.cos()], 1)
}

/// The velocity field `F(z, t)`.
#[derive(Module, Debug)]
pub struct FlowNet<B: Backend> {
    hidden: Vec<Linear<B>>,
    out: Linear<B>,
    time_dim: usize,
}

impl<B: Backend> FlowNet<B> {
    /// A fresh network for latents of `d_z` values.
    pub fn new(cfg: &FlowNetConfig, d_z: usize, device: &B::Device) -> Self {
        let mut hidden = Vec::new();
        let mut width = d_z + cfg.time_embedding;
        for _ in 0..cfg.layers.max(1) {
            hidden.push(LinearConfig::new(width, cfg.width).init(device));
            width = cfg.width;
        }
        FlowNet { hidden, out: LinearConfig::new(width, d_z).init(device), time_dim: cfg.time_embedding }
    }

    /// `z` `[b, d_z]`, `t` `[b]` -> velocity `[b, d_z]`.
    pub fn forward(&self, z: Tensor<B, 2>, t: Tensor<B, 1>) -> Tensor<B, 2> {
        let mut x = Tensor::cat(vec![z, time_embedding(t, self.time_dim)], 1);
        for l in &self.hidden {
            x = silu(l.forward(x));
        }
        self.out.forward(x)
    }

    /// Integrate `dz/dt = F(z, t)` from `t = 0` to 1 with `steps` Euler steps.
    pub fn integrate(&self, mut z: Tensor<B, 2>, steps: usize) -> Tensor<B, 2> {
        let [b, _] = z.dims();
        let steps = steps.max(1);
        let dt = 1.0 / steps as f64;
        for s in 0..steps {
            let t = Tensor::<B, 1>::full([b], s as f64 * dt, &z.device());
            z = z.clone() + self.forward(z, t) * dt;
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, B};

    #[test]
    fn embedding_values() {
        let dev = device::device();
        let e = time_embedding(Tensor::<B, 1>::from_floats([0.0, 0.5], &dev), 4);
        let v = e.into_data().into_vec::<f32>().expect("f32");
        // frequencies 1 and 1000: t = 0 -> [0, 0, 1, 1]; t = 0.5 -> [sin .5, sin 500, cos .5, cos 500]
        assert_eq!(&v[..4], &[0.0, 0.0, 1.0, 1.0]);
        assert!((v[4] - 0.5f32.sin()).abs() < 1e-6 && (v[6] - 0.5f32.cos()).abs() < 1e-6);
        assert!((v[5] - 500f32.sin()).abs() < 1e-3);
    }

    #[test]
    fn euler_integration_of_a_constant_field() {
        // with a zero network (all weights zero) the field is 0 and z stays; check shapes and steps
        let dev = device::device();
        let net = FlowNet::<B>::new(&FlowNetConfig { width: 8, layers: 2, time_embedding: 4 }, 3, &dev);
        let z = Tensor::<B, 2>::zeros([5, 3], &dev);
        assert_eq!(net.integrate(z, 7).dims(), [5, 3]);
    }
}
