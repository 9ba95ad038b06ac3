"""Figures of the factor analyses: scree plot with parallel analysis, loading heatmap."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    SVG, _BLUE, _GRID, _INK, _MUTED, _ORANGE, _apa, _as_frame, _cmap, _finish, _labels, _new_figure, _numeric, _styled,
)


# --------------------------------------------------------------- scree plot
@_styled("scree")
def scree_plot(
    observed: pd.Series | pd.DataFrame,
    simulated: pd.Series | pd.DataFrame | None = None,
    *,
    retained: int | Mapping[str, int] | None = None,
    simulated_label: str = "simulated",
    kaiser: bool = False,
    width: float = 6.0,
    height: float = 3.4,
) -> SVG:
    """Scree plot with parallel-analysis reference curves.

    Parameters
    ----------
    observed : Series or DataFrame
        Observed eigenvalues, indexed by factor/component number (1, 2, ...).
        One column per kind, e.g. ``"FA"`` (eigenvalues of the reduced
        correlation matrix) and ``"PCA"`` (of the correlation matrix).
    simulated : Series or DataFrame, optional
        Parallel-analysis reference eigenvalues (e.g. the 95th percentile of
        eigenvalues from random data, Horn 1965; Glorfeld 1995), same index,
        and columns named like those of ``observed``.
    retained : int or mapping, optional
        Number of factors retained (one number, or one per column), marked by a
        vertical rule.
    simulated_label : str
        Legend text for the simulated curves, e.g. ``"95th percentile, random data"``.
    kaiser : bool
        Draw the eigenvalue-1 line (Kaiser–Guttman), meaningful for PCA eigenvalues.

    Returns
    -------
    SVG
        Observed eigenvalues as solid lines with markers, simulated ones dashed,
        one colour per column.
    """
    obs = _numeric(_as_frame(observed, "observed"), "observed eigenvalues")
    sim = None if simulated is None else _numeric(_as_frame(simulated, "simulated"), "simulated eigenvalues")
    if sim is not None:
        unknown = [c for c in sim.columns if c not in obs.columns]
        if unknown and len(sim.columns) == len(obs.columns) == 1:
            sim.columns = obs.columns
        elif unknown:
            raise DataError(
                f"simulated eigenvalue columns {unknown} have no observed counterpart; "
                f"name them like the observed columns {list(obs.columns)}"
            )
    colours = [_BLUE, _ORANGE, "#4d7c3a", "#7a4b94"]
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    x_all = [float(v) for v in obs.index]
    for k, col in enumerate(obs.columns):
        c = colours[k % len(colours)]
        ax.plot(x_all, obs[col].to_numpy(), color=c, lw=1.6, marker="o", ms=4, label=f"{col}, observed")
        if sim is not None and col in sim.columns:
            ax.plot(
                [float(v) for v in sim.index],
                sim[col].to_numpy(),
                color=c,
                lw=1.2,
                ls=(0, (4, 2.5)),
                label=f"{col}, {simulated_label}",
            )
    if kaiser:
        ax.axhline(1.0, color=_MUTED, lw=0.8, ls=":", zorder=0)
        ax.annotate("eigenvalue = 1", (x_all[-1], 1.0), xytext=(0, 3), textcoords="offset points",
                    ha="right", va="bottom", fontsize=8.5, color=_MUTED)
    if retained is not None:
        marks = retained.items() if isinstance(retained, Mapping) else [("", retained)]
        for k, (col, n) in enumerate(marks):
            ax.axvline(float(n), color=_MUTED, lw=0.8, ls="-", zorder=0)
            text = f"{col}: {n} retained" if col else f"{n} retained"
            ax.annotate(text, (float(n), 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3 - 11 * k),
                        textcoords="offset points", ha="left", va="top", fontsize=8.5, color=_MUTED)
    ax.axhline(0.0, color=_GRID, lw=0.6, zorder=0)
    ax.set_xlabel("Factor / component number")
    ax.set_ylabel("Eigenvalue")
    ax.set_xticks(x_all if len(x_all) <= 20 else x_all[:: math.ceil(len(x_all) / 20)])
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.grid(axis="y", color=_GRID, lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="upper right", handlelength=2.6)
    return _finish(fig, "scree")


# ------------------------------------------------------------ loading heatmap
@_styled("heatmap")
def loading_heatmap(
    loadings: pd.DataFrame,
    *,
    labels: Mapping[Hashable, str] | pd.Series | None = None,
    threshold: float = 0.30,
    communalities: pd.Series | None = None,
    width: float | None = None,
) -> SVG:
    """Heatmap of a loading (pattern) matrix with the values written in.

    Parameters
    ----------
    loadings : DataFrame
        Items × factors; NaN cells (e.g. loadings fixed to zero) are left blank.
    labels : mapping or Series, optional
        Display label per item id (e.g. ``"E1 Don't talk a lot."``), truncated
        to 48 characters; default the item ids.
    threshold : float
        Loadings with absolute value at or above it are printed in bold; the
        rest are printed lighter (salient-loading convention, e.g. .30).
    communalities : Series, optional
        h² per item, shown as an extra column at the right.

    Returns
    -------
    SVG
        A diverging blue–white–red map from −1 to 1 (colour-blind safe RdBu).
    """
    from matplotlib.colors import Normalize

    frame = _numeric(_as_frame(loadings, "loadings"), "loadings")
    if frame.empty:
        raise DataError("loadings is empty: pass an items × factors DataFrame")
    n_items, n_factors = frame.shape
    item_labels = _labels(frame.index, labels, 48)
    longest = max(len(s) for s in item_labels)
    extra = 1 if communalities is not None else 0
    if width is None:
        width = min(7.0, 1.0 + 0.062 * longest + 0.62 * (n_factors + extra))
    height = 0.95 + 0.23 * n_items
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    cmap = _cmap("RdBu_r")
    norm = Normalize(-1.0, 1.0)
    values = frame.to_numpy()
    masked = np.ma.masked_invalid(values)
    # pcolormesh (not imshow) so the cells are vector paths, not an embedded bitmap
    ax.pcolormesh(np.arange(n_factors + 1) - 0.5, np.arange(n_items + 1) - 0.5, masked, cmap=cmap, norm=norm,
                  edgecolors="white", linewidth=1.2)
    ax.set_ylim(n_items - 0.5, -0.5)
    ax.set_xlim(-0.5, n_factors - 0.5)
    for i in range(n_items):
        for j in range(n_factors):
            v = values[i, j]
            if not math.isfinite(v):
                continue
            r, g, b, _ = cmap(norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            strong = abs(v) >= threshold
            ax.text(j, i, _apa(v), ha="center", va="center", fontsize=8.5,
                    fontweight="bold" if strong else "normal",
                    color="white" if dark else (_INK if strong else "#5a5a5a"))
    if communalities is not None:
        h2 = pd.to_numeric(pd.Series(communalities), errors="coerce").reindex(frame.index)
        for i, v in enumerate(h2.to_numpy(dtype=float)):
            ax.text(n_factors, i, _apa(v), ha="center", va="center", fontsize=8.5, color=_INK)
        ax.set_xlim(-0.5, n_factors + 0.5)
    ax.set_yticks(range(n_items), item_labels)
    cols = [str(c) for c in frame.columns] + (["h²"] if communalities is not None else [])
    ax.set_xticks(range(len(cols)), cols)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    return _finish(fig, "heatmap")
