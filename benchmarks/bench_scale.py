"""Benchmark: large samples (issue 16) — validate at 100,000 and 1,000,000 rows, and 10,000,000 rows via Dask.

    python benchmarks/bench_scale.py [--quick] [--sizes 100000 1000000] [--10m] [--rows-10m N] [--data-dir DIR]

``--quick``: 100,000 rows only. ``--no-irt``: validate with ``irt: false``. ``--10m``: also the Dask run on 10,000,000 rows (``--rows-10m``).
``--no-hugepages``: the timed processes run with ``NUMPY_MADVISE_HUGEPAGE=0`` (``bench_scale_data.py`` takes the
flag too). The timed processes reuse the package's compiled byte code as an installed
package does (``child_env``: compiled once with ``compileall`` when ``PYTHONDONTWRITEBYTECODE`` is set).

For each size, the demo study (28 items + 41 companion items, 3 career stages) is simulated
once (cached in --data-dir), then:

* the CSV parse time alone, at its fastest (pyarrow.csv with its default and with the system memory pool, and
  pandas' C parser that ``validate`` uses; each the best of two parses);
* ``psychometrics validate … --group career_stage`` end to end in a fresh process (this file
  run as ``--child``: :func:`psychometrics.pipeline.validate` with every step's wall and CPU
  time recorded; it ends as the CLI does, ``cli._leave``): wall time, CPU time (user + system of the
  process and its children — the worker processes of the IRT and invariance steps included) and peak
  memory (the larger of the process's peak RSS — ``/usr/bin/time -v`` when present, else the child's
  ``ru_maxrss`` — and the sampled peak of the process tree's summed PSS), the ratio to the parse time,
  and a table of the steps (wall, CPU);
* targets (issue 16): 1M rows ≤ 20 s and ≤ 2 GB; 100k rows ≤ 5 s; total ≤ 5 × parse.

With ``--10m``, the 1M-row sample is written as a partitioned Parquet dataset repeated to
``--rows-10m`` rows (10 copies of the 1M rows as 10 files of each; the statistics need not be
new information, only the volume) and the one-pass statistics are computed through the Dask
path (:func:`psychometrics.data.sufficient_stats_dask`) on a local cluster of 2 worker
processes (1 thread each): wall time and the peak total RSS of the client and the workers
(psutil, sampled every 0.1 s); target ≤ 3 GB. The 1M and 10M timings give the growth.

There is no R equivalent of the whole pipeline, so no R timing is printed. The machine's
load average is printed: on a shared machine wall times are inflated; CPU time is the
steadier figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = ROOT / "scales"


def _data(n: int, folder: Path) -> Path:
    path = folder / f"demo_{n}.csv"
    if not path.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "psychometrics", "simulate", "-n", str(n), "--seed", "0", "-o",
                        str(path)], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       capture_output=True)
        print(f"  (simulated {n:,} rows in {time.perf_counter() - t:.0f} s → {path})")
    return path


_COMPILED: list[str] = []
#: ``--no-hugepages``: the children run with NUMPY_MADVISE_HUGEPAGE=0 (see ``child_env``)
_NO_HUGEPAGES = "--no-hugepages" in sys.argv


def child_env() -> dict[str, str]:
    """The environment of the scale benchmarks' fresh processes: ``PYTHONPATH`` = this checkout, and byte code
    cached as an installed package has it.

    A user's installation writes the package's compiled modules (``__pycache__``) on its first run and reuses
    them; a sandbox that sets ``PYTHONDONTWRITEBYTECODE`` makes every fresh process compile the package's ≈ 130
    modules from source again (≈ 0.2 s at any n). So the package is compiled once here (``compileall`` into its
    ``__pycache__`` folders, which ``.gitignore`` ignores; ``PYTHONPYCACHEPREFIX`` would not do: with it Python
    also ignores the installed libraries' own ``__pycache__``) and the child runs without the variable.
    """
    if not _COMPILED:
        import compileall

        compileall.compile_dir(ROOT / "psychometrics", quiet=1, workers=0)
        _COMPILED.append(str(ROOT))
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            print("  (PYTHONDONTWRITEBYTECODE is set here: the package was compiled once with compileall and the "
                  "timed processes run without the variable, reusing its byte code as an installation does)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if _NO_HUGEPAGES:
        env["NUMPY_MADVISE_HUGEPAGE"] = "0"  # numpy reads it at import
    return env


def _rss() -> int:
    """This process's resident set size now (bytes; Linux)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """The highest resident set size of this process, sampled by a daemon thread every ``every`` seconds
    (the scale benchmarks' in-process steps). ``reset()`` opens a new window at the RSS now; ``gb()`` is the
    window's peak so far (including now); ``stop()`` ends the sampling."""

    def __init__(self, every: float = 0.01) -> None:
        self.peak = self.base = _rss()
        self._every, self._stop = every, threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self._every)

    def reset(self) -> None:
        self.peak = _rss()

    def gb(self) -> float:
        return max(self.peak, _rss()) / 1e9

    def stop(self) -> None:
        self._stop.set()


class TreePSS:
    """The peak of the summed proportional set size (``Pss`` of ``/proc/<pid>/smaps_rollup``: a page shared by
    k processes counts 1/k in each) of a process and its descendants — ``validate``'s worker processes
    share the parent's data copy-on-write — sampled by a daemon thread every ``every`` seconds while the
    tree has worker processes (Linux; 0 elsewhere). Reading ``smaps_rollup`` walks a process's page
    tables under its memory lock: at every 0.05 s it slowed the measured 10⁵-row run by 1–2 s, so the
    sampling is sparse, and a tree without workers (one ``validate`` process under ``time``: its exact
    peak is ``time -v``'s) is not read at all."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.peak, self._every, self._stop = pid, 0, every, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        try:
            import psutil

            root = psutil.Process(self.pid)
            return [self.pid] + [c.pid for c in root.children(recursive=True)]
        except Exception:  # noqa: BLE001 - the process has ended
            return []

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(self._every):
            tree = self._tree()
            if len(tree) > 2:  # (``time``, validate, and its worker processes)
                self.peak = max(self.peak, sum(self._pss(pid) for pid in tree))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _parse_times(path: Path) -> tuple[float, float]:
    """The CSV parse alone, at its fastest: pyarrow's ``read_csv`` (with its default memory pool and with the
    system allocator's: on the eighth and ninth sessions' host mimalloc's first writes made the default 2.2–3.6 s
    at 10⁶ rows against 1.4 s) and pandas' parser as ``validate`` calls it, each the best of two parses — the
    floor the ratio's goal speaks of, not a first parse's page faults."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pc

    def best(fn) -> float:
        times = []
        for _ in range(2):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    t_arrow = min(best(lambda: pc.read_csv(path)),
                  best(lambda: pc.read_csv(path, memory_pool=pa.system_memory_pool())))
    return t_arrow, best(lambda: pd.read_csv(path, dtype={"id": str}))


def _child(data: str, out: str, timings: str, irt: str = "1") -> None:
    """In the fresh process: ``validate`` as the CLI runs it, each step's wall time and the CPU time of
    the thread that ran it to ``timings`` (rewritten after every step, so a run stopped early still shows
    the steps it finished). From 10,000 rows the IRT step runs on a second thread beside the model steps:
    the steps' wall times then overlap, and a step's CPU is its own thread's (the IRT step's worker
    threads not included)."""
    import json
    import threading

    from psychometrics.cli import _leave
    from psychometrics.pipeline import run as run_mod

    steps: dict[str, list[float]] = {}
    lock = threading.Lock()
    original = run_mod.Runner._execute
    me = os.getpid()

    def timed(self, name, fn, *args, **kwargs):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return original(self, name, fn, *args, **kwargs)
        finally:
            with lock:
                w, cpu = steps.get(name, (0.0, 0.0))  # (the data step comes in two parts)
                steps[name] = [w + time.perf_counter() - t, cpu + time.thread_time() - c]
                if os.getpid() == me:
                    Path(timings).write_text(json.dumps(steps))
                else:  # a step in a worker process: its own file, merged below
                    Path(f"{timings}.{os.getpid()}").write_text(json.dumps({name: steps[name]}))

    run_mod.Runner._execute = timed
    t0, c0 = time.perf_counter(), time.process_time()
    run_mod.validate(SCALES / "mentorship_supportiveness.yaml", data, group="career_stage", id_column="id", out=out,
                     quiet=True, overwrite=True, options=None if irt == "1" else {"irt": False})
    for part in sorted(Path(timings).parent.glob(Path(timings).name + ".*")):
        steps.update(json.loads(part.read_text()))
        part.unlink()
    steps["(total in process)"] = [time.perf_counter() - t0, time.process_time() - c0]
    Path(timings).write_text(json.dumps(steps))
    _leave()  # the process ends as the CLI's does (no interpreter teardown)


def _validate(path: Path, out: Path, irt: bool = True) -> tuple[float, float, float, dict[str, list[float]], str]:
    """Wall s, CPU s, peak RSS GB, step timings {step: [wall, cpu]}, stderr of one validate run in a fresh
    process (including its start-up: imports)."""
    import json

    timings = out.with_suffix(".steps.json")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), str(out), str(timings), str(int(irt))]
    timev = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if timev:
        cmd = [timev, "-v", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    tree = TreePSS(proc.pid)
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t
    tree.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"validate failed ({proc.returncode}):\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    rss = int(m.group(1)) / 1e6 if m else after.ru_maxrss / 1e6
    # the worker processes' memory too: the larger of the main process's exact peak and the sampled peak of
    # the whole process tree's proportional set size (shared pages counted once)
    rss = max(rss, tree.peak / 1e9)
    steps = json.loads(timings.read_text())
    return wall, cpu, rss, steps, stderr


def _dask_10m(csv_1m: Path, rows: int, folder: Path) -> tuple[float, float, int]:
    """Wall s and peak total RSS GB of the Dask statistics on ``rows`` rows of Parquet (2 local workers)."""
    import numpy as np
    import pandas as pd
    import psutil
    from distributed import Client, LocalCluster

    from psychometrics.data.sufficient import sufficient_stats_dask
    from psychometrics.scale import Scale

    ds = folder / f"demo_{rows}_parquet"
    base = pd.read_csv(csv_1m, dtype={"id": str})
    copies = max(1, rows // len(base))
    if not ds.exists() or len(list(ds.glob("*.parquet"))) != copies * 10:
        shutil.rmtree(ds, ignore_errors=True)
        ds.mkdir(parents=True)
        parts = np.array_split(np.arange(len(base)), 10)
        for c in range(copies):
            for k, idx in enumerate(parts):
                part = base.iloc[idx].assign(id=lambda d, c=c: f"{c}-" + d["id"])
                part.to_parquet(ds / f"part-{c:02d}-{k:02d}.parquet", index=False)
    del base
    scale = Scale.from_yaml(SCALES / "mentorship_supportiveness.yaml")
    me = psutil.Process()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(0.1)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit="1.4GB") as cluster:
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t = time.perf_counter()
        st = sufficient_stats_dask(ds, list(scale.item_ids), range(1, 6), group="career_stage",
                                   scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - t
        stop.set()
        th.join()
    return wall, peak[0] / 1e9, st.n


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _child(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--quick", action="store_true", help="100,000 rows only")
    ap.add_argument("--10m", dest="ten_m", action="store_true", help="also the Dask statistics of --rows-10m rows")
    ap.add_argument("--rows-10m", type=int, default=10_000_000, help="rows of the Dask run (with --10m)")
    ap.add_argument("--no-irt", action="store_true",
                    help="validate with options irt: false (the IRT step's own cost at large n aside)")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "psychometrics-bench-scale")
    ap.add_argument("--no-hugepages", action="store_true",
                    help="run validate with NUMPY_MADVISE_HUGEPAGE=0 (numpy does not advise transparent huge pages "
                         "for large arrays: first writes into new memory avoid the kernel's compaction stalls)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="validate each size this many times (the step table of the first run) and report every "
                         "run and the median: on this 2-core machine runs of the same code vary by ±1 s at 10⁶")
    args = ap.parse_args()
    if args.quick:
        args.sizes = [100_000]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"bench_scale: validate on the demo study at scale (load average {load:.1f} on {os.cpu_count()} cores; "
          "CPU = user + system time, the steadier figure on a loaded machine"
          + ("; NUMPY_MADVISE_HUGEPAGE=0" if args.no_hugepages else "") + ")")
    targets = {100_000: (5.0, None), 1_000_000: (20.0, 2.0)}
    for n in sorted(args.sizes):
        path = _data(n, args.data_dir)
        t_arrow, t_pandas = _parse_times(path)
        wall, cpu, rss, steps, _ = _validate(path, args.data_dir / f"out_{n}", irt=not args.no_irt)
        runs = [(wall, cpu, rss)] + [_validate(path, args.data_dir / f"out_{n}", irt=not args.no_irt)[:3]
                                     for _ in range(args.repeat - 1)]
        tw, tm = targets.get(n, (None, None))
        print(f"\n  n = {n:,}{' (irt: false)' if args.no_irt else ''}: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:.2f} GB"
              + (f"   (targets ≤ {tw:g} s" if tw else "") + (f", ≤ {tm:g} GB" if tm else "") + (")" if tw else ""))
        if len(runs) > 1:
            import statistics

            walls = [r[0] for r in runs]
            print(f"  {len(runs)} runs: " + ", ".join(f"{w:.1f} s / {r:.2f} GB" for w, _, r in runs)
                  + f";  median wall {statistics.median(walls):.1f} s, max peak RSS {max(r[2] for r in runs):.2f} GB"
                  + (f";  within {tw:g} s: {sum(w <= tw for w in walls)} of {len(walls)}" if tw else ""))
        print(f"  CSV parse alone (best of two): pyarrow {t_arrow:.2f} s, pandas {t_pandas:.2f} s;  "
              f"validate wall / parse(pyarrow) {wall / t_arrow:.1f}×  (goal ≤ 5×)")
        print(f"    {'step (lanes beside each other: walls overlap)':<48} {'wall s':>8} {'thread CPU s':>12}")
        for name, (w, c) in steps.items():
            print(f"    {name:<48} {w:8.2f} {c:12.2f}")
        load = os.getloadavg()[0]
        print(f"    (load average now {load:.1f})")
    if args.ten_m:
        csv_1m = _data(1_000_000, args.data_dir)
        wall, gb, n = _dask_10m(csv_1m, args.rows_10m, args.data_dir)
        print(f"\n  Dask one-pass statistics, {n:,} rows of partitioned Parquet, 2 local workers: wall {wall:.1f} s, "
              f"peak RSS (client + workers) {gb:.2f} GB   target ≤ 3 GB")


if __name__ == "__main__":
    main()
