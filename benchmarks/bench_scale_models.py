"""Benchmark: the model steps of ``validate`` at large n (issue 16) — wall, CPU and peak RSS per step.

    python benchmarks/bench_scale_models.py [--quick] [--sizes 100000 1000000] [--data-dir DIR]

For each size the demo study (28 items + 41 companion items, 3 career stages) is simulated once
with ``psychometrics simulate --seed 0`` (cached in --data-dir; the same files as
benchmarks/bench_scale.py), then ``validate … --group career_stage`` runs in a fresh process
whose step runner is instrumented: per step the wall time, the CPU time of the process (user +
system, all threads) and the peak resident memory during the step (sampled every 20 ms, so a
spike shorter than that can be missed; the process's overall ``ru_maxrss`` is printed too).

The model steps (issue 16's second half) are marked ``*``: confirmatory factor analysis,
measurement invariance, item response theory (GRM calibrations, S-X², DIF), validity (CFA,
HTMT), scoring key and the report. ``--quick``: 20,000 and 100,000 rows.

There is no R equivalent of the whole pipeline, so no R timing is printed. The load average is
printed: on a shared machine wall times are inflated; CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
MODEL_STEPS = ("confirmatory factor analysis", "measurement invariance", "item response theory", "validity",
               "scoring key", "report")


from bench_scale import _data, _rss  # noqa: E402  (the same cached files, simulated once with seed 0)


def _child(path: Path, out: Path) -> None:
    """Run validate in this process with the runner instrumented; print the steps as JSON."""
    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline import run as runmod

    steps: list[dict] = []
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.02)

    original = runmod.Runner.run

    def timed(self, name, fn, *args, **kwargs):  # noqa: ANN001 - mirrors Runner.run
        peak[0] = _rss()
        w, c = time.perf_counter(), time.process_time()
        try:
            return original(self, name, fn, *args, **kwargs)
        finally:
            steps.append({"step": name, "wall": time.perf_counter() - w, "cpu": time.process_time() - c,
                          "peak_gb": max(peak[0], _rss()) / 1e9})

    runmod.Runner.run = timed
    threading.Thread(target=sample, daemon=True).start()
    w, c = time.perf_counter(), time.process_time()
    runmod.validate(SCALE, path, group="career_stage", id_column="id", out=out, quiet=True, overwrite=True)
    total = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c,
             "maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    stop.set()
    print(json.dumps({"steps": steps, "total": total}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="20,000 and 100,000 rows")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    sizes = [20_000, 100_000] if args.quick else args.sizes
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale_models: validate per step (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores;"
          " * = model step)")
    for n in sizes:
        path = _data(n, args.data_dir)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(args.data_dir / f"models_out_{n}")],
                              cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            sys.exit(f"validate failed at n = {n}:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\n  n = {n:,}   (load average now {os.getloadavg()[0]:.1f})")
        print(f"    {'step':<32} {'wall s':>8} {'CPU s':>8} {'peak RSS GB':>12}")
        for s in res["steps"]:
            mark = "*" if s["step"] in MODEL_STEPS else " "
            print(f"  {mark} {s['step']:<32} {s['wall']:8.2f} {s['cpu']:8.2f} {s['peak_gb']:12.2f}")
        model = [s for s in res["steps"] if s["step"] in MODEL_STEPS]
        t = res["total"]
        print(f"    {'model steps (*)':<32} {sum(s['wall'] for s in model):8.2f} {sum(s['cpu'] for s in model):8.2f}")
        print(f"    {'validate total':<32} {t['wall']:8.2f} {t['cpu']:8.2f} {t['maxrss_gb']:12.2f}  (ru_maxrss)")


if __name__ == "__main__":
    main()
