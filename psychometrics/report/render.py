"""Render results and reports from the package's jinja2 templates.

Autoescape is always on, so text that comes from users (item texts, labels,
column and group names) is shown as text, never interpreted as HTML.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["environment", "render_result"]


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
    from psychometrics.report.build import format_value

    # the report's one number formatter (rounding happens only there)
    env.filters["num"] = lambda value, digits=3: format_value(value, digits=digits)
    return env


def render_result(result: Any) -> str:
    """HTML for a result object, as shown in Jupyter.

    Tables go through the report's table helper and ``apa_table`` macro, so a
    result looks the same in a notebook as in the validation report (rounded
    to ``result._digits`` decimals, unnumbered).
    """
    from psychometrics.report.build import format_table
    from psychometrics.report.context import Table

    digits = getattr(result, "_digits", 3)
    tables = {
        name: {"type": "table", "number": None, "title": name, "note": None, "id": None, "keep": True,
               **format_table(Table(t, name, digits=digits))}
        for name, t in result._tables().items()
    }
    return environment().get_template("result.html.j2").render(
        title=result._display_title,
        scalars=result._scalars(),
        tables=tables,
        diagnostics=result._diagnostics(),
        digits=digits,
    )
