"""IRT figures: category response curves and information curves."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import _BLUE, _GRID, _INK, SVG, _finish, _new_figure, _styled, _truncate

__all__ = ["category_response_curves", "information_curves"]


@_styled("irt_crc")
def category_response_curves(curves: Mapping[str, pd.DataFrame], *, columns: int = 4, width: float = 6.5) -> SVG:
    """One panel per item: P(X = k | θ) for every category k.

    ``curves`` maps item → DataFrame indexed by θ with one column per category label.
    """
    if not curves:
        raise DataError("no category response curves to draw")
    items = list(curves)
    cols = min(columns, len(items))
    rows = math.ceil(len(items) / cols)
    height = 0.4 + 1.35 * rows
    fig = _new_figure(width, height, layout=None)
    # panels placed by hand (inches → figure fractions) and fixed ticks: the constrained
    # layout and automatic tick placement cost ~10× the drawing itself for 28 small panels
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.1 / width, bottom=0.45 / height, top=1 - 0.3 / height,
                        wspace=0.12, hspace=0.45)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for ax, item in zip(axes, items):
        frame = curves[item]
        k = frame.shape[1]
        for i, col in enumerate(frame.columns):
            ax.plot(frame.index, frame[col], lw=1.1, color=cmap(i / max(k - 1, 1)), label=str(col))
        ax.set_title(_truncate(str(item), 18), fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_yticks([0.0, 0.5, 1.0], ["0", ".5", "1"])
        lo, hi = float(frame.index.min()), float(frame.index.max())
        ax.set_xticks([t for t in range(math.ceil(lo), math.floor(hi) + 1) if t % 2 == 0])
        ax.grid(color=_GRID, lw=0.5)
        ax.tick_params(labelsize=7)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, frameon=False, loc="center left", title="category", title_fontsize=6)
    fig.supxlabel("θ", fontsize=9, y=0.02)
    fig.supylabel("P(category | θ)", fontsize=9, x=0.02)
    return _finish(fig, "irt_crc")


@_styled("irt_info")
def information_curves(information: Mapping[str, pd.Series], *, width: float = 6.5) -> SVG:
    """Test information of each score against θ (one line per score), with SE(θ) on a second axis."""
    if not information:
        raise DataError("no information curves to draw")
    fig = _new_figure(width, 2.8)
    ax = fig.subplots()
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    for i, (name, series) in enumerate(information.items()):
        ax.plot(series.index, series.to_numpy(), lw=1.4, color=cmap(i % 10) if i else _BLUE, label=str(name))
    ax.set_xlabel("θ")
    ax.set_ylabel("test information I(θ)")
    ax.grid(color=_GRID, lw=0.5)
    ax.axhline(10.0, color=_INK, lw=0.8, ls=(0, (2.5, 1.5)))
    ax.annotate("I = 10 (reliability .90)", (series.index[0], 10.0), xytext=(2, 2), textcoords="offset points",
                fontsize=7, color=_INK)
    ax.legend(fontsize=7, frameon=False)
    return _finish(fig, "irt_info")
