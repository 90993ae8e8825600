//! The forward model as a burn operation with its own backward pass.
//!
//! [`render`] takes coordinates `[batch, N, 3]` and returns maps `[batch, nz, ny, nx]`. On
//! [`crate::device::B`] it runs the CPU kernels of [`super::render`](mod@super::render) on host copies of the tensors;
//! on [`crate::device::AB`] it also records a backward step that calls
//! [`super::render::splat_backward`]. Coordinates are a few kB, so the host round trip is cheap even
//! when the rest of the network lives on a GPU.

use std::sync::Arc;

use burn::Dispatch;
use burn::backend::Autodiff;
use burn::backend::autodiff::{
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::tensor::{Tensor, TensorData, TensorPrimitive, backend::Backend, ops::FloatTensor};

use super::Grid;
use super::render::{SplatAtoms, splat_backward, splat_forward};

/// What to render: the target grid and the per-atom Gaussians.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderSpec {
    /// Output grid.
    pub grid: Grid,
    /// Per-atom amplitudes and widths.
    pub atoms: SplatAtoms,
}

/// Backends that can run the forward model.
pub trait RenderBackend: Backend {
    /// `[batch, N, 3]` -> `[batch, nz, ny, nx]`.
    fn render_op(coords: FloatTensor<Self>, spec: Arc<RenderSpec>) -> FloatTensor<Self>;
}

pub(crate) fn to_host(x: FloatTensor<Dispatch>) -> (Vec<f32>, Vec<usize>, burn::DispatchDevice) {
    let t = Tensor::<Dispatch, 1>::from_primitive(TensorPrimitive::Float(x));
    let device = t.device();
    let shape = t.shape().to_vec();
    let data = t.into_data().convert::<f32>().into_vec::<f32>().unwrap_or_default();
    (data, shape, device)
}

pub(crate) fn from_host(data: Vec<f32>, shape: Vec<usize>, device: &burn::DispatchDevice) -> FloatTensor<Dispatch> {
    use burn::tensor::ops::FloatTensorOps;
    Dispatch::float_from_data(TensorData::new(data, shape), device)
}

impl RenderBackend for Dispatch {
    fn render_op(coords: FloatTensor<Self>, spec: Arc<RenderSpec>) -> FloatTensor<Self> {
        let (c, shape, device) = to_host(coords);
        let batch = shape[0];
        let out = splat_forward(&spec.grid, &c, batch, &spec.atoms);
        let [nz, ny, nx] = spec.grid.shape;
        from_host(out, vec![batch, nz, ny, nx], &device)
    }
}

#[derive(Debug)]
struct RenderBackward;

impl Backward<Dispatch, 1> for RenderBackward {
    type State = (FloatTensor<Dispatch>, Arc<RenderSpec>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let (coords, spec) = ops.state;
        let grad_out = grads.consume::<Dispatch>(&ops.node);
        let Some(parent) = &ops.parents[0] else { return };
        let (c, shape, device) = to_host(coords);
        let (g, _, _) = to_host(grad_out);
        let gc = splat_backward(&spec.grid, &c, shape[0], &spec.atoms, &g);
        grads.register::<Dispatch>(parent.id, from_host(gc, shape, &device));
    }
}

impl<C: CheckpointStrategy> RenderBackend for Autodiff<Dispatch, C> {
    fn render_op(coords: FloatTensor<Self>, spec: Arc<RenderSpec>) -> FloatTensor<Self> {
        match RenderBackward.prepare::<C>([coords.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = Dispatch::render_op(coords.primitive.clone(), spec.clone());
                prep.finish((coords.primitive, spec), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Dispatch::render_op(coords.primitive, spec)),
        }
    }
}

/// Render coordinates `[batch, N, 3]` (A) into maps `[batch, nz, ny, nx]`; differentiable with
/// respect to the coordinates on an autodiff backend.
pub fn render<B: RenderBackend>(coords: Tensor<B, 3>, spec: &Arc<RenderSpec>) -> Tensor<B, 4> {
    let out = B::render_op(coords.into_primitive().tensor(), spec.clone());
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};

    #[test]
    fn autodiff_gradient_matches_kernel() {
        let dev = device::device();
        let grid = Grid::new([12, 12, 12], 1.0, [-6.0, -6.0, -6.0]);
        let spec = Arc::new(RenderSpec {
            grid: grid.clone(),
            atoms: SplatAtoms { electrons: vec![6.0, 8.0], sigma: vec![1.1, 1.3], cutoff: 3.0 },
        });
        let c = vec![0.2f32, 0.1, -0.3, 1.5, -1.0, 0.7];
        let x = Tensor::<AB, 3>::from_data(TensorData::new(c.clone(), [1, 2, 3]), &dev).require_grad();
        let target = Tensor::<AB, 4>::ones([1, 12, 12, 12], &dev);
        let out = render(x.clone(), &spec);
        let loss = (out * target).sum();
        let grads = loss.backward();
        let g = x.grad(&grads).expect("grad").into_data().into_vec::<f32>().expect("f32");
        let expect = splat_backward(&grid, &c, 1, &spec.atoms, &vec![1.0; grid.len()]);
        for (a, b) in g.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
