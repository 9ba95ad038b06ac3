"""Item response distributions (diverging stacked bars)."""

from __future__ import annotations

import html
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    _GRID, _INK, _PX, SVG, _as_frame, _close, _dark, _hex, _labels, _nice_ticks, _numeric, _open, _rdbu, _text_width,
)


# ------------------------------------------------- item response distribution
def response_distribution(
    counts: pd.DataFrame,
    *,
    labels: Mapping[Hashable, str] | pd.Series | None = None,
    centered: bool = True,
    width: float = 6.5,
) -> SVG:
    """Stacked horizontal bars of response-category percentages per item.

    Parameters
    ----------
    counts : DataFrame
        Items × response categories (columns in scale order, e.g. 1…5 or
        ``"Strongly disagree"`` … ``"Strongly agree"``), holding counts or
        proportions; each row is converted to percentages of its total.
    labels : mapping or Series, optional
        Display label per item id, truncated to 40 characters.
    centered : bool
        Diverging (Likert) layout: bars are centred on the middle of the scale
        (the middle of the neutral category for an odd number of categories), so
        agreement extends right and disagreement left (Robbins & Heiberger, 2011).
        Otherwise bars run from 0 to 100 %.

    Returns
    -------
    SVG
        Percentages of 5 % or more are written on the bars. Written as SVG directly
        (rectangles and text on a fixed layout), not through matplotlib: drawing and
        laying out the bars with matplotlib took about a second per report (issue 16).
    """
    frame = _numeric(_as_frame(counts, "counts"), "response counts")
    if frame.empty:
        raise DataError("counts is empty: pass an items × categories DataFrame")
    if (frame < 0).to_numpy().any():
        bad = frame.index[(frame < 0).any(axis=1)].tolist()
        raise DataError(f"response counts must not be negative; items {bad} have negative counts")
    totals = frame.sum(axis=1)
    empty = totals.index[~(totals > 0)].tolist()
    if empty:
        raise DataError(f"items {empty} have no responses in any category; drop them or check the counts table")
    pct = frame.div(totals, axis=0) * 100.0
    n_items, k = pct.shape
    item_labels = _labels(pct.index, labels, 40)
    # disagreement in reds, agreement in blues, a neutral middle category in grey; the
    # near-white centre of the colour map is skipped so every category stays visible
    half = k // 2
    low = np.linspace(0.04, 0.34, half) if half > 1 else np.array([0.2] * half)
    colours = [_rdbu(x) for x in low]
    if k % 2:
        colours.append((0.80, 0.80, 0.80))
    colours += [_rdbu(1.0 - x) for x in low[::-1]]
    values = pct.to_numpy()
    if centered:
        left_of_centre = values[:, :half].sum(axis=1) + (values[:, half] / 2.0 if k % 2 else 0.0)
        starts = -left_of_centre
        ends = starts + values.sum(axis=1)
        lim = max(50.0, float(np.ceil(np.max(np.abs(np.r_[starts, ends])) / 10.0) * 10.0))
        x_lo, x_hi = -lim, lim
    else:
        starts = np.zeros(n_items)
        x_lo, x_hi = 0.0, 100.0
    esc = html.escape
    total_w = width * _PX
    row_h = 0.26 * _PX
    left = 12.0 + max(_text_width(t, 9.5) for t in item_labels)
    right, top, bottom = 14.0, 40.0, 44.0
    total_h = top + n_items * row_h + bottom
    pw = total_w - left - right

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * pw

    out = _open(total_w, total_h)
    y_axis = top + n_items * row_h
    for t in _nice_ticks(x_lo, x_hi):
        out.append(f'<line x1="{sx(t):.1f}" y1="{top:.1f}" x2="{sx(t):.1f}" y2="{y_axis:.1f}" stroke="{_GRID}" '
                   'stroke-width="0.6"/>')
        text = f"{abs(t) if centered else t:g}%"
        out.append(f'<text x="{sx(t):.1f}" y="{y_axis + 14:.1f}" text-anchor="middle" fill="#444444">{text}</text>')
    out.append(f'<line x1="{left:.1f}" y1="{y_axis:.1f}" x2="{left + pw:.1f}" y2="{y_axis:.1f}" stroke="#444444" '
               'stroke-width="1"/>')
    bar_h = 0.72 * row_h
    for i in range(n_items):
        yc = top + (i + 0.5) * row_h
        out.append(f'<text x="{left - 6:.1f}" y="{yc + 3.3:.1f}" text-anchor="end" fill="#444444">'
                   f'{esc(item_labels[i])}</text>')
        x = starts[i]
        for j in range(k):
            seg = values[i, j]
            out.append(f'<rect x="{sx(x):.2f}" y="{yc - bar_h / 2:.2f}" width="{sx(x + seg) - sx(x):.2f}" '
                       f'height="{bar_h:.2f}" fill="{_hex(colours[j])}" stroke="white" stroke-width="0.8"/>')
            if seg >= 5.0:
                fill = "white" if _dark(colours[j]) else _INK
                out.append(f'<text x="{sx(x + seg / 2):.1f}" y="{yc + 3:.1f}" text-anchor="middle" font-size="8" '
                           f'fill="{fill}">{seg:.0f}</text>')
            x += seg
    if centered:
        out.append(f'<line x1="{sx(0):.1f}" y1="{top:.1f}" x2="{sx(0):.1f}" y2="{y_axis:.1f}" stroke="#444444" '
                   'stroke-width="1"/>')
    # legend: one row of swatches above the bars, centred on the plot
    names = [_category(c) for c in pct.columns]
    widths = [14 + 4 + _text_width(nm, 9.5) + 12 for nm in names]
    x = left + pw / 2 - sum(widths) / 2
    for nm, col, w in zip(names, colours, widths):
        out.append(f'<rect x="{x:.1f}" y="{top - 24:.1f}" width="14" height="9" fill="{_hex(col)}"/>')
        out.append(f'<text x="{x + 18:.1f}" y="{top - 16:.1f}" fill="{_INK}">{esc(nm)}</text>')
        x += w
    out.append(f'<text x="{left + pw / 2:.1f}" y="{total_h - 8:.1f}" text-anchor="middle" font-size="10" '
               f'fill="{_INK}">Percentage of responses</text>')
    return _close(out, "responses")


def _category(value: Any) -> str:
    """Legend text of a response category: 3.0 (from a float column) shows as 3."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
