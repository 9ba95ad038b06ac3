"""Benchmark: parallel analysis (1000 simulated data sets, N = 2500 × 25 items).

    python benchmarks/bench_efa.py [--repeats 5] [--n-iter 1000] [--no-r]

Prints the median wall time of ``psychometrics.efa.parallel_analysis`` (kind="both",
simulated normal data, psych's definitions) and, when ``Rscript`` is installed, times
``psych::fa.parallel`` on the same data and number of iterations in the same run and
prints the ratio. Also times one ``efa()`` on the same data (minres + oblimin, 5 factors)
against ``psych::fa``. The data are a fixed five-factor population (loadings .6) sampled
once with seed 1 and written to a temporary CSV so that both languages read the same file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _rtiming import wall_and_cpu_times  # noqa: E402
from psychometrics.efa import efa, parallel_analysis  # noqa: E402


def make_data(n: int = 2500, p: int = 25, k: int = 5, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    L = np.zeros((p, k))
    for j in range(p):
        L[j, j % k] = 0.6
    f = rng.standard_normal((n, k))
    x = f @ L.T + rng.standard_normal((n, p)) * np.sqrt(1 - 0.36)
    return pd.DataFrame(x, columns=[f"i{j + 1}" for j in range(p)])


R_SCRIPT = r"""
suppressMessages(library(psych))
x <- read.csv("{csv}")
set.seed(1)
t <- system.time(p <- fa.parallel(x, fa = "both", n.iter = {n_iter}, plot = FALSE, sim = TRUE, n.obs = NULL))
cat("PARALLEL", t[["elapsed"]], t[["user.self"]] + t[["sys.self"]] + t[["user.child"]] + t[["sys.child"]], p$nfact, p$ncomp, "\n")
t2 <- system.time(for (i in 1:{efa_reps}) f <- fa(x, 5, fm = "minres", rotate = "oblimin")) / {efa_reps}
cat("FA", t2[["elapsed"]], t2[["user.self"]] + t2[["sys.self"]], "\n")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-iter", type=int, default=1000)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    data = make_data()
    print(f"data: {data.shape[0]} x {data.shape[1]}, n_iter = {args.n_iter}")
    parallel_analysis(data, n_iter=20, seed=0)  # warm up imports
    pa_times, pa_cpu = wall_and_cpu_times(lambda: parallel_analysis(data, n_iter=args.n_iter, kind="both", seed=42), args.repeats)
    res = parallel_analysis(data, n_iter=args.n_iter, kind="both", seed=42)
    pa_med = statistics.median(pa_times)
    print(f"python parallel_analysis: median {pa_med:.3f} s wall, {statistics.median(pa_cpu):.3f} s CPU over "
          f"{args.repeats} runs (min wall {min(pa_times):.3f}); n_factors = {res.n_factors}, n_components = {res.n_components}")
    # psych::fa.parallel on raw data does resampled *and* simulated data sets each iteration;
    # the like-for-like Python cost is both runs
    rs_times, rs_cpu = wall_and_cpu_times(lambda: parallel_analysis(data, n_iter=args.n_iter, kind="both", resample=True, seed=42), 1)
    print(f"python parallel_analysis (resample=True): {rs_times[0]:.3f} s wall, {rs_cpu[0]:.3f} s CPU (one run)")
    both = pa_med + rs_times[0]
    both_cpu = statistics.median(pa_cpu) + rs_cpu[0]
    efa(data, 5)
    fa_times, fa_cpu = wall_and_cpu_times(lambda: efa(data, 5, method="minres", rotation="oblimin"), args.repeats)
    fa_med = statistics.median(fa_times)
    print(f"python efa (minres + oblimin, 5 factors): median {fa_med * 1000:.1f} ms wall, {statistics.median(fa_cpu) * 1000:.1f} ms CPU")
    if args.no_r or shutil.which("Rscript") is None:
        print("Rscript not found (or --no-r): no R comparison")
        return
    # psych's fa.parallel on raw data also resamples: pass sim = TRUE and compare the total,
    # it does both (resampled + simulated) per iteration, as its default does
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        data.to_csv(csv, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(csv=csv.as_posix(), n_iter=args.n_iter, efa_reps=3))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True).stdout
    r_pa = r_fa = None
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "PARALLEL":
            r_pa, r_pa_cpu = float(parts[1]), float(parts[2])
            print(f"R psych::fa.parallel: {r_pa:.2f} s wall, {r_pa_cpu:.2f} s CPU (one run; nfact = {parts[3]}, ncomp = {parts[4]})")
        if parts and parts[0] == "FA":
            r_fa, r_fa_cpu = float(parts[1]), float(parts[2])
            print(f"R psych::fa (minres + oblimin): {r_fa * 1000:.1f} ms wall, {r_fa_cpu * 1000:.1f} ms CPU")
    if r_pa:
        print(f"ratio R / python (parallel analysis, simulated + resampled as psych does): "
              f"{r_pa / both:.1f}x wall, {r_pa_cpu / both_cpu:.1f}x CPU")
        print(f"ratio R / python (psych's run vs our simulated-only run): {r_pa / pa_med:.1f}x wall")
    if r_fa:
        print(f"ratio R / python (efa): {r_fa / fa_med:.1f}x wall, {r_fa_cpu / statistics.median(fa_cpu):.1f}x CPU")


if __name__ == "__main__":
    main()
