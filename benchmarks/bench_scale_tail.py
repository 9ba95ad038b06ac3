"""Benchmark: the tail of ``validate`` at 100k and 1M rows (issue 16) — validity, scoring key, report, and the glue.

    python benchmarks/bench_scale_tail.py [--quick] [--sizes 100000 1000000] [--no-irt] [--data-dir DIR]

For each size the demo study (28 items + 41 companion items, 3 career stages; ``psychometrics
simulate --seed 0``, cached in --data-dir, the same files as benchmarks/bench_scale.py) is
validated with ``--group career_stage`` in a fresh process (this file run as ``--child``) whose
runner is instrumented. Printed per size, wall and CPU seconds (CPU = user + system of the
process, all threads):

* the three steps of this area — ``validity``, ``scoring key`` and ``report`` (verdicts,
  results.json content, report context, HTML) — with their budget at 1,000,000 rows (issue 16:
  validity ≤ 1.5 s, scoring key ≤ 0.5 s, report ≤ 1.5 s; at 100,000 rows the report ≤ 0.6 s);
* what ``validate`` does outside the steps: provenance (data SHA-256 of the file), writing
  report.html / results.json / scoring_key.json, and the rest of ``validate`` (options, spec,
  output checks) as ``validate`` minus the steps minus those two;
* start-up: a fresh ``python -c "import psychometrics.pipeline.run"`` (what ``validate`` imports
  before it starts) and ``psychometrics --help``, each the median of 3;
* the whole child process (start-up included) against the sum of its steps.

``--quick``: 100,000 rows only. ``--no-irt``: validate with ``irt: false`` (the IRT step is
another benchmark's; its calibrations then do not reach the scoring key and the report). There
is no R equivalent of these parts, so no R timing is printed. The load average is printed: on a
shared machine wall times are inflated; CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
#: this area's steps and their CPU budget (s) at 1,000,000 rows (issue 16)
BUDGET = {"validity": 1.5, "scoring key": 0.5, "report": 1.5}

from bench_scale import _data, child_env  # noqa: E402  (the same cached files, simulated once with seed 0)


def _child(path: Path, out: Path, irt: bool) -> None:
    """validate in this process with the runner, provenance and the writer timed; print JSON."""
    t0, c0 = time.perf_counter(), time.process_time()
    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline import run as runmod

    imported = [time.perf_counter() - t0, time.process_time() - c0]
    parts: dict[str, list[float]] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                prev = parts.get(name, [0.0, 0.0])
                parts[name] = [prev[0] + time.perf_counter() - w, prev[1] + time.process_time() - c]
        return wrapper

    original = runmod.Runner.run
    runmod.Runner.run = lambda self, name, fn, *a, **k: timed(name, lambda: original(self, name, fn, *a, **k))()
    runmod.provenance = timed("(provenance)", runmod.provenance)
    runmod._write = timed("(write files)", runmod._write)
    w, c = time.perf_counter(), time.process_time()
    runmod.validate(SCALE, path, group="career_stage", id_column="id", out=out, quiet=True, overwrite=True,
                    options=None if irt else {"irt": False})
    total = [time.perf_counter() - w, time.process_time() - c]
    print(json.dumps({"parts": parts, "validate": total, "import": imported}))


def _startup() -> dict[str, float]:
    """Median wall s of a fresh import of the pipeline and of ``psychometrics --help``."""
    env = child_env()
    out = {}
    for name, cmd in (("import psychometrics.pipeline.run", [sys.executable, "-c", "import psychometrics.pipeline.run"]),
                      ("psychometrics --help", [sys.executable, "-m", "psychometrics", "--help"])):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--no-irt", action="store_true", help="validate with irt: false")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), args.child[2] == "1")
        return
    sizes = [100_000] if args.quick else args.sizes
    args.data_dir.mkdir(parents=True, exist_ok=True)
    out_dir = Path(tempfile.mkdtemp(prefix="bench-tail-"))
    print(f"bench_scale_tail: validity, scoring key, report and the glue of validate (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; irt: {str(not args.no_irt).lower()})")
    start = _startup()
    for name, t in start.items():
        print(f"  start-up: {name:<36} {t:6.2f} s wall (median of 3)")
    for n in sizes:
        path = _data(n, args.data_dir)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(out_dir / f"out_{n}"),
                               str(int(not args.no_irt))], cwd=ROOT, capture_output=True, text=True,
                              env=child_env())
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"validate failed at n = {n}:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        parts = res["parts"]
        steps = {k: v for k, v in parts.items() if not k.startswith("(")}
        glue = {k: v for k, v in parts.items() if k.startswith("(")}
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"\n  n = {n:,}   (load average now {os.getloadavg()[0]:.1f})")
        print(f"    {'part':<34} {'wall s':>8} {'CPU s':>8} {'budget@1M':>10}")
        for name in BUDGET:
            if name in steps:
                w, c = steps[name]
                print(f"  * {name:<34} {w:8.2f} {c:8.2f} {BUDGET[name]:10.1f}")
        for name, (w, c) in glue.items():
            print(f"    {name:<34} {w:8.2f} {c:8.2f}")
        sw = sum(v[0] for v in steps.values())
        sc = sum(v[1] for v in steps.values())
        rest_w = res["validate"][0] - sw - sum(v[0] for v in glue.values())
        rest_c = res["validate"][1] - sc - sum(v[1] for v in glue.values())
        print(f"    {'(rest of validate: options, spec)':<34} {rest_w:8.2f} {rest_c:8.2f}")
        print(f"    {'(imports before validate)':<34} {res['import'][0]:8.2f} {res['import'][1]:8.2f}")
        print(f"    {'all steps':<34} {sw:8.2f} {sc:8.2f}")
        print(f"    {'whole process (start-up incl.)':<34} {wall:8.2f} {cpu:8.2f}   "
              f"outside the steps: {wall - sw:.2f} s wall, {cpu - sc:.2f} s CPU")


if __name__ == "__main__":
    main()
