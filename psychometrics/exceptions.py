"""Exceptions and warnings raised by :mod:`psychometrics`.

Errors are raised for input that cannot be analysed; each message names the
file, field, item, row, group or value at fault and says what to do. Warnings
flag estimation or data problems that do not stop an analysis; every result
also records them (see :class:`Diagnostic`) so that reports can show them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "quiet_warnings",
    "warnings_routed",
    "warnings_silenced",
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


#: set (in a task's own context) by code that runs tasks on threads and routes each thread's warnings to
#: its task (``pipeline.steps.irt._run_tasks``): there :func:`quiet_warnings` must not touch the
#: process-wide filters, which ``warnings.catch_warnings`` swaps (not thread-safe in Python 3.11)
warnings_routed: ContextVar[bool] = ContextVar("psychometrics_warnings_routed", default=False)
#: true inside :func:`quiet_warnings` on such a thread: the router drops the block's warnings
warnings_silenced: ContextVar[bool] = ContextVar("psychometrics_warnings_silenced", default=False)


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """Silence the warnings of a block (``catch_warnings`` + ``simplefilter("ignore")``), thread-safely.

    On a thread whose warnings a router collects per task (:data:`warnings_routed`), a context-local
    flag (:data:`warnings_silenced`) tells the router to drop them instead, so that the other thread's
    warnings are neither lost nor misrouted while the block runs.
    """
    if warnings_routed.get():
        token = warnings_silenced.set(True)
        try:
            yield
        finally:
            warnings_silenced.reset(token)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
