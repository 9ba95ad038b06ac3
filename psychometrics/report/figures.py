"""Figures for the validation report, as inline SVG.

Every function here is pure: it takes plain labelled pandas objects (item ids as
the index, factor or category names as the columns) and returns an :class:`SVG`
string that can be placed directly into an HTML page. The functions know
nothing about the analysis classes, so any table of the right shape can be
plotted.

Why SVG and why this way:

* Text stays text (``svg.fonttype = "none"``): figures are searchable, small,
  sharp at any zoom and print well.
* No external resources: nothing is linked, fonts are named by a CSS font
  stack, so the report works offline and under a strict Content-Security-Policy.
* Deterministic: the SVG carries no date, element ids come from a fixed salt,
  so the same input gives byte-identical output (reports can be diffed).
* matplotlib is imported inside the functions and only its object-oriented API
  is used (``Figure`` + ``FigureCanvasSVG``); ``matplotlib.use`` is never
  called, so importing :mod:`psychometrics` does not change a user's backend.
* Text from users (item ids, labels, category names) is escaped: matplotlib
  escapes the text it writes, the hand-written path diagram uses
  :func:`html.escape`, and mathtext parsing is switched off so a ``$`` in an
  item label is shown as a dollar sign.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import math
import re
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError

__all__ = [
    "SVG",
    "FONT_STACK",
    "scree_plot",
    "loading_heatmap",
    "response_distribution",
    "cfa_path_diagram",
    "invariance_delta_chart",
]

#: CSS font stack written into every figure; the report's sans-serif stack.
FONT_STACK = ["Helvetica Neue", "Helvetica", "Arial", "Liberation Sans", "DejaVu Sans"]

_INK = "#222222"
_GRID = "#d9d9d9"
_MUTED = "#6b6b6b"
_BLUE = "#2f5d8a"
_ORANGE = "#c0622b"
_RED = "#b2182b"


class SVG(str):
    """An SVG document produced by this module, safe to insert into HTML.

    It is a ``str``; ``__html__`` tells jinja2/markupsafe that it needs no
    escaping, and ``_repr_svg_`` displays it in Jupyter. Only functions in
    :mod:`psychometrics.report.figures` create it, which is how
    :func:`psychometrics.report.build.render_report` knows a figure is ours and
    not a string from user input.
    """

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)

    def _repr_svg_(self) -> str:
        return str(self)


# ------------------------------------------------------------------ helpers
def _rc(kind: str) -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        # ids of clip paths and markers are hashes salted with the figure kind: stable
        # across runs and distinct between different figures inlined in one page.
        "svg.hashsalt": f"psychometrics-{kind}",
        "svg.id": None,
        "text.parse_math": False,
        "text.usetex": False,
        "font.family": "sans-serif",
        "font.sans-serif": FONT_STACK,
        "font.size": 10.0,
        "axes.titlesize": 10.5,
        "axes.labelsize": 10.0,
        "xtick.labelsize": 9.5,
        "ytick.labelsize": 9.5,
        "legend.fontsize": 9.5,
        "axes.edgecolor": "#444444",
        "axes.labelcolor": _INK,
        "text.color": _INK,
        "xtick.color": "#444444",
        "ytick.color": "#444444",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "path.simplify": False,
    }


def _styled(kind: str):
    """Run a figure function under the report's rcParams (axes read them when created).

    ``rc_context`` restores the user's settings afterwards; no global state changes.
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            import matplotlib

            with matplotlib.rc_context(_rc(kind)):
                return func(*args, **kwargs)

        return wrapper

    return decorate


def _new_figure(width: float, height: float):
    """A matplotlib Figure with its own SVG canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig


_XML_HEADER = re.compile(r"^\s*<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _finish(fig, kind: str) -> SVG:
    """Serialise ``fig`` as inline SVG: no XML prolog, no metadata, no date."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = _XML_HEADER.sub("", buf.getvalue())
    text = _METADATA.sub("", text)
    return SVG(_accessible(_scope_ids(text.strip(), kind), _NAMES.get(kind, kind)))


_NAMES = {"scree": "Scree plot with parallel analysis", "heatmap": "Loading heatmap",
          "responses": "Item response distributions", "invariance": "Change in fit between invariance models"}


_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def _scope_ids(svg: str, kind: str) -> str:
    """Make element ids unique within an HTML page that inlines several figures.

    matplotlib names groups ``figure_1``, ``axes_1``, ... in every figure; ids
    must be unique in a document, so unreferenced ids are dropped and
    referenced ones (clip paths, markers) get a prefix derived from the
    figure's own content (deterministic, and different for different figures).
    """
    referenced = {m.group(2) for m in _REF.finditer(svg)}
    prefix = f"psy-{kind}-{hashlib.sha256(svg.encode()).hexdigest()[:8]}-"

    def fix_id(m: re.Match[str]) -> str:
        return f' id="{prefix}{m.group(1)}"' if m.group(1) in referenced else ""

    svg = _ID.sub(fix_id, svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def _accessible(svg: str, label: str) -> str:
    """Give the root element a role and an accessible name."""
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def _as_frame(obj: pd.Series | pd.DataFrame, name: str) -> pd.DataFrame:
    if isinstance(obj, pd.Series):
        return obj.to_frame(name=obj.name if obj.name is not None else name)
    if isinstance(obj, pd.DataFrame):
        return obj
    raise TypeError(f"{name} must be a pandas Series or DataFrame, got {type(obj).__name__}")


def _numeric(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    try:
        return frame.apply(pd.to_numeric, errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} must hold numbers only: {exc}") from None


def _apa(x: float, digits: int = 2) -> str:
    """APA number for a value bounded by 1: no leading zero, true minus sign."""
    if not math.isfinite(x):
        return "—"
    s = f"{abs(x):.{digits}f}"
    if s.startswith("0."):
        s = s[1:]
    if float(f"{x:.{digits}f}") < 0:
        s = "\u2212" + s
    return s


def _truncate(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _labels(index: pd.Index, labels: Mapping[Hashable, str] | pd.Series | None, width: int) -> list[str]:
    if labels is None:
        return [str(i) for i in index]
    mapping = dict(labels.items()) if isinstance(labels, pd.Series) else dict(labels)
    return [_truncate(mapping.get(i, str(i)), width) for i in index]


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


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


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


# --------------------------------------------------------- CFA path diagram
def cfa_path_diagram(
    loadings: pd.DataFrame,
    factor_correlations: pd.DataFrame | None = None,
    *,
    residuals: pd.Series | None = None,
) -> SVG:
    """Path diagram of a CFA model with standardized estimates.

    Factors are ellipses on the left, items are boxes on the right, in the
    order of ``loadings``' index grouped by their first factor. Arrows carry the
    standardized loadings, curved double-headed arrows on the left carry the
    factor correlations, and short arrows on the right the standardized residual
    variances. Estimates outside [−1, 1] (Heywood cases) are printed in red.

    Parameters
    ----------
    loadings : DataFrame
        Items × factors standardized loadings (``std.all`` in lavaan, e.g.
        ``CFAResult.std_loadings``); NaN or exactly 0 where an item does not load
        on a factor. For a multi-group model pass one group's rows.
    factor_correlations : DataFrame, optional
        Factors × factors correlation matrix (only the lower triangle is used).
    residuals : Series, optional
        Standardized residual variance per item (1 − R² for a congeneric item).

    Returns
    -------
    SVG
        Hand-written SVG (no matplotlib): every label is escaped with
        :func:`html.escape`.
    """
    lam = _numeric(_as_frame(loadings, "loadings"), "standardized loadings")
    # psychometrics.cfa reports 0 where an item does not load; an estimated loading is never exactly 0
    lam = lam.mask(lam == 0.0)
    if lam.empty:
        raise DataError("loadings is empty: pass an items × factors DataFrame")
    factors = list(lam.columns)
    present = lam.notna()
    orphans = lam.index[~present.any(axis=1)].tolist()
    if orphans:
        raise DataError(f"items {orphans} load on no factor (all NaN); remove them or give their loadings")
    # items grouped by the first factor they load on, keeping the given order within a factor
    first = present.to_numpy().argmax(axis=1)
    order = sorted(range(len(lam.index)), key=lambda i: (first[i], i))
    items = [lam.index[i] for i in order]
    lam = lam.loc[items]
    phi = None
    if factor_correlations is not None:
        phi = _numeric(_as_frame(factor_correlations, "factor_correlations"), "factor correlations")
        missing = [f for f in factors if f not in phi.index or f not in phi.columns]
        if missing:
            raise DataError(f"factor_correlations lacks rows/columns for factors {missing}")
    res = None
    if residuals is not None:
        res = pd.to_numeric(pd.Series(residuals), errors="coerce").reindex(items)

    font = 12.0

    def text_w(s: str, size: float = font) -> float:
        return len(s) * 0.6 * size

    row_h = 28.0
    box_h = 20.0
    item_names = [str(i) for i in items]
    factor_names = [str(f) for f in factors]
    box_w = max(36.0, max(text_w(s) for s in item_names) + 16.0)
    rx = max(34.0, max(text_w(s) for s in factor_names) / 2.0 + 14.0)
    ry = 17.0
    n_pairs = len(factors) * (len(factors) - 1) // 2 if phi is not None else 0
    arc_base, arc_step = 34.0, 20.0
    left = 12.0 + (arc_base + arc_step * max(n_pairs - 1, 0) + 18.0 if n_pairs else 0.0)
    fx = left + rx
    ix = fx + rx + 190.0  # left edge of the item boxes
    res_len = 34.0 if res is not None else 0.0
    width = ix + box_w + (res_len + 36.0 if res is not None else 12.0)
    top = 14.0
    item_y = {name: top + row_h * (k + 0.5) for k, name in enumerate(items)}
    height = top * 2 + row_h * len(items)
    factor_y: dict[Hashable, float] = {}
    for f in factors:
        ys = [item_y[i] for i in items if math.isfinite(lam.at[i, f])]
        factor_y[f] = float(np.mean(ys)) if ys else top + row_h / 2
    # keep factor ellipses apart when cross-loadings pull their centres together
    ordered = sorted(factors, key=lambda f: factor_y[f])
    for a, b in zip(ordered, ordered[1:]):
        if factor_y[b] - factor_y[a] < 2 * ry + 10:
            factor_y[b] = factor_y[a] + 2 * ry + 10
    height = max(height, max(factor_y.values()) + ry + top)

    digest = hashlib.sha256(
        pd.util.hash_pandas_object(lam, index=True).to_numpy().tobytes()
        + repr((factor_names, item_names)).encode()
    ).hexdigest()[:8]
    mid = f"psy-arrow-{digest}"
    esc = html.escape
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="CFA path diagram" '
        f'width="{width:.0f}pt" height="{height:.0f}pt" viewBox="0 0 {width:.1f} {height:.1f}" '
        f'font-family="{esc(", ".join(repr(f) if " " in f else f for f in FONT_STACK))}, sans-serif" '
        f'font-size="{font:g}" fill="{_INK}">',
        "<defs>"
        f'<marker id="{mid}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse" markerUnits="userSpaceOnUse">'
        f'<path d="M0,1 L10,5 L0,9 z" fill="{_INK}"/></marker></defs>',
    ]

    def label(x: float, y: float, text: str, colour: str = _INK) -> None:
        w = text_w(text, 11.0) + 6.0
        out.append(
            f'<rect x="{x - w / 2:.1f}" y="{y - 7.5:.1f}" width="{w:.1f}" height="15" rx="2" fill="white"/>'
            f'<text x="{x:.1f}" y="{y + 3.6:.1f}" font-size="11" text-anchor="middle" fill="{colour}">'
            f"{esc(text)}</text>"
        )

    def fmt(v: float) -> tuple[str, str]:
        return _apa(v, 2), (_RED if math.isfinite(v) and abs(v) > 1.0 else _INK)

    # loadings: arrows from the ellipse edge to the box's left side
    labels_later: list[tuple[float, float, str, str]] = []
    for f in factors:
        cy = factor_y[f]
        for i in items:
            v = lam.at[i, f]
            if not math.isfinite(v):
                continue
            ty = item_y[i]
            dx, dy = ix - fx, ty - cy
            t = 1.0 / math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)  # ellipse boundary along the ray
            sx, sy = fx + dx * t, cy + dy * t
            out.append(
                f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ix - 1:.1f}" y2="{ty:.1f}" stroke="{_INK}" '
                f'stroke-width="0.9" marker-end="url(#{mid})"/>'
            )
            p = 0.72
            text, colour = fmt(v)
            labels_later.append((sx + (ix - sx) * p, sy + (ty - sy) * p, text, colour))
    # factor correlations: cubic arcs on the left, widest for the longest span
    if phi is not None and n_pairs:
        pairs = [(a, b) for k, a in enumerate(factors) for b in factors[k + 1:]]
        pairs.sort(key=lambda ab: (abs(factor_y[ab[1]] - factor_y[ab[0]]), factor_y[ab[0]]))
        for k, (a, b) in enumerate(pairs):
            v = phi.at[b, a] if math.isfinite(phi.at[b, a]) else phi.at[a, b]
            ya, yb = sorted((factor_y[a], factor_y[b]))
            x0 = fx - rx
            bulge = arc_base + arc_step * k
            out.append(
                f'<path d="M{x0 - 1:.1f},{ya:.1f} C{x0 - bulge:.1f},{ya:.1f} {x0 - bulge:.1f},{yb:.1f} '
                f'{x0 - 1:.1f},{yb:.1f}" fill="none" stroke="{_MUTED}" stroke-width="0.9" '
                f'marker-start="url(#{mid})" marker-end="url(#{mid})"/>'
            )
            text, colour = fmt(v)
            labels_later.append((x0 - 0.75 * bulge, (ya + yb) / 2.0, text, colour))
    # factors
    for f, name in zip(factors, factor_names):
        cy = factor_y[f]
        out.append(
            f'<ellipse cx="{fx:.1f}" cy="{cy:.1f}" rx="{rx:.1f}" ry="{ry:.1f}" fill="#eef2f7" '
            f'stroke="{_INK}" stroke-width="1.1"/>'
            f'<text x="{fx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-weight="bold">{esc(name)}</text>'
        )
    # items and residuals
    for i, name in zip(items, item_names):
        ty = item_y[i]
        out.append(
            f'<rect x="{ix:.1f}" y="{ty - box_h / 2:.1f}" width="{box_w:.1f}" height="{box_h:.1f}" '
            f'fill="white" stroke="{_INK}" stroke-width="0.9"/>'
            f'<text x="{ix + box_w / 2:.1f}" y="{ty + 4:.1f}" text-anchor="middle">{esc(name)}</text>'
        )
        if res is not None:
            v = res.at[i]
            x1 = ix + box_w
            out.append(
                f'<line x1="{x1 + res_len:.1f}" y1="{ty:.1f}" x2="{x1 + 1:.1f}" y2="{ty:.1f}" stroke="{_MUTED}" '
                f'stroke-width="0.8" marker-end="url(#{mid})"/>'
            )
            text = _apa(v, 2)
            colour = _RED if math.isfinite(v) and (v < 0 or v > 1) else _MUTED
            out.append(
                f'<text x="{x1 + res_len + 3:.1f}" y="{ty + 3.6:.1f}" font-size="11" fill="{colour}">'
                f"{esc(text)}</text>"
            )
    for x, y, text, colour in labels_later:
        label(x, y, text, colour)
    out.append("</svg>")
    return SVG("".join(out))
