//! Neural networks of the method: the stage-1 VAE ([`vae`]), its building blocks ([`blocks`]),
//! 3D grid sampling ([`gridsample`]) and the stage-2 flow network ([`flow`]).

pub mod blocks;
pub mod flow;
pub mod gridsample;
pub mod implicit;
pub mod vae;

pub use flow::{FlowNet, FlowNetConfig};
pub use gridsample::grid_sample_3d;
pub use vae::{Decoder, DeformMlp, Encoder, LatentDist, Vae, VaeNetConfig};
