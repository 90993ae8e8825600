//! Errors: one enum per domain, gathered into [`Error`].
//!
//! Every message names the file (when there is one), the field and the offending value, so that a
//! notebook user can fix the input without reading the code.

use std::path::{Path, PathBuf};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error CryoSampler returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem with an input or output file.
    #[error(transparent)]
    File(#[from] FileError),
    /// Inputs that do not fit together (grids, atom counts, ...).
    #[error("{0}")]
    Invalid(String),
    /// Training stopped (NaN / Inf, divergence).
    #[error("training stopped: {0}")]
    Training(String),
    /// A compute-device problem.
    #[error("device: {0}")]
    Device(String),
}

/// A problem reading or writing a file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {field}: {message}")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The header field, record or column at fault (`"file"` when it is the file itself).
    pub field: String,
    /// What is wrong, with the value found.
    pub message: String,
}

impl Error {
    /// An error about `field` of the file at `path`.
    pub fn file(path: impl AsRef<Path>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::File(FileError { path: path.as_ref().to_path_buf(), field: field.into(), message: message.into() })
    }

    /// An error about inputs that do not fit together.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, err: std::io::Error) -> Self {
        Error::file(path, "file", err.to_string())
    }
}

/// Refuse to overwrite a file the user wrote unless `overwrite` is set.
pub fn check_overwrite(path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::file(path, "file", "already exists; pass overwrite = true (CLI: --force) to replace it"));
    }
    Ok(())
}
