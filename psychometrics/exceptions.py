"""Exceptions and warnings raised by :mod:`psychometrics`.

Errors are raised for input that cannot be analysed; each message names the
file, field, item, row, group or value at fault and says what to do. Warnings
flag estimation or data problems that do not stop an analysis; every result
also records them (see :class:`Diagnostic`) so that reports can show them.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = [
    "quiet_warnings",
    "recorded_warnings",
    "recorded_call",
    "PsychometricsError",
    "SpecError",
    "DataError",
    "ModelSyntaxError",
    "IdentificationError",
    "EstimationError",
    "ScoringKeyError",
    "OutputError",
    "MissingDependencyError",
    "PsychometricsWarning",
    "DataQualityWarning",
    "ConvergenceWarning",
    "HeywoodCaseWarning",
    "NotPositiveDefiniteWarning",
    "IdentificationWarning",
    "ReliabilityWarning",
    "InvarianceWarning",
    "Diagnostic",
    "record",
]


# --------------------------------------------------------------------- errors
class PsychometricsError(Exception):
    """Base class of every error this package raises on purpose."""


class SpecError(PsychometricsError, ValueError):
    """A scale or study specification is invalid (names file and field path)."""


class DataError(PsychometricsError, ValueError):
    """Response data cannot be used as given (names items, rows, groups or values)."""


class ModelSyntaxError(PsychometricsError, ValueError):
    """A lavaan-style model description cannot be parsed (names the line)."""


class IdentificationError(PsychometricsError, ValueError):
    """A model is not identified (e.g. negative degrees of freedom)."""


class EstimationError(PsychometricsError, RuntimeError):
    """An estimation failed in a way that leaves no usable result."""


class ScoringKeyError(PsychometricsError, ValueError):
    """A scoring key does not match the data or is malformed."""


class OutputError(PsychometricsError, ValueError):
    """An output would replace an input file, or an existing output without ``--overwrite``."""


# ------------------------------------------------------------------- warnings
class MissingDependencyError(PsychometricsError, ImportError):
    """An optional library a feature needs is not installed (the message says what to install)."""


class PsychometricsWarning(UserWarning):
    """Base class of every warning this package issues."""


class DataQualityWarning(PsychometricsWarning):
    """Values were set missing, rows flagged, or data look suspicious."""


class ConvergenceWarning(PsychometricsWarning):
    """An iterative estimator did not converge."""


class HeywoodCaseWarning(PsychometricsWarning):
    """A variance estimate is negative or a communality/standardized loading exceeds 1."""


class NotPositiveDefiniteWarning(PsychometricsWarning):
    """A covariance or correlation matrix is not positive definite."""


class IdentificationWarning(PsychometricsWarning):
    """A model is empirically under-identified or has zero degrees of freedom."""


class ReliabilityWarning(PsychometricsWarning):
    """A reliability estimate is not meaningful as computed (e.g. negative alpha)."""


class InvarianceWarning(PsychometricsWarning):
    """A measurement-invariance step could not be evaluated as requested."""


# ---------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class Diagnostic:
    """A problem found during an analysis, kept on the result for reports.

    Attributes
    ----------
    category : str
        Name of the warning class (e.g. ``"HeywoodCaseWarning"``).
    message : str
        Human-readable description naming what is affected.
    """

    category: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"category": self.category, "message": self.message}

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"


def record(
    diagnostics: list[Diagnostic],
    category: type[PsychometricsWarning],
    message: str,
    *,
    stacklevel: int = 3,
) -> Diagnostic:
    """Issue a warning and append it to ``diagnostics``.

    Results keep their diagnostics so that a report can show them even when
    Python's warning filters hide the warning itself.
    """
    diagnostic = Diagnostic(category.__name__, message)
    diagnostics.append(diagnostic)
    warnings.warn(message, category, stacklevel=stacklevel)
    return diagnostic


# ---------------------------------------------------------------- warnings on threads
# ``warnings.catch_warnings`` swaps process-wide state (Python 3.11), so two threads that record or
# silence warnings with it lose or misroute each other's. The pipeline runs steps (and the IRT step its
# tasks) on threads, so it records and silences through one process-wide router instead: while any
# :func:`recorded_warnings` block is open the filters say "always" and every warning goes to
# :func:`_route`, which hands it to the innermost recorder of the *emitting* context (each thread, or
# each task run in a copied context, has its own) or drops it inside that context's
# :func:`quiet_warnings`. Third-party code that swaps the filters itself can still, for its own
# block, hide another thread's warnings of the category it ignores: our results record their
# diagnostics on themselves (:func:`record`), not only as warnings.
_recorders: ContextVar[tuple[list, ...]] = ContextVar("psychometrics_warning_recorders", default=())
_silenced: ContextVar[tuple[type[Warning], ...]] = ContextVar("psychometrics_warnings_silenced", default=())
_router_lock = threading.Lock()
_router_users = 0
_router_saved: warnings.catch_warnings | None = None


def _route(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
    silenced = _silenced.get()
    if silenced and issubclass(category, silenced):
        return
    stack = _recorders.get()
    if stack:
        stack[-1].append(warnings.WarningMessage(message, category, filename, lineno, file, line))
    else:  # a thread outside every recorder: shown as Python would
        warnings._showwarning_orig(message, category, filename, lineno, file, line)  # type: ignore[attr-defined]


def _router_enter() -> None:
    global _router_users, _router_saved
    with _router_lock:
        if _router_users == 0:
            saved = warnings.catch_warnings()
            saved.__enter__()
            warnings.simplefilter("always")
            warnings.showwarning = _route
            _router_saved = saved
        _router_users += 1


def _router_exit() -> None:
    global _router_users, _router_saved
    with _router_lock:
        _router_users -= 1
        if _router_users == 0 and _router_saved is not None:
            saved, _router_saved = _router_saved, None
            saved.__exit__(None, None, None)


@contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings this context (thread, or task in a copied context) issues in the block.

    The thread-safe ``with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")``: the list holds this context's warnings only, also while
    other threads run and record their own (see the comment above :func:`_route`). Nested blocks
    record into the innermost one; as with ``catch_warnings``, an enclosing :func:`quiet_warnings`
    does not silence the block.
    """
    caught: list[warnings.WarningMessage] = []
    _router_enter()
    token = _recorders.set((*_recorders.get(), caught))
    quiet = _silenced.set(())
    try:
        yield caught
    finally:
        _silenced.reset(quiet)
        _recorders.reset(token)
        _router_exit()


def recorded_call(fn: Callable[..., Any], *args: Any, keep: tuple[type[BaseException], ...] = (),
                  **kwargs: Any) -> tuple[Any, BaseException | None, list[warnings.WarningMessage]]:
    """``fn(*args, **kwargs)`` with the warnings it issues recorded (:func:`recorded_warnings`): (its value,
    None, the warnings), or — when it raises one of ``keep`` — (None, that exception, the warnings so far).

    The one way a task run on another thread (in a copied context) hands back what it warned about, for the
    caller to issue or record where it takes the result (``_linalg.side_thread``, the IRT step's tasks)."""
    with recorded_warnings() as caught:
        try:
            return fn(*args, **kwargs), None, caught
        except keep as exc:
            return None, exc, caught


@contextmanager
def quiet_warnings(*categories: type[Warning]) -> Iterator[None]:
    """Silence the warnings of a block (default: every category), thread-safely.

    The thread-safe ``catch_warnings`` + ``simplefilter("ignore", category)``: only this context's
    warnings of those categories are dropped (through the router of :func:`recorded_warnings`);
    other threads' warnings are neither lost nor misrouted while the block runs.
    """
    _router_enter()
    token = _silenced.set((*_silenced.get(), *(categories or (Warning,))))
    try:
        yield
    finally:
        _silenced.reset(token)
        _router_exit()
