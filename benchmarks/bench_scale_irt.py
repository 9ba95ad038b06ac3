"""Benchmark: the item response theory step of ``validate`` at large n (issue 16) — wall, CPU, peak RSS.

    python benchmarks/bench_scale_irt.py [--quick] [--sizes 100000 1000000] [--data-dir DIR]

For each size the demo study (28 items + 41 companion items, 3 career stages) is simulated once
with ``psychometrics simulate --seed 0`` (cached in --data-dir: the same files as
benchmarks/bench_scale.py). In a fresh process per size the data step of ``validate … --group
career_stage`` loads the rows (not timed), then the IRT step (``pipeline.steps.irt.irt_step``)
runs with its parts timed: the GRM calibrations (five subscales and the 28-item total), S-X²,
ordinal-logistic DIF (with the EAP θ̂), multi-group LR DIF, M2/C2 and LD. Printed per part: wall
time, CPU time (of the part's own thread; the whole step's: the process's, all threads) and, for the
whole step, the peak resident memory
(sampled every 20 ms) and its increase over the loaded data. The invariance step's flags are not
needed for the timing (the DIF table's ``cfa_non_invariant`` column is left empty).

Budget (issue 16): the whole step ≤ 4 s at 1,000,000 rows and ≤ 1.5 s at 100,000; the GRM calibrations
(printed one by one: the subscales, then the total) ≤ 3 s and ≤ 0.8 s. From 20,000 rows the subscales
run on two threads: their wall times overlap and the "GRM calibrations" line sums them (the step's
calibration loop is printed on its own as "calibration loop (wall)"). CPU time counts every thread (the
large-n E-steps and the Louis information run on two). ``--quick``: 100,000 rows only. No R equivalent of the step exists, so no R timing is
printed. The load average is printed: on a shared machine wall times are inflated; CPU time is
the steadier figure. At large n the step runs the subscales' ordinal and LR DIF fits on two threads:
a part's CPU is that of its own thread (``time.thread_time``), its wall overlaps the other thread's
parts, and the DIF block's wall time is printed on its own line; "other" is the step's CPU less the
parts' CPU.

``--lane``: the step as the pipeline runs it beside the model steps (from 10,000 to 500,000 rows, in its
own lane or worker process): inside ``_linalg.one_blas_thread_per_lane()`` — one BLAS thread, and
``_linalg.in_lane()`` True, so the step starts no threads of its own (``irt._engine.worker_threads``);
every part then runs on the calling thread and the CPU figures add up to the step's.
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
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
# (label, module, attribute): the functions the step calls, timed where the step looks them up
PARTS = (
    ("GRM calibrations", "psychometrics.irt", "calibrate"),
    ("S-X² item fit", "psychometrics.irt.fit", "item_fit"),
    ("distinct patterns", "psychometrics.irt.patterns", "distinct_patterns"),
    ("EAP θ̂ (row path)", "psychometrics.irt", "eap_scores"),
    ("ordinal DIF fits", "psychometrics.irt.dif", "ordinal_logistic_dif"),
    ("multi-group LR DIF", "psychometrics.irt.lrdif", "lr_dif"),
    ("M2 / C2", "psychometrics.irt.m2", "limited_information_fit"),
    ("LD χ² / Q3", "psychometrics.irt.fit", "local_dependence"),
)

#: (label, function of pipeline.steps.irt): the block of ordinal and LR DIF, its fits on two threads at large n
DIF_BLOCK = ("DIF block (wall; its CPU on all threads)", "_dif_and_lr_dif")


from bench_scale import PeakRSS, _data, child_env  # noqa: E402  (the same cached files, simulated once with seed 0)


def _child(path: Path, lane: bool = False) -> None:
    """Load the data, run the IRT step with its parts timed (``lane``: inside one_blas_thread_per_lane, as
    in the pipeline's lane); print one JSON line."""
    import importlib
    import warnings

    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline.options import merge_options
    from psychometrics.pipeline.steps.data import load_data
    from psychometrics.pipeline.steps.irt import irt_step
    from psychometrics.scale import Scale

    scale = Scale.from_yaml(SCALE)
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0,
                                "id_column": "id"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        work = load_data(path, scale, opts).work
    calls: list[list] = []  # per GRM calibration: items, wall, CPU
    import threading

    parts: dict[str, list[float]] = {}
    local = threading.local()  # the DIF fits run on two threads: nesting depth per thread
    lock = threading.Lock()

    def timed(label: str, fn, nest: bool = True):  # noqa: ANN001, ANN202 - a thin wrapper
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            depth = getattr(local, "depth", 0)
            local.depth = depth + nest
            # CPU of this thread for the DIF parts (on worker threads); of the process for the calibrations
            # (they run alone, their E-steps on a pool of their own)
            clock = time.process_time if label == "GRM calibrations" else time.thread_time
            w, c = time.perf_counter(), clock()
            try:
                return fn(*args, **kwargs)
            finally:
                local.depth = depth
                if depth == 0 or not nest:  # calls nested in another timed part count there
                    with lock:
                        acc = parts.setdefault(label, [0.0, 0.0, 0])
                        acc[0] += time.perf_counter() - w
                        acc[1] += clock() - c
                        acc[2] += 1
                        if label == "GRM calibrations":
                            calls.append([len(args[1]) if len(args) > 1 and args[1] is not None else 0,
                                          time.perf_counter() - w, clock() - c])
        return wrapper

    for label, mod, attr in PARTS:
        try:  # (an older checkout, timed for comparison, may lack a part)
            module = importlib.import_module(mod)
        except ImportError:
            continue
        setattr(module, attr, timed(label, getattr(module, attr)))
    step = importlib.import_module("psychometrics.pipeline.steps.irt")
    if hasattr(step, DIF_BLOCK[1]):  # the DIF block's wall time (its fits on two threads)
        setattr(step, DIF_BLOCK[1], timed(DIF_BLOCK[0], getattr(step, DIF_BLOCK[1]), nest=False))
    loop: list[float] = [0.0, 0.0]
    if hasattr(step, "_calibrations"):  # the step's calibration loop as a whole (its wall: the threads overlap)
        inner = step._calibrations

        def calibration_loop(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            w, c = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                loop[0] += time.perf_counter() - w
                loop[1] += time.process_time() - c

        step._calibrations = calibration_loop
    peak = PeakRSS(every=0.02)
    invariance = SimpleNamespace(non_invariant_items=(), result=None)
    w, c = time.perf_counter(), time.process_time()
    from contextlib import nullcontext

    from psychometrics._linalg import one_blas_thread_per_lane

    with one_blas_thread_per_lane() if lane else nullcontext(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        irt_step(work, scale, opts, invariance)
    total = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c, "peak_gb": peak.gb(),
             "base_gb": peak.base / 1e9}
    peak.stop()
    print(json.dumps({"parts": parts, "total": total, "calibrations": calls, "loop": loop}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--lane", action="store_true",
                    help="run the step inside one_blas_thread_per_lane (as the pipeline's IRT lane: no threads of its own)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.lane)
        return
    sizes = [100_000] if args.quick else args.sizes
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale_irt: the IRT step of validate{' in a lane (one BLAS thread, no threads of its own)' if args.lane else ''}"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for n in sizes:
        path = _data(n, args.data_dir)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path)] + ["--lane"] * args.lane, cwd=ROOT,
                              capture_output=True, text=True, env=child_env())
        if proc.returncode != 0:
            sys.exit(f"the IRT step failed at n = {n}:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        t = res["total"]
        budget = 4.0 if n >= 1_000_000 else 1.5 if n >= 100_000 else None
        print(f"\n  n = {n:,}   (load average now {os.getloadavg()[0]:.1f})")
        print(f"    {'part':<26} {'calls':>6} {'wall s':>8} {'CPU s':>8}")
        block = res["parts"].pop(DIF_BLOCK[0], None)
        for label, _, _ in PARTS:
            if label in res["parts"]:
                wall, cpu, calls = res["parts"][label]
                print(f"    {label:<26} {calls:6d} {wall:8.2f} {cpu:8.2f}")
        for k, (n_items, wall, cpu) in enumerate(res.get("calibrations", []), 1):
            print(f"      calibration {k} ({n_items} items){'':<4} {'':6} {wall:8.2f} {cpu:8.2f}")
        if res.get("loop", [0, 0])[0]:
            print(f"      {'calibration loop (wall)':<24} {'':6} {res['loop'][0]:8.2f} {res['loop'][1]:8.2f}")
        # (the DIF parts' CPU is per thread; on two threads their wall times overlap: the rest is from CPU)
        rest_c = t["cpu"] - sum(v[1] for v in res["parts"].values())
        if block is not None:
            print(f"    {DIF_BLOCK[0]:<40} wall {block[0]:6.2f}")
        print(f"    {'other (information, tables)':<26} {'':6} {'':>8} {rest_c:8.2f}")
        print(f"    {'item response theory step':<26} {'':6} {t['wall']:8.2f} {t['cpu']:8.2f}"
              + (f"   budget ≤ {budget:g} s CPU" if budget else ""))
        print(f"    peak RSS {t['peak_gb']:.2f} GB (data loaded: {t['base_gb']:.2f} GB; the step adds "
              f"{t['peak_gb'] - t['base_gb']:.2f} GB)")


if __name__ == "__main__":
    main()
