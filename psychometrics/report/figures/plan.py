"""Power curves of a Monte Carlo sample-size plan, as inline SVG."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import _BLUE, _GRID, _INK, _ORANGE, _RED, SVG, _apa, _finish, _new_figure, _styled

__all__ = ["power_curves"]

_COLOURS = [_BLUE, _ORANGE, _RED, "#4d8f3a", "#7a4f9a", "#8c6d1f"]


@_styled("power")
def power_curves(curves: pd.DataFrame, target: float = 0.80, *, title: str = "", width: float = 6.5) -> SVG:
    """Estimated rate against n, one line per series, with ±1.96 MC SE bands and the target.

    Parameters
    ----------
    curves : DataFrame
        Columns ``series`` (legend label), ``n``, ``estimate`` and ``mcse``.
    target : float
        Drawn as a dashed horizontal line.
    """
    need = {"series", "n", "estimate", "mcse"}
    if not need <= set(curves.columns):
        raise DataError(f"curves needs columns {sorted(need)}, has {list(curves.columns)}")
    fig = _new_figure(width, 3.0)
    ax = fig.subplots()
    for i, (label, g) in enumerate(curves.groupby("series", sort=False)):
        g = g.sort_values("n")
        n = g["n"].to_numpy(dtype=float)
        est = g["estimate"].to_numpy(dtype=float)
        se = np.nan_to_num(g["mcse"].to_numpy(dtype=float))
        colour = _COLOURS[i % len(_COLOURS)]
        ax.fill_between(n, np.clip(est - 1.96 * se, 0, 1), np.clip(est + 1.96 * se, 0, 1), color=colour, alpha=0.15,
                        lw=0)
        ax.plot(n, est, marker="o", ms=3.5, color=colour, lw=1.4, label=str(label))
    ax.axhline(target, color=_INK, lw=0.9, ls=(0, (3, 2)))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xscale("log")
    ns = sorted(set(curves["n"].astype(int)))
    ax.set_xticks(ns, [str(v) for v in ns])
    ax.minorticks_off()
    ax.yaxis.set_major_formatter(lambda v, _pos: _apa(v, 2))
    ax.set_xlabel("n (total)")
    ax.set_ylabel("rate")
    if title:
        ax.set_title(title)
    ax.grid(color=_GRID, lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return _finish(fig, "power")
