"""Importing the later steps' modules on a background thread while the data step runs (private).

``validate`` imports most of what its steps need lazily, inside the steps: ``scipy.special`` (the
careless screens' χ² tail), ``scipy.optimize`` and ``scipy.linalg`` (the model steps), the analysis
packages, ``jinja2`` and the report's section modules — ≈ 0.45 s of pure-Python module execution
on every run, at any n, which the main thread would otherwise pay step by step. Much of the data
step leaves the interpreter free: the CSV parse runs on pandas' C threads (``acquire`` of the
parser's futures) and the screens' and EM's products in BLAS, both without the GIL. So
:func:`prewarm` starts one daemon thread at the beginning of ``validate`` that imports those
modules, in the order the steps need them, while the data step runs — for a large data file only
(:func:`pays_to_prewarm`): a short parse's Python parts would wait for the imports instead. Before
a step forks a worker process, :func:`wait` lets the imports finish (a module lock taken by this
thread would stay taken in the worker).

Only imports — no other side effect:

* Python's import lock makes a concurrent import safe: a module is executed once, and a thread
  that needs a module another thread is importing waits for it (the main thread then simply
  finds it imported). The modules are imported in the order the pipeline itself first imports
  them (``scipy.special`` first, as the data step's screens do), and the package has no import
  cycles (``tests/test_architecture.py``), so the two threads take the module locks in one order.
* Nothing is called but ``importlib.import_module``: no caches filled (the report's jinja2
  environment, ``_linalg.blas_controller`` — threadpoolctl's controller is left to the thread that
  limits BLAS, so its creation never races a ``limit`` call; the module ``threadpoolctl`` is only
  imported), no options or thread pools set, no warnings filter touched.
* None of these imports issues a warning (``tests/test_pipeline_prewarm.py`` imports them with
  warnings as errors in a fresh process) — a warning would otherwise be recorded by whichever step
  runs meanwhile.
* A failing import is ignored here: the step that needs the module imports it again and reports
  its own error.

The numbers cannot change: the modules are the same, only the thread that first executes them
differs (``tests/test_pipeline_prewarm.py``: ``validate`` with and without the thread give the same
results).
"""

from __future__ import annotations

import importlib
import sys
import threading

__all__ = ["prewarm", "modules", "wait", "import_later", "pays_to_prewarm", "PREWARM_BYTES"]

_thread: threading.Thread | None = None  # the last started, until :func:`wait` joins it

#: in the order ``validate`` first imports them (the packages' ``__init__`` bring their modules)
_COMMON = (
    "scipy.special",                # data quality: the careless screens' χ² tail
    "psychometrics.data.missing",
    "psychometrics.items",          # item analysis (and reliability, EFA below it)
    "scipy.optimize",               # reliability, EFA, CFA (and scipy.linalg, scipy.sparse)
    "threadpoolctl",                # the module only; the controller is created where BLAS is limited
    "psychometrics.cfa",
    "psychometrics.invariance",
)
_IRT = (
    "psychometrics.irt",
    "psychometrics.irt.fit",
    "psychometrics.irt.patterns",
    "psychometrics.irt.lrdif",
    "psychometrics.irt.dif",
    "psychometrics.irt.m2",
)
_LATER = (
    "psychometrics.scoring",
    "psychometrics.validity",
    "psychometrics.irt.keyio",       # the scoring key
    "psychometrics.simulate",
    "psychometrics.report.render",
    "psychometrics.report.build",
    "psychometrics.report.serialize",
    "psychometrics.report.validation",
    "jinja2",
    "jinja2.sandbox",
)


def modules(irt: bool = True) -> tuple[str, ...]:
    """The modules :func:`prewarm` imports (IRT's only when the step runs)."""
    return _COMMON + (_IRT if irt else ()) + _LATER


def import_later() -> None:
    """Import the scoring key's and the report's modules now, on this thread (``validate``'s main thread
    while it waits for the worker processes: otherwise idle, and the report step after them is serial)."""
    _import_all(_LATER)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the step that needs it imports it again and reports its own error
            return


#: the thread pays off from a data file of this size on (≈ 500,000 rows of the demo study's CSV): its imports
#: take the interpreter's lock from the parse's Python parts, so they are hidden only behind a long parse —
#: measured on the idle 2-core machine, 10⁶ rows (135 MB) 0.7 s faster with the thread, 10⁵ rows (13.5 MB,
#: the steps after the data step in worker processes, which import their own modules) 0.2 s slower
PREWARM_BYTES = 64 * 2**20


def pays_to_prewarm(data: object) -> bool:
    """Whether :func:`prewarm` is worth it for ``data``: a file (or folder of files) of at least
    :data:`PREWARM_BYTES` (a DataFrame has no parse to hide the imports behind)."""
    import os

    if not isinstance(data, (str, os.PathLike)):
        return False
    try:
        if os.path.isdir(data):  # a partitioned dataset: its files' sizes (the first level is enough to tell)
            return sum(e.stat().st_size for e in os.scandir(data) if e.is_file()) >= PREWARM_BYTES or any(
                e.is_dir() for e in os.scandir(data))
        return os.path.getsize(data) >= PREWARM_BYTES
    except OSError:  # (the data step reports a missing file itself)
        return False


def prewarm(irt: bool = True) -> threading.Thread | None:
    """Start importing :func:`modules` on a daemon thread; None when they are all imported already."""
    names = tuple(n for n in modules(irt) if n not in sys.modules)
    if not names:
        return None
    global _thread
    thread = threading.Thread(target=_import_all, args=(names,), name="psychometrics-prewarm", daemon=True)
    thread.start()
    _thread = thread
    return thread


def wait() -> None:
    """Until the background imports are done (before a ``fork``: no import lock held in the child)."""
    global _thread
    thread, _thread = _thread, None
    if thread is not None:
        thread.join()
