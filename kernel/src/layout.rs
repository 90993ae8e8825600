//! Where everything lives. All of it is inside the repository's git-ignored `.cache/` (plus the
//! venv), so a CI cache of `.cache/` keeps the slow parts, and deleting it resets the kernel.
//!
//! ```text
//! <repo>/.venv/                                   Python: jupyterlab, jupyter_client, nbclient, nbconvert, nbformat
//! <repo>/.venv/share/jupyter/kernels/cryosampler/ the kernelspec "Rust (CryoSampler)"
//! <repo>/.cache/kernel/bin/cryosampler-kernel     copy of this program (kernel.json runs `launch`)
//! <repo>/.cache/kernel/config/                    EVCXR_CONFIG_DIR: init.evcxr, prelude.rs
//! <repo>/.cache/evcxr/.cargo/config.toml          build profile of the notebook crate (see install.rs)
//! <repo>/.cache/evcxr/work, work-2, ...           EVCXR_TMPDIR build folders (one per running kernel)
//! <repo>/.cache/evcxr/work.lock, ...              held by the kernel using that folder
//! <repo>/.cache/evcxr/xdg/evcxr/                  evcxr's `:cache` of compiled registry crates
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::Args;

/// Name of the kernelspec (`jupyter kernelspec list`).
pub const KERNEL_NAME: &str = "cryosampler";
/// Display name in Jupyter's launcher.
pub const DISPLAY_NAME: &str = "Rust (CryoSampler)";

/// Paths of one installation.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Repository root (holds `Cargo.toml` and `cryosampler/`).
    pub repo: PathBuf,
    /// Python virtual environment.
    pub venv: PathBuf,
    /// `<repo>/.cache/kernel`.
    pub kernel_dir: PathBuf,
    /// EVCXR_CONFIG_DIR.
    pub config_dir: PathBuf,
    /// The launcher copy that kernel.json runs.
    pub launcher: PathBuf,
    /// `<repo>/.cache/evcxr`: notebook builds.
    pub evcxr_dir: PathBuf,
    /// The first EVCXR_TMPDIR build folder.
    pub work: PathBuf,
    /// XDG_CACHE_HOME of the kernel (evcxr's `:cache` lives in `evcxr/` under it).
    pub xdg_cache: PathBuf,
}

fn is_repo(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("cryosampler").join("Cargo.toml").is_file()
}

/// Find the repository: `--repo`, else the current folder or a parent of it, else the folder this
/// program was built from.
pub fn find_repo(args: &Args) -> Result<PathBuf> {
    if let Some(r) = args.get("--repo") {
        let p = std::path::absolute(r)?;
        if !is_repo(&p) {
            bail!("--repo {}: no Cargo.toml with a cryosampler/ crate there", p.display());
        }
        return Ok(p);
    }
    let cwd = std::env::current_dir()?;
    if let Some(d) = cwd.ancestors().find(|d| is_repo(d)) {
        return Ok(d.to_path_buf());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
    match built {
        Some(d) if is_repo(&d) => Ok(d),
        _ => bail!("cannot find the CryoSampler repository from {}: pass --repo DIR", cwd.display()),
    }
}

impl Layout {
    /// The layout for the parsed arguments (`--repo`, `--venv`).
    pub fn from_args(args: &Args) -> Result<Layout> {
        let repo = find_repo(args)?;
        let venv = match args.get("--venv") {
            Some(v) => std::path::absolute(v)?,
            None => repo.join(".venv"),
        };
        let kernel_dir = repo.join(".cache").join("kernel");
        let evcxr_dir = repo.join(".cache").join("evcxr");
        Ok(Layout {
            config_dir: kernel_dir.join("config"),
            launcher: kernel_dir.join("bin").join(exe_name("cryosampler-kernel")),
            work: evcxr_dir.join("work"),
            xdg_cache: evcxr_dir.join("xdg"),
            repo,
            venv,
            kernel_dir,
            evcxr_dir,
        })
    }

    /// The venv's python.
    pub fn python(&self) -> PathBuf {
        if cfg!(windows) { self.venv.join("Scripts").join("python.exe") } else { self.venv.join("bin").join("python") }
    }

    /// The venv's kernelspec folder (found by the venv's Jupyter).
    pub fn venv_kernelspec(&self) -> PathBuf {
        self.venv.join("share").join("jupyter").join("kernels").join(KERNEL_NAME)
    }

    /// The user's kernelspec folder (found by every Jupyter of this user).
    pub fn user_kernelspec(&self) -> Option<PathBuf> {
        user_data_dir().map(|d| d.join("kernels").join(KERNEL_NAME))
    }

    /// The workspace lock file, copied into the notebook build so it uses the tested versions.
    pub fn cargo_lock(&self) -> PathBuf {
        self.repo.join("Cargo.lock")
    }
}

/// Jupyter's per-user data folder (`JUPYTER_DATA_DIR`, else the platform default).
pub fn user_data_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Some(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    if cfg!(target_os = "macos") {
        Some(home.join("Library").join("Jupyter"))
    } else {
        let data =
            std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".local").join("share"));
        Some(data.join("jupyter"))
    }
}

/// `name` with the platform's executable suffix.
pub fn exe_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Find a program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(exe_name(program))).find(|p| p.is_file())
}

/// Cargo's bin folder (`$CARGO_HOME/bin`, else `~/.cargo/bin`).
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(h).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// Find `evcxr_jupyter`: on PATH, in cargo's bin folder, or under `root/bin`.
pub fn find_evcxr(root: Option<&Path>) -> Option<PathBuf> {
    let name = exe_name("evcxr_jupyter");
    if let Some(r) = root {
        let p = r.join("bin").join(&name);
        if p.is_file() {
            return Some(p);
        }
    }
    which("evcxr_jupyter").or_else(|| cargo_bin_dir().map(|d| d.join(&name)).filter(|p| p.is_file()))
}

/// Build folder `k` (0-based) next to `base`: `base`, `base-2`, `base-3`, ...
pub fn slot_dir(base: &Path, k: usize) -> PathBuf {
    if k == 0 {
        return base.to_path_buf();
    }
    let mut name = base.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!("-{}", k + 1));
    base.with_file_name(name)
}

/// The lock file of a build folder: `<folder>.lock` beside it.
pub fn slot_lock(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names() {
        let base = Path::new("/r/.cache/evcxr/work");
        assert_eq!(slot_dir(base, 0), PathBuf::from("/r/.cache/evcxr/work"));
        assert_eq!(slot_dir(base, 2), PathBuf::from("/r/.cache/evcxr/work-3"));
        assert_eq!(slot_lock(&slot_dir(base, 1)), PathBuf::from("/r/.cache/evcxr/work-2.lock"));
    }

    #[test]
    fn layout_is_inside_the_repo_cache() -> Result<()> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
        let args = Args::parse(&["--repo".to_string(), repo.display().to_string()], &["--repo"], &[])?;
        let l = Layout::from_args(&args)?;
        assert!(l.work.starts_with(repo.join(".cache")));
        assert!(l.config_dir.starts_with(repo.join(".cache")));
        assert_eq!(l.venv, repo.join(".venv"));
        Ok(())
    }
}
