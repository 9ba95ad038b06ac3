"""Small linear-algebra helpers shared by the analysis modules (private).

One implementation each of:

* :func:`smc` — squared multiple correlations as ``psych::smc``;
* :func:`pairwise_correlation` — Pearson correlations over pairwise-complete rows
  (R's ``cor(use = "pairwise")``), for one data set or a stack of them;
* :func:`single_thread_blas` — limit BLAS to one thread around many small matrix
  operations (a context manager and a decorator);
* :func:`all_core_blas` — the cores back for one large product inside such a region;
* :func:`one_blas_thread_per_lane` — one BLAS thread everywhere while pipeline steps run
  concurrently (one core per thread; the two helpers above do nothing inside it);
* :func:`side_thread` — a second thread for independent work while this process has a core to spare.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

__all__ = ["cov2cor", "smc", "pairwise_correlation", "single_thread_blas", "all_core_blas", "blas_controller",
           "one_blas_thread_per_lane", "in_lane", "usable_cores", "side_thread"]

#: threadpoolctl's limits are process-wide: while steps run on several threads (lanes) BLAS keeps one
#: thread (:func:`one_blas_thread_per_lane`) and the per-region helpers must not change it under the other
#: lane (one lane leaving ``single_thread_blas`` would give the other all cores mid-product)
_PIN_LOCK = threading.Lock()
_pinned = 0
_pin_limiter: Any = None


def cov2cor(c: np.ndarray) -> np.ndarray:
    """Correlations c_ij / √(c_ii c_jj) of a covariance matrix or a stack of them (R's ``cov2cor``);
    a zero or missing variance gives NaN/inf entries for the caller to check, without a warning."""
    d = np.sqrt(np.einsum("...ii->...i", c))
    with np.errstate(invalid="ignore", divide="ignore"):
        return c / (d[..., :, None] * d[..., None, :])


def smc(m: np.ndarray, singular: float | None = None) -> np.ndarray:
    """Squared multiple correlations 1 − 1/diag(R⁻¹), as ``psych::smc`` (clipped to [0, 1]).

    A covariance matrix is first rescaled to correlations (the SMC is scale free; multiply
    by the variances for ``psych::smc(covar = TRUE)``). A singular matrix falls back to the
    Moore–Penrose inverse, as psych's ``Pinv``, so values are still returned — or, when
    ``singular`` is given, to that value for every variable (CFA start values use 0.5).
    """
    corr = cov2cor(m)  # exact no-op for a correlation matrix (unit diagonal)
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        if singular is not None:
            return np.full(corr.shape[-1], float(singular))
        inv = np.linalg.pinv(corr, hermitian=True)
    out = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)


def pairwise_correlation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations over pairwise-complete rows (R's ``cor(use = "pairwise")``).

    ``x`` is one data set (n, p) or a stack of them (b, n, p), NaN = missing. Each r_ij uses
    the means and standard deviations of the rows where both i and j are observed
    (r_ij = NaN when fewer than two such rows vary). Returns the correlation matrices and
    the pairwise counts n_ij (same leading shape).
    """
    x = np.asarray(x, dtype=float)
    n_rows, p = x.shape[-2], x.shape[-1]
    obs = ~np.isnan(x)
    diag = np.arange(p)
    if obs.all():
        xc = x - x.mean(axis=-2, keepdims=True)
        xct = np.swapaxes(xc, -1, -2)
        cov = xct @ xc
        sd = np.sqrt(np.einsum("...ii->...i", cov))
        r = cov / (sd[..., :, None] * sd[..., None, :])
        n = np.full(r.shape, n_rows, dtype=float)
    else:
        m = obs.astype(float)
        # centre by column means first for numerical stability (does not change r)
        x0 = np.where(obs, x - np.nanmean(x, axis=-2, keepdims=True), 0.0)
        mt, x0t = np.swapaxes(m, -1, -2), np.swapaxes(x0, -1, -2)
        n = mt @ m                       # n_ij
        s = x0t @ m                      # s[i, j] = sum of x_i over rows where j is observed
        ss = (x0t * x0t) @ m             # sum of x_i² over rows where j is observed
        cross = x0t @ x0                 # sum of x_i x_j over rows where both are observed
        st = np.swapaxes(s, -1, -2)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = cross - s * st / n
            var = ss - s * s / n         # var of i over rows shared with j (times n − 1)
            r = cov / np.sqrt(var * np.swapaxes(var, -1, -2))
    r[..., diag, diag] = 1.0
    return r, n


def blas_controller(numpy_only: bool = False) -> Any:
    """One threadpoolctl controller (scanning the loaded libraries is the slow part), or None.

    scipy bundles its own OpenBLAS: import scipy.linalg first (it loads that library; the whole
    of scipy.optimize, imported here before, took ≈ 0.17 s more — paid before the pipeline's worker
    processes fork, now in the steps that use it) so that the controller sees (and limits) both
    numpy's and scipy's BLAS. threadpoolctl comes with scikit-learn. ``numpy_only``: without that
    import (≈ 0.2 s when nothing has loaded scipy yet), for code that calls numpy's BLAS only (the
    data layer's screens and item analysis).

    Created once per kind (one cache entry each: a new controller created on one thread while
    another restores a limit can leave OpenBLAS at the limit — seen with threadpoolctl 3 — so the
    lanes never create one, :func:`one_blas_thread_per_lane`).
    """
    return _controller(bool(numpy_only))


@functools.lru_cache(maxsize=None)
def _controller(numpy_only: bool) -> Any:
    try:
        if not numpy_only:
            import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS)
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover
        return None
    return ThreadpoolController()


def single_thread_blas(fn: Callable | None = None, *, numpy_only: bool = False) -> Any:
    """Limit BLAS to one thread: ``with single_thread_blas(): ...`` or ``@single_thread_blas``.

    Factor analysis and the bootstrap work on many small matrices; multi-threaded OpenBLAS
    only adds hand-off cost there (up to 20× slower on a busy machine). Without threadpoolctl
    nothing changes. ``numpy_only``: limit numpy's BLAS without importing scipy (:func:`blas_controller`).
    """
    if fn is not None:  # used as a decorator
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with single_thread_blas(numpy_only=numpy_only):
                return fn(*args, **kwargs)

        return wrapper
    if _pinned:
        return nullcontext()
    controller = blas_controller(numpy_only)
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def all_core_blas() -> Any:
    """Let BLAS use every core this process may run on: ``with all_core_blas(): ...``.

    For one large product (e.g. the NACOV middle term's ``dsyrk``, O(rows × 490²)) inside a step
    that :func:`single_thread_blas` limits for its many small ones. OpenBLAS splits a ``gemm`` /
    ``syrk`` by blocks of the output, each block summed by one thread in the same order, so the
    numbers do not depend on the thread count (``tests/test_ordinal.py::
    test_nacov_middle_term_identical_with_one_and_all_blas_threads``).
    On an oversubscribed machine the threads can wait for each other; without threadpoolctl
    nothing changes.
    """
    if _pinned:  # no cores to give inside one_blas_thread_per_lane (and no controller created there)
        return nullcontext()
    controller = blas_controller()
    if controller is None:  # pragma: no cover
        return nullcontext()
    return controller.limit(limits=usable_cores(), user_api="blas")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()`` where there is none)."""
    import os

    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def in_lane() -> bool:
    """Whether pipeline steps run concurrently (inside :func:`one_blas_thread_per_lane`): then a step keeps
    to its one thread too — the other lane has the other core, and a second thread of its own would
    only add its memory (the IRT step's two concurrent calibrations or DIF tasks at 10⁶ rows)."""
    return _pinned > 0


@contextmanager
def one_blas_thread_per_lane() -> Iterator[None]:
    """One BLAS thread in every thread of the process for the block (nestable).

    For pipeline steps running concurrently on the cores: each lane keeps one core busy, and BLAS
    threads of their own would oversubscribe them. Enter it on one thread around the threads that run
    concurrently (``pipeline.run`` does so on the main thread): restoring the limit on one thread while
    another creates or queries a threadpoolctl controller can leave OpenBLAS at the limit (seen with
    threadpoolctl 3). Inside, :func:`single_thread_blas` and :func:`all_core_blas` change nothing
    (their limits are process-wide; the block's own is restored when its last user leaves). A
    ``gemm`` / ``syrk`` gives the same numbers with any thread count (see :func:`all_core_blas`).
    """
    global _pinned, _pin_limiter
    controller = blas_controller()
    with _PIN_LOCK:
        if _pinned == 0 and controller is not None:
            _pin_limiter = controller.limit(limits=1, user_api="blas")
        _pinned += 1
    try:
        yield
    finally:
        with _PIN_LOCK:
            _pinned -= 1
            if _pinned == 0 and _pin_limiter is not None:
                limiter, _pin_limiter = _pin_limiter, None
                limiter.restore_original_limits()


@contextmanager
def side_thread(rows: int, min_rows: int) -> Iterator[Callable[..., Any] | None]:
    """``submit(fn, *args, **kwargs)`` → a future (its ``result()``) computing ``fn`` on a second thread,
    or None — the caller then computes in line — below ``min_rows`` rows, inside a pipeline lane
    (:func:`in_lane`: the other core is the other lane's) or with one core.

    For the serial stretches of a large run (the data step's first part at 10⁶ rows: the careless screens,
    the float32 compaction) whose numpy work releases the interpreter lock. The functions must
    be independent of each other's results; each runs in a copy of the caller's context (its context
    variables). A task's warnings are recorded and issued again, in the caller's context, when its
    ``result()`` is taken — where the caller would have issued them computing the task in line at that
    point. Inside, BLAS keeps one thread per thread (:func:`one_blas_thread_per_lane`: two threads'
    :func:`single_thread_blas` limits would undo each other). The numbers do not depend on it: each task
    computes what it would in line.
    """
    if rows < min_rows or in_lane() or usable_cores() < 2:
        yield None
        return
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    from psychometrics.exceptions import recorded_call

    def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Later:
        return _Later(pool.submit(contextvars.copy_context().run, recorded_call, fn, *args, **kwargs))

    with one_blas_thread_per_lane(), ThreadPoolExecutor(1, thread_name_prefix="psychometrics-side") as pool:
        yield submit


class _Later:
    """A :func:`side_thread` task: ``result()`` waits for it, issues its warnings here, returns its value."""

    def __init__(self, future: Any) -> None:
        self._future = future

    def result(self) -> Any:
        import warnings

        value, _, caught = self._future.result()  # (exceptions.recorded_call; one keeps none: raised here)
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return value
