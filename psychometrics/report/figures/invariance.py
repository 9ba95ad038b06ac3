"""The change in fit between measurement-invariance models."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    SVG, _BLUE, _GRID, _INK, _RED, _apa, _as_frame, _finish, _new_figure, _numeric, _styled,
)


# ---------------------------------------------------------- invariance chart
@_styled("invariance")
def invariance_delta_chart(
    deltas: pd.DataFrame,
    cutoffs: Mapping[Hashable, float | Mapping[Hashable, float]],
    *,
    width: float = 6.5,
) -> SVG:
    """Change in fit between successive invariance models, against decision cut-offs.

    Parameters
    ----------
    deltas : DataFrame
        One row per invariance level in order (e.g. ``metric``, ``scalar``,
        ``strict``), one column per index (e.g. ``ΔCFI``, ``ΔRMSEA``,
        ``ΔSRMR``); each value is the more constrained model's fit minus the
        previous model's fit.
    cutoffs : mapping
        Per column, the signed cut-off beyond which invariance is rejected: a
        negative value means "reject when Δ is below it" (ΔCFI ≤ −.010), a
        positive one "reject when Δ is above it" (ΔRMSEA ≥ .015). A value may be
        a mapping level → cut-off when it differs between levels (Chen, 2007:
        ΔSRMR .030 for metric, .010 for scalar and strict). Columns without a
        cut-off are drawn without a reference line.

    Returns
    -------
    SVG
        One panel per index; bars beyond their cut-off are red, with the
        cut-off drawn as a dashed line in each level's row.
    """
    frame = _numeric(_as_frame(deltas, "deltas"), "fit differences")
    if frame.empty:
        raise DataError("deltas is empty: pass one row per invariance level and one column per fit index")
    unknown = [c for c in cutoffs if c not in frame.columns]
    if unknown:
        raise DataError(f"cut-offs given for {unknown}, which are not columns of deltas {list(frame.columns)}")
    levels = [str(i) for i in frame.index]
    n_levels, n_idx = frame.shape
    fig = _new_figure(width, 0.9 + 0.42 * n_levels)
    axes = fig.subplots(1, n_idx, sharey=True, squeeze=False)[0]
    y = np.arange(n_levels)
    for ax, col in zip(axes, frame.columns):
        vals = frame[col].to_numpy()
        cut = cutoffs.get(col)
        per_level = [
            (float(cut.get(lvl, np.nan)) if isinstance(cut, Mapping) else (np.nan if cut is None else float(cut)))
            for lvl in frame.index
        ]
        bad = [
            math.isfinite(c) and math.isfinite(v) and (v < c if c < 0 else v > c) for v, c in zip(vals, per_level)
        ]
        ax.barh(y, np.nan_to_num(vals), height=0.55, color=[_RED if b else _BLUE for b in bad])
        ax.axvline(0.0, color="#444444", lw=0.8)
        span = max([abs(v) for v in vals if math.isfinite(v)] + [abs(c) for c in per_level if math.isfinite(c)]
                   + [0.005])
        ax.set_xlim(-1.75 * span, 1.75 * span)
        for i, (v, c) in enumerate(zip(vals, per_level)):
            if math.isfinite(c):
                ax.plot([c, c], [i - 0.42, i + 0.42], color=_INK, lw=1.0, ls=(0, (2.5, 1.5)))
            text = "—" if not math.isfinite(v) else _apa(v, 3)
            ax.annotate(text, (v if math.isfinite(v) else 0.0, i), xytext=(3 if not v < 0 else -3, 0),
                        textcoords="offset points", va="center", ha="left" if not v < 0 else "right",
                        fontsize=8.5, color=_INK, zorder=5,
                        # a white box keeps the value readable where it crosses a cut-off line
                        bbox={"boxstyle": "square,pad=0.08", "fc": "white", "ec": "none"})
        ax.set_title(str(col))
        ax.xaxis.set_major_formatter(lambda v, _pos: _apa(v, 3) if v else "0")
        ax.xaxis.set_major_locator(_max_n_locator(3))
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color=_GRID, lw=0.5)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y, levels)
    axes[0].invert_yaxis()
    return _finish(fig, "invariance")


def _max_n_locator(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=n, symmetric=True)
