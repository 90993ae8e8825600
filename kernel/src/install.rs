//! `install` and `uninstall`.
//!
//! `install` is idempotent; each step is skipped when already done:
//! 1. `evcxr_jupyter` (`cargo install evcxr_jupyter --locked`, pinned; ~8 min on 2 cores) unless it
//!    is on PATH or in cargo's bin folder;
//! 2. a Python venv with the pinned packages of `kernel/requirements.txt`;
//! 3. the evcxr config folder (`init.evcxr`: `:cache`, `:dep cryosampler = { path = ... }`;
//!    `prelude.rs`: `use cryosampler::prelude::*;`), the notebook build profile
//!    ([`NOTEBOOK_PROFILE`]) and the kernelspec "Rust (CryoSampler)".

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::cli::Args;
use crate::layout::{DISPLAY_NAME, KERNEL_NAME, Layout, find_evcxr};

/// The evcxr_jupyter release the kernel is tested with.
pub const EVCXR_VERSION: &str = "0.22.0";

/// Pinned Python packages (kernel/requirements.txt).
pub const REQUIREMENTS: &str = include_str!("../requirements.txt");

/// Size of evcxr's `:cache` of compiled registry crates, MiB.
pub const EVCXR_CACHE_MIB: u32 = 4096;

/// Cargo profile for the crate evcxr generates, written to `<repo>/.cache/evcxr/.cargo/config.toml`
/// (cargo reads config files from the build folder's parents, and `[profile]` tables in config
/// files override the `[profile.dev]` that evcxr writes into the generated Cargo.toml).
///
/// evcxr's own profile builds every crate at `opt-level = 2` with debug assertions and overflow
/// checks. Measured on 2 vCPUs (kernel/README.md): burn's CPU kernels run as fast at `opt-level = 1`
/// as at 2 or 3 once debug assertions and overflow checks are off (they use explicit SIMD), while
/// cryosampler's own loops (density rendering) want 3. So: everything at 1 without the checks,
/// cryosampler at 3. Cold build 383 s vs 389 s (evcxr default) and 513 s (dependencies at 3, as in
/// the workspace); at run time 1.3-1.9x faster than evcxr's default on burn work, as fast as
/// dependencies at 3.
pub const NOTEBOOK_PROFILE: &str = r#"# Written by `cryosampler-kernel install`: the build profile of notebook cells (evcxr).
# Cargo reads this because evcxr builds in folders below this one; it overrides the
# [profile.dev] that evcxr writes into the generated Cargo.toml. See kernel/README.md.
[profile.dev]
opt-level = 1
debug-assertions = false
overflow-checks = false

[profile.dev.package."*"]
opt-level = 1

[profile.dev.package.cryosampler]
opt-level = 3
"#;

fn step(title: &str) {
    println!("\n==> {title}");
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("{what}: cannot start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Install everything (see the module docs).
pub fn install(args: &Args) -> Result<i32> {
    let t_all = Instant::now();
    let layout = Layout::from_args(args)?;
    println!("CryoSampler kernel: repository {}", layout.repo.display());

    // 1. evcxr_jupyter
    step("evcxr_jupyter");
    let root = args.get("--evcxr-root").map(std::path::absolute).transpose()?;
    let evcxr = match find_evcxr(root.as_deref()) {
        Some(p) => {
            println!("found {}", p.display());
            p
        }
        None if args.flag("--skip-evcxr") => bail!("evcxr_jupyter is not installed and --skip-evcxr was given"),
        None => {
            let build = layout.repo.join(".cache").join("build").join("evcxr_jupyter");
            println!(
                "installing evcxr_jupyter {EVCXR_VERSION} with cargo (about 8 min on 2 cores; build folder {})",
                build.display()
            );
            let t = Instant::now();
            let mut cmd = Command::new(cargo());
            cmd.args(["install", "evcxr_jupyter", "--locked", "--version", EVCXR_VERSION])
                .env("CARGO_TARGET_DIR", &build);
            if let Some(r) = &root {
                cmd.arg("--root").arg(r);
            }
            run_checked(&mut cmd, "cargo install evcxr_jupyter")?;
            let _ = std::fs::remove_dir_all(&build);
            println!("evcxr_jupyter installed in {:.0} s", t.elapsed().as_secs_f64());
            find_evcxr(root.as_deref())
                .context("evcxr_jupyter was installed but cannot be found (is cargo's bin on PATH?)")?
        }
    };

    // 2. Python venv
    step("Python environment");
    let t = Instant::now();
    ensure_venv(&layout, args.get("--python").unwrap_or(if cfg!(windows) { "python" } else { "python3" }))?;
    println!("venv ready in {:.0} s: {}", t.elapsed().as_secs_f64(), layout.venv.display());

    // 3. config, profile, launcher, kernelspec
    step("kernel configuration");
    write_config(&layout, args.get("--features"))?;
    let spec = kernelspec(&layout, &evcxr);
    let mut targets = vec![layout.venv_kernelspec()];
    if args.flag("--user") {
        targets.push(layout.user_kernelspec().context("no home folder for the user kernelspec")?);
    }
    for dir in &targets {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("kernel.json");
        std::fs::write(&path, serde_json::to_string_pretty(&spec)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("kernelspec \"{DISPLAY_NAME}\" ({KERNEL_NAME}): {}", path.display());
    }
    println!(
        "\ninstalled in {:.0} s. Open the notebooks with:\n  {} -m jupyter lab {}",
        t_all.elapsed().as_secs_f64(),
        layout.python().display(),
        layout.repo.join("notebooks").display()
    );

    if args.flag("--prebuild") && !args.flag("--demo") {
        step("first notebook build (cold: ~7 min on 2 cores; later kernel starts ~20-30 s)");
        let code = crate::notebooks::runner(&layout, &["--warmup".to_string()])?;
        if code != 0 {
            return Ok(code);
        }
    }
    if args.flag("--demo") {
        step("demo notebooks (the first run builds cryosampler + burn for notebooks: ~7 min on 2 cores)");
        let demo = layout.repo.join("notebooks");
        let code = crate::notebooks::runner(&layout, &[demo.display().to_string()])?;
        return Ok(code);
    }
    Ok(0)
}

fn ensure_venv(layout: &Layout, python: &str) -> Result<()> {
    let py = layout.python();
    if !py.is_file() {
        run_checked(Command::new(python).arg("-m").arg("venv").arg(&layout.venv), "creating the Python venv")?;
    }
    let stamp = layout.venv.join(".cryosampler-requirements.txt");
    let imports_ok = Command::new(&py)
        .args(["-c", "import jupyterlab, jupyter_client, nbclient, nbconvert, nbformat"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if imports_ok && std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) {
        println!("packages already installed");
        return Ok(());
    }
    let req = layout.venv.join(".cryosampler-requirements.pending.txt");
    std::fs::write(&req, REQUIREMENTS)?;
    run_checked(
        Command::new(&py).args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"]).arg(&req),
        "pip install (kernel/requirements.txt)",
    )?;
    std::fs::rename(&req, &stamp)?;
    Ok(())
}

/// Text of `init.evcxr` for the crate at `crate_dir` with optional features.
pub fn init_evcxr(crate_dir: &Path, features: Option<&str>) -> String {
    let path = crate_dir.display().to_string().replace('\\', "/").replace('"', "\\\"");
    let feats: Vec<String> = features
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| format!("\"{f}\""))
        .collect();
    let feats = if feats.is_empty() { String::new() } else { format!(", features = [{}]", feats.join(", ")) };
    format!(":cache {EVCXR_CACHE_MIB}\n:dep cryosampler = {{ path = \"{path}\"{feats} }}\n")
}

fn write_config(layout: &Layout, features: Option<&str>) -> Result<()> {
    let files = [
        (layout.config_dir.join("init.evcxr"), init_evcxr(&layout.repo.join("cryosampler"), features)),
        (layout.config_dir.join("prelude.rs"), "use cryosampler::prelude::*;\n".to_string()),
        (
            layout.config_dir.join("README.txt"),
            "evcxr configuration of the CryoSampler kernel (EVCXR_CONFIG_DIR), written by\n\
             `cryosampler-kernel install`; re-run it instead of editing. Note: an evcxr.toml with\n\
             [dependencies] in a notebook's folder replaces init.evcxr.\n"
                .to_string(),
        ),
        (layout.evcxr_dir.join(".cargo").join("config.toml"), NOTEBOOK_PROFILE.to_string()),
    ];
    for (path, text) in files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    // the launcher: a copy of this program, replaced atomically (a running kernel may use the old one)
    let me = std::env::current_exe()?;
    if let Some(dir) = layout.launcher.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if me != layout.launcher {
        let tmp = layout.launcher.with_extension("new");
        std::fs::copy(&me, &tmp).with_context(|| format!("copying {} to {}", me.display(), tmp.display()))?;
        std::fs::rename(&tmp, &layout.launcher)?;
    }
    println!("launcher {}", layout.launcher.display());
    Ok(())
}

/// The kernel.json contents.
pub fn kernelspec(layout: &Layout, evcxr: &Path) -> serde_json::Value {
    json!({
        "argv": [
            layout.launcher.display().to_string(),
            "launch",
            "--evcxr", evcxr.display().to_string(),
            "--cargo-lock", layout.cargo_lock().display().to_string(),
            "--",
            "--control_file", "{connection_file}"
        ],
        "display_name": DISPLAY_NAME,
        "language": "rust",
        "interrupt_mode": "message",
        "env": {
            "EVCXR_CONFIG_DIR": layout.config_dir.display().to_string(),
            "EVCXR_TMPDIR": layout.work.display().to_string(),
            "XDG_CACHE_HOME": layout.xdg_cache.display().to_string(),
        },
        "metadata": { "cryosampler": { "repo": layout.repo.display().to_string() } }
    })
}

/// The kernel.json in `dir`, parsed (None when missing or not JSON).
pub fn read_kernelspec(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("kernel.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The evcxr_jupyter a kernelspec written by [`kernelspec`] runs (its `--evcxr` argument).
pub fn kernelspec_evcxr(spec: &serde_json::Value) -> Option<PathBuf> {
    spec["argv"][3].as_str().map(PathBuf::from)
}

/// Whether the kernelspec in `dir` is ours (so uninstall may remove it).
fn is_ours(dir: &Path) -> bool {
    read_kernelspec(dir).is_some_and(|v| v["display_name"] == DISPLAY_NAME)
}

/// Remove the kernelspecs and the kernel config (`--purge`: the notebook builds too).
pub fn uninstall(args: &Args) -> Result<i32> {
    let layout = Layout::from_args(args)?;
    let mut dirs = vec![layout.venv_kernelspec()];
    dirs.extend(layout.user_kernelspec());
    for d in dirs {
        if d.exists() {
            if is_ours(&d) {
                std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
                println!("removed {}", d.display());
            } else {
                println!("left {} alone: not a CryoSampler kernelspec", d.display());
            }
        }
    }
    let mut remove = vec![layout.kernel_dir.clone()];
    if args.flag("--purge") {
        remove.push(layout.evcxr_dir.clone());
    }
    for d in remove {
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
            println!("removed {}", d.display());
        }
    }
    println!("the Python venv {} was kept (delete it by hand if you like)", layout.venv.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_evcxr_names_the_crate_and_features() {
        let t = init_evcxr(Path::new("/repo/cryosampler"), Some("cuda, extra"));
        assert_eq!(
            t,
            ":cache 4096\n:dep cryosampler = { path = \"/repo/cryosampler\", features = [\"cuda\", \"extra\"] }\n"
        );
        assert!(!init_evcxr(Path::new("/r/c"), None).contains("features"));
    }

    #[test]
    fn kernelspec_points_evcxr_at_the_repo_cache() -> Result<()> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
        let args = Args::parse(&["--repo".to_string(), repo.display().to_string()], &["--repo"], &[])?;
        let l = Layout::from_args(&args)?;
        let k = kernelspec(&l, Path::new("/bin/evcxr_jupyter"));
        assert_eq!(k["display_name"], "Rust (CryoSampler)");
        assert_eq!(k["argv"][1], "launch");
        assert_eq!(k["argv"][3], "/bin/evcxr_jupyter");
        assert_eq!(k["argv"][8], "{connection_file}");
        let tmp = k["env"]["EVCXR_TMPDIR"].as_str().unwrap_or("");
        assert!(tmp.starts_with(&repo.join(".cache").display().to_string()));
        assert!(k["env"]["EVCXR_CONFIG_DIR"].as_str().unwrap_or("").ends_with("config"));
        Ok(())
    }

    #[test]
    fn notebook_profile_is_valid_cargo_config() {
        // the two tables cargo needs, and nothing that profile overrides may not set
        assert!(NOTEBOOK_PROFILE.contains("[profile.dev]"));
        assert!(NOTEBOOK_PROFILE.contains("[profile.dev.package.\"*\"]"));
        assert!(NOTEBOOK_PROFILE.contains("[profile.dev.package.cryosampler]"));
        let pkg = NOTEBOOK_PROFILE.split("[profile.dev.package.\"*\"]").nth(1).unwrap_or("");
        for forbidden in ["panic", "lto", "rpath"] {
            assert!(!pkg.contains(forbidden), "{forbidden} cannot be set per package");
        }
    }
}
