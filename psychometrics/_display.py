"""Display of numbers and results: the package's one number formatter and the Jupyter HTML.

* :func:`format_value` formats every number shown to a person — report tables, verdicts,
  notebook output (APA 7 conventions: true minus sign, no leading zero for quantities
  bounded by 1, ``<.001`` for small p values, thousands separators for counts). Rounding
  happens here and nowhere else; results keep unrounded numbers.
* :func:`format_frame` turns a labelled table into rows of display strings.
* :func:`render_result` is the ``_repr_html_`` of every result
  (:class:`psychometrics._results.ResultMixin`): its tables are the same APA tables as in
  the validation report (the ``apa_table`` macro below is the one both use).

This is a core module: it imports nothing of the analysis stages or the report, and
jinja2 only when HTML is rendered.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Hashable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from psychometrics._text import quote

__all__ = ["format_value", "format_frame", "render_result", "environment", "template_loader", "TEMPLATES"]

_MINUS = "\u2212"
_DASH = "—"


# ------------------------------------------------------------- formatting
def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    return False


def format_value(
    value: Any,
    *,
    digits: int = 2,
    no_leading_zero: bool = False,
    p_value: bool = False,
) -> str:
    """Format one value for display (the report's only rounding).

    Parameters
    ----------
    value
        A number, a tuple/list of numbers (shown as a bracketed interval), a
        bool (``yes``/``no``), text, or missing (``None``/NaN → em dash).
    digits : int
        Decimals for floats.
    no_leading_zero : bool
        Drop the leading zero (APA: for values that cannot exceed 1).
    p_value : bool
        Format as a p value: three decimals, no leading zero, ``<.001``.

    Examples
    --------
    >>> format_value(-0.4567, no_leading_zero=True)
    '−.46'
    >>> format_value(0.0004, p_value=True)
    '<.001'
    >>> format_value((0.81, 0.9))
    '[0.81, 0.90]'
    """
    if _is_missing(value):
        return _DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        v = int(value)
        text = f"{abs(v):,}" if abs(v) >= 1000 else str(abs(v))
        return (_MINUS + text) if v < 0 else text
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if p_value:
            if x < 0.001:
                return "<.001"
            digits, no_leading_zero = 3, True
        text = f"{abs(x):,.{digits}f}" if abs(x) >= 1000 else f"{abs(x):.{digits}f}"
        if no_leading_zero and text.startswith("0."):
            text = text[1:]
        negative = x < 0 and any(ch not in "0.," for ch in text)  # no "−0.00"
        return (_MINUS + text) if negative else text
    if isinstance(value, (tuple, list)) and value and all(
        isinstance(v, numbers.Real) or _is_missing(v) for v in value
    ):
        inner = ", ".join(format_value(v, digits=digits, no_leading_zero=no_leading_zero) for v in value)
        return f"[{inner}]"
    if isinstance(value, numbers.Real):
        return format_value(float(value), digits=digits, no_leading_zero=no_leading_zero, p_value=p_value)
    return str(value)


def _is_numeric_value(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Real):
        return True
    return isinstance(value, (tuple, list)) and bool(value) and all(isinstance(v, numbers.Real) for v in value)


def _label(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _lookup(spec: Any, column: Hashable, default: Any) -> Any:
    if isinstance(spec, Mapping):
        if column in spec:
            return spec[column]
        if isinstance(column, tuple) and column and column[-1] in spec:
            return spec[column[-1]]
        return default
    return spec


def _member(spec: bool | Collection[Hashable], column: Hashable) -> bool:
    if isinstance(spec, bool):
        return spec
    return column in spec or (isinstance(column, tuple) and bool(column) and column[-1] in spec)


def format_frame(
    frame: pd.DataFrame | pd.Series,
    *,
    title: str = "",
    digits: int | Mapping[Hashable, int] = 2,
    no_leading_zero: bool | Collection[Hashable] = False,
    p_values: Collection[Hashable] = (),
    show_index: bool | None = None,
) -> dict[str, Any]:
    """Turn a table into rows of display strings (every number through :func:`format_value`).

    Parameters
    ----------
    frame : DataFrame or Series
        Unrounded values; two-level columns give spanner headings.
    title : str
        Only for error messages.
    digits, no_leading_zero, p_values, show_index
        As :class:`psychometrics.report.context.Table`: decimals (one number or per column),
        columns printed without the leading zero (or all, if true), p-value columns, and
        whether the index is shown (default: unless it is an unnamed ``RangeIndex``).

    Returns
    -------
    dict
        ``{"head": [[cell, ...], ...], "body": [[cell, ...], ...], "n_rows": int}`` where each
        cell is ``{"text", "colspan", "numeric", "stub", "spanner"}``. Texts are *not* escaped
        here; the template escapes them.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name=frame.name if frame.name is not None else "value")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table {quote(title)}: frame must be a pandas DataFrame or Series, "
                        f"got {type(frame).__name__}")
    columns = list(frame.columns)
    n_levels = frame.columns.nlevels
    numeric_col = []
    for _, col in frame.items():  # by position (without iloc's indexing machinery)
        values = [v for v in col.tolist() if not _is_missing(v)]
        numeric_col.append(bool(values) and all(_is_numeric_value(v) for v in values))
    if show_index is None:
        show_index = not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None)
    index_names = [_label(n) for n in frame.index.names] if show_index else []

    head: list[list[dict[str, Any]]] = []
    for level in range(n_levels):
        row: list[dict[str, Any]] = [
            {"text": name if level == n_levels - 1 else "", "colspan": 1, "numeric": False, "stub": True,
             "spanner": False}
            for name in index_names
        ]
        j = 0
        while j < len(columns):
            key = columns[j][: level + 1] if n_levels > 1 else columns[j]
            span = 1
            if level < n_levels - 1:
                while j + span < len(columns) and columns[j + span][: level + 1] == key:
                    span += 1
            text = _label(columns[j][level] if n_levels > 1 else columns[j])
            row.append({"text": text, "colspan": span, "numeric": span == 1 and numeric_col[j], "stub": False,
                        "spanner": level < n_levels - 1 and bool(text)})
            j += span
        head.append(row)

    body: list[list[dict[str, Any]]] = []
    previous: tuple[Any, ...] | None = None
    # each column's format, looked up once (not per cell)
    col_format = [(int(_lookup(digits, c, 2)), _member(no_leading_zero, c), _member(p_values, c)) for c in columns]
    for label, values in zip(frame.index, frame.itertuples(index=False, name=None)):
        row = []
        if show_index:
            parts = label if isinstance(label, tuple) else (label,)
            for level, part in enumerate(parts):
                repeated = previous is not None and len(parts) > 1 and previous[: level + 1] == parts[: level + 1]
                row.append({"text": "" if repeated else _label(part), "colspan": 1, "numeric": False,
                            "stub": True, "spanner": False})
            previous = parts
        for j, value in enumerate(values):
            d, nlz, pv = col_format[j]
            text = format_value(value, digits=d, no_leading_zero=nlz, p_value=pv)
            row.append({"text": text, "colspan": 1, "numeric": numeric_col[j], "stub": False, "spanner": False})
        body.append(row)
    return {"head": head, "body": body, "n_rows": len(body)}


# ------------------------------------------------------------- templates
#: Templates of the core display, by name. ``_table.html.j2`` holds the APA table macro the
#: validation report uses too (its ``_macros.html.j2`` imports it), so a result looks the same
#: in a notebook as in the report.
TEMPLATES: dict[str, str] = {
    "_table.html.j2": """{#- An APA 7 table (number, italic title, horizontal rules, note). Every text is autoescaped. -#}

{% macro apa_table(t) -%}
<div class="apa-table{% if t.keep %} keep{% endif %}"{% if t.id %} id="{{ t.id }}"{% endif %}>
{% if t.number %}<p class="table-number">Table {{ t.number }}</p>{% endif %}
<p class="table-title">{{ t.title }}</p>
<div class="table-scroll">
<table>
<thead>
{% for row in t.head %}
<tr>{% for c in row %}<th scope="col"{% if c.colspan > 1 %} colspan="{{ c.colspan }}"{% endif %} class="{{ 'stub' if c.stub else ('num' if c.numeric else 'txt') }}{% if c.spanner %} spanner{% endif %}">{{ c.text }}</th>{% endfor %}</tr>
{% endfor %}
</thead>
<tbody>
{% for row in t.body %}
<tr>{% for c in row %}{% if c.stub %}<th scope="row" class="stub">{{ c.text }}</th>{% else %}<td class="{{ 'num' if c.numeric else 'txt' }}">{{ c.text }}</td>{% endif %}{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</div>
{% if t.note %}<p class="table-note"><em>Note.</em> {{ t.note }}</p>{% endif %}
</div>
{%- endmacro %}
""",
    "result.html.j2": """{% import "_table.html.j2" as m %}
<div class="psy-result">
<style>
.psy-result{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;font-size:13px;line-height:1.35}
.psy-result h3{margin:.4em 0}
.psy-result table{border-collapse:collapse;margin:.3em 0 .8em;font-variant-numeric:tabular-nums}
.psy-result table.psy-table th,.psy-result table.psy-table td{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}
.psy-result table.psy-table th{text-align:left}
.psy-result .apa-table{margin:.2em 0 1em}
.psy-result .table-title{font-style:italic;margin:.2em 0 .3em}
.psy-result .apa-table table{border-top:1.5px solid #222;border-bottom:1.5px solid #222}
.psy-result .apa-table thead tr:last-child th{border-bottom:1px solid #222}
.psy-result .apa-table th,.psy-result .apa-table td{padding:2px 10px;vertical-align:top}
.psy-result .apa-table .num{text-align:right;white-space:nowrap}
.psy-result .apa-table .txt,.psy-result .apa-table .stub{text-align:left}
.psy-result .apa-table tbody th.stub{font-weight:normal}
.psy-result .apa-table th.spanner{text-align:center;border-bottom:1px solid #222}
.psy-result .psy-diag{color:#8a4b00}
</style>
<h3>{{ title }}</h3>
{% if scalars %}
<table class="psy-table">
{% for key, value in scalars.items() %}
<tr><th>{{ key }}</th><td>{{ value|num(digits) }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% for name, table in tables.items() %}
{{ m.apa_table(table) }}
{% endfor %}
{% if diagnostics %}
<h4>Diagnostics</h4>
<ul class="psy-diag">{% for d in diagnostics %}<li>{{ d }}</li>{% endfor %}</ul>
{% endif %}
</div>
""",
}


def template_loader():
    """A jinja2 loader of :data:`TEMPLATES` (the report chains it after its own templates)."""
    import jinja2

    return jinja2.DictLoader(TEMPLATES)


@lru_cache(maxsize=1)
def environment():
    """The jinja2 environment of result display (autoescape on, :data:`TEMPLATES`).

    Autoescape is always on, so text that comes from users (item texts, labels, column and
    group names) is shown as text, never interpreted as HTML.
    """
    import jinja2

    env = jinja2.Environment(loader=template_loader(), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda value, digits=3: format_value(value, digits=digits)
    return env


def render_result(result: Any) -> str:
    """HTML for a result object, as shown in Jupyter.

    Tables are APA tables (the report's ``apa_table`` macro), rounded to
    ``result._digits`` decimals and unnumbered; scalars and diagnostics follow.
    """
    digits = getattr(result, "_digits", 3)
    tables = {
        name: {"type": "table", "number": None, "title": name, "note": None, "id": None, "keep": True,
               **format_frame(t, title=name, digits=digits)}
        for name, t in result._tables().items()
    }
    return environment().get_template("result.html.j2").render(
        title=result._display_title,
        scalars=result._scalars(),
        tables=tables,
        diagnostics=result._diagnostics(),
        digits=digits,
    )
