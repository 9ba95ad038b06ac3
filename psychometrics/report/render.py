"""Render results and reports from the package's jinja2 templates.

Autoescape is always on, so text that comes from users (item texts, labels,
column and group names) is shown as text, never interpreted as HTML.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

__all__ = ["environment", "render_result", "format_number"]


def format_number(value: Any, digits: int = 3) -> str:
    """Format a number for display; NaN shows as an em dash."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    if isinstance(value, (bool,)):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not math.isfinite(x):
        return "—"
    return f"{x:.{digits}f}"


@lru_cache(maxsize=1)
def environment():
    """The shared jinja2 environment (autoescape on, templates from the package)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("psychometrics.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    return env


def _table_html(frame, digits: int) -> Any:
    from markupsafe import Markup

    html = frame.to_html(
        float_format=lambda x: format_number(x, digits),
        escape=True,
        na_rep="—",
        border=0,
        classes="psy-table",
    )
    return Markup(html)  # pandas escaped every cell and label above


def render_result(result: Any) -> str:
    """HTML for a result object, as shown in Jupyter."""
    digits = getattr(result, "_digits", 3)
    tables = {name: _table_html(t, digits) for name, t in result._tables().items()}
    return environment().get_template("result.html.j2").render(
        title=result._display_title,
        scalars=result._scalars(),
        tables=tables,
        diagnostics=result._diagnostics(),
        digits=digits,
    )
