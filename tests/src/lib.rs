//! Shared helpers for the integration tests (one test file per stage lives in `tests/`).

use std::path::PathBuf;

/// Path to a file in the shared reference data (`../shared/data` beside the checkout).
pub fn data(rel: &str) -> PathBuf {
    let root = std::env::var("CRYOSAMPLER_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let p = root.join("data").join(rel);
    assert!(p.exists(), "test data missing: {} (set CRYOSAMPLER_SHARED)", p.display());
    p
}

/// A fresh temporary directory for a test's outputs.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cryosampler-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}
