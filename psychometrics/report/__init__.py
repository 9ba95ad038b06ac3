"""The validation report: typed results → one self-contained HTML file (jinja2, autoescaped;
inline SVG figures).

* :mod:`psychometrics.report.validation` — the report of a validation run
  (``build_context``, ``render_validation_report``), from what
  :mod:`psychometrics.report.inputs` says it reads; one module per section in
  :mod:`psychometrics.report.sections`.
* :mod:`psychometrics.report.figures` — the report's figures as inline SVG.
* :mod:`psychometrics.report.context` — the context schema (blocks and TypedDicts).
* :mod:`psychometrics.report.build` — :func:`render_report` and the table formatting.
* :mod:`psychometrics.report.render` — the report's jinja2 environment.
* :mod:`psychometrics.report.references`, :mod:`psychometrics.report.text` — the reference
  list; numbers and names in running text.

Numbers are formatted by :func:`psychometrics._display.format_value` (core), which also
renders results in Jupyter. This package never imports :mod:`psychometrics.pipeline` (it
sits below it). Nothing heavy is imported here; ``render_report`` is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_report"]


def __getattr__(name: str) -> Any:
    if name == "render_report":
        from psychometrics.report.build import render_report

        return render_report
    raise AttributeError(f"module 'psychometrics.report' has no attribute {name!r}")
