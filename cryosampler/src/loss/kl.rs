//! KL divergence of the encoder's Gaussian from the standard normal prior.

use burn::prelude::*;

/// `KL(N(mu, exp(log_var)) || N(0, I)) = -1/2 sum(1 + log_var - mu^2 - exp(log_var))`, summed over
/// the latent grid, one value per map: `[b, c, d, h, w]` -> `[b]`.
pub fn kl<B: Backend>(mean: Tensor<B, 5>, log_var: Tensor<B, 5>) -> Tensor<B, 1> {
    let [b, c, d, h, w] = mean.dims();
    let t = (log_var.clone() + 1.0) - mean.powi_scalar(2) - log_var.exp();
    t.reshape([b, c * d * h * w]).sum_dim(1).reshape([b]) * (-0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{self, AB};

    #[test]
    fn hand_made_cases() {
        let dev = device::device();
        let z = Tensor::<AB, 5>::zeros([1, 1, 1, 1, 2], &dev);
        assert!(kl(z.clone(), z.clone()).into_scalar().abs() < 1e-7, "prior against itself");
        // mu = (1, 2), sigma^2 = 1: KL = (1 + 4) / 2 = 2.5
        let m = Tensor::<AB, 5>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 1, 1, 1, 2]), &dev);
        assert!((kl(m, z.clone()).into_scalar() - 2.5).abs() < 1e-6);
        // mu = 0, sigma^2 = e: KL = -1/2 (1 + 1 - e) per element = 0.35914
        let lv = Tensor::<AB, 5>::ones([1, 1, 1, 1, 1], &dev);
        let v = kl(lv.zeros_like(), lv).into_scalar();
        assert!((v - 0.5 * (std::f32::consts::E - 2.0)).abs() < 1e-6, "{v}");
    }

    #[test]
    fn gradient_matches_analytic() {
        // dKL/dmu = mu, dKL/dlog_var = (exp(log_var) - 1) / 2
        let dev = device::device();
        let m = Tensor::<AB, 5>::from_data(TensorData::new(vec![0.3f32, -1.2], [1, 1, 1, 1, 2]), &dev).require_grad();
        let lv = Tensor::<AB, 5>::from_data(TensorData::new(vec![0.5f32, -0.7], [1, 1, 1, 1, 2]), &dev).require_grad();
        let g = kl(m.clone(), lv.clone()).sum().backward();
        let gm = m.grad(&g).expect("g").into_data().into_vec::<f32>().expect("f32");
        let gl = lv.grad(&g).expect("g").into_data().into_vec::<f32>().expect("f32");
        assert!((gm[0] - 0.3).abs() < 1e-6 && (gm[1] + 1.2).abs() < 1e-6);
        assert!((gl[0] - (0.5f32.exp() - 1.0) / 2.0).abs() < 1e-6);
        assert!((gl[1] - ((-0.7f32).exp() - 1.0) / 2.0).abs() < 1e-6);
    }
}
