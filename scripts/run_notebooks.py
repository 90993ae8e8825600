#!/usr/bin/env python3
"""Execute CryoSampler notebooks headlessly and check what they show.

For each notebook (default: notebooks/*.ipynb and tutorials/*.ipynb):
  1. execute it with nbclient and the installed kernel (a fresh kernel per notebook; the first
     start compiles cryosampler + burn for notebooks, ~7 min cold on 2 cores, ~20-30 s warm);
  2. export HTML with nbconvert (lab template);
  3. open the HTML in headless Chromium (SwiftShader WebGL, a fresh profile, no network needed):
     every molecular viewer must report data-status="rendered", every SVG plot of the notebook's
     outputs must be in the page; then take a PNG screenshot;
  4. once per run, repeat the viewer check on a copy of the page that pretends to be a require.js
     page (window.define with .amd), the case of classic Jupyter.
A cell that errors fails the notebook. Results go to --out (default .cache/notebooks): the
executed .ipynb, .html, .png, the DOM Chromium saw (.dom.html) and summary.json.

Run it with the venv's python, usually through `cryosampler-kernel run-notebooks`:
  .venv/bin/python scripts/run_notebooks.py [NOTEBOOK_OR_FOLDER ...] [--out DIR]
      [--no-browser | --require-browser]   (default: browser checks when Chromium is found)
  .venv/bin/python scripts/run_notebooks.py --warmup     # start the kernel once (build), time it
Exit status: 0 when every notebook passed, 1 otherwise.
"""

import argparse
import glob
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEWER_CLASS = "cryosampler-viewer"
AMD_STUB = (
    "<script>/* pretend to be a require.js page (classic Jupyter) */"
    "window.define = function () { throw new Error('anonymous define() on a require.js page'); };"
    "window.define.amd = {};</script>"
)


def find_chromium(explicit):
    for name in [explicit, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def chromium(browser, args, url, timeout=300):
    """Run headless Chromium with a fresh profile; return (returncode, stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="cs-chromium-")
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ] + args + [url]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", ""
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class DomScan(html.parser.HTMLParser):
    """Collect the viewers (data-status) and count svg elements in a DOM dump."""

    def __init__(self):
        super().__init__()
        self.viewers = []
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "div" and VIEWER_CLASS in (a.get("class") or "").split():
            self.viewers.append(a.get("data-status", "(none)"))


def scan(text):
    s = DomScan()
    s.feed(text)
    return s


def html_outputs(nb):
    """The text/html and image/svg+xml outputs of an executed notebook."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime in ("text/html", "image/svg+xml"):
                if mime in data:
                    v = data[mime]
                    yield v if isinstance(v, str) else "".join(v)


def errors_of(nb):
    errs = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errs.append(f"cell {i}: {out.get('ename', '')}: {out.get('evalue', '')}".strip())
    return errs


def execute(path, args):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(path)), "evcxr.toml")):
        print("  warning: an evcxr.toml next to this notebook replaces the kernel's init.evcxr", flush=True)
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    failure = None
    t = time.time()
    try:
        client.execute()
    except CellExecutionError as e:
        failure = str(e).strip().splitlines()[-1] if str(e).strip() else "cell error"
    except Exception as e:  # kernel died, timeout, ...
        failure = f"{type(e).__name__}: {e}"
    return nb, failure, time.time() - t


def export_html(nb, dest):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    with open(dest, "w", encoding="utf-8") as f:
        f.write(body)


def browser_check(browser, page, expect_viewers, expect_svgs, args, dom_dest=None):
    """Problems found in `page` by Chromium (empty list = fine).

    Virtual time can run ahead of work done off the page's thread (web workers), so a viewer still
    "loading" gets one more try with four times the budget before it counts as a failure."""
    url = "file://" + os.path.abspath(page)
    logging = ["--enable-logging=stderr", "--v=0", "--dump-dom"]
    rc, dom, log = chromium(browser, [f"--virtual-time-budget={args.budget_ms}"] + logging, url)
    if rc == 0 and "loading" in scan(dom).viewers:
        print("  a viewer is still loading: trying again with 4x the time budget", flush=True)
        rc, dom, log = chromium(browser, [f"--virtual-time-budget={4 * args.budget_ms}"] + logging, url)
    if dom_dest:
        with open(dom_dest, "w", encoding="utf-8") as f:
            f.write(dom)
    if rc != 0 or not dom:
        return [f"chromium --dump-dom failed (exit {rc})"]
    s = scan(dom)
    problems = []
    if len(s.viewers) != expect_viewers:
        problems.append(f"{len(s.viewers)} viewers in the page, the notebook output has {expect_viewers}")
    bad = [v for v in s.viewers if v != "rendered"]
    if bad:
        problems.append(f"{len(bad)} viewer(s) not rendered: {sorted(set(bad))}")
    if s.svgs < expect_svgs:
        problems.append(f"{s.svgs} svg elements in the page, the notebook output has {expect_svgs}")
    # uncaught JavaScript errors of the page (the console lines Chromium logs)
    uncaught = [line.split('"', 1)[-1][:200] for line in log.splitlines() if ":CONSOLE" in line and "Uncaught" in line]
    problems += [f"JavaScript: {u}" for u in uncaught]
    return problems


def screenshot(browser, page, dest, args):
    url = "file://" + os.path.abspath(page)
    rc, _, _ = chromium(
        browser,
        [f"--virtual-time-budget={args.budget_ms}", f"--window-size={args.width},{args.height}", f"--screenshot={dest}"],
        url,
    )
    return rc == 0 and os.path.exists(dest)


def notebook_paths(items):
    if not items:
        items = [d for d in (os.path.join(REPO, "notebooks"), os.path.join(REPO, "tutorials")) if os.path.isdir(d)]
    paths = []
    for it in items:
        if os.path.isdir(it):
            paths += sorted(p for p in glob.glob(os.path.join(it, "*.ipynb")) if ".ipynb_checkpoints" not in p)
        elif os.path.exists(it):
            paths.append(it)
        else:
            sys.exit(f"no such notebook or folder: {it}")
    return paths


def warmup(args):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    path = os.path.join(tempfile.mkdtemp(prefix="cs-warmup-"), "warmup.ipynb")
    nbformat.write(nb, path)
    print(f"starting the {args.kernel} kernel (the first start builds cryosampler + burn for notebooks)...", flush=True)
    _, failure, secs = execute(path, args)
    print(f"kernel ready and cell run in {secs:.0f} s" + (f"; FAILED: {failure}" if failure else ""), flush=True)
    return 1 if failure else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", help="notebooks or folders (default: notebooks/ and tutorials/)")
    ap.add_argument("--kernel", default="cryosampler", help="kernelspec name (default: cryosampler)")
    ap.add_argument("--out", default=os.path.join(REPO, ".cache", "notebooks"), help="output folder")
    ap.add_argument("--startup-timeout", type=int, default=3600, help="kernel start (cold build), s")
    ap.add_argument("--timeout", type=int, default=3600, help="per cell, s")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium checks and screenshots")
    ap.add_argument("--require-browser", action="store_true",
                    help="fail when no Chromium is found (default: warn and skip the browser checks)")
    ap.add_argument("--chromium", default=None, help="browser executable (default: chromium on PATH)")
    ap.add_argument("--budget-ms", type=int, default=30000, help="Chromium virtual time budget per page")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--warmup", action="store_true", help="start the kernel once and run `1 + 1`, then exit")
    args = ap.parse_args()

    if args.warmup:
        return warmup(args)
    paths = notebook_paths(args.notebooks)
    if not paths:
        print("no notebooks found")
        return 1
    browser = None if args.no_browser else find_chromium(args.chromium)
    if not args.no_browser and not browser:
        if args.require_browser:
            print("chromium not found: install it (apt-get install chromium) or pass --no-browser", file=sys.stderr)
            return 1
        print("warning: chromium not found, so plots and viewers are not checked in a browser "
              "(apt-get install chromium)", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    import nbformat

    results = []
    amd_done = False
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        print(f"\n=== {os.path.relpath(path, REPO)}", flush=True)
        nb, failure, secs = execute(path, args)
        problems = [failure] if failure else []
        problems += [e for e in errors_of(nb) if e not in problems]
        out_nb = os.path.join(args.out, name + ".ipynb")
        nbformat.write(nb, out_nb)
        page = os.path.join(args.out, name + ".html")
        export_html(nb, page)
        outputs = list(html_outputs(nb))
        n_viewers = sum(o.count(f'class="{VIEWER_CLASS}"') for o in outputs)
        n_svgs = sum(o.count("<svg") for o in outputs)
        shot = None
        if browser:
            problems += browser_check(browser, page, n_viewers, n_svgs, args, os.path.join(args.out, name + ".dom.html"))
            shot = os.path.join(args.out, name + ".png")
            if not screenshot(browser, page, shot, args):
                problems.append("screenshot failed")
                shot = None
            if n_viewers and not amd_done:
                amd_done = True
                with open(page, encoding="utf-8") as f:
                    text = f.read()
                amd_page = os.path.join(args.out, name + ".amd.html")
                with open(amd_page, "w", encoding="utf-8") as f:
                    f.write(text.replace("<head>", "<head>" + AMD_STUB, 1))
                problems += [f"require.js page: {p}" for p in browser_check(browser, amd_page, n_viewers, 0, args)]
        status = "FAILED" if problems else "ok"
        print(f"{status}: executed in {secs:.0f} s, {n_viewers} viewer(s), {n_svgs} svg(s)", flush=True)
        for p in problems:
            print(f"  - {p}", flush=True)
        results.append({
            "notebook": os.path.relpath(path, REPO), "ok": not problems, "seconds": round(secs, 1),
            "viewers": n_viewers, "svgs": n_svgs, "problems": problems,
            "html": page, "screenshot": shot, "executed": out_nb,
        })
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(results, f, indent=2)
    failed = [r for r in results if not r["ok"]]
    print(f"\n{len(results) - len(failed)}/{len(results)} notebooks passed; outputs in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
