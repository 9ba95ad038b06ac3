"""What the steps share: how a caught error is told in a note."""

from __future__ import annotations

from psychometrics.exceptions import PsychometricsError

__all__ = ["why"]


def why(exc: BaseException) -> str:
    """The error as a clause for a note: our errors by their message, others with their type."""
    return str(exc) if isinstance(exc, PsychometricsError) else f"{type(exc).__name__}: {exc}"
