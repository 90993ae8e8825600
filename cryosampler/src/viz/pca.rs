//! Principal component analysis for plots of latent spaces (a small helper on nalgebra).
//!
//! Latents are few and long (3-100 vectors of 10^2-10^4 values), so [`Pca::fit`] diagonalises the
//! smaller of the two second-moment matrices: the `n x n` Gram matrix of the centred data when
//! there are fewer vectors than values, the `d x d` covariance otherwise. Components come out
//! sorted by variance, unit length, with their largest-magnitude entry positive (a fixed sign, so
//! plots do not flip between runs).
//!
//! ```
//! use cryosampler::viz::Pca;
//! // points on the line y = 2x (plus a centre offset): one component along (1, 2) / sqrt 5
//! let pts = vec![vec![1.0f32, 12.0], vec![2.0, 14.0], vec![3.0, 16.0]];
//! let pca = Pca::fit(&pts, 2)?;
//! assert!((pca.components[0][1] - 2.0 / 5f64.sqrt()).abs() < 1e-6);
//! assert!((pca.explained_ratio()[0] - 1.0).abs() < 1e-9);
//! let p = pca.project(&[2.0, 14.0]); // the centre projects to the origin
//! assert!(p[0].abs() < 1e-9);
//! # Ok::<(), cryosampler::Error>(())
//! ```

use nalgebra::{DMatrix, SymmetricEigen};

use crate::{Error, Result};

/// A fitted PCA: the data mean and the leading principal axes with their variances.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Mean of the fitted vectors.
    pub mean: Vec<f64>,
    /// Principal axes, unit length, largest variance first (at most `k`, at most `n - 1` useful).
    pub components: Vec<Vec<f64>>,
    /// Variance along each axis (divided by `n - 1`; 0 for a single vector).
    pub variance: Vec<f64>,
    /// Total variance of the data (sum over all dimensions).
    pub total_variance: f64,
}

impl Pca {
    /// Fit `k` components to `data` (vectors of equal length). Components with no variance are
    /// kept as zero vectors with zero variance, so a projection always has `k` coordinates.
    pub fn fit(data: &[Vec<f32>], k: usize) -> Result<Pca> {
        let n = data.len();
        let Some(d) = data.first().map(Vec::len) else {
            return Err(Error::invalid("PCA: no vectors"));
        };
        if d == 0 {
            return Err(Error::invalid("PCA: vectors have no values"));
        }
        if let Some(bad) = data.iter().position(|v| v.len() != d) {
            return Err(Error::invalid(format!("PCA: vector {bad} has {} values, vector 0 has {d}", data[bad].len())));
        }
        if let Some(bad) = data.iter().position(|v| v.iter().any(|x| !x.is_finite())) {
            return Err(Error::invalid(format!("PCA: vector {bad} has a non-finite value")));
        }
        let mut mean = vec![0.0f64; d];
        for v in data {
            for (m, x) in mean.iter_mut().zip(v) {
                *m += *x as f64 / n as f64;
            }
        }
        let x = DMatrix::from_fn(n, d, |i, j| data[i][j] as f64 - mean[j]);
        let denom = (n.max(2) - 1) as f64;
        let total_variance = x.iter().map(|v| v * v).sum::<f64>() / denom;
        // eigenpairs (value, axis in value space), largest first
        let mut pairs: Vec<(f64, Vec<f64>)> = if n <= d {
            let gram = &x * x.transpose();
            let eig = SymmetricEigen::new(gram);
            (0..n)
                .map(|c| {
                    let lambda = eig.eigenvalues[c].max(0.0);
                    let u = eig.eigenvectors.column(c);
                    let mut axis: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[(i, j)] * u[i]).sum()).collect();
                    let norm = axis.iter().map(|v| v * v).sum::<f64>().sqrt();
                    if norm > 1e-12 * (1.0 + total_variance.sqrt()) {
                        axis.iter_mut().for_each(|v| *v /= norm);
                    } else {
                        axis.iter_mut().for_each(|v| *v = 0.0);
                    }
                    (lambda, axis)
                })
                .collect()
        } else {
            let cov = x.transpose() * &x;
            let eig = SymmetricEigen::new(cov);
            (0..d)
                .map(|c| (eig.eigenvalues[c].max(0.0), eig.eigenvectors.column(c).iter().copied().collect()))
                .collect()
        };
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let tiny = 1e-12 * pairs.first().map_or(0.0, |p| p.0).max(f64::MIN_POSITIVE);
        let mut components = Vec::with_capacity(k);
        let mut variance = Vec::with_capacity(k);
        for i in 0..k {
            match pairs.get(i) {
                Some((lambda, axis)) if *lambda > tiny && axis.iter().any(|v| *v != 0.0) => {
                    let mut axis = axis.clone();
                    let big = axis.iter().copied().fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
                    if big < 0.0 {
                        axis.iter_mut().for_each(|v| *v = -*v);
                    }
                    components.push(axis);
                    variance.push(lambda / denom);
                }
                _ => {
                    components.push(vec![0.0; d]);
                    variance.push(0.0);
                }
            }
        }
        Ok(Pca { mean, components, variance, total_variance })
    }

    /// Coordinates of `v` on the components (`v` minus the mean, dotted with each axis). Values
    /// beyond the fitted length are ignored, missing ones read as the mean.
    pub fn project(&self, v: &[f32]) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| c.iter().zip(&self.mean).zip(v).map(|((a, m), x)| a * (*x as f64 - m)).sum())
            .collect()
    }

    /// The first two coordinates of `v` as a point (0 where there is no such component).
    pub fn project2(&self, v: &[f32]) -> (f64, f64) {
        let p = self.project(v);
        (p.first().copied().unwrap_or(0.0), p.get(1).copied().unwrap_or(0.0))
    }

    /// Fraction of the total variance along each component (0 when the data have none).
    pub fn explained_ratio(&self) -> Vec<f64> {
        self.variance.iter().map(|v| if self.total_variance > 0.0 { v / self.total_variance } else { 0.0 }).collect()
    }

    /// An axis label such as `"PC1 (72 %)"`.
    pub fn axis_label(&self, i: usize) -> String {
        match self.explained_ratio().get(i) {
            Some(r) => format!("PC{} ({:.0} %)", i + 1, 100.0 * r),
            None => format!("PC{}", i + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_axes_of_a_stretched_cloud() -> Result<()> {
        // points +-3 along e1 and +-1 along e2 of a rotated frame in 3-D, shifted by 5
        let c = std::f64::consts::FRAC_1_SQRT_2;
        let e1 = [c, c, 0.0];
        let e2 = [-c, c, 0.0];
        let coeffs = [(3.0, 0.0), (-3.0, 0.0), (0.0, 1.0), (0.0, -1.0)];
        let data: Vec<Vec<f32>> =
            coeffs.iter().map(|(a, b)| (0..3).map(|j| (a * e1[j] + b * e2[j] + 5.0) as f32).collect()).collect();
        let pca = Pca::fit(&data, 3)?;
        // sample variances: along e1 (9 + 9) / 3 = 6, along e2 (1 + 1) / 3 = 2/3, none along e3
        assert!((pca.variance[0] - 6.0).abs() < 1e-5, "{:?}", pca.variance);
        assert!((pca.variance[1] - 2.0 / 3.0).abs() < 1e-5);
        assert_eq!(pca.variance[2], 0.0);
        assert_eq!(pca.components[2], vec![0.0; 3]);
        // axis 1 is +-e1: fixed sign makes the largest entry positive (both equal: first wins, positive)
        let dot1: f64 = pca.components[0].iter().zip(e1).map(|(a, b)| a * b).sum();
        assert!((dot1.abs() - 1.0).abs() < 1e-6);
        let dot2: f64 = pca.components[1].iter().zip(e2).map(|(a, b)| a * b).sum();
        assert!((dot2.abs() - 1.0).abs() < 1e-6);
        // projections reproduce the coefficients (up to the sign of each axis)
        let p = pca.project(&data[0]);
        assert!((p[0].abs() - 3.0).abs() < 1e-5 && p[1].abs() < 1e-5);
        let r = pca.explained_ratio();
        assert!((r[0] - 6.0 / (6.0 + 2.0 / 3.0)).abs() < 1e-6);
        Ok(())
    }

    #[test]
    fn same_answer_from_gram_and_covariance_paths() -> Result<()> {
        // 3 vectors of 2 values (covariance path) vs the same padded with zeros to 5 values (Gram path)
        let small = vec![vec![0.0f32, 0.0], vec![2.0, 1.0], vec![4.0, 3.0]];
        let wide: Vec<Vec<f32>> = small.iter().map(|v| [v.as_slice(), &[0.0, 0.0, 0.0]].concat()).collect();
        let (a, b) = (Pca::fit(&small, 2)?, Pca::fit(&wide, 2)?);
        for k in 0..2 {
            assert!((a.variance[k] - b.variance[k]).abs() < 1e-9);
            for j in 0..2 {
                assert!((a.components[k][j] - b.components[k][j]).abs() < 1e-9);
            }
        }
        Ok(())
    }

    #[test]
    fn degenerate_inputs() {
        assert!(Pca::fit(&[], 2).is_err());
        assert!(Pca::fit(&[vec![1.0, 2.0], vec![1.0]], 2).is_err_and(|e| e.to_string().contains("vector 1 has 1")));
        assert!(Pca::fit(&[vec![f32::NAN]], 1).is_err());
        // one vector: no variance, zero axes, projections at the origin
        let one = Pca::fit(&[vec![1.0, 2.0]], 2).expect("one vector");
        assert_eq!(one.variance, vec![0.0, 0.0]);
        assert_eq!(one.project2(&[1.0, 2.0]), (0.0, 0.0));
        assert_eq!(one.axis_label(0), "PC1 (0 %)");
    }
}
