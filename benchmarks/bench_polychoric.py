"""Benchmark: polychoric correlation matrices (two-step, as lavaan::lavCor).

    python benchmarks/bench_polychoric.py [--repeats 5] [--no-r] [--acov]

Targets (issue 9): 50 items × 19,376 rows at least 5× faster than ``lavaan::lavCor``
timed in the same run; 40 items × 100,000 rows in at most 1 s.

Data: a one-factor population (loadings U(.4, .8)) cut into 5 categories at random
thresholds, seed 1, written to a temporary CSV that R reads too. Python times
``polychoric(data, acov=False)`` (lavCor with ``output = "cor"`` does not compute the
asymptotic covariance either); R times ``lavCor(x, ordered = names(x))``. Both the
matrices are compared (max |Δρ|). With ``--acov`` also times the asymptotic covariance
(lavaan: ``lavCor(..., output = "fit", se = "robust.sem")``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _rtiming import wall_and_cpu_times  # noqa: E402
from psychometrics.ordinal import polychoric  # noqa: E402


def make_data(n: int, p: int, k: int = 5, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.4, 0.8, p)
    z = rng.standard_normal((n, 1)) * lam + rng.standard_normal((n, p)) * np.sqrt(1 - lam**2)
    cuts = np.sort(rng.normal(size=(p, k - 1)), axis=1)
    y = np.stack([np.searchsorted(cuts[j], z[:, j]) + 1 for j in range(p)], axis=1)
    return pd.DataFrame(y, columns=[f"i{j + 1}" for j in range(p)])


R_SCRIPT = r"""
suppressMessages(library(lavaan))
x <- read.csv("{csv}")
t <- system.time(r <- lavCor(x, ordered = names(x)))["elapsed"]
write.csv(unclass(r), "{out}", row.names = FALSE)
cat("LAVCOR", t, "\n")
if ({acov}) {{
  t2 <- system.time(f <- lavCor(x, ordered = names(x), output = "fit", se = "robust.sem"))["elapsed"]
  cat("GAMMA", t2, "\n")
}}
"""


def run_r(data: pd.DataFrame, acov: bool) -> tuple[float | None, float | None, np.ndarray | None]:
    if shutil.which("Rscript") is None:
        return None, None, None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        out = Path(tmp) / "r.csv"
        script = Path(tmp) / "bench.R"
        data.to_csv(csv, index=False)
        script.write_text(R_SCRIPT.format(csv=csv, out=out, acov="TRUE" if acov else "FALSE"))
        proc = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr)
            return None, None, None
        t_cor = t_gamma = None
        for line in proc.stdout.splitlines():
            if line.startswith("LAVCOR"):
                t_cor = float(line.split()[1])
            if line.startswith("GAMMA"):
                t_gamma = float(line.split()[1])
        return t_cor, t_gamma, pd.read_csv(out).to_numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--acov", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # sparse-table notes are irrelevant here
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    polychoric(make_data(200, 4), acov=False)  # warm up imports

    data = make_data(19_376, 50)
    wall, cpu = wall_and_cpu_times(lambda: polychoric(data, acov=False), args.repeats)
    med = statistics.median(wall)
    print(f"50 items x 19,376 rows: python median {med:.3f} s wall, {statistics.median(cpu):.3f} s CPU "
          f"(min {min(wall):.3f}) over {args.repeats} runs")
    if args.acov:
        t = time.perf_counter()
        polychoric(data, acov=True)
        print(f"  with acov (NACOV): {time.perf_counter() - t:.3f} s")
    if not args.no_r:
        t_cor, t_gamma, R = run_r(data, args.acov)
        if t_cor is None:
            print("  R / lavaan not available: no comparison")
        else:
            ours = polychoric(data, acov=False).matrix.to_numpy()
            print(f"  lavaan::lavCor {t_cor:.3f} s -> speed-up {t_cor / med:.1f}x (target >= 5x); "
                  f"max |Δρ| = {np.abs(ours - R).max():.2e}")
            if t_gamma is not None:
                print(f"  lavaan gamma (lavCor se = 'robust.sem') {t_gamma:.3f} s")

    data = make_data(100_000, 40)
    wall, cpu = wall_and_cpu_times(lambda: polychoric(data, acov=False), args.repeats)
    med = statistics.median(wall)
    print(f"40 items x 100,000 rows: python median {med:.3f} s wall, {statistics.median(cpu):.3f} s CPU "
          f"(min {min(wall):.3f}) over {args.repeats} runs (target <= 1 s)")


if __name__ == "__main__":
    main()
