#!/usr/bin/env python3
"""Stage-1 benchmark on ../shared/data/adk_tmd: fit the four noisy maps, then score every fitted
model (and the truths) with CryoSampler's own metrics and, when given, the independent cctbx
referee (../shared/tools/evaluator). Prints the table of the README's "Results" section.

    cargo build --release
    python3 scripts/adk_benchmark.py --out runs/adk                      # default settings
    python3 scripts/adk_benchmark.py --out runs/adk-ablation -- --no-structural-loss
    python3 scripts/adk_benchmark.py --out runs/adk --referee /path/to/evaluator-venv/bin/python

Arguments after `--` go to `cryosampler fit`. An existing run directory with a metrics.json is
scored again without refitting (pass --refit to start over; the fit itself never overwrites a run
without --force). Wall time and peak memory of the fit come from /usr/bin/time when present.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def ours(exe, map_path, model, res, out_json):
    run([exe, "evaluate", "--maps", map_path, "--models", model, "--resolution", str(res), "--json", out_json],
        stdout=subprocess.DEVNULL)
    with open(out_json) as f:
        m = json.load(f)["models"][0]
    return {"cc_mask": m["cc"][0]["cc"]["cc_mask"], **m["geometry"]}


def with_b(src, dst, b):
    """Copy a PDB file with every atom's B-factor set to `b`."""
    with open(src) as f, open(dst, "w") as g:
        for line in f:
            if line.startswith(("ATOM", "HETATM")):
                line = line[:60] + "%6.2f" % b + line[66:]
            g.write(line)


def model_b(path):
    with open(path) as f:
        return next(float(l[60:66]) for l in f if l.startswith(("ATOM", "HETATM")))


def referee(py, map_path, model, res, out_json):
    script = os.path.join(ROOT, "..", "shared", "tools", "evaluator", "evaluate.py")
    run([py, script, map_path, model, "-r", str(res), "--json", out_json], stdout=subprocess.DEVNULL)
    with open(out_json) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "adk_tmd"))
    ap.add_argument("--exe", default=os.path.join(ROOT, "target", "release", "cryosampler"))
    ap.add_argument("--referee", help="python of the evaluator's venv (setup_env.sh); omit to skip")
    ap.add_argument("--refit", action="store_true", help="fit again even when the run directory holds a result")
    ap.add_argument("fit_args", nargs="*", help="extra arguments for `cryosampler fit` (after --)")
    a = ap.parse_args()
    res = 4.5
    maps = [os.path.join(a.data, f"map_{k}_noisy.mrc") for k in range(4)]
    truths = [os.path.join(a.data, f"truth_{k}.pdb") for k in range(4)]
    metrics_path = os.path.join(a.out, "metrics.json")
    wall, peak = None, None
    if a.refit or not os.path.exists(metrics_path):
        cmd = [a.exe, "fit", "--maps", *maps, "--reference", os.path.join(a.data, "reference.pdb"),
               "--resolution", str(res), "--truth", *truths, "--out", a.out, *a.fit_args]
        if a.refit:
            cmd.append("--force")
        timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
        os.makedirs(a.out, exist_ok=True)
        log = os.path.join(a.out, "fit.log")
        with open(log, "w") as f:
            run(([timer, "-v"] if timer else []) + cmd, stdout=f, stderr=subprocess.STDOUT)
        text = open(log).read()
        m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
        wall = m.group(1) if m else None
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak = int(m.group(1)) / 1024 if m else None
    with open(metrics_path) as f:
        metrics = json.load(f)
    rows = []
    for k in range(4):
        mk = metrics["maps"][k]
        model = os.path.join(a.out, mk["model"])
        o = ours(a.exe, maps[k], model, res, os.path.join(a.out, f"eval_{k}.json"))
        t = ours(a.exe, maps[k], truths[k], res, os.path.join(a.out, f"eval_truth_{k}.json"))
        # the truths carry B = 20 A^2, the fitted models the B of the forward model (~90 A^2,
        # matched to the maps' blur): the truth's CC at the model's B separates geometry from B
        tb_path = os.path.join(a.out, f"truth_{k}_at_model_b.pdb")
        with_b(truths[k], tb_path, model_b(model))
        t["cc_mask_at_model_b"] = ours(a.exe, maps[k], tb_path, res, os.path.join(a.out, f"eval_truthb_{k}.json"))["cc_mask"]
        r = rt = None
        if a.referee:
            r = referee(a.referee, maps[k], model, res, os.path.join(a.out, f"referee_{k}.json"))
            rt_path = os.path.join(a.data, "referee", f"map_{k}_noisy-truth_{k}.json")
            rt = json.load(open(rt_path)) if os.path.exists(rt_path) else None
        rows.append((k, mk, o, t, r, rt))

    def both(x, y, fmt="{:.3f}"):
        return fmt.format(x) + (f" ({fmt.format(y)})" if y is not None else "")

    print()
    print("| map | reference RMSD | fitted RMSD | CC_mask fitted | CC_mask truth | CC_mask truth at the model's B "
          "| Rama out % | rotamer out % | clashscore | truth clashscore |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k, mk, o, t, r, rt in rows:
        rg = r["geometry"] if r else None
        print(f"| {k} | {mk['reference_ca_rmsd_to_truth']:.2f} Å | {mk['ca_rmsd_to_truth']:.2f} Å "
              f"| {both(o['cc_mask'], r['cctbx']['CC_mask'] if r else None)} "
              f"| {both(t['cc_mask'], rt['cctbx']['CC_mask'] if rt else None)} "
              f"| {t['cc_mask_at_model_b']:.3f} "
              f"| {both(o['rama_outliers_pct'], rg['rama_outliers_pct'] if rg else None, '{:.1f}')} "
              f"| {both(o['rotamer_outliers_pct'], rg['rotamer_outliers_pct'] if rg else None, '{:.1f}')} "
              f"| {both(o['clashscore'], rg['clashscore'] if rg else None, '{:.1f}')} "
              f"| {both(t['clashscore'], rt['geometry']['clashscore'] if rt else None, '{:.1f}')} |")
    print("(in brackets: the cctbx referee; its rotamer numbers leave out Arg and Lys)")
    secs = metrics.get("seconds")
    if secs is not None:
        print(f"stage 1: {secs:.0f} s" + (f", wall {wall}" if wall else "") + (f", peak RSS {peak:.0f} MiB" if peak else ""))


if __name__ == "__main__":
    main()
