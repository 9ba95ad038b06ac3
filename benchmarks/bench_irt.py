"""Benchmark: GRM calibration of a 28-item, 5-category scale on 10,000 respondents.

    python benchmarks/bench_irt.py [--repeat 3]

Issue 17's target: one unidimensional GRM per subscale (4 × 7 items) plus the total
(28 items), with standard errors, ≤ 3 s. Data are simulated like the helper's engine
evaluation (tests/reference/irt/engine_evaluation.json, where the PyPI ``mirt`` package
needed 34.7 s for the same five fits at tol = 1e-8 and 58 s at its default); printed:
median wall and CPU time of the five fits after a warm-up, the peak traced memory, and the
machine's load average (the 2-core CI/dev machine is shared — compare in one run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from _rtiming import median_time  # noqa: E402
from psychometrics.irt import calibrate  # noqa: E402
from psychometrics.irt.simulate import simulate_responses  # noqa: E402


def make_data(n: int = 10_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 2.5, 28)
    b = np.sort(rng.normal(0, 0.7, (28, 1)) + np.array([-1.5, -0.5, 0.5, 1.5]) + rng.normal(0, 0.1, (28, 4)), axis=1)
    return simulate_responses(a, -a[:, None] * b, n, seed=seed + 1)


def fit_all(data) -> list:
    cols = list(data.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [calibrate(data, cols[7 * s : 7 * s + 7]) for s in range(4)]
        fits.append(calibrate(data, cols))
    return fits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--coverage", type=int, default=0, metavar="REPS",
                        help="also run the coverage simulation (GRM 7 items x 5 categories, N = 1000) with REPS replications")
    args = parser.parse_args()
    if args.coverage:
        coverage(args.coverage)
    data = make_data()
    cpu0 = time.process_time()
    wall = median_time(lambda: fit_all(data), args.repeat)
    cpu = (time.process_time() - cpu0) / (args.repeat + 1)
    tracemalloc.start()
    fits = fit_all(data)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out = {
        "case": "GRM 28 items x 5 categories, N = 10000: 4 subscales of 7 + total",
        "median_wall_s": round(wall, 3),
        "mean_cpu_s": round(cpu, 3),
        "peak_traced_MiB": round(peak, 1),
        "target_s": 3.0,
        "load_average": os.getloadavg(),
        "converged": [f.converged for f in fits],
        "python_mirt_tight_s_same_design": 34.68,  # engine_evaluation.json, measured by the helper
    }
    print(json.dumps(out, indent=1))


def coverage(reps: int) -> None:
    """Mean coverage of the 95 % Wald intervals (issue 17: .93–.97) and the share of |z| < 3."""
    rng = np.random.default_rng(7)
    a = rng.uniform(0.8, 2.2, 7)
    b = np.sort(rng.normal(0, 0.5, (7, 1)) + np.array([-1.5, -0.5, 0.5, 1.5]), axis=1)
    c = -a[:, None] * b
    truth = np.column_stack([a, c])
    z = []
    t0 = time.perf_counter()
    for r in range(reps):
        data = simulate_responses(a, c, 1000, seed=1000 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = calibrate(data)
        est = cal.parameters[["a", "c1", "c2", "c3", "c4"]].to_numpy()
        se = cal.parameters[["se_a", "se_c1", "se_c2", "se_c3", "se_c4"]].to_numpy()
        z.append((est - truth) / se)
    z = np.array(z)
    print(json.dumps({"case": f"coverage GRM 7x5, N = 1000, {reps} replications",
                      "mean_coverage_95": float(np.mean(np.abs(z) < 1.959964)),
                      "min_param_coverage_95": float(np.min(np.mean(np.abs(z) < 1.959964, axis=0))),
                      "share_abs_z_lt_3": float(np.mean(np.abs(z) < 3)), "mean_z": float(np.mean(z)),
                      "sd_z": float(np.std(z)), "seconds": round(time.perf_counter() - t0, 1)}, indent=1))


if __name__ == "__main__":
    main()
