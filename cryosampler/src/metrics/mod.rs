//! Validation metrics: map-model correlations (Phenix definitions), MolProbity-style geometry and
//! ensemble-level precision / recall / W2.

pub mod geometry;
