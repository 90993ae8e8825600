//! Differentiable geometry on batched coordinates and the flat-bottom penalty shared by every
//! part of the MolProbity-style loss.
//!
//! Coordinates are `[b, n, 3]` (A); an index list picks atoms with `select` along dimension 1,
//! so one gather serves a whole list of atom tuples.

use burn::prelude::*;
use burn::tensor::Int;

/// Small constant under square roots (A^2 or A^4), keeping gradients finite for coincident atoms.
pub const SQRT_EPS: f64 = 1e-10;

/// An `Int` index tensor from host indices.
pub fn index<B: Backend>(v: &[i64], device: &B::Device) -> Tensor<B, 1, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

/// A float tensor of shape `shape` from host values.
pub fn floats<B: Backend, const D: usize>(v: &[f32], shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

/// Gather `k` blocks of `m` atoms: `idx` holds block 0 (the first atom of every tuple), then
/// block 1, ...; returns the `k` position tensors, each `[b, m, 3]`.
pub fn gather_blocks<B: Backend>(x: &Tensor<B, 3>, idx: &[i64], k: usize) -> Vec<Tensor<B, 3>> {
    let m = idx.len() / k.max(1);
    let all = x.clone().select(1, index::<B>(idx, &x.device())); // [b, k m, 3]
    (0..k).map(|a| all.clone().narrow(1, a * m, m)).collect()
}

/// Euclidean norm over the last dimension: `[b, m, 3] -> [b, m]`.
pub fn norm3<B: Backend>(v: Tensor<B, 3>) -> Tensor<B, 2> {
    (v.powi_scalar(2).sum_dim(2) + SQRT_EPS).sqrt().squeeze_dim::<2>(2)
}

/// Dot product over the last dimension: `[b, m, 3] x [b, m, 3] -> [b, m]`.
pub fn dot3<B: Backend>(u: Tensor<B, 3>, v: Tensor<B, 3>) -> Tensor<B, 2> {
    (u * v).sum_dim(2).squeeze_dim::<2>(2)
}

/// Distances `|p - q|` (A), `[b, m]`.
pub fn distance<B: Backend>(p: Tensor<B, 3>, q: Tensor<B, 3>) -> Tensor<B, 2> {
    norm3(p - q)
}

/// Bond angles `a-v-c` at the vertex `v` in degrees, `atan2(|u x w|, u . w)` with `u = a - v`,
/// `w = c - v` (smooth at 0 and 180 degrees, unlike `acos`), `[b, m]`.
pub fn angle_deg<B: Backend>(a: Tensor<B, 3>, v: Tensor<B, 3>, c: Tensor<B, 3>) -> Tensor<B, 2> {
    let u = a - v.clone();
    let w = c - v;
    let sin = norm3(u.clone().cross(w.clone(), 2));
    let cos = dot3(u, w);
    sin.atan2(cos) * (180.0 / std::f64::consts::PI)
}

/// Dihedral angles `p0-p1-p2-p3` in radians, in (-pi, pi], IUPAC sign (as
/// [`crate::structure::geometry::dihedral`]): with `b1 = p1 - p0`, `b2 = p2 - p1`,
/// `b3 = p3 - p2`, `atan2(|b2| b1 . (b2 x b3), (b1 x b2) . (b2 x b3))`. `[b, m]`.
pub fn dihedral_rad<B: Backend>(
    p0: Tensor<B, 3>,
    p1: Tensor<B, 3>,
    p2: Tensor<B, 3>,
    p3: Tensor<B, 3>,
) -> Tensor<B, 2> {
    let b1 = p1.clone() - p0;
    let b2 = p2.clone() - p1;
    let b3 = p3 - p2;
    let n1 = b1.clone().cross(b2.clone(), 2);
    let n2 = b2.clone().cross(b3, 2);
    let x = dot3(n1, n2.clone());
    let y = dot3(b1, n2) * norm3(b2);
    y.atan2(x)
}

/// Flat-bottom Huber penalty of an excess `e` (dimensionless, e.g. sigmas beyond a threshold):
/// `h(e) = 0` for `e <= 0`, `e^2 / 2` for `0 < e <= 1`, `e - 1/2` beyond. Continuous with a
/// continuous, bounded slope (at most 1), so outliers far out pull with a constant force rather
/// than one growing with the distortion.
pub fn flat_huber<B: Backend, const D: usize>(e: Tensor<B, D>) -> Tensor<B, D> {
    let e = e.clamp_min(0.0);
    let q = e.clone().clamp_max(1.0);
    q.clone() * (e - q * 0.5)
}

/// The host value of [`flat_huber`].
pub fn flat_huber_f64(e: f64) -> f64 {
    let e = e.max(0.0);
    let q = e.min(1.0);
    q * (e - 0.5 * q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};
    use crate::structure::geometry;

    fn t3(v: &[[f64; 3]]) -> Tensor<AB, 3> {
        let flat: Vec<f32> = v.iter().flat_map(|p| p.map(|x| x as f32)).collect();
        floats::<AB, 3>(&flat, [1, v.len(), 3], &device::device())
    }

    #[test]
    fn dihedral_and_angle_match_host_geometry() {
        let pts = [
            ([1.0, 0.3, -0.2], [0.0, 0.0, 0.0], [0.0, 1.5, 0.1], [-0.8, 2.0, 1.1]),
            ([0.5, -1.0, 0.0], [0.0, 0.0, 0.0], [1.4, 0.2, 0.0], [1.9, 0.9, -1.2]),
            ([0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, -1.0, 0.001]),
        ];
        for (a, b, c, d) in pts {
            let got = dihedral_rad(t3(&[a]), t3(&[b]), t3(&[c]), t3(&[d])).into_scalar().to_degrees() as f64;
            let want = geometry::dihedral(a, b, c, d);
            let diff = (got - want + 540.0).rem_euclid(360.0) - 180.0;
            assert!(diff.abs() < 1e-3, "{got} vs {want}");
            let got = angle_deg(t3(&[a]), t3(&[b]), t3(&[c])).into_scalar() as f64;
            assert!((got - geometry::angle(a, b, c)).abs() < 1e-3);
        }
    }

    #[test]
    fn huber_values() {
        for (e, h) in [(-1.0, 0.0), (0.0, 0.0), (0.5, 0.125), (1.0, 0.5), (3.0, 2.5)] {
            assert!((flat_huber_f64(e) - h).abs() < 1e-12);
            let t = floats::<AB, 1>(&[e as f32], [1], &device::device());
            assert!((flat_huber(t).into_scalar() as f64 - h).abs() < 1e-6);
        }
    }
}
