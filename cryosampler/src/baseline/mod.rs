//! Baselines the method is compared with.
//!
//! - [`nma`]: normal-mode analysis (ProDy-style anisotropic network model on C-alpha atoms) and
//!   conformations generated along its lowest modes.

pub mod nma;
