"""Benchmark: the measurement-model steps of ``validate`` — reliability, EFA, CFA, invariance — at scale (issue 16).

    python benchmarks/bench_scale_measurement.py [--quick] [--sizes 100000 1000000] [--profile DIR]
                                                 [--data-dir DIR] [--cold] [--unshared] [--lanes]

For each size the demo study (28 items + 41 companion items, 3 career stages; ``psychometrics
simulate --seed 0``, cached in --data-dir: the same files as benchmarks/bench_scale.py) is loaded
once in a fresh process (``load_data``, not timed here: bench_scale_data.py's), then the four steps
run in the pipeline's order with its arguments (``--group career_stage``, the seeded generator shared
as in ``validate``). Per step: wall time, CPU time of the process (user + system, all threads) and
peak resident memory during the step (sampled every 10 ms), with the CPU budget at 1,000,000 rows
(issue 16): reliability ≤ 2 s, EFA ≤ 0.5 s, CFA ≤ 1 s, invariance ≤ 1.5 s (about a third at 100,000).
"w/o inputs": the step's CPU less that of the shared ordinal inputs it computes (``ordinal_sample_stats``
and ``polychoric``: codes, tables, polychorics, Γ), i.e. its own model algebra. The row "CFA modification
indices" is what ``results.json`` adds for the report: the WLSMV fits' ``modindices()``.

The libraries the steps import (scipy.stats among them, about 1 s) are imported before the timing,
so that each step's figure is its own work, not whichever step happens to import them first;
``--cold`` times the imports inside the steps as ``validate`` does. The steps share the items' codes
and bivariate tables as in ``validate`` (``DataStep.ordinal_rows``: coded and tabulated in the first step,
reliability); ``--unshared`` lets every step code and tabulate its own rows (the previous path).
``--lanes`` runs the steps inside ``_linalg.one_blas_thread_per_lane()`` — one BLAS thread, as ``validate`` runs them
beside the other lanes from 10,000 rows (CPU time then equals the thread's). ``--profile DIR`` writes a cProfile (CPU time) of each step to ``DIR/<n>_<step>.prof`` and prints its
top entries. ``--quick``: 100,000 rows only. No R equivalent (this is the pipeline, not one estimator). On a shared machine wall
times are inflated: CPU time is the steadier figure, and the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
#: the steps and their CPU budget (s) at 1,000,000 rows
BUDGET = {"reliability": 2.0, "exploratory factor analysis": 0.5, "confirmatory factor analysis": 1.0,
          "measurement invariance": 1.5}

from bench_scale import PeakRSS, _data, child_env  # noqa: E402  (the same cached files, simulated once with seed 0)


def _child(path: Path, profile: str, cold: bool, unshared: bool = False, lanes: bool = False) -> None:
    """Load the data, run the four steps in order; print one JSON line."""
    import warnings

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline.options import merge_options, ordinal_missing, resolve_estimation, resolve_ordinal
    from psychometrics.pipeline.steps import cfa_step, efa_step, invariance_step, load_data, reliability_step
    from psychometrics.scale import Scale

    warnings.simplefilter("ignore")
    scale = Scale.from_yaml(SCALE)
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0,
                                "id_column": "id"}, None)
    ordinal, _ = resolve_ordinal(scale, opts)
    est = resolve_estimation(opts, ordinal)
    d = load_data(path, scale, opts)
    work = d.work
    if not cold:
        import scipy.optimize  # noqa: F401
        import scipy.stats  # noqa: F401

        import psychometrics.cfa  # noqa: F401
        import psychometrics.efa  # noqa: F401
        import psychometrics.invariance  # noqa: F401
        import psychometrics.ordinal  # noqa: F401
        import psychometrics.reliability  # noqa: F401
    # the shared ordinal inputs (per-group codes, tables, polychorics, Γ: psychometrics.ordinal) timed apart, so
    # that the steps' own model algebra shows (a call inside another is counted once)
    import functools

    import psychometrics.ordinal.correlations as ocorr
    import psychometrics.ordinal.group_stats as ogs

    inputs = {"cpu": 0.0, "depth": 0}

    def timed_input(fn):
        @functools.wraps(fn)
        def inner(*a, **k):
            if inputs["depth"]:
                return fn(*a, **k)
            inputs["depth"], t = 1, time.process_time()
            try:
                return fn(*a, **k)
            finally:
                inputs["cpu"] += time.process_time() - t
                inputs["depth"] = 0
        return inner

    import psychometrics.ordinal as ordinal_pkg

    ogs.ordinal_sample_stats = timed_input(ogs.ordinal_sample_stats)
    ocorr.polychoric = ordinal_pkg.polychoric = timed_input(ocorr.polychoric)  # the steps import it from the package
    rng = np.random.default_rng(opts.seed)
    inv_rows = d.analysed if opts.invariance_sample == "full" else d.validation
    # as validate: the items coded and tabulated once for the four steps (created here, computed in the first step)
    shared = d.ordinal_rows() if ordinal and not unshared else None
    steps = [
        ("reliability", lambda: reliability_step(work, scale, opts, rng, ordinal, est, ordinal_rows=shared)),
        ("exploratory factor analysis", lambda: efa_step(work.items.loc[d.calibration], scale, opts, rng, ordinal,
                                                         est.fiml, ordinal_rows=shared)),
        ("confirmatory factor analysis", lambda: cfa_step(work.items.loc[d.validation], scale, ordinal, est,
                                                          ordinal_missing(opts), ordinal_rows=shared)),
        ("measurement invariance", lambda: invariance_step(work, inv_rows, scale, opts, ordinal, est,
                                                           ordinal_rows=shared)),
    ]
    peak = PeakRSS()
    out = []
    from contextlib import ExitStack

    stack = ExitStack()
    if lanes:  # one BLAS thread, as the pipeline's lanes (imported here: older trees lack it)
        from psychometrics._linalg import one_blas_thread_per_lane

        stack.enter_context(one_blas_thread_per_lane())
    for name, fn in steps:
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile(time.process_time)  # CPU time (the machine may be loaded)
            prof.enable()
        peak.reset()
        inputs["cpu"] = 0.0
        w, c = time.perf_counter(), time.process_time()
        res = fn()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(Path(profile) / f"{path.stem}_{name.replace(' ', '_')}.prof"))
        out.append({"step": name, "wall": wall, "cpu": cpu, "peak_gb": peak.gb(), "inputs_cpu": inputs["cpu"]})
        if name == "confirmatory factor analysis":  # what results.json adds for the report: the fits' MIs
            c = time.process_time()
            for fit in res.fits.values():
                if fit.estimator == "WLSMV":
                    fit._engine.modindices()
            out.append({"step": "CFA modification indices", "wall": math.nan, "cpu": time.process_time() - c,
                        "peak_gb": math.nan, "inputs_cpu": 0.0})
    stack.close()
    peak.stop()
    print(json.dumps({"steps": out, "rows": len(work.items)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of each step here")
    ap.add_argument("--cold", action="store_true", help="time the library imports inside the steps")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--unshared", action="store_true",
                    help="every step codes and tabulates its own rows (no shared OrdinalRows; the previous path)")
    ap.add_argument("--lanes", action="store_true",
                    help="run the steps with one BLAS thread (_linalg.one_blas_thread_per_lane), as validate's lanes")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child[0]), args.child[1], args.child[2] == "1", args.child[3] == "1", args.child[4] == "1")
        return
    sizes = [100_000] if args.quick else args.sizes
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale_measurement: reliability, EFA, CFA, invariance in process (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; budget = CPU s at 1M rows; imports "
          f"{'inside the steps' if args.cold else 'done before timing'}{'; one BLAS thread' if args.lanes else ''})")
    for n in sizes:
        path = _data(n, args.data_dir)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(args.profile or ""),
                               str(int(args.cold)), str(int(args.unshared)), str(int(args.lanes))], cwd=ROOT, capture_output=True, text=True,
                              env=child_env())
        if proc.returncode != 0:
            sys.exit(f"failed at n = {n}:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        scale_b = 1.0 if n >= 1_000_000 else 1.0 / 3.0
        print(f"\n  n = {n:,}   (load average now {os.getloadavg()[0]:.1f})")
        print(f"    {'step':<32} {'wall s':>8} {'CPU s':>8} {'w/o inputs':>10} {'peak RSS GB':>12} {'budget':>8}")
        for s in res["steps"]:
            budget = BUDGET.get(s["step"], math.nan) * scale_b
            print(f"    {s['step']:<32} {s['wall']:8.2f} {s['cpu']:8.2f} {s['cpu'] - s['inputs_cpu']:10.2f} "
                  f"{s['peak_gb']:12.2f} {budget:8.2f}")
        steps = [s for s in res["steps"] if s["step"] in BUDGET]
        print(f"    {'total (the four steps)':<32} {sum(s['wall'] for s in steps):8.2f} "
              f"{sum(s['cpu'] for s in steps):8.2f} {sum(s['cpu'] - s['inputs_cpu'] for s in steps):10.2f} "
              f"{'':12} {sum(BUDGET.values()) * scale_b:8.2f}")
        if args.profile:
            import pstats

            for s in steps:
                f = args.profile / f"{path.stem}_{s['step'].replace(' ', '_')}.prof"
                print(f"\n  --- cProfile {f.name} (top 15 by cumulative time)")
                pstats.Stats(str(f), stream=sys.stdout).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
