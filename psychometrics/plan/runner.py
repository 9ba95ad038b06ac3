"""Running the replications on Dask: batches, seeds, the replication table on disk, resume.

Replication *r* of every condition draws from ``numpy.random.SeedSequence(seed).spawn``'s
*r*-th child (``SeedSequence(seed, spawn_key=(r,))``, the same stream) — common random
numbers across conditions, and results that do not depend on the number of workers, the
batching or the order in which batches finish. A batch (tens of replications of one
condition; by default sized from a replication's CPU time measured at warm-up and kept in
the folder's manifest ``settings.json``) is one Dask task; each finished batch ends up as
``DIR/replications/c<condition>-r<first>-<last>.parquet`` — written by the worker to a
``*.part`` file and renamed by the client when they share the file system, else written by
the client (to a temporary file, then renamed) — so an interrupted run resumes with the
batches not yet on disk. A failing replication is recorded with its error (``error``
column), never fatal; a worker that dies has its batch rerun elsewhere by the scheduler.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import SpecError
from psychometrics.plan.analyses import ANALYSES, Replication
from psychometrics.plan.population import Population
from psychometrics._text import quote

__all__ = ["PlanConfig", "run_batch", "store_batch", "execute", "read_replications"]


@dataclass(frozen=True, eq=False)
class PlanConfig:
    """Everything a worker needs: the population, the analyses and the condition grid."""

    population: Population
    analyses: tuple[str, ...]
    conditions: tuple[tuple[int, float, tuple[float, ...]], ...]  # (n, DIF effect multiplier, group shares)
    reps: int
    seed: int
    batch_size: int | None = 25  # None: the folder's (resume), else chosen from a measured cost (execute)
    alpha: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A hash of everything that changes the replications (checked on resume).

        The batching is not part of it (it does not change a number); the folder's manifest
        keeps it separately so that a resumed run finds the same batches.
        """
        pop = self.population
        h = hashlib.sha256()
        for a in (pop.loadings, pop.phi, pop.theta, pop.means, pop.dif):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        if pop.thresholds is not None:
            h.update(np.ascontiguousarray(pop.thresholds).tobytes())
        h.update(json.dumps([pop.items, pop.groups, pop.proportions, pop.model, self.analyses,
                             self.conditions, self.reps, self.seed, self.alpha]).encode())
        return h.hexdigest()[:16]

    def batches(self) -> list[tuple[int, int, int]]:
        """(condition, first rep, last rep + 1) of every task, in submission order.

        Batches of ``batch_size``, except the run's tail: the last ``TAIL_BATCHES`` batches
        of the last condition are cut into ``TAIL_SPLIT`` pieces each. Dask starts tasks in
        submission order, so the workers finish on small tasks and the one that finishes
        first waits for at most a small task, not a whole batch (with 15 batches on two
        workers, the end's idle share was about 8 % of the run). The rule depends on the
        settings only — never on the workers — so a resumed run finds the same batches.
        """
        if self.batch_size is None:
            raise ValueError("batch_size is chosen by execute(); set it before asking for the batches")
        b, reps, last = self.batch_size, self.reps, len(self.conditions) - 1
        out = [(c, s, min(s + b, reps)) for c in range(last) for s in range(0, reps, b)]
        starts = list(range(0, reps, b))
        head = starts[:-TAIL_BATCHES] if len(starts) > TAIL_BATCHES else []
        out += [(last, s, min(s + b, reps)) for s in head]
        tail_from = starts[len(head)] if starts else reps
        piece = max(1, -(-b // TAIL_SPLIT))
        out += [(last, s, min(s + piece, reps)) for s in range(tail_from, reps, piece)]
        return out

    def costliest_condition(self) -> int:
        """The condition a replication costs most in (largest n, then largest DIF effect)."""
        return max(range(len(self.conditions)), key=lambda c: (self.conditions[c][0], abs(self.conditions[c][1]), -c))


#: the run's last batches are cut into smaller pieces (see :meth:`PlanConfig.batches`)
TAIL_BATCHES = 2
TAIL_SPLIT = 4


def auto_batch_size(reps: int) -> int:
    """Replications per task when nothing was measured: reps / 10, between 10 and 100.

    Few, larger tasks keep the scheduler's per-task cost (and the client's Parquet writes)
    small next to the work; ten or more batches per condition keep resuming fine-grained.
    It depends on ``reps`` only, never on the workers, so a resumed run on another cluster
    finds the same batches.
    """
    return int(min(100, max(10, -(-int(reps) // 10))))


#: a task should take about this long (CPU seconds) in the costliest condition (less in cheaper ones)
TASK_SECONDS = 2.0
#: ... and not less than this when the replications allow (Dask's per-task cost is a few ms)
MIN_TASK_SECONDS = 0.05


def timed_batch_size(reps: int, cost: float | None) -> int:
    """Replications per task from the measured CPU seconds of one replication (``cost``).

    ``TASK_SECONDS / cost`` (a task of about two seconds in the costliest condition, so about
    a second on average over a grid of sample sizes: the scheduler's, the client's and the
    worker's cost per task, 5–10 ms of CPU together, stays near 1 %), but at least ten
    batches per condition (resume granularity, and the batches spread evenly over the
    workers), and not below ``MIN_TASK_SECONDS`` of work when the replications allow it.
    Never depends on the number of workers; the size chosen is kept in the folder's manifest, so a resumed run — on any
    machine — finds the same batches. Without a measurement, :func:`auto_batch_size`.
    """
    reps = int(reps)
    if cost is None or not np.isfinite(cost) or cost <= 0:
        return auto_batch_size(reps)
    per_task = max(1, round(TASK_SECONDS / cost))
    ten_batches = max(1, -(-reps // 10))
    floor = min(reps, max(1, round(MIN_TASK_SECONDS / cost)))
    return int(max(min(per_task, ten_batches), floor))


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


def warm_up(config: PlanConfig, calibrate: bool = False) -> dict[str, Any]:
    """Run on every worker before the clock starts: import the estimators and run replication 0
    of the first condition once (discarded), so that imports and the per-model caches
    (:func:`~psychometrics.cfa.specification.build_spec`, compiled models) are not counted
    as replication time. Returns the worker's BLAS thread counts (should be 1).

    With ``calibrate``, the costliest condition is used instead, and after the discarded
    replication further ones (discarded too) are timed until 0.2 CPU seconds or 20
    replications: ``cost`` is their CPU seconds per replication (for :func:`timed_batch_size`).
    """
    c = config.costliest_condition() if calibrate else 0
    run_batch(config, c, 0, 1)
    cost = None
    if calibrate:
        import warnings

        from psychometrics._linalg import single_thread_blas

        with warnings.catch_warnings(), single_thread_blas():
            warnings.simplefilter("ignore")
            c0, k = time.thread_time(), 0
            while k < 20 and time.thread_time() - c0 < 0.2:
                k += 1
                run_replication(config, c, k)
            cost = (time.thread_time() - c0) / k
    from psychometrics._linalg import blas_controller

    ctl = blas_controller()
    threads = sorted({int(d.get("num_threads", 0)) for d in ctl.info()}) if ctl is not None else []
    import dask

    env = {k: os.environ.get(k, "") for k in _WORKER_ENV}
    return {"blas_threads": threads, "env": env, "pid": os.getpid(), "cost": cost,
            "profiler": bool(dask.config.get("distributed.worker.profile.enabled", True))}


def _process_cpu() -> float:
    """CPU seconds of this whole process so far (every thread), for the overhead accounting."""
    return time.process_time()


#: per worker process: what its batches cost so far (read once per run window by the client through
#: ``client.run(_worker_marks)``, so no per-batch summary has to be fetched from the worker)
_WORKER_TOTALS = {"seconds": 0.0, "cpu_seconds": 0.0, "write_seconds": 0.0, "written": 0.0}
_TOTALS_LOCK = threading.Lock()  # a worker may run several tasks at once (dask worker --nthreads N)


def _add_totals(**amounts: float) -> None:
    with _TOTALS_LOCK:
        for k, v in amounts.items():
            _WORKER_TOTALS[k] += v


def _worker_marks() -> dict[str, float]:
    """The worker process's CPU seconds so far and its batch totals."""
    with _TOTALS_LOCK:
        return {"process": time.process_time(), **_WORKER_TOTALS}


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
            yield client, False
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
        yield client, True


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


def _cpu_marks(client: Any, local: bool) -> dict[str, Any]:
    """CPU seconds so far of every process of the run, by role (for the overhead accounting).

    ``client``: this process's main thread (the loop over finished batches: bookkeeping,
    progress, the Parquet writes that fall back to the client); ``scheduler``: the rest of this
    process (its event loop thread: for the embedded cluster the scheduler, the nannies and the
    client's communication), plus the scheduler process of an external cluster; ``workers``:
    every worker process (computing thread and Dask's threads) with its batch totals.
    """
    marks: dict[str, Any] = {"client": time.thread_time(), "process": time.process_time(),
                             "workers": _run_quietly(client, _worker_marks)}
    if not local:
        try:
            marks["scheduler_process"] = float(client.run_on_scheduler(_process_cpu))
        except Exception:  # noqa: BLE001 - only for the overhead accounting
            marks["scheduler_process"] = None
    return marks


def _cpu_used(m0: dict[str, Any], m1: dict[str, Any], n_workers: int) -> dict[str, Any] | None:
    """CPU seconds between two marks by role; None when a worker died or joined (not comparable)."""
    w0, w1 = m0["workers"], m1["workers"]
    if not w0 or set(w0) != set(w1) or len(w1) != n_workers:
        return None
    client = m1["client"] - m0["client"]
    if "scheduler_process" in m0:
        if m0["scheduler_process"] is None or m1.get("scheduler_process") is None:
            return None
        scheduler = m1["scheduler_process"] - m0["scheduler_process"] + (m1["process"] - m0["process"] - client)
    else:
        scheduler = m1["process"] - m0["process"] - client

    def delta(key: str) -> float:
        return float(sum(w1[w][key] - w0[w][key] for w in w1))

    workers, computing = delta("process"), delta("cpu_seconds")
    return {"client": client, "scheduler": scheduler, "workers": workers, "workers_computing": computing,
            "workers_dask": max(workers - computing, 0.0), "all": client + scheduler + workers,
            "compute_wall": delta("seconds"), "worker_write_wall": delta("write_seconds"),
            "batches_written_by_workers": int(delta("written"))}


def _probe_token(rep_dir: Path) -> str:
    """Write a probe file with a random token; a worker that reads it shares this file system."""
    token = uuid.uuid4().hex
    (rep_dir / f".probe-{token}").write_text(token, encoding="utf-8")
    return token


def _sees(rep_dir: str, token: str) -> bool:
    try:
        return (Path(rep_dir) / f".probe-{token}").read_text(encoding="utf-8") == token
    except OSError:
        return False


def _part_path(rep_dir: Path, token: str, condition: int, start: int, stop: int) -> Path:
    """Where a worker leaves a finished batch for the client to rename (one name per batch and run)."""
    return rep_dir / f"{_batch_path(rep_dir, condition, start, stop).name}.{token}.part"


def store_batch(config: PlanConfig, condition: int, start: int, stop: int,
                rep_dir: str | None = None, token: str | None = None) -> pd.DataFrame | None:
    """One Dask task: :func:`run_batch`, then write its Parquet file where the client can see it.

    When the worker shares the client's file system (the probe file ``.probe-<token>`` reads
    back; always for the embedded cluster) the batch is written (atomically: a temporary file,
    then renamed) to ``<batch>.<token>.part`` in ``rep_dir`` and nothing is returned: the
    client renames the file into place when the task is done, without fetching anything, so no
    table crosses the network and neither the client nor the scheduler handles a result. The
    compute and write times go to the worker's totals (:func:`_worker_marks`). Otherwise (a
    cluster on other machines, a write that fails) the frame is returned and the client
    writes it.
    """
    frame = run_batch(config, condition, start, stop)
    _add_totals(seconds=float(frame.attrs.pop("seconds", 0.0)), cpu_seconds=float(frame.attrs.pop("cpu_seconds", 0.0)))
    if rep_dir is not None and token is not None and _sees(rep_dir, token):
        t0 = time.perf_counter()
        part = _part_path(Path(rep_dir), token, condition, start, stop)
        tmp = part.with_name(f"{part.name[:-5]}.{uuid.uuid4().hex}.tmp.part")
        try:
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, part)
        except OSError:
            tmp.unlink(missing_ok=True)
        else:
            _add_totals(write_seconds=time.perf_counter() - t0, written=1.0)
            return None
    return frame


def _finish_batch(rep_dir: Path, token: str, b: tuple[int, int, int], fut: Any) -> None:
    """Put a finished batch in place: rename the worker's file, else write the frame it returned.

    The task's result is fetched only when there is no file (the worker does not share this
    file system — or the task failed, and ``result()`` raises its error).
    """
    path, part = _batch_path(rep_dir, *b), _part_path(rep_dir, token, *b)
    try:
        os.replace(part, path)
        return
    except FileNotFoundError:
        pass
    frame = fut.result()
    if frame is None:  # written by the worker, not yet visible here (a network file system's cache)
        for _ in range(100):
            time.sleep(0.1)
            if part.exists():
                os.replace(part, path)
                return
        raise SpecError(f"the worker wrote {part.name} but it did not appear in {rep_dir}; run the plan again "
                        "to resume")
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _check_manifest(config: PlanConfig, rep_dir: Path) -> int | None:
    """The folder's manifest (``replications/settings.json``) must be this run's (resume) or absent.

    Returns the batch size it keeps (None for a new folder). A run with a batch size of its
    own must match it, else the batches on disk would not be found again.
    """
    settings = rep_dir / "settings.json"
    if not settings.exists():
        return None
    stored = json.loads(settings.read_text(encoding="utf-8"))
    fp = config.fingerprint()
    if stored.get("fingerprint") != fp:
        raise SpecError(f"{rep_dir} holds replications of different settings (fingerprint "
                        f"{stored.get('fingerprint')} vs {fp}); use a new --out folder, or delete that folder to "
                        "start over")
    size = stored.get("batch_size")
    if config.batch_size is not None and size is not None and int(size) != config.batch_size:
        raise SpecError(f"{rep_dir} holds batches of {int(size)} replications; to resume, leave out --batch-size "
                        f"(or give --batch-size {int(size)}), or use a new --out folder")
    return None if size is None else int(size)


def _write_manifest(config: PlanConfig, rep_dir: Path, source: str, cost: float | None) -> None:
    payload = {"fingerprint": config.fingerprint(), "batch_size": config.batch_size, "batch_size_from": source,
               "measured_cpu_s_per_replication": cost}
    tmp = rep_dir / "settings.json.tmp"
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, rep_dir / "settings.json")


def _submit_all(client: Any, local: bool, cfg: Any, rep_dir: Path, todo: list[tuple[int, int, int]], bar: _Progress,
                on_batch: Callable[[int], None] | None, n_workers: int) -> dict[str, Any]:
    """Submit every batch, put each finished one in place; the run window's length and CPU by role."""
    from distributed import as_completed

    token = _probe_token(rep_dir)
    try:
        marks0 = _cpu_marks(client, local)
        t_run = time.perf_counter()
        futures = {client.submit(store_batch, cfg, *b, str(rep_dir), token, pure=False, retries=2): b for b in todo}
        for fut in as_completed(futures):
            b = futures.pop(fut)
            _finish_batch(rep_dir, token, b, fut)
            bar.advance(b[2] - b[1])
            if on_batch is not None:
                on_batch(b[2] - b[1])
        run_s = time.perf_counter() - t_run
        return {"run_s": run_s, "cpu_s": _cpu_used(marks0, _cpu_marks(client, local), n_workers)}
    finally:
        (rep_dir / f".probe-{token}").unlink(missing_ok=True)


def execute(config: PlanConfig, out: Path, *, scheduler: str | None = None, workers: int | None = None,
            show_progress: bool | None = None,
            on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run every batch not yet in ``out/replications`` on Dask; return run information.

    ``config.batch_size`` None: the batch size kept in the folder's manifest (a resumed run),
    else :func:`timed_batch_size` of the CPU time of a replication measured on the workers
    during warm-up, then written to the manifest before any batch. Times (``run.json``):
    ``startup_s`` (cluster up, workers warmed up, configuration sent), ``run_s`` (from
    submitting the batches until the last one is on disk: the throughput window),
    ``teardown_s`` (CPU accounting, closing the cluster). The scheduling overhead is the share
    of the workers' time in the ``run_s`` window in which no replication was computed
    (``1 − compute_cpu_s / (workers × run_s)``: CPU time of the computing threads, so a worker
    preempted by the client or the scheduler counts as not computing), and — less dependent
    on other load — the CPU of the client, the scheduler and the workers' Dask threads as a
    share of all CPU the run used in that window (``cpu_s``: seconds by role, see
    :func:`_cpu_marks`).
    """
    rep_dir = Path(out) / "replications"
    rep_dir.mkdir(parents=True, exist_ok=True)
    stored = _check_manifest(config, rep_dir)
    source, cost = "given", None
    if config.batch_size is None and stored is not None:
        config, source = replace(config, batch_size=stored), "folder"
    elif stored is None and config.batch_size is not None:
        _write_manifest(config, rep_dir, source, None)
    for stale in rep_dir.glob("*.part"):  # a worker's file whose batch was never renamed (interrupted run)
        stale.unlink(missing_ok=True)
    batches = config.batches() if config.batch_size is not None else []
    todo = [b for b in batches if not _batch_path(rep_dir, *b).exists()]
    done = sum(e - s for _, s, e in batches) - sum(e - s for _, s, e in todo)
    bar = _Progress(len(config.conditions) * config.reps, done, show_progress)
    t0 = time.perf_counter()
    n_workers, startup, blas, warm, acc = 0, 0.0, [], {}, {}
    if todo or config.batch_size is None:
        with _client(scheduler, workers) as (client, local):
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {})) if hasattr(client, "scheduler_info") else 0
            calibrate = config.batch_size is None
            try:  # imports and per-model caches on every worker, before the clock (counted as start-up)
                warm = client.run(warm_up, config, calibrate)
            except Exception:  # noqa: BLE001 - a worker that cannot warm up still runs (and reports) its batches
                warm = {}
            if calibrate:
                costs = [w["cost"] for w in warm.values() if w.get("cost")]
                cost = float(np.mean(costs)) if costs else None
                source = "measured" if cost else "default"
                config = replace(config, batch_size=timed_batch_size(config.reps, cost))
                _write_manifest(config, rep_dir, source, cost)
                batches = config.batches()
                todo = [b for b in batches if not _batch_path(rep_dir, *b).exists()]
            blas = sorted({t for w in warm.values() for t in w.get("blas_threads", [])})
            cfg = client.scatter(config, broadcast=True)
            startup = time.perf_counter() - t0
            acc = _submit_all(client, local, cfg, rep_dir, todo, bar, on_batch, n_workers)
        for stale in rep_dir.glob("*.part"):  # written by a worker that died before reporting it
            stale.unlink(missing_ok=True)
    elapsed = time.perf_counter() - t0
    computed = sum(e - s for _, s, e in todo)
    run_s, used = acc.get("run_s", 0.0), acc.get("cpu_s")
    # compute times come from the workers' totals: not known when a worker died or joined mid-run
    compute, cpu = (used["compute_wall"], used["workers_computing"]) if used else (None, None)
    return {"elapsed_s": elapsed, "replications_computed": computed, "replications_resumed": done,
            "replications_per_s": computed / run_s if run_s > 0 and computed else None,
            "replications_per_s_all_in": computed / elapsed if elapsed > 0 and computed else None,
            "startup_s": startup, "run_s": run_s, "teardown_s": max(elapsed - startup - run_s, 0.0) if acc else 0.0,
            "compute_s": compute, "compute_cpu_s": cpu, "worker_write_s": used["worker_write_wall"] if used else None,
            "batches_written_by_workers": used["batches_written_by_workers"] if used else None,
            "cpu_s_per_replication": cpu / computed if cpu is not None and computed else None,
            # share of the workers' time in the run window in which their computing thread was not running
            # a replication (CPU time of that thread: a worker preempted by the client or the scheduler is
            # not computing); the same with the computing thread's wall clock (counts preemption as computing)
            "scheduling_overhead": (1 - cpu / (n_workers * run_s)) if cpu is not None and run_s > 0 else None,
            "scheduling_overhead_wall_compute": (1 - compute / (n_workers * run_s))
            if compute is not None and run_s > 0 else None,
            "workers": n_workers, "scheduler": scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or "local",
            # CPU of the client, the scheduler and the workers' Dask threads as a share of all CPU in the window
            "scheduling_overhead_cpu": (1 - cpu / used["all"]) if used and used["all"] > 0 else None,
            "cpu_s": used,
            "all_cpu_s_per_replication": used["all"] / computed if used and computed else None,
            "batches": len(batches), "batch_size": config.batch_size, "batch_size_from": source,
            "measured_cpu_s_per_replication": cost,
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


