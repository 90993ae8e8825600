//! `doctor`: what is installed, what is missing, and how big the notebook builds are.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::cli::Args;
use crate::install::{kernelspec_evcxr, read_kernelspec};
use crate::launch::{MAX_SLOTS, slot_in_use};
use crate::layout::{Layout, find_evcxr, slot_dir, which};

struct Report {
    missing: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: impl AsRef<str>) {
        println!("  ok       {what:<22} {}", detail.as_ref());
    }
    fn missing(&mut self, what: &str, hint: impl AsRef<str>) {
        self.missing += 1;
        println!("  MISSING  {what:<22} {}", hint.as_ref());
    }
    fn info(&self, what: &str, detail: impl AsRef<str>) {
        println!("  -        {what:<22} {}", detail.as_ref());
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Total size of the files under `dir` (0 when absent).
fn du(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => du(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Print the state of the installation; exit code 1 when something needed is missing.
pub fn doctor(args: &Args) -> Result<i32> {
    let layout = Layout::from_args(args)?;
    let mut r = Report { missing: 0 };
    println!("CryoSampler kernel, repository {}", layout.repo.display());

    println!("\nRust");
    match output(Command::new("cargo").arg("--version")) {
        Some(v) => r.ok("cargo", v),
        None => r.missing("cargo", "install Rust: https://rustup.rs"),
    }
    match output(Command::new("rustc").arg("--version")) {
        Some(v) => r.ok("rustc", v),
        None => r.missing("rustc", "install Rust: https://rustup.rs"),
    }
    // the evcxr_jupyter the installed kernelspec runs (install --evcxr-root puts it off PATH),
    // else one on PATH or in cargo's bin folder
    let from_spec =
        read_kernelspec(&layout.venv_kernelspec()).and_then(|k| kernelspec_evcxr(&k)).filter(|p| p.is_file());
    match from_spec.or_else(|| find_evcxr(None)) {
        Some(p) => r.ok("evcxr_jupyter", p.display().to_string()),
        None => r.missing("evcxr_jupyter", "`cryosampler-kernel install` installs it"),
    }

    println!("\nPython ({})", layout.venv.display());
    let py = layout.python();
    if py.is_file() {
        r.ok("python", output(Command::new(&py).arg("--version")).unwrap_or_default());
        let probe = "import importlib.metadata as m\nfor p in ['jupyterlab','jupyter_client','nbclient','nbconvert','nbformat']:\n    \
                     try: print(p, m.version(p))\n    except Exception: print(p, '-')";
        let listed = output(Command::new(&py).args(["-c", probe])).unwrap_or_default();
        for line in listed.lines() {
            match line.split_once(' ') {
                Some((p, "-")) => r.missing(p, "`cryosampler-kernel install` installs it"),
                Some((p, v)) => r.ok(p, v),
                None => {}
            }
        }
    } else {
        r.missing("venv", "`cryosampler-kernel install` creates it");
    }

    println!("\nKernel");
    let mut specs = vec![("kernelspec (venv)", layout.venv_kernelspec())];
    if let Some(u) = layout.user_kernelspec() {
        specs.push(("kernelspec (user)", u));
    }
    let mut any_spec = false;
    for (label, dir) in specs {
        let file = dir.join("kernel.json");
        if !file.is_file() {
            r.info(label, format!("not installed ({})", dir.display()));
            continue;
        }
        any_spec = true;
        let spec = read_kernelspec(&dir).unwrap_or_default();
        let argv0 = spec["argv"][0].as_str().unwrap_or("");
        let evcxr = kernelspec_evcxr(&spec).unwrap_or_default();
        if Path::new(argv0).is_file() && evcxr.is_file() {
            r.ok(label, file.display().to_string());
        } else {
            let evcxr = evcxr.display();
            r.missing(label, format!("{} runs {argv0} / {evcxr}, which are gone: re-run install", file.display()));
        }
    }
    if !any_spec {
        r.missing("kernelspec", "`cryosampler-kernel install` writes it");
    }
    for f in ["init.evcxr", "prelude.rs"] {
        let p = layout.config_dir.join(f);
        match std::fs::read_to_string(&p) {
            Ok(t) => r.ok(f, t.trim().replace('\n', " | ")),
            Err(_) => r.missing(f, format!("{} (re-run install)", p.display())),
        }
    }
    let profile = layout.evcxr_dir.join(".cargo").join("config.toml");
    if profile.is_file() {
        r.ok("notebook profile", profile.display().to_string());
    } else {
        r.missing("notebook profile", format!("{} (re-run install)", profile.display()));
    }
    if let Ok(cwd) = std::env::current_dir()
        && cwd.join("evcxr.toml").is_file()
    {
        r.info("warning", "an evcxr.toml in this folder replaces init.evcxr for kernels started here");
    }

    println!("\nNotebook builds ({})", layout.evcxr_dir.display());
    let mut slots = 0;
    for k in 0..MAX_SLOTS {
        let d = slot_dir(&layout.work, k);
        if d.is_dir() {
            slots += 1;
            let built = d.join("target").is_dir();
            let state = if slot_in_use(&d) { "in use by a running kernel" } else { "free" };
            r.info(
                &d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                format!("{}, {state}{}", mib(du(&d)), if built { "" } else { ", not built yet" }),
            );
        }
    }
    if slots == 0 {
        r.info("build folders", "none yet: the first kernel start builds cryosampler + burn (~7 min on 2 cores)");
    }
    r.info("evcxr :cache", mib(du(&layout.xdg_cache.join("evcxr"))));

    println!("\nNotebook checks");
    match which("chromium").or_else(|| which("chromium-browser")).or_else(|| which("google-chrome")) {
        Some(p) => r.ok("chromium", p.display().to_string()),
        None => r.info(
            "chromium",
            "not found: run-notebooks can execute but not check in a browser (apt-get install chromium)",
        ),
    }

    println!();
    if r.missing == 0 {
        println!("all set");
        Ok(0)
    } else {
        println!("{} item(s) missing", r.missing);
        Ok(1)
    }
}
