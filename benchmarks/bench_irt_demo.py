"""Benchmark: what the item response theory section adds to the demo (issue 17: ≤ 3 s).

    python benchmarks/bench_irt_demo.py [--pairs 3] [--n 1200]

Runs the demo (seed 0) in this process with ``irt: false`` and with the default IRT section
(GRM per subscale and total, S-X², M2/C2 and local dependence, sum-score tables, ordinal
logistic and multi-group likelihood-ratio DIF, curves in the report) alternately, after one
warm-up run, and prints the median wall and CPU time of each and of the difference, with the
per-step times of the IRT step and the report. The bifactor GRM is opt-in (``irt_bifactor``)
and not part of the default section. Compare on an idle machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from psychometrics.pipeline import demo  # noqa: E402


def _run(options: dict, n: int, tmp: Path) -> tuple[float, float, dict[str, float]]:
    out = tmp / "out"
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = demo(out=out, seed=0, n=n, quiet=True, options=options)
    return time.perf_counter() - wall, time.process_time() - cpu, dict(res.timings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--n", type=int, default=1200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _run({"irt": False}, args.n, tmp)  # warm-up: imports, caches
        off, on = [], []
        for _ in range(args.pairs):
            off.append(_run({"irt": False}, args.n, tmp))
            on.append(_run({}, args.n, tmp))
    med = statistics.median
    print(f"demo N = {args.n}, seed 0, {args.pairs} pairs (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")
    print(f"  without IRT   wall {med(r[0] for r in off):6.2f} s   CPU {med(r[1] for r in off):6.2f} s")
    print(f"  with IRT      wall {med(r[0] for r in on):6.2f} s   CPU {med(r[1] for r in on):6.2f} s")
    inc = [b[0] - a[0] for a, b in zip(off, on)]
    inc_cpu = [b[1] - a[1] for a, b in zip(off, on)]
    print(f"  IRT increment wall {med(inc):6.2f} s   CPU {med(inc_cpu):6.2f} s   (all wall: "
          + ", ".join(f"{v:.2f}" for v in inc) + ")   target ≤ 3 s")
    print(f"  IRT step {med(r[2]['item response theory'] for r in on):.2f} s; report with / without IRT "
          f"{med(r[2]['report'] for r in on):.2f} / {med(r[2]['report'] for r in off):.2f} s")


if __name__ == "__main__":
    main()
