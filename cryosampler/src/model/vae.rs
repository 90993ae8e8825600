//! The stage-1 network: encoder map -> latent grid, decoder latent -> feature grid, deformation MLP.
//!
//! Shapes (`D, H, W` the network grid, multiples of 8):
//! - [`Encoder::forward`]: `[b, c_in, D, H, W]` (the map, and by default its difference from the
//!   ensemble mean) -> [`LatentDist`] with `[b, c_z, D/8, H/8, W/8]`;
//! - [`Decoder::forward`]: `[b, c_z, D/8, H/8, W/8]` -> `[b, 64, D, H, W]` feature grid;
//! - [`DeformMlp::forward`]: reference coordinates `[n, 3]` (normalised to the box) and per-atom
//!   features `[b, n, 64]` -> offsets `[b, n, 3]` (A).

use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::silu;
use serde::{Deserialize, Serialize};

use super::blocks::{ChannelNorm, ConvNextBlock};
use super::implicit::ImplicitUpsample;

/// Architecture of the VAE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeNetConfig {
    /// Channels at 1/2, 1/4 and 1/8 of the network grid (default `[16, 32, 48]`).
    pub channels: [usize; 3],
    /// Latent channels `c_z` (default 4).
    pub latent_channels: usize,
    /// Feature channels of the decoded grid (default 64, as the paper).
    pub feature_channels: usize,
    /// Depthwise kernel of the ConvNeXt blocks (default 3; ConvNeXt's 7 is ~12x slower on CPU).
    pub kernel: usize,
    /// Hidden width of the deformation MLP (default 128).
    pub mlp_hidden: usize,
    /// Hidden layers of the deformation MLP (default 2).
    pub mlp_layers: usize,
    /// Input channels of the encoder: 1 = the map; 2 = the map and its difference from the
    /// ensemble's mean map (default), which separates the states' codes from the first epoch.
    #[serde(default = "default_in_channels")]
    pub input_channels: usize,
}

fn default_in_channels() -> usize {
    2
}

impl Default for VaeNetConfig {
    fn default() -> Self {
        VaeNetConfig {
            channels: [16, 32, 48],
            latent_channels: 4,
            feature_channels: 64,
            kernel: 3,
            mlp_hidden: 128,
            mlp_layers: 2,
            input_channels: 2,
        }
    }
}

/// A diagonal Gaussian over the latent grid.
#[derive(Debug, Clone)]
pub struct LatentDist<B: Backend> {
    /// Mean `[b, c_z, d, h, w]`.
    pub mean: Tensor<B, 5>,
    /// Log-variance, same shape.
    pub log_var: Tensor<B, 5>,
}

impl<B: Backend> LatentDist<B> {
    /// Reparameterised sample `mean + exp(log_var / 2) * eps`, `eps ~ N(0, I)`.
    pub fn sample(&self) -> Tensor<B, 5> {
        let eps = self.mean.random_like(Distribution::Normal(0.0, 1.0));
        self.mean.clone() + (self.log_var.clone() * 0.5).exp() * eps
    }
}

/// Constant added to the encoder's log-variance output.
pub const LOG_VAR_SHIFT: f64 = -6.0;

/// ConvNeXt-style encoder, downsampling x8.
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    stem: Conv3d<B>,
    stem_norm: ChannelNorm<B>,
    block1: ConvNextBlock<B>,
    down2_norm: ChannelNorm<B>,
    down2: Conv3d<B>,
    block2: ConvNextBlock<B>,
    down3_norm: ChannelNorm<B>,
    down3: Conv3d<B>,
    block3: ConvNextBlock<B>,
    head: Conv3d<B>,
}

impl<B: Backend> Encoder<B> {
    /// Build from the architecture.
    pub fn new(cfg: &VaeNetConfig, device: &B::Device) -> Self {
        let [c1, c2, c3] = cfg.channels;
        let down = |a: usize, b: usize| Conv3dConfig::new([a, b], [2, 2, 2]).with_stride([2, 2, 2]).init(device);
        Encoder {
            stem: down(cfg.input_channels.max(1), c1),
            stem_norm: ChannelNorm::new(c1, device),
            block1: ConvNextBlock::new(c1, cfg.kernel, device),
            down2_norm: ChannelNorm::new(c1, device),
            down2: down(c1, c2),
            block2: ConvNextBlock::new(c2, cfg.kernel, device),
            down3_norm: ChannelNorm::new(c2, device),
            down3: down(c2, c3),
            block3: ConvNextBlock::new(c3, cfg.kernel, device),
            head: Conv3dConfig::new([c3, 2 * cfg.latent_channels], [1, 1, 1]).init(device),
        }
    }

    /// `[b, input_channels, D, H, W]` -> latent distribution `[b, c_z, D/8, H/8, W/8]`.
    pub fn forward(&self, x: Tensor<B, 5>) -> LatentDist<B> {
        let x = self.block1.forward(self.stem_norm.forward(self.stem.forward(x))); // [b, c1, D/2, ..]
        let x = self.block2.forward(self.down2.forward(self.down2_norm.forward(x))); // [b, c2, D/4, ..]
        let x = self.block3.forward(self.down3.forward(self.down3_norm.forward(x))); // [b, c3, D/8, ..]
        let out = self.head.forward(x); // [b, 2 c_z, D/8, ..]
        let [b, c2z, d, h, w] = out.dims();
        let cz = c2z / 2;
        LatentDist {
            mean: out.clone().slice([0..b, 0..cz, 0..d, 0..h, 0..w]),
            // shifted so training starts with sigma ~ 0.05: sampling noise of sigma ~ 1 on a fresh
            // network drowns the map-specific signal and nothing is learnt
            log_var: (out.slice([0..b, cz..c2z, 0..d, 0..h, 0..w]) + LOG_VAR_SHIFT).clamp(-12.0, 8.0),
        }
    }
}

/// Decoder: latent grid -> 64-channel feature grid at the network grid's resolution.
#[derive(Module, Debug)]
pub struct Decoder<B: Backend> {
    input: Conv3d<B>,
    block3: ConvNextBlock<B>,
    up2: ConvTranspose3d<B>,
    block2: ConvNextBlock<B>,
    up1: ConvTranspose3d<B>,
    block1: ConvNextBlock<B>,
    up0: ImplicitUpsample<B>,
}

impl<B: Backend> Decoder<B> {
    /// Build from the architecture.
    pub fn new(cfg: &VaeNetConfig, device: &B::Device) -> Self {
        let [c1, c2, c3] = cfg.channels;
        let up = |a: usize, b: usize| ConvTranspose3dConfig::new([a, b], [2, 2, 2]).with_stride([2, 2, 2]).init(device);
        Decoder {
            input: Conv3dConfig::new([cfg.latent_channels, c3], [1, 1, 1]).init(device),
            block3: ConvNextBlock::new(c3, cfg.kernel, device),
            up2: up(c3, c2),
            block2: ConvNextBlock::new(c2, cfg.kernel, device),
            up1: up(c2, c1),
            block1: ConvNextBlock::new(c1, cfg.kernel, device),
            up0: ImplicitUpsample::new(c1, cfg.feature_channels, device),
        }
    }

    /// Half-resolution features: `[b, c_z, D/8, H/8, W/8]` -> `[b, c1, D/2, H/2, W/2]`.
    pub fn half(&self, z: Tensor<B, 5>) -> Tensor<B, 5> {
        let x = self.block3.forward(self.input.forward(z)); // [b, c3, D/8, ..]
        let x = self.block2.forward(self.up2.forward(x)); // [b, c2, D/4, ..]
        self.block1.forward(self.up1.forward(x)) // [b, c1, D/2, ..]
    }

    /// The 64-channel feature grid at full resolution: `[b, c_z, D/8, ..]` -> `[b, 64, D, H, W]`.
    pub fn forward(&self, z: Tensor<B, 5>) -> Tensor<B, 5> {
        self.up0.grid(self.half(z))
    }

    /// Trilinear samples of the feature grid at `points` `[n, 3]` (fractional voxel coordinates of
    /// the full-resolution grid), without materialising the grid: `[b, n, 64]`. Equal to
    /// `grid_sample_3d(self.forward(z), points)` (see [`super::implicit`]).
    pub fn sample(&self, z: Tensor<B, 5>, points: Tensor<B, 2>) -> Tensor<B, 3> {
        self.up0.sample(self.half(z), points)
    }
}

/// Per-atom MLP: (normalised coordinates, features) -> offset (A). The read-out starts at zero, so
/// an untrained model returns the reference unchanged.
#[derive(Module, Debug)]
pub struct DeformMlp<B: Backend> {
    /// Hidden layers.
    pub layers: Vec<Linear<B>>,
    /// Read-out to offsets (A).
    pub out: Linear<B>,
}

impl<B: Backend> DeformMlp<B> {
    /// Build from the architecture.
    pub fn new(cfg: &VaeNetConfig, device: &B::Device) -> Self {
        let mut layers = Vec::new();
        let mut width = 3 + cfg.feature_channels;
        for _ in 0..cfg.mlp_layers.max(1) {
            layers.push(LinearConfig::new(width, cfg.mlp_hidden).init(device));
            width = cfg.mlp_hidden;
        }
        let out = LinearConfig::new(width, 3).with_initializer(burn::nn::Initializer::Zeros).init(device);
        DeformMlp { layers, out }
    }

    /// `coords` `[n, 3]` (normalised), `features` `[b, n, f]` -> offsets `[b, n, 3]`.
    pub fn forward(&self, coords: Tensor<B, 2>, features: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, _] = features.dims();
        let c = coords.unsqueeze::<3>().expand([b, n, 3]);
        let mut x = Tensor::cat(vec![c, features], 2);
        for l in &self.layers {
            x = silu(l.forward(x));
        }
        self.out.forward(x)
    }
}

/// The whole stage-1 network.
#[derive(Module, Debug)]
pub struct Vae<B: Backend> {
    /// Map -> latent distribution.
    pub encoder: Encoder<B>,
    /// Latent -> feature grid.
    pub decoder: Decoder<B>,
    /// Features at atoms -> offsets.
    pub deform: DeformMlp<B>,
}

impl<B: Backend> Vae<B> {
    /// A freshly initialised network.
    pub fn new(cfg: &VaeNetConfig, device: &B::Device) -> Self {
        Vae {
            encoder: Encoder::new(cfg, device),
            decoder: Decoder::new(cfg, device),
            deform: DeformMlp::new(cfg, device),
        }
    }

    /// Offsets `[b, n, 3]` for latents `z`, reference atoms at voxel coordinates `points` `[n, 3]`
    /// of the network grid, normalised coordinates `coords` `[n, 3]`.
    pub fn offsets(&self, z: Tensor<B, 5>, points: Tensor<B, 2>, coords: Tensor<B, 2>) -> Tensor<B, 3> {
        let features = self.decoder.sample(z, points); // [b, n, 64]
        self.deform.forward(coords, features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};

    #[test]
    fn untrained_model_returns_the_reference_and_its_readout_gets_gradients() {
        let dev = device::device();
        let cfg = VaeNetConfig {
            channels: [4, 4, 4],
            latent_channels: 2,
            feature_channels: 8,
            kernel: 3,
            mlp_hidden: 8,
            mlp_layers: 1,
            input_channels: 1,
        };
        let vae = Vae::<AB>::new(&cfg, &dev);
        let x = Tensor::<AB, 5>::random([2, 1, 8, 8, 16], Distribution::Normal(0.0, 1.0), &dev);
        let d = vae.encoder.forward(x);
        assert_eq!(d.mean.dims(), [2, 2, 1, 1, 2]);
        let pts = Tensor::<AB, 2>::from_data(TensorData::new(vec![1.5f32, 2.5, 3.5, 10.0, 4.0, 5.0], [2, 3]), &dev);
        let off = vae.offsets(d.mean, pts.clone(), pts.clone() * 0.1);
        assert_eq!(off.dims(), [2, 2, 3]);
        assert!(off.clone().abs().max().into_scalar() == 0.0, "zero read-out");
        let g = (off * Tensor::<AB, 3>::ones([2, 2, 3], &dev)).sum().backward();
        let gw = vae.deform.out.weight.grad(&g).expect("read-out weight gets a gradient");
        assert!(gw.abs().sum().into_scalar() > 0.0);
    }
}
