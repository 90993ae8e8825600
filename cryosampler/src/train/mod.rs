//! Training loops: stage 1 ([`vae`]) and stage 2 (flow matching).

pub mod config;
pub mod vae;

pub use config::{MolprobityParts, VaeConfig};
pub use vae::{EpochLog, TrainData, TrainOutcome};
