//! `cryosampler-kernel`: sets up the CryoSampler Jupyter kernel (evcxr with
//! `use cryosampler::prelude::*;` ready), checks it, and runs the notebooks headlessly.
//!
//! ```text
//! cargo run -p cryosampler-kernel --release -- install [--demo]   # everything, then the demo notebook
//! cargo run -p cryosampler-kernel --release -- doctor             # what is installed, what is missing
//! cargo run -p cryosampler-kernel --release -- run-notebooks      # execute + export + check in Chromium
//! cargo run -p cryosampler-kernel --release -- uninstall [--purge]
//! ```
//!
//! `launch` is what the kernelspec runs: it picks a free persistent build folder for evcxr and
//! starts `evcxr_jupyter` there (see [`launch`]). Layout of what `install` writes: [`layout`].

mod cli;
mod doctor;
mod install;
mod launch;
mod layout;
mod notebooks;

use anyhow::Result;

const USAGE: &str = "\
cryosampler-kernel: the CryoSampler Jupyter kernel (evcxr + `use cryosampler::prelude::*;`)

USAGE:
  cryosampler-kernel install [OPTIONS]       install evcxr_jupyter, a Python venv with JupyterLab and
                                             the nbclient tools, and the \"Rust (CryoSampler)\" kernelspec
      --repo DIR          repository root (default: found from the current folder)
      --venv DIR          Python virtual environment (default: <repo>/.venv)
      --python EXE        Python used to create the venv (default: python3)
      --user              also install the kernelspec for the user (~/.local/share/jupyter), so other
                          Jupyter installations (VS Code, a system JupyterLab) see it
      --features LIST     cryosampler features for notebooks, comma-separated (e.g. cuda)
      --evcxr-root DIR    `cargo install --root DIR` for evcxr_jupyter (default: cargo's, ~/.cargo)
      --skip-evcxr        do not install evcxr_jupyter (it must be on PATH)
      --prebuild          start the kernel once so the notebook build is ready (cold: ~7 min on 2 cores)
      --demo              after installing, run the demo notebook(s) through `run-notebooks`
  cryosampler-kernel doctor [--repo DIR] [--venv DIR]
  cryosampler-kernel run-notebooks [--repo DIR] [--venv DIR] [NOTEBOOK...] [-- RUNNER-OPTIONS]
                                             execute notebooks (default: notebooks/*.ipynb and
                                             tutorials/*.ipynb), export HTML, check it in headless
                                             Chromium; runner options: scripts/run_notebooks.py --help
  cryosampler-kernel uninstall [--repo DIR] [--venv DIR] [--purge]
                                             remove the kernelspecs and the kernel config; --purge
                                             also removes the notebook build folders (.cache/evcxr)
  cryosampler-kernel launch --evcxr EXE [--cargo-lock FILE] -- EVCXR-ARGS
                                             (used by kernel.json) start evcxr_jupyter in a free
                                             persistent build folder
";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&argv) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(argv: &[String]) -> Result<i32> {
    let Some((cmd, rest)) = argv.split_first() else {
        print!("{USAGE}");
        return Ok(2);
    };
    match cmd.as_str() {
        "install" => install::install(&cli::Args::parse(
            rest,
            &["--repo", "--venv", "--python", "--features", "--evcxr-root"],
            &["--user", "--skip-evcxr", "--prebuild", "--demo"],
        )?),
        "uninstall" => install::uninstall(&cli::Args::parse(rest, &["--repo", "--venv"], &["--purge"])?),
        "doctor" => doctor::doctor(&cli::Args::parse(rest, &["--repo", "--venv"], &[])?),
        "run-notebooks" => notebooks::run_notebooks(&cli::Args::parse(rest, &["--repo", "--venv"], &[])?),
        "launch" => launch::launch(&cli::Args::parse(rest, &["--evcxr", "--cargo-lock"], &[])?),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(0)
        }
        other => {
            eprint!("unknown command `{other}`\n\n{USAGE}");
            Ok(2)
        }
    }
}
