//! Backbone loss (paper eq. 5): pairwise distances between backbone atoms (N, CA, C, O) in sliding
//! windows of `W` consecutive residues (default 5 residues = 20 atoms) are kept close to the
//! reference's: `L = mean_windows mean_pairs (|x_i - x_j| - |x_ref,i - x_ref,j|)^2` (A^2).
//!
//! Windows never span a chain break (a new chain, or C(i)-N(i+1) > 2 A in the reference): each
//! unbroken segment has its own windows; a segment shorter than `W` residues is one window. The loss
//! acts as a soft, local rigid-body constraint.

use burn::prelude::*;
use burn::tensor::Int;

use crate::Result;
use crate::structure::Structure;
use crate::structure::geometry::distance;

/// Pair lists of the backbone windows of a reference structure.
#[derive(Clone, Debug, PartialEq)]
pub struct BackboneWindows {
    /// First atom of each pair.
    pub i: Vec<i64>,
    /// Second atom of each pair.
    pub j: Vec<i64>,
    /// Reference distance of each pair (A).
    pub d_ref: Vec<f32>,
    /// Weight of each pair, `1 / (n_windows * pairs_in_its_window)`: the weighted sum is the mean
    /// over windows of the mean over pairs.
    pub weight: Vec<f32>,
    /// Number of windows.
    pub n_windows: usize,
}

impl BackboneWindows {
    /// Windows of `window` residues over the backbone of `reference`.
    pub fn new(reference: &Structure, window: usize) -> Result<BackboneWindows> {
        let bb = reference.backbone()?;
        let window = window.max(2);
        let mut windows: Vec<Vec<usize>> = Vec::new();
        let mut start = 0;
        while start < bb.residues.len() {
            let seg = bb.segment[start];
            let mut end = start;
            while end < bb.residues.len() && bb.segment[end] == seg {
                end += 1;
            }
            let len = end - start;
            if len <= window {
                windows.push((start..end).collect());
            } else {
                for s in start..=end - window {
                    windows.push((s..s + window).collect());
                }
            }
            start = end;
        }
        let (mut i, mut j, mut d_ref, mut weight) = (vec![], vec![], vec![], vec![]);
        let n_windows = windows.iter().filter(|w| w.len() * 4 >= 2).count().max(1);
        for w in &windows {
            let atoms: Vec<usize> = w.iter().flat_map(|&r| bb.residues[r].atoms).collect();
            let n_pairs = atoms.len() * (atoms.len() - 1) / 2;
            if n_pairs == 0 {
                continue;
            }
            for a in 0..atoms.len() {
                for b in a + 1..atoms.len() {
                    i.push(atoms[a] as i64);
                    j.push(atoms[b] as i64);
                    d_ref.push(distance(reference.atoms[atoms[a]].pos, reference.atoms[atoms[b]].pos) as f32);
                    weight.push(1.0 / (n_windows as f32 * n_pairs as f32));
                }
            }
        }
        Ok(BackboneWindows { i, j, d_ref, weight, n_windows })
    }

    /// Number of atom pairs (with repeats across overlapping windows).
    pub fn len(&self) -> usize {
        self.i.len()
    }

    /// True if there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.i.is_empty()
    }

    /// The pair lists as tensors on `device`.
    pub fn to_tensors<B: Backend>(&self, device: &B::Device) -> BackboneTensors<B> {
        let p = self.i.len();
        BackboneTensors {
            i: Tensor::from_data(TensorData::new(self.i.clone(), [p]), device),
            j: Tensor::from_data(TensorData::new(self.j.clone(), [p]), device),
            d_ref: Tensor::from_data(TensorData::new(self.d_ref.clone(), [p]), device),
            weight: Tensor::from_data(TensorData::new(self.weight.clone(), [p]), device),
        }
    }
}

/// [`BackboneWindows`] on a device.
#[derive(Clone, Debug)]
pub struct BackboneTensors<B: Backend> {
    i: Tensor<B, 1, Int>,
    j: Tensor<B, 1, Int>,
    d_ref: Tensor<B, 1>,
    weight: Tensor<B, 1>,
}

/// The backbone loss of coordinates `x` `[b, n, 3]` (A), one value per structure `[b]` (A^2).
pub fn backbone<B: Backend>(x: Tensor<B, 3>, w: &BackboneTensors<B>) -> Tensor<B, 1> {
    let [b, _, _] = x.dims();
    let xi = x.clone().select(1, w.i.clone());
    let xj = x.select(1, w.j.clone());
    let d = ((xi - xj).powi_scalar(2).sum_dim(2) + 1e-8).sqrt().squeeze_dim::<2>(2); // [b, p]
    let dev = (d - w.d_ref.clone().unsqueeze::<2>()).powi_scalar(2);
    (dev * w.weight.clone().unsqueeze::<2>()).sum_dim(1).reshape([b])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::device::{self, AB};
    use crate::structure::{Atom, Chain, Element, Residue};

    /// A straight poly-Gly-like backbone: residue r has N, CA, C, O at x = 3.8 r + (0, 1.2, 2.4, 2.4).
    fn toy(n_res: usize, break_after: Option<usize>) -> Structure {
        let mut atoms = Vec::new();
        let mut residues = Vec::new();
        for r in 0..n_res {
            let gap = if break_after.is_some_and(|b| r > b) { 10.0 } else { 0.0 };
            let x0 = 3.8 * r as f64 + gap;
            let a0 = atoms.len();
            for (k, (name, dx, y)) in
                [("N", 0.0, 0.0), ("CA", 1.2, 0.5), ("C", 2.4, 0.0), ("O", 2.4, 1.2)].iter().enumerate()
            {
                let _ = k;
                atoms.push(Atom {
                    name: name.to_string(),
                    element: Element::from_symbol(&name[..1]).unwrap_or(Element::C),
                    pos: [x0 + dx, *y, 0.0],
                    b: 20.0,
                    occupancy: 1.0,
                    hetero: false,
                    residue: r,
                });
            }
            residues.push(Residue {
                name: "GLY".into(),
                seq: r as isize + 1,
                icode: None,
                chain: 0,
                atoms: a0..atoms.len(),
            });
        }
        Structure {
            atoms,
            residues,
            chains: vec![Chain { id: "A".into(), residues: 0..n_res }],
            source: None,
            b_is_plddt: false,
        }
    }

    #[test]
    fn window_counts_and_breaks() {
        // 7 residues, window 5: 3 windows of 20 atoms = 3 * 190 pairs
        let w = BackboneWindows::new(&toy(7, None), 5).unwrap();
        assert_eq!(w.n_windows, 3);
        assert_eq!(w.len(), 3 * 190);
        // a break after residue 2 (C(2)-N(3) = 11.4 A): segments of 3 and 4 residues, one window each
        let w = BackboneWindows::new(&toy(7, Some(2)), 5).unwrap();
        assert_eq!(w.n_windows, 2);
        assert_eq!(w.len(), 66 + 120); // 12 atoms -> 66 pairs, 16 atoms -> 120 pairs
        // no pair crosses the break
        assert!(w.i.iter().zip(&w.j).all(|(a, b)| (*a < 12) == (*b < 12)));
    }

    #[test]
    fn rigid_motion_costs_nothing_and_stretch_costs_exactly() {
        let dev = device::device();
        let s = toy(6, None);
        let w = BackboneWindows::new(&s, 5).unwrap().to_tensors::<AB>(&dev);
        let x: Vec<f32> = s.coords_f32();
        let n = s.atoms.len();
        // translate + rotate 90 degrees about z: (x, y) -> (-y, x)
        let moved: Vec<f32> = x.chunks(3).flat_map(|p| [-p[1] + 5.0, p[0] - 2.0, p[2] + 1.0]).collect();
        let t = Tensor::<AB, 3>::from_data(TensorData::new(moved, [1, n, 3]), &dev);
        assert!(backbone(t, &w).into_scalar() < 1e-8);
        // scale all coordinates by 1.1: each pair's deviation is 0.1 d_ref, loss = mean(0.01 d^2)
        let bw = BackboneWindows::new(&s, 5).unwrap();
        let expect: f64 = bw.d_ref.iter().zip(&bw.weight).map(|(d, wt)| 0.01 * (*d as f64).powi(2) * *wt as f64).sum();
        let scaled: Vec<f32> = x.iter().map(|v| v * 1.1).collect();
        let t = Tensor::<AB, 3>::from_data(TensorData::new(scaled, [1, n, 3]), &dev);
        let got = backbone(t, &w).into_scalar() as f64;
        assert!((got - expect).abs() < 1e-4 * expect, "{got} vs {expect}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let dev = device::device();
        let s = toy(6, Some(3));
        let w = BackboneWindows::new(&s, 5).unwrap().to_tensors::<AB>(&dev);
        let n = s.atoms.len();
        let x: Vec<f32> = s.coords_f32().iter().enumerate().map(|(i, v)| v + 0.3 * ((i as f32) * 1.7).sin()).collect();
        let f = |x: &[f32]| {
            backbone(Tensor::<AB, 3>::from_data(TensorData::new(x.to_vec(), [1, n, 3]), &dev), &w).into_scalar() as f64
        };
        let t = Tensor::<AB, 3>::from_data(TensorData::new(x.clone(), [1, n, 3]), &dev).require_grad();
        let g = backbone(t.clone(), &w).sum().backward();
        let g = t.grad(&g).expect("grad").into_data().into_vec::<f32>().expect("f32");
        for i in (0..x.len()).step_by(5) {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[i] += 1e-2;
            b[i] -= 1e-2;
            let fd = (f(&a) - f(&b)) / 2e-2;
            assert!((fd - g[i] as f64).abs() < 1e-3 + 0.01 * fd.abs(), "{i}: fd {fd} vs {}", g[i]);
        }
    }
}
