"""Importing the later steps' modules on a background thread while the data step runs (private).

``validate`` imports most of what its steps need lazily, inside the steps: ``scipy.special`` (the
careless screens' χ² tail), ``scipy.optimize`` and ``scipy.linalg`` (the model steps), the analysis
packages, ``jinja2`` and the report's section modules — ≈ 0.45 s of pure-Python module execution
on every run, at any n, which the main thread would otherwise pay step by step. Much of the data
step leaves the interpreter free: the CSV parse runs on pandas' C threads (``acquire`` of the
parser's futures) and the screens' and EM's products in BLAS, both without the GIL. So
:func:`prewarm` starts one daemon thread at the beginning of ``validate`` that imports those
modules, in the order the steps need them, while the data step runs.

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

__all__ = ["prewarm", "modules"]

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


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the step that needs it imports it again and reports its own error
            return


def prewarm(irt: bool = True) -> threading.Thread | None:
    """Start importing :func:`modules` on a daemon thread; None when they are all imported already."""
    names = tuple(n for n in modules(irt) if n not in sys.modules)
    if not names:
        return None
    thread = threading.Thread(target=_import_all, args=(names,), name="psychometrics-prewarm", daemon=True)
    thread.start()
    return thread
