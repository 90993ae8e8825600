//! `launch`: what kernel.json runs. It gives each running kernel its own persistent evcxr build
//! folder, then becomes `evcxr_jupyter`.
//!
//! evcxr builds every cell in `EVCXR_TMPDIR`; a fixed folder keeps the compiled cryosampler and
//! burn between sessions (a warm start takes ~20-30 s instead of a ~7 min cold build), but two
//! kernels sharing one folder would overwrite each other's generated crate. So the kernelspec sets
//! `EVCXR_TMPDIR=<repo>/.cache/evcxr/work` and this launcher takes the first of `work`, `work-2`,
//! ... whose `<folder>.lock` it can lock (`flock`), keeps the lock open across `exec` (the lock
//! lives exactly as long as the kernel process), and starts evcxr there. Registry crates compiled
//! in one folder are shared with the others through evcxr's `:cache` (see install.rs).
//!
//! Before starting it copies the workspace `Cargo.lock` into the folder, so notebooks build with
//! the same dependency versions as `cargo test` (evcxr would otherwise resolve the newest ones).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::Args;
use crate::layout::{slot_dir, slot_lock};

/// Build folders tried before giving up and letting evcxr use a throw-away temporary folder.
pub const MAX_SLOTS: usize = 8;

/// Lock the first free build folder next to `base`; the open lock file is returned with it.
pub fn pick_slot(base: &Path) -> Option<(PathBuf, File)> {
    if let Some(parent) = base.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    for k in 0..MAX_SLOTS {
        let dir = slot_dir(base, k);
        let Ok(file) = File::options().create(true).truncate(false).write(true).open(slot_lock(&dir)) else {
            continue;
        };
        if file.try_lock().is_ok() {
            return Some((dir, file));
        }
    }
    None
}

/// Whether the build folder `dir` is in use by a running kernel.
pub fn slot_in_use(dir: &Path) -> bool {
    let Ok(file) = File::options().write(true).open(slot_lock(dir)) else { return false };
    file.try_lock().is_err()
}

/// Copy `lock` to `dir/Cargo.lock` when it differs.
fn seed_cargo_lock(lock: &Path, dir: &Path) -> Result<()> {
    let want = std::fs::read(lock).with_context(|| format!("reading {}", lock.display()))?;
    let target = dir.join("Cargo.lock");
    if std::fs::read(&target).ok().as_deref() != Some(want.as_slice()) {
        std::fs::write(&target, &want).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

/// Run `evcxr_jupyter` in a free persistent build folder (see the module docs).
pub fn launch(args: &Args) -> Result<i32> {
    let Some(evcxr) = args.get("--evcxr") else { bail!("launch: --evcxr EXE is required") };
    let mut cmd = Command::new(evcxr);
    cmd.args(&args.rest);
    let mut _held: Option<File> = None;
    if let Some(base) = std::env::var_os("EVCXR_TMPDIR").map(PathBuf::from) {
        match pick_slot(&base) {
            Some((dir, file)) => {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                if let Some(lock) = args.get("--cargo-lock")
                    && let Err(e) = seed_cargo_lock(Path::new(lock), &dir)
                {
                    eprintln!("cryosampler-kernel: {e:#} (evcxr will resolve dependency versions itself)");
                }
                keep_open_across_exec(&file)?;
                cmd.env("EVCXR_TMPDIR", &dir);
                _held = Some(file);
            }
            None => {
                eprintln!(
                    "cryosampler-kernel: all {MAX_SLOTS} build folders next to {} are in use; this kernel builds in a \
                     temporary folder (slow first cell)",
                    base.display()
                );
                cmd.env_remove("EVCXR_TMPDIR");
            }
        }
    }
    exec(cmd)
}

#[cfg(unix)]
fn keep_open_across_exec(file: &File) -> Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a valid open descriptor owned by `file`; F_SETFD only changes its flags.
    let rc = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    if rc == -1 {
        bail!("fcntl(F_SETFD) on the build-folder lock: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_open_across_exec(_file: &File) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    bail!("starting {:?}: {err}", cmd.get_program())
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result<i32> {
    // no exec: wait for the child, holding the lock meanwhile
    let status = cmd.status().with_context(|| format!("starting {:?}", cmd.get_program()))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_kernel_gets_the_second_folder_and_the_first_is_reused_when_free() -> Result<()> {
        let root = std::env::temp_dir().join(format!("cs-kernel-slots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let base = root.join("work");
        let (a, fa) = pick_slot(&base).context("first slot")?;
        let (b, fb) = pick_slot(&base).context("second slot")?;
        assert_eq!(a, base);
        assert_eq!(b, root.join("work-2"));
        assert!(slot_in_use(&a) && slot_in_use(&b));
        drop(fa);
        assert!(!slot_in_use(&a));
        let (c, _fc) = pick_slot(&base).context("slot after release")?;
        assert_eq!(c, base);
        drop(fb);
        let _ = std::fs::remove_dir_all(&root);
        Ok(())
    }

    #[test]
    fn lock_file_is_copied_only_when_it_differs() -> Result<()> {
        let root = std::env::temp_dir().join(format!("cs-kernel-lock-{}", std::process::id()));
        std::fs::create_dir_all(root.join("w"))?;
        std::fs::write(root.join("Cargo.lock"), "version = 4\n")?;
        seed_cargo_lock(&root.join("Cargo.lock"), &root.join("w"))?;
        assert_eq!(std::fs::read_to_string(root.join("w/Cargo.lock"))?, "version = 4\n");
        assert!(seed_cargo_lock(&root.join("missing.lock"), &root.join("w")).is_err());
        let _ = std::fs::remove_dir_all(&root);
        Ok(())
    }
}
