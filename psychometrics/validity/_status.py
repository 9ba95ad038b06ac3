"""Verdict words of the validity results → status of the report's summary table."""

from __future__ import annotations

#: Verdict → status of the report's summary table (psychometrics.report.context.Verdict).
_STATUS = {"supported": "met", "inconclusive": "borderline", "not supported": "not met",
           "not assessed": "not assessed"}


def _status(verdict: str) -> str:
    return _STATUS.get(verdict, "borderline")  # "supported at 0.90 only" → borderline
