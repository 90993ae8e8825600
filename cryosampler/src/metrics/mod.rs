//! Scores for models and ensembles: map-model fit, MolProbity-style geometry and ensemble metrics.
//!
//! - [`cc`]: map-model correlations with the Phenix definitions (CC_mask, CC_volume, CC_peaks,
//!   CC_box) and per-residue local CC.
//! - [`geometry`]: MolProbity-style validation (Ramachandran, rotamers, clashscore with riding
//!   hydrogens, bond/angle RMSZ, MolProbity score) against the Top8000 reference data.
//! - [`ensemble`]: unpaired comparison of a set of models with a set of maps (precision, recall and
//!   the 2-Wasserstein distance on d = sqrt(1 - CC)).

pub mod cc;
pub mod ensemble;
pub mod geometry;
