"""Benchmark: ``psychometrics demo`` end to end (N = 1200, 28 items + 4 companion measures).

    python benchmarks/bench_demo.py [--repeats 3] [--n 1200] [--seed 0]

Runs the command as a user would (a fresh ``python -m psychometrics demo --out DIR``
process, so start-up and imports are included), and prints the median wall time, the
child's CPU time (user + system; the cost when the machine is shared with other work),
the per-step timings the command prints on stderr, and the size of each output file.
Targets (issue 8): ≤ 20 s wall including start-up on an otherwise idle two-core machine,
report ≤ 3 MB. There is no R equivalent of the whole pipeline, so no R timing is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(out: Path, n: int, seed: int) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "psychometrics", "demo", "--out", str(out), "--n", str(n),
                           "--seed", str(seed)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"demo failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    walls, cpus = [], []
    steps: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            out = Path(tmp) / f"run{k}"
            wall, cpu, err = run_once(out, args.n, args.seed)
            walls.append(wall)
            cpus.append(cpu)
            for name, sec in re.findall(r"\]\s+(.+?) … done ([\d.]+) s", err):
                steps.setdefault(name, []).append(float(sec))
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"psychometrics demo, N = {args.n}, seed {args.seed}, {args.repeats} runs (load average {load:.1f} "
          f"on {os.cpu_count()} cores)")
    print(f"  wall time, median  {statistics.median(walls):6.2f} s   (all: {', '.join(f'{w:.2f}' for w in walls)})"
          f"   target ≤ 20 s")
    print(f"  CPU time, median   {statistics.median(cpus):6.2f} s   (user + system of the process)")
    print("  steps (median wall seconds, as printed on stderr):")
    for name, secs in steps.items():
        print(f"    {name:<32}{statistics.median(secs):6.2f}")
    print("  outputs:")
    for name, size in sizes.items():
        flag = "   target ≤ 3 MB" if name == "report.html" else ""
        print(f"    {name:<20}{size / 1e6:7.2f} MB{flag}")
    ok = statistics.median(walls) <= 20 and sizes.get("report.html", 0) <= 3e6
    print("  verdict: " + ("within targets" if ok else "OUTSIDE targets (see steps; a busy machine inflates wall time)"))


if __name__ == "__main__":
    main()
