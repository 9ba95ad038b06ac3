"""Item response distributions (diverging stacked bars)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    SVG, _GRID, _INK, _as_frame, _cmap, _finish, _labels, _new_figure, _numeric, _styled,
)


# ------------------------------------------------- item response distribution
@_styled("responses")
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
        Percentages of 5 % or more are written on the bars.
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
    height = 1.2 + 0.26 * n_items
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    cmap = _cmap("RdBu")
    # disagreement in reds, agreement in blues, a neutral middle category in grey; the
    # near-white centre of the colour map is skipped so every category stays visible
    half = k // 2
    low = np.linspace(0.04, 0.34, half) if half > 1 else np.array([0.2] * half)
    colours = [cmap(x) for x in low]
    if k % 2:
        colours.append((0.80, 0.80, 0.80, 1.0))
    colours += [cmap(1.0 - x) for x in low[::-1]]
    values = pct.to_numpy()
    if centered:
        half = k // 2
        left_of_centre = values[:, :half].sum(axis=1) + (values[:, half] / 2.0 if k % 2 else 0.0)
        starts = -left_of_centre
    else:
        starts = np.zeros(n_items)
    y = np.arange(n_items)
    for j in range(k):
        seg = values[:, j]
        ax.barh(y, seg, left=starts, height=0.72, color=colours[j], edgecolor="white", linewidth=0.6,
                label=_category(pct.columns[j]))
        r, g, b, _ = colours[j]
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        for i in range(n_items):
            if seg[i] >= 5.0:
                ax.text(starts[i] + seg[i] / 2.0, i, f"{seg[i]:.0f}", ha="center", va="center",
                        fontsize=8, color="white" if dark else _INK)
        starts = starts + seg
    ax.set_yticks(y, item_labels)
    ax.invert_yaxis()
    if centered:
        lim = max(50.0, float(np.ceil(np.max(np.abs(np.c_[starts, starts - values.sum(axis=1)])) / 10.0) * 10.0))
        ax.set_xlim(-lim, lim)
        ax.axvline(0.0, color="#444444", lw=0.8)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{abs(v):g}%")
    else:
        ax.set_xlim(0.0, 100.0)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}%")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color=_GRID, lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(k, 7), handlelength=1.2,
              columnspacing=1.0, borderaxespad=0.3)
    ax.set_xlabel("Percentage of responses")
    return _finish(fig, "responses")


def _category(value: Any) -> str:
    """Legend text of a response category: 3.0 (from a float column) shows as 3."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
