"""Benchmark: the data-side steps of ``validate`` at scale (issue 16) — loading + data quality, item
analysis, reliability and the scoring key, with wall time, CPU time and peak RSS per step.

    python benchmarks/bench_scale_data.py [--quick] [--sizes 100000 1000000] [--data-dir DIR] [--no-hugepages]

``--quick``: 100,000 rows only. For each size the demo study (28 items + 41 companion items, 3
career stages; simulated once with seed 0 and cached in --data-dir, the same files as
``bench_scale.py``) is run in a fresh process (this file as ``--child``): the steps of
:func:`psychometrics.pipeline.run._run_steps` that this benchmark covers, in the same order and
with the same options as ``validate … --group career_stage --id-column id`` (the scoring key
without the invariance and IRT steps, which are not timed here). Printed per step: wall and CPU
seconds (user + system of the process), the highest RSS during the step (sampled every 5 ms by a
thread) and the RSS after it; at the end the process's peak RSS (``ru_maxrss``, which includes the
CSV parse timed alone first — that frame is freed before the steps run).

Budget (issue 16, 1,000,000 rows): load + data quality ≤ 3.5 s including the CSV parse, item
analysis ≤ 0.5 s, reliability ≤ 2 s, scoring ≤ 0.5 s; whole ``validate`` ≤ 2 GB. No R equivalent.
The machine's load average is printed: on a shared machine wall times are inflated; CPU time is
the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "scales" / "mentorship_supportiveness.yaml"
STEPS = ("CSV parse (pandas, alone)", "data quality", "item analysis", "reliability", "scoring key")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _child(path: str) -> None:
    """In a fresh process: the steps in order; one JSON line per step {step: [wall, cpu, peak GB, rss GB]}."""
    import resource

    import numpy as np
    import pandas as pd
    import psutil

    sys.path.insert(0, str(ROOT))
    from psychometrics.pipeline.options import merge_options, resolve_estimation, resolve_ordinal
    from psychometrics.pipeline.state import InvarianceStep
    from psychometrics.pipeline.steps import analyse_items, load_data, reliability_step, scoring_step
    from psychometrics.scale import Scale

    import threading

    proc = psutil.Process()
    in_step = [0]  # the highest RSS seen since the step began (sampled every 5 ms by a thread)

    def sample() -> None:
        while True:
            in_step[0] = max(in_step[0], proc.memory_info().rss)
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()

    def step(name, fn, *args):
        in_step[0] = proc.memory_info().rss
        t, c = time.perf_counter(), _cpu()
        out = fn(*args)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        peak = max(in_step[0], proc.memory_info().rss) / 1e9
        so_far = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(json.dumps({name: [wall, cpu, peak, proc.memory_info().rss / 1e9, so_far]}), flush=True)
        return out

    import warnings

    warnings.simplefilter("ignore")
    step("CSV parse (pandas, alone)", lambda: len(pd.read_csv(path, dtype={"id": str})))
    import gc

    gc.collect()
    from psychometrics.data.readers import release_freed_memory

    release_freed_memory()  # the parse-alone frame's buffers: not the steps' memory
    scale = Scale.from_yaml(SCALE)
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0,
                                "id_column": "id"}, None)
    ordinal, _ = resolve_ordinal(scale, opts)
    est = resolve_estimation(opts, ordinal)
    d = step("data quality", load_data, path, scale, opts)
    work = d.work
    rng = np.random.default_rng(opts.seed)
    step("item analysis", analyse_items, work.items, scale)
    rel = step("reliability", reliability_step, work, scale, opts, rng, ordinal, est)
    inv = InvarianceStep(result=None, rows=work.items.index, note="not run in this benchmark")
    step("scoring key", scoring_step, work, scale, rel, inv, opts, None)


def _run(path: Path) -> dict[str, list[float]]:
    from bench_scale import child_env  # byte code cached as an installation has it (see there)

    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(path)], cwd=ROOT,
                          capture_output=True, text=True, env=child_env())
    if proc.returncode != 0:
        sys.exit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out: dict[str, list[float]] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--data-dir", default="/tmp/psychometrics-bench-scale")
    ap.add_argument("--no-hugepages", action="store_true", help="the child with NUMPY_MADVISE_HUGEPAGE=0 (bench_scale.py)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_scale import _data  # the same cached files (simulated once, seed 0)

    sizes = [100_000] if args.quick else args.sizes
    folder = Path(args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} (2-core machine: wall times inflate under load; compare CPU)"
          + ("; NUMPY_MADVISE_HUGEPAGE=0" if args.no_hugepages else ""))
    results = {n: _run(_data(n, folder)) for n in sizes}
    head = f"{'step':28s}" + "".join(f" | {f'{n:,} rows: wall / CPU s, peak in step / RSS after GB':>52s}" for n in sizes)
    print(head)
    print("-" * len(head))
    for name in STEPS:
        cells = []
        for n in sizes:
            w, c, peak, rss = results[n].get(name, [float("nan")] * 5)[:4]
            cells.append(f" | {w:8.2f} / {c:6.2f}    {peak:5.2f} / {rss:5.2f}".ljust(55))
        print(f"{name:28s}" + "".join(cells))
    for n in sizes:
        r = results[n]
        cpu = sum(r[s][1] for s in STEPS[1:] if s in r)
        print(f"{n:,} rows: the four steps {cpu:.2f} s CPU; data quality beyond the parse "
              f"{r['data quality'][1] - r[STEPS[0]][1]:.2f} s CPU; peak RSS of the process "
              f"{max(v[4] for v in r.values()):.2f} GB (of the steps after the parse alone: "
              f"{max(r[s][2] for s in STEPS[1:] if s in r):.2f} GB)")


if __name__ == "__main__":
    main()
