//! Scores for models and ensembles: map-model fit, MolProbity-style geometry and ensemble metrics.
//!
//! - [`ensemble`]: unpaired comparison of a set of models with a set of maps (precision, recall and
//!   the 2-Wasserstein distance on d = sqrt(1 - CC)).

pub mod ensemble;
