#!/usr/bin/env python3
"""Measure the notebook (evcxr) build of cryosampler + burn under a given cargo profile.

Creates a private kernel under <repo>/.cache/bench-<label>/ (its own evcxr config, build folder,
:cache and a kernelspec found through JUPYTER_PATH), then measures
  cold   the first kernel start (empty build folder and cache: everything compiles),
  warm   a second start, and the first cell that defines a variable (rust-analyzer),
  run    best-of-5 timings of cryosampler and burn work in the warm kernel.
The table in kernel/README.md comes from this script, e.g.
  .venv/bin/python scripts/bench_notebook_build.py --label evcxr-default
  .venv/bin/python scripts/bench_notebook_build.py --label chosen --profile .cache/evcxr/.cargo/config.toml
Needs `cryosampler-kernel install` first (evcxr_jupyter, the venv); no data files (the run-time
cells generate a 20,000-atom structure). Prints one JSON line. Takes ~10 min (the cold build).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUN_CELLS = [
    ':dep burn = { version = "=0.21.0", default-features = false, '
    'features = ["std", "dispatch", "autodiff", "simd", "flex"] }',
    "fn best<F: FnMut()>(n: usize, mut f: F) -> f64 { (0..n).map(|_| { let t = std::time::Instant::now(); f(); "
    "t.elapsed().as_secs_f64() }).fold(f64::INFINITY, f64::min) }",
    # a 20,000-atom synthetic structure (a helix of CA-like atoms) rendered on a 0.5 A grid
    """let mut text = String::new();
for i in 0..20000 { let t = i as f64 * 1.7453; let (x, y, z) = (30.0 * (t / 100.0).cos() + 2.3 * t.cos(), 30.0 * (t / 100.0).sin() + 2.3 * t.sin(), 0.15 * i as f64 % 60.0);
  let chain = if i < 10000 { 'A' } else { 'B' };
  text.push_str(&format!("ATOM  {:>5}  CA  ALA {chain}{:>4}    {:8.3}{:8.3}{:8.3}  1.00 20.00           C\\n", i % 100000, i % 10000, x, y, z)); }
let path = std::env::temp_dir().join("cs_bench.pdb"); std::fs::write(&path, &text)?;
let big = Structure::read(&path)?; let g2 = Grid::around(&[&big], 5.0, 0.5)?;
let t_read = best(5, || { let _ = Structure::read(&path); });
let t_render = best(5, || { let _ = cryosampler::density::render_structure(&big, &g2, &RenderOptions::at(3.0)); });
format!("{{\\"read_ms\\": {:.1}, \\"render_ms\\": {:.1}}}", t_read * 1e3, t_render * 1e3)""",
    """use burn::tensor::Tensor; let dev = cryosampler::device::device();
let t_train = best(5, || { let x = Tensor::<cryosampler::device::AB, 5>::ones([2, 8, 32, 32, 32], &dev).require_grad();
  let w = Tensor::<cryosampler::device::AB, 5>::ones([16, 8, 3, 3, 3], &dev).require_grad();
  let opts = burn::tensor::ops::ConvOptions::new([1, 1, 1], [1, 1, 1], [1, 1, 1], 1);
  let y = burn::tensor::activation::gelu(burn::tensor::module::conv3d(x.clone(), w.clone(), None, opts));
  let g = (y.clone() * y).mean().backward(); let _ = w.grad(&g).map(|t| t.sum().into_scalar()); });
let a = Tensor::<cryosampler::device::B, 1>::ones([8_000_000], &dev);
let t_elem = best(5, || { let _ = (a.clone().exp() * a.clone() + 1.0).sum().into_scalar(); });
let m = Tensor::<cryosampler::device::B, 2>::ones([512, 512], &dev);
let t_mm = best(5, || { let _ = m.clone().matmul(m.clone()).sum().into_scalar(); });
format!("{{\\"conv3d_fwd_bwd_ms\\": {:.1}, \\"elementwise_8m_ms\\": {:.1}, \\"matmul512_ms\\": {:.2}}}", t_train * 1e3, t_elem * 1e3, t_mm * 1e3)""",
]


def start(name):
    from jupyter_client import KernelManager

    t = time.time()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=7200)
    return km, kc, time.time() - t


def run(kc, code):
    t = time.time()
    mid = kc.execute(code)
    result, error = "", None
    while True:
        m = kc.get_iopub_msg(timeout=7200)
        if m["parent_header"].get("msg_id") != mid:
            continue
        if m["msg_type"] == "execute_result":
            result = m["content"]["data"].get("text/plain", "")
        elif m["msg_type"] == "error":
            error = m["content"]["ename"] + ": " + m["content"]["evalue"][:500]
        elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    if error:
        sys.exit(f"cell failed: {error}\n{code}")
    return result, time.time() - t


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", required=True, help="names the bench folder .cache/bench-LABEL")
    ap.add_argument("--profile", help="cargo config file with [profile] tables (default: evcxr's own profile)")
    ap.add_argument("--evcxr", default=shutil.which("evcxr_jupyter") or os.path.expanduser("~/.cargo/bin/evcxr_jupyter"))
    ap.add_argument("--keep", action="store_true", help="keep the bench folder (default: delete it at the end)")
    args = ap.parse_args()

    base = os.path.join(REPO, ".cache", f"bench-{args.label}")
    shutil.rmtree(base, ignore_errors=True)
    for d in ("config", "work", ".cargo"):
        os.makedirs(os.path.join(base, d))
    with open(os.path.join(base, "config", "init.evcxr"), "w") as f:
        f.write(f':cache 4096\n:dep cryosampler = {{ path = "{os.path.join(REPO, "cryosampler")}" }}\n')
    with open(os.path.join(base, "config", "prelude.rs"), "w") as f:
        f.write("use cryosampler::prelude::*;\n")
    if args.profile:
        shutil.copy(args.profile, os.path.join(base, ".cargo", "config.toml"))
    shutil.copy(os.path.join(REPO, "Cargo.lock"), os.path.join(base, "work", "Cargo.lock"))
    jupyter_path = tempfile.mkdtemp(prefix="cs-bench-kernels-")
    name = f"csbench{os.getpid()}"
    os.makedirs(os.path.join(jupyter_path, "kernels", name))
    with open(os.path.join(jupyter_path, "kernels", name, "kernel.json"), "w") as f:
        json.dump({
            "argv": [args.evcxr, "--control_file", "{connection_file}"],
            "display_name": name, "language": "rust", "interrupt_mode": "message",
            "env": {"EVCXR_CONFIG_DIR": os.path.join(base, "config"), "EVCXR_TMPDIR": os.path.join(base, "work"),
                    "XDG_CACHE_HOME": os.path.join(base, "xdg")},
        }, f)
    os.environ["JUPYTER_PATH"] = jupyter_path + os.pathsep + os.environ.get("JUPYTER_PATH", "")

    res = {"label": args.label, "profile": args.profile}
    t_cpu = os.times()
    km, kc, res["cold_start_s"] = start(name)
    stop(km, kc)
    t_cpu2 = os.times()
    res["cold_start_cpu_s"] = round(t_cpu2.children_user + t_cpu2.children_system - t_cpu.children_user - t_cpu.children_system, 1)
    km, kc, res["warm_start_s"] = start(name)
    _, res["first_variable_cell_s"] = run(kc, "let g = Grid::new([32, 32, 32], 1.0, [0.0; 3]); g.describe()")
    for code in RUN_CELLS:
        out, _ = run(kc, code)
        if out.startswith('"{'):
            res.update(json.loads(json.loads(out)))
    stop(km, kc)
    res = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in res.items()}
    print(json.dumps(res), flush=True)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(jupyter_path, ignore_errors=True)


if __name__ == "__main__":
    main()
