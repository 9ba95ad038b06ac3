"""Benchmark: the model steps of ``validate`` (CFA, invariance, validity, EFA, report) at 100k and 1M rows (issue 16).

    python benchmarks/bench_scale_model_steps.py [--quick] [--sizes 100000 1000000] [--irt] [--profile DIR]
                                                 [--data-dir DIR]

For each size the demo study (28 items + 41 companion items, 3 career stages; ``psychometrics
simulate --seed 0``, cached in --data-dir, the same files as benchmarks/bench_scale.py) is
validated with ``--group career_stage`` in a fresh process whose step runner is instrumented:
per step the wall time, the CPU time of the process (user + system, all threads) and the peak
resident memory during the step (sampled every 10 ms). The steps of this benchmark's area are
marked ``*`` and summed, with the per-step budget at 1,000,000 rows (issue 16):
CFA ≤ 1.5 s, invariance ≤ 2 s, validity ≤ 1.5 s, EFA ≤ 0.5 s, report ≤ 1.5 s (CPU).

By default ``irt: false`` (the IRT step is another benchmark's, ``bench_scale_irt``/``bench_scale``;
``--irt`` runs it too). ``--profile DIR`` writes a cProfile of each marked step to
``DIR/<n>_<step>.prof`` (and prints its top entries). ``--quick``: 100,000 rows only.

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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
#: the steps of this area and their CPU budget (s) at 1,000,000 rows
BUDGET = {"exploratory factor analysis": 0.5, "confirmatory factor analysis": 1.5, "measurement invariance": 2.0,
          "validity": 1.5, "report": 1.5}


from bench_scale import PeakRSS, _data, child_env  # noqa: E402  (the same cached files, simulated once with seed 0)


def _child(path: Path, out: Path, irt: bool, profile: str) -> None:
    """Run validate in this process with the runner instrumented; print the steps as JSON."""
    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline import run as runmod

    steps: list[dict] = []
    original = runmod.Runner.run

    def timed(self, name, fn, *args, **kwargs):  # noqa: ANN001 - mirrors Runner.run
        prof = None
        if profile and name in BUDGET:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        peak.reset()
        w, c = time.perf_counter(), time.process_time()
        try:
            return original(self, name, fn, *args, **kwargs)
        finally:
            steps.append({"step": name, "wall": time.perf_counter() - w, "cpu": time.process_time() - c,
                          "peak_gb": peak.gb()})
            if prof is not None:
                prof.disable()
                prof.dump_stats(str(Path(profile) / f"{path.stem}_{name.replace(' ', '_')}.prof"))

    runmod.Runner.run = timed
    peak = PeakRSS()
    w, c = time.perf_counter(), time.process_time()
    runmod.validate(SCALE, path, group="career_stage", id_column="id", out=out, quiet=True, overwrite=True,
                    options=None if irt else {"irt": False})
    total = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c,
             "maxrss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    peak.stop()
    print(json.dumps({"steps": steps, "total": total}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--irt", action="store_true", help="run the IRT step too (default irt: false)")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of each marked step here")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), args.child[2] == "1", args.child[3])
        return
    sizes = [100_000] if args.quick else args.sizes
    args.data_dir.mkdir(parents=True, exist_ok=True)
    out_dir = Path(tempfile.mkdtemp(prefix="bench-model-steps-"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"bench_scale_model_steps: validate per step (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          f"cores; * = this area's step, budget = CPU s at 1M rows; irt: {str(args.irt).lower()})")
    for n in sizes:
        path = _data(n, args.data_dir)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(out_dir / f"out_{n}"),
                               str(int(args.irt)), str(args.profile or "")],
                              cwd=ROOT, capture_output=True, text=True, env=child_env())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.exit(f"validate failed at n = {n}:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\n  n = {n:,}   (load average now {os.getloadavg()[0]:.1f})")
        print(f"    {'step':<32} {'wall s':>8} {'CPU s':>8} {'peak RSS GB':>12} {'budget@1M':>10}")
        for s in res["steps"]:
            b = BUDGET.get(s["step"])
            mark = "*" if b is not None else " "
            print(f"  {mark} {s['step']:<32} {s['wall']:8.2f} {s['cpu']:8.2f} {s['peak_gb']:12.2f} "
                  f"{'' if b is None else f'{b:10.1f}'}")
        mine = [s for s in res["steps"] if s["step"] in BUDGET]
        t = res["total"]
        print(f"    {'this area (*)':<32} {sum(s['wall'] for s in mine):8.2f} {sum(s['cpu'] for s in mine):8.2f} "
              f"{'':12} {sum(BUDGET.values()):10.1f}")
        cpu_proc = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"    {'validate (in process)':<32} {t['wall']:8.2f} {t['cpu']:8.2f} {t['maxrss_gb']:12.2f}  "
              f"(ru_maxrss; process incl. start-up: {cpu_proc:.1f} s CPU)")
        if args.profile:
            import pstats

            for s in mine:
                f = args.profile / f"{path.stem}_{s['step'].replace(' ', '_')}.prof"
                print(f"\n  --- cProfile {f.name} (top 15 by cumulative time)")
                pstats.Stats(str(f), stream=sys.stdout).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
