"""Benchmark: resident memory of a whole ``validate`` run, step by step (issue 16: ≤ 2 GB at 10⁶ rows).

    python benchmarks/bench_scale_memory.py [--rows 1000000] [--no-irt] [--data-dir DIR]

Runs ``validate scale.yaml DATA --group career_stage --id-column id`` on the cached demo study
(the same files as ``bench_scale.py``) in a fresh process, with the pipeline's step runner wrapped:
for every step the RSS before it, the highest RSS during it (sampled every 5 ms by a thread), the
RSS after it, and wall / CPU seconds; at the end the process's ``ru_maxrss``. The step whose
in-step peak is the run's peak is the one to look at. No R equivalent. On a shared machine the
times are inflated (the load average is printed); the memory figures do not depend on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"


def _child(path: str, irt: bool) -> None:
    import resource
    import threading

    import psutil

    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline import run as run_mod

    proc = psutil.Process()
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()
    orig = run_mod.Runner.run

    def timed(self, name, fn, *args, **kwargs):
        before = proc.memory_info().rss
        peak[0] = before
        t, c = time.perf_counter(), time.process_time()
        out = orig(self, name, fn, *args, **kwargs)
        rec = {"step": name, "wall": time.perf_counter() - t, "cpu": time.process_time() - c,
               "before": before / 1e9, "peak": max(peak[0], proc.memory_info().rss) / 1e9,
               "after": proc.memory_info().rss / 1e9}
        print(json.dumps(rec), flush=True)
        return out

    run_mod.Runner.run = timed
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_mod.validate(str(SCALE), path, out=out, group="career_stage", id_column="id", quiet=True,
                         options=None if irt else {"irt": False})
        print(json.dumps({"step": "whole run", "wall": time.perf_counter() - t0, "cpu": time.process_time(),
                          "before": 0.0, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                          "after": proc.memory_info().rss / 1e9}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-irt", action="store_true")
    ap.add_argument("--data-dir", default="/tmp/psychometrics-bench-scale")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, not args.no_irt)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_scale import _data, child_env  # the same cached files (simulated once, seed 0)

    path = _data(args.rows, Path(args.data_dir))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rows:,} rows")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)] + (["--no-irt"] if args.no_irt else [])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=child_env())
    if proc.returncode != 0:
        sys.exit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"{'step':40s} {'wall s':>7s} {'CPU s':>7s} {'RSS before':>10s} {'peak in step':>12s} {'after':>7s} GB")
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            print(f"{r['step']:40s} {r['wall']:7.2f} {r['cpu']:7.2f} {r['before']:10.2f} {r['peak']:12.2f} "
                  f"{r['after']:7.2f}")


if __name__ == "__main__":
    main()
