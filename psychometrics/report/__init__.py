"""HTML rendering: jinja2 templates (autoescaped) and inline SVG figures.

* :mod:`psychometrics.report.figures` — the report's figures as inline SVG.
* :mod:`psychometrics.report.context` — the context schema (blocks and TypedDicts).
* :mod:`psychometrics.report.build` — :func:`render_report` and the table formatting.
* :mod:`psychometrics.report.render` — the shared jinja2 environment; result ``_repr_html_``.

Nothing heavy is imported here; ``render_report`` is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_report"]


def __getattr__(name: str) -> Any:
    if name == "render_report":
        from psychometrics.report.build import render_report

        return render_report
    raise AttributeError(f"module 'psychometrics.report' has no attribute {name!r}")
