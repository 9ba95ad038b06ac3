"""Benchmark: multi-group LR DIF and the bifactor GRM on the demo study (issue 17).

    python benchmarks/bench_irt_dif_bifactor.py [--n 1200] [--quick] [--coverage REPS]

The demo's data (mentorship study, 28 items in 5 subscales, three career-stage groups, seed 0):
``lr_dif`` per subscale (all others as anchors, then purified anchors) and the bifactor GRM of all
items as the pipeline runs it (15 Gauss–Hermite points per dimension, cross-product SEs), plus the
bifactor with the numerical-Hessian SEs of the library default. Printed: wall and CPU time
(process time of this process; BLAS single-threaded), peak resident memory and the load average —
the 2-core machine is shared, so compare CPU times. ``--coverage REPS`` runs the bifactor
simulation of tests/test_irt_bifactor.py with REPS replications at N = 2000, 21 points, and
prints the coverage of the 95 % intervals (Hessian SEs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import resource
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _timed(label: str, fn, rows: list) -> object:
    """Wall and CPU time; peak resident memory of the process so far (getrusage; tracemalloc would
    slow the many small numpy calls several-fold)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append((label, time.perf_counter() - w0, time.process_time() - c0, peak))
    return out


def coverage(reps: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_irt_bifactor import A0, A1, C, FAC, SPEC, _simulate

    from psychometrics.irt.bifactor import calibrate_bifactor

    true = np.c_[A0, np.where(np.array(FAC) >= 0, A1, np.nan), C]
    hits = []
    for seed in range(reps):
        p = calibrate_bifactor(_simulate(seed, 2000), SPEC).parameters
        z = np.abs(p[["a_g", "a_s", "c1", "c2", "c3"]].to_numpy() - true) / p[
            ["se_a_g", "se_a_s", "se_c1", "se_c2", "se_c3"]].to_numpy()
        hits.append(z[np.isfinite(z)] < 1.959964)
        print(f"replication {seed + 1}/{reps}: max |z| = {np.nanmax(z):.2f}", file=sys.stderr)
    cov = np.concatenate(hits)
    print(f"bifactor coverage of 95 % intervals: {cov.mean():.3f} over {cov.size} intervals ({reps} replications)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--quick", action="store_true", help="n = 400 and no Hessian-SE bifactor")
    parser.add_argument("--coverage", type=int, default=0, metavar="REPS")
    args = parser.parse_args()
    if args.coverage:
        coverage(args.coverage)
        return
    from psychometrics.irt.bifactor import calibrate_bifactor
    from psychometrics.irt.lrdif import lr_dif
    from psychometrics.simulate import default_study_path, load_study, simulate_study

    n = 400 if args.quick else args.n
    study = load_study(default_study_path())
    df = simulate_study(study, n=n, seed=0)
    scale = study.scale
    items = df[[i for s in scale.subscales for i in scale.items_of(s.id)]].apply(pd.to_numeric, errors="coerce")
    group = df[study.group_column].astype(str)
    specific = {i: s.id for s in scale.subscales for i in scale.items_of(s.id)}
    rows: list = []
    warnings.simplefilter("ignore")
    fits = _timed("LR DIF, every subscale", lambda: [lr_dif(items, group, list(scale.items_of(s.id)))
                                                    for s in scale.subscales], rows)
    _timed("bifactor GRM, Q = 15, XPD SEs (pipeline)",
           lambda: calibrate_bifactor(items, specific, quadrature_points=15, se="crossprod"), rows)
    if not args.quick:
        _timed("bifactor GRM, Q = 21, Hessian SEs (default)", lambda: calibrate_bifactor(items, specific), rows)
    print(f"demo study, n = {n}, {items.shape[1]} items, {len(scale.subscales)} subscales; "
          f"LR DIF model fits: {sum(f.n_fits for f in fits)}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'what':48s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MiB':>13s}")
    for label, wall, cpu, mem in rows:
        print(f"{label:48s} {wall:8.2f} {cpu:8.2f} {mem:13.1f}")


if __name__ == "__main__":
    main()
