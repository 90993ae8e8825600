//! `run-notebooks`: hands over to `scripts/run_notebooks.py` in the venv (nbclient executes the
//! notebooks with the installed kernel, nbconvert exports HTML, headless Chromium checks it).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::Args;
use crate::layout::{KERNEL_NAME, Layout};

/// Run the notebook runner with `extra` arguments; returns its exit code.
pub fn runner(layout: &Layout, extra: &[String]) -> Result<i32> {
    let py = layout.python();
    if !py.is_file() {
        bail!("no Python venv at {}: run `cryosampler-kernel install` first", layout.venv.display());
    }
    let script = layout.repo.join("scripts").join("run_notebooks.py");
    let mut cmd = Command::new(&py);
    // `cargo run` sets package variables for this program; the kernels started below build other
    // crates and must not see them
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || k.starts_with("CARGO_CRATE_")
            || k == "CARGO_PRIMARY_PACKAGE"
            || k == "CARGO_BIN_NAME"
        {
            cmd.env_remove(k.as_ref());
        }
    }
    let status = cmd
        .arg(&script)
        .arg("--kernel")
        .arg(KERNEL_NAME)
        .args(extra)
        .current_dir(&layout.repo)
        .status()
        .with_context(|| format!("starting {} {}", py.display(), script.display()))?;
    Ok(status.code().unwrap_or(1))
}

/// `run-notebooks [NOTEBOOK...] [-- RUNNER-OPTIONS]`.
pub fn run_notebooks(args: &Args) -> Result<i32> {
    let layout = Layout::from_args(args)?;
    let mut extra: Vec<String> = args.rest.clone();
    extra.extend(args.positional.iter().cloned());
    runner(&layout, &extra)
}
