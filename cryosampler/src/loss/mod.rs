//! Loss terms of stage 1, one public function per term (paper eq. 3-7):
//! [`recon::recon`] (1 - NCC), [`kl::kl`], [`backbone::backbone`] and the differentiable
//! MolProbity terms in [`molprobity`]. The training step returns every term by name in
//! [`LossTerms`].

pub mod backbone;
pub mod kl;
pub mod molprobity;
pub mod recon;

use serde::{Deserialize, Serialize};

pub use backbone::{BackboneWindows, backbone};
pub use kl::kl;
pub use recon::{ncc, recon};

/// Every loss term of one training step (means over the maps of the batch), by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// Weighted total.
    pub total: f64,
    /// `1 - NCC`.
    pub recon: f64,
    /// KL divergence (unweighted).
    pub kl: f64,
    /// Backbone loss (A^2, unweighted).
    pub backbone: f64,
    /// MolProbity-style loss (unweighted sum of its parts).
    pub molprobity: f64,
    /// Parts of the MolProbity-style loss: rama, rotamer, clash, bond, angle (unweighted).
    pub molprobity_parts: Vec<(String, f64)>,
}
