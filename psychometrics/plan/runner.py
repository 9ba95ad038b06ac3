"""Running the replications on Dask: batches, seeds, the replication table on disk, resume.

Replication *r* of every condition draws from ``numpy.random.SeedSequence(seed).spawn``'s
*r*-th child (``SeedSequence(seed, spawn_key=(r,))``, the same stream) — common random
numbers across conditions, and results that do not depend on the number of workers, the
batching or the order in which batches finish. A batch (tens of replications of one
condition) is one Dask task; the client writes each finished batch to
``DIR/replications/c<condition>-r<first>-<last>.parquet`` (write to a temporary file,
then rename), so an interrupted run resumes with the batches not yet on disk. A failing
replication is recorded with its error (``error`` column), never fatal; a worker that dies
has its batch rerun elsewhere by the scheduler.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import SpecError
from psychometrics.plan.analyses import ANALYSES, Replication
from psychometrics.plan.population import Population
from psychometrics._text import quote

__all__ = ["PlanConfig", "run_batch", "execute", "read_replications"]


@dataclass(frozen=True, eq=False)
class PlanConfig:
    """Everything a worker needs: the population, the analyses and the condition grid."""

    population: Population
    analyses: tuple[str, ...]
    conditions: tuple[tuple[int, float, tuple[float, ...]], ...]  # (n, DIF effect multiplier, group shares)
    reps: int
    seed: int
    batch_size: int = 25  # monte_carlo's default: auto_batch_size(reps)
    alpha: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A hash of everything that changes the replications (checked on resume)."""
        pop = self.population
        h = hashlib.sha256()
        for a in (pop.loadings, pop.phi, pop.theta, pop.means, pop.dif):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        if pop.thresholds is not None:
            h.update(np.ascontiguousarray(pop.thresholds).tobytes())
        h.update(json.dumps([pop.items, pop.groups, pop.proportions, pop.model, self.analyses,
                             self.conditions, self.reps, self.seed, self.batch_size, self.alpha]).encode())
        return h.hexdigest()[:16]

    def batches(self) -> list[tuple[int, int, int]]:
        """(condition, first rep, last rep + 1) of every task."""
        return [(c, s, min(s + self.batch_size, self.reps))
                for c in range(len(self.conditions)) for s in range(0, self.reps, self.batch_size)]


def auto_batch_size(reps: int) -> int:
    """Replications per task when not given: reps / 10, between 10 and 100.

    Few, larger tasks keep the scheduler's per-task cost (and the client's Parquet writes)
    small next to the work; ten or more batches per condition keep resuming fine-grained.
    It depends on ``reps`` only, never on the workers, so a resumed run on another cluster
    finds the same batches.
    """
    return int(min(100, max(10, -(-int(reps) // 10))))


def replication_rng(seed: int, rep: int) -> np.random.Generator:
    """The stream of replication ``rep``: child ``rep`` of ``SeedSequence(seed).spawn``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(rep,)))


def run_replication(config: PlanConfig, condition: int, rep: int) -> dict[str, Any]:
    """One replication: draw, run every analysis, flatten; errors are recorded, not raised."""
    n, effect, shares = config.conditions[condition]
    row: dict[str, Any] = {"condition": condition, "n": n, "effect": effect, "rep": rep, "error": ""}
    errors = []
    try:
        data, group = config.population.draw(n, replication_rng(config.seed, rep), effect, shares)
    except Exception as exc:  # noqa: BLE001 - recorded, never fatal
        row["error"] = f"simulation: {type(exc).__name__}: {exc}"[:500]
        return row
    rep_obj = Replication(config.population, data, group, alpha=config.alpha)
    for name in config.analyses:
        try:
            stats = ANALYSES[name](rep_obj)
        except Exception as exc:  # noqa: BLE001 - a failing replication is recorded with its error
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            row[f"{name}.converged"] = 0.0
            continue
        row.update({f"{name}.{k}": v for k, v in stats.items()})
    row["error"] = "; ".join(errors)[:500]
    return row


def run_batch(config: PlanConfig, condition: int, start: int, stop: int) -> pd.DataFrame:
    """The replications ``start..stop-1`` of one condition (one Dask task)."""
    import warnings

    from psychometrics._linalg import single_thread_blas

    t0, c0 = time.perf_counter(), time.thread_time()  # CPU of this (computing) thread; BLAS is single-threaded
    with warnings.catch_warnings(), single_thread_blas():
        warnings.simplefilter("ignore")  # convergence problems are recorded in the table
        rows = [run_replication(config, condition, r) for r in range(start, stop)]
    frame = pd.DataFrame.from_records(rows)
    # compute wall and CPU time, for the overhead measure (not stored in the table)
    frame.attrs["seconds"] = time.perf_counter() - t0
    frame.attrs["cpu_seconds"] = time.thread_time() - c0
    return frame


def warm_up(config: PlanConfig) -> dict[str, Any]:
    """Run on every worker before the clock starts: import the estimators and run replication 0
    of the first condition once (discarded), so that imports and the per-model caches
    (:func:`~psychometrics.cfa.specification.build_spec`, compiled models) are not counted
    as replication time. Returns the worker's BLAS thread counts (should be 1)."""
    run_batch(config, 0, 0, 1)
    from psychometrics._linalg import blas_controller

    ctl = blas_controller()
    threads = sorted({int(d.get("num_threads", 0)) for d in ctl.info()}) if ctl is not None else []
    import dask

    env = {k: os.environ.get(k, "") for k in _WORKER_ENV}
    return {"blas_threads": threads, "env": env, "pid": os.getpid(),
            "profiler": bool(dask.config.get("distributed.worker.profile.enabled", True))}


def _process_cpu() -> float:
    """CPU seconds of this whole process so far (every thread), for the overhead accounting."""
    return time.process_time()


#: every worker single-threaded: one worker process per core, no oversubscription
_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
#: set before a local worker process starts (see _client): threads, and glibc malloc thresholds
_WORKER_ENV = {**_THREAD_ENV, "MALLOC_TRIM_THRESHOLD_": str(64 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


def _run_quietly(client: Any, fn: Callable[[], Any]) -> dict[str, Any]:
    """``client.run(fn)`` on every worker, or {} when a worker does not answer."""
    try:
        return client.run(fn)
    except Exception:  # noqa: BLE001 - only for the overhead accounting
        return {}


def _batch_path(rep_dir: Path, c: int, s: int, e: int) -> Path:
    return rep_dir / f"c{c:03d}-r{s:06d}-{e - 1:06d}.parquet"


@contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client: on the given scheduler, else an embedded LocalCluster on 127.0.0.1."""
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise SpecError(f"cannot reach the Dask scheduler at {quote(address)}: {exc}; start it with "
                            "`dask scheduler` or leave out --scheduler for a local cluster") from None
        with client:
            yield client
        return
    import dask

    n = workers or os.cpu_count() or 1
    # no statistical profiler in the workers: it samples the computing thread every 10 ms (CPU the
    # replications would otherwise get); the nanny hands this configuration to its worker process.
    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 turns off glibc's dynamic mmap threshold, so every
    # array over 128 KiB (the information matrices) is mmapped and page-faulted afresh: 1.5x the CPU
    # per replication of the invariance ladder (measured); larger fixed thresholds restore the speed
    # The event-loop tick, system monitor and memory monitor run every 20/500/100 ms in each process:
    # 7 % of a core for an idle 2-worker cluster, 1.4 % at 1 s / 2 s / 1 s (measured).
    with dask.config.set({"distributed.worker.profile.enabled": False,
                          "distributed.admin.tick.interval": "1s",
                          "distributed.admin.system-monitor.interval": "2s",
                          "distributed.worker.memory.monitor-interval": "1s",
                          "distributed.nanny.pre-spawn-environ": _WORKER_ENV}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,  # HTTP only on loopback
                               env=dict(_WORKER_ENV))
    with cluster, Client(cluster) as client:
        yield client


class _Progress:
    """Replications done, replications per second and the estimated time left (stderr)."""

    def __init__(self, total: int, done: int, show: bool | None):
        self.total, self.done, self.start_done = total, done, done
        self.t0 = time.perf_counter()
        self.show = sys.stderr.isatty() if show is None else show
        self._last = 0.0

    def advance(self, k: int) -> None:
        self.done += k
        now = time.perf_counter()
        if not self.show or (now - self._last < 0.5 and self.done < self.total):
            return
        self._last = now
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{int(left // 60)}:{int(left % 60):02d}" if np.isfinite(left) else "?"
        width = 30
        fill = int(width * self.done / max(self.total, 1))
        sys.stderr.write(f"\rplan [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} replications "
                         f"{rate:.1f}/s, {eta} left ")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def execute(config: PlanConfig, out: Path, *, scheduler: str | None = None, workers: int | None = None,
            show_progress: bool | None = None,
            on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run every batch not yet in ``out/replications`` on Dask; return run information."""
    rep_dir = Path(out) / "replications"
    rep_dir.mkdir(parents=True, exist_ok=True)
    settings = rep_dir / "settings.json"
    fp = config.fingerprint()
    if settings.exists():
        old = json.loads(settings.read_text(encoding="utf-8")).get("fingerprint")
        if old != fp:
            raise SpecError(f"{rep_dir} holds replications of different settings (fingerprint {old} vs {fp}); "
                            "use a new --out folder, or delete that folder to start over")
    else:
        settings.write_text(json.dumps({"fingerprint": fp}), encoding="utf-8")
    batches = config.batches()
    todo = [b for b in batches if not _batch_path(rep_dir, *b).exists()]
    done = sum(e - s for _, s, e in batches) - sum(e - s for _, s, e in todo)
    bar = _Progress(len(config.conditions) * config.reps, done, show_progress)
    t0 = time.perf_counter()
    n_workers, compute, cpu, startup, blas, overhead_cpu, used, warm = 0, 0.0, 0.0, 0.0, [], None, 0.0, {}
    if todo:
        from distributed import as_completed

        with _client(scheduler, workers) as client:
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) if hasattr(client, "scheduler_info") else 0
            cfg = client.scatter(config, broadcast=True)
            try:  # imports and per-model caches on every worker, before the clock (counted as start-up)
                warm = client.run(warm_up, config)
            except Exception:  # noqa: BLE001 - a worker that cannot warm up still runs (and reports) its batches
                warm = {}
            startup = time.perf_counter() - t0
            blas = sorted({t for w in warm.values() for t in w.get("blas_threads", [])})
            cpu_w0, cpu_c0 = _run_quietly(client, _process_cpu), time.process_time()
            futures = {client.submit(run_batch, cfg, *b, pure=False, retries=2): b for b in todo}
            for fut in as_completed(futures):
                b = futures[fut]
                frame = fut.result()
                compute += float(frame.attrs.pop("seconds", 0.0))
                cpu += float(frame.attrs.pop("cpu_seconds", 0.0))
                path = _batch_path(rep_dir, *b)
                tmp = path.with_suffix(".tmp")
                frame.to_parquet(tmp, index=False)
                os.replace(tmp, path)
                bar.advance(b[2] - b[1])
                if on_batch is not None:
                    on_batch(b[2] - b[1])
            cpu_client = time.process_time() - cpu_c0
            cpu_w1 = _run_quietly(client, _process_cpu)
            cpu_workers = sum(cpu_w1[w] - cpu_w0[w] for w in cpu_w1 if w in cpu_w0)
            # CPU of the client + in-process scheduler (Parquet writes included) and the workers' Dask
            # threads, as a share of all CPU used: the overhead that does not depend on how loaded
            # the machine is (workers that died or joined mid-run are left out)
            used = cpu_client + cpu_workers
            if used > 0 and len(cpu_w1) == len(cpu_w0) == n_workers:
                overhead_cpu = (cpu_client + max(cpu_workers - cpu, 0.0)) / used
    elapsed = time.perf_counter() - t0
    computed = sum(e - s for _, s, e in todo)
    return {"elapsed_s": elapsed, "replications_computed": computed, "replications_resumed": done,
            "replications_per_s": computed / elapsed if elapsed > 0 and computed else None,
            "startup_s": startup, "compute_s": compute, "compute_cpu_s": cpu,
            "cpu_s_per_replication": cpu / computed if computed else None,
            # share of the workers' time (after start-up) not spent computing replications
            "scheduling_overhead": (1 - compute / (n_workers * (elapsed - startup)))
            if n_workers and elapsed > startup and computed else None,
            "workers": n_workers, "scheduler": scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or "local",
            "scheduling_overhead_cpu": overhead_cpu,
            # every CPU second of the run after start-up (workers' processes + client + scheduler) per replication
            "all_cpu_s_per_replication": used / computed if overhead_cpu is not None and computed else None,
            "batches": len(batches), "batch_size": config.batch_size,
            "worker_blas_threads": blas if todo else None,
            "worker_env": next(iter(warm.values())).get("env") if todo and warm else None,
            "worker_profiler": any(w.get("profiler", True) for w in warm.values()) if todo and warm else None}


def read_replications(config: PlanConfig, out: Path) -> pd.DataFrame:
    """The replication table of every batch, sorted by condition and replication."""
    rep_dir = Path(out) / "replications"
    frames = []
    for b in config.batches():
        path = _batch_path(rep_dir, *b)
        if not path.exists():
            raise SpecError(f"batch {path.name} is missing from {rep_dir}; run the plan again to complete it")
        frames.append(pd.read_parquet(path))
    table = pd.concat(frames, ignore_index=True, sort=False)
    return table.sort_values(["condition", "rep"], kind="stable").reset_index(drop=True)


