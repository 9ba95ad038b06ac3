"""Benchmark: BCa bootstrap CIs for alpha and omega (B = 2000, N = 2500 × 10 items).

Target: ≤ 2 s for both intervals together. When ``Rscript`` is on the PATH the
same work is timed in R in the same run — ``boot::boot`` with a statistic that
computes raw alpha from the resample's covariance matrix and omega total from
a one-factor ``psych::fa(fm = "minres")`` of its correlation matrix (what
``psych::omega(nfactors = 1)`` computes), then ``boot::boot.ci(type = "bca")`` with jackknife influence values (as here) —
and the ratio R time / Python time is printed. The R side fits one factor model
per replicate and per jackknife sample (4500 fits) and takes several minutes.

    python benchmarks/bench_reliability.py [--repeats 5] [--no-r]
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

from psychometrics import reliability  # noqa: E402

N, P, B = 2500, 10, 2000

R_SCRIPT = r"""
suppressPackageStartupMessages({library(psych); library(boot)})
args <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.csv(args[1]))
B <- as.integer(args[2])
stat <- function(d, i) {
  C <- cov(d[i, ]); p <- ncol(C)
  a <- p / (p - 1) * (1 - sum(diag(C)) / sum(C))
  R <- cov2cor(C)
  f <- psych::fa(R, 1, fm = "minres", warnings = FALSE)
  c(a, 1 - sum(1 - f$communality) / sum(R))
}
set.seed(1)
t0 <- proc.time()[["elapsed"]]
b <- boot(x, stat, R = B)
# jackknife influence values for the acceleration, as psychometrics does (boot's default,
# regression on the replicates, needs B > N); one leave-one-out pass serves both statistics
n <- nrow(x)
jack <- t(sapply(seq_len(n), function(k) stat(x, -k)))
L <- (n - 1) * (matrix(colMeans(jack), n, 2, byrow = TRUE) - jack)
ci_a <- boot.ci(b, type = "bca", index = 1, L = L[, 1])$bca[4:5]
ci_o <- boot.ci(b, type = "bca", index = 2, L = L[, 2])$bca[4:5]
el <- proc.time()[["elapsed"]] - t0
cat(sprintf("%.6f %.6f %.6f %.6f %.6f\n", el, ci_a[1], ci_a[2], ci_o[1], ci_o[2]))
"""


def make_data(seed: int = 2024) -> pd.DataFrame:
    """Five-point responses from a one-factor model with loadings .45–.80."""
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.45, 0.80, P)
    f = rng.normal(size=N)
    z = f[:, None] * lam + rng.normal(size=(N, P)) * np.sqrt(1 - lam**2)
    x = np.clip(np.round(3 + 1.2 * z), 1, 5)
    return pd.DataFrame(x, columns=[f"item{j + 1}" for j in range(P)])


def run_python(data: pd.DataFrame):
    a = reliability.cronbach_alpha(data, method="bootstrap", interval="bca", n_boot=B, seed=1, progress=False)
    o = reliability.omega(data, ci=0.95, interval="bca", n_boot=B, seed=2, progress=False)
    return a, o


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-r", action="store_true", help="skip the R comparison")
    args = ap.parse_args()
    data = make_data()
    warnings.simplefilter("ignore")
    run_python(data)  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        a, o = run_python(data)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"python: BCa CIs for alpha and omega, B = {B}, N = {N} x {P} items")
    print(f"  median {med:.3f} s over {args.repeats} runs (min {min(times):.3f} s)  target <= 2 s: "
          f"{'OK' if med <= 2 else 'SLOWER'}")
    print(f"  alpha {a.alpha:.4f} CI ({a.ci[0]:.4f}, {a.ci[1]:.4f});  omega_total {o.omega_total:.4f} "
          f"CI ({o.ci_total[0]:.4f}, {o.ci_total[1]:.4f})")
    if args.no_r or shutil.which("Rscript") is None:
        print("R: not run (Rscript not found or --no-r)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "data.csv")
        script = os.path.join(tmp, "bench.R")
        data.to_csv(csv, index=False)
        Path(script).write_text(R_SCRIPT, encoding="utf-8")
        out = subprocess.run(["Rscript", script, csv, str(B)], capture_output=True, text=True)
    if out.returncode != 0:
        print("R: failed —", out.stderr.strip().splitlines()[-1:] or out.returncode)
        return
    el, al, ah, ol, oh = map(float, out.stdout.split())
    print(f"R (boot + psych::fa minres, 1 run): {el:.3f} s;  alpha CI ({al:.4f}, {ah:.4f});  "
          f"omega CI ({ol:.4f}, {oh:.4f})")
    print(f"ratio R / python: {el / med:.1f}x")


if __name__ == "__main__":
    main()
