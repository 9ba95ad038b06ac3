"""Figures of the factor analyses: scree plot with parallel analysis, loading heatmap."""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping

import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    _BLUE, _INK, _MUTED, _ORANGE, _PX, SVG, _apa, _as_frame, _axis_titles, _close, _dark, _hex, _labels,
    _nice_ticks, _numeric, _open, _rdbu, _text_width, _y_grid,
)


# --------------------------------------------------------------- scree plot
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
    # written as SVG directly (polylines, markers and text on a fixed layout), not through matplotlib:
    # its import and layout took about half a second per report (issue 16)
    esc = html.escape
    series = []  # (x, y, colour, dashed, label)
    for k, col in enumerate(obs.columns):
        c = colours[k % len(colours)]
        series.append(([float(v) for v in obs.index], obs[col].to_numpy(dtype=float), c, False, f"{col}, observed"))
        if sim is not None and col in sim.columns:
            series.append(([float(v) for v in sim.index], sim[col].to_numpy(dtype=float), c, True,
                           f"{col}, {simulated_label}"))
    x_all = [float(v) for v in obs.index]
    xs = [x for sx_, *_ in series for x in sx_]
    ys = [float(y) for _, sy_, *_ in series for y in sy_ if math.isfinite(y)] + [0.0] + ([1.0] if kaiser else [])
    x_lo, x_hi = min(xs), max(xs)
    pad_x = 0.05 * (x_hi - x_lo or 1.0)
    x_lo, x_hi = x_lo - pad_x, x_hi + pad_x
    y_ticks = _nice_ticks(min(ys), max(ys), 7)
    y_lo, y_hi = min(y_ticks[0], min(ys)), max(y_ticks[-1], max(ys))
    total_w, total_h = width * _PX, height * _PX
    left, right, top, bottom = 50.0, 12.0, 10.0, 42.0
    pw, ph = total_w - left - right, total_h - top - bottom

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * pw

    def sy(v: float) -> float:
        return top + (y_hi - v) / ((y_hi - y_lo) or 1.0) * ph

    out = _open(total_w, total_h)
    out += _y_grid(y_ticks, left, pw, sy, 0.6)
    for t in (x_all if len(x_all) <= 20 else x_all[:: math.ceil(len(x_all) / 20)]):
        out.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14:.1f}" text-anchor="middle" fill="#444444">{t:g}</text>')
    if kaiser:
        out.append(f'<line x1="{left:.1f}" y1="{sy(1.0):.1f}" x2="{left + pw:.1f}" y2="{sy(1.0):.1f}" '
                   f'stroke="{_MUTED}" stroke-width="0.8" stroke-dasharray="1,2"/>')
        out.append(f'<text x="{sx(x_all[-1]):.1f}" y="{sy(1.0) - 4:.1f}" text-anchor="end" font-size="8.5" '
                   f'fill="{_MUTED}">eigenvalue = 1</text>')
    if retained is not None:
        marks = retained.items() if isinstance(retained, Mapping) else [("", retained)]
        for k, (col, n) in enumerate(marks):
            out.append(f'<line x1="{sx(float(n)):.1f}" y1="{top:.1f}" x2="{sx(float(n)):.1f}" y2="{top + ph:.1f}" '
                       f'stroke="{_MUTED}" stroke-width="0.8"/>')
            text = f"{col}: {n} retained" if col else f"{n} retained"
            out.append(f'<text x="{sx(float(n)) + 4:.1f}" y="{top + 12 + 11 * k:.1f}" font-size="8.5" '
                       f'fill="{_MUTED}">{esc(text)}</text>')
    for x, y, c, dashed, _ in series:
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y) if math.isfinite(b))
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="{1.5 if dashed else 2:g}"{dash}/>')
        if not dashed:
            out += [f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="2.7" fill="{c}"/>'
                    for a, b in zip(x, y) if math.isfinite(b)]
    out.append(f'<path d="M{left:.1f},{top:.1f}V{top + ph:.1f}H{left + pw:.1f}" fill="none" stroke="#444444" '
               'stroke-width="1"/>')
    # legend, upper right
    lw = max(_text_width(lab, 9.5) for *_, lab in series) + 34
    for k, (_, _, c, dashed, lab) in enumerate(series):
        lx, ly = left + pw - lw, top + 12 + 13 * k
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        out.append(f'<line x1="{lx:.1f}" y1="{ly - 3:.1f}" x2="{lx + 24:.1f}" y2="{ly - 3:.1f}" stroke="{c}" '
                   f'stroke-width="{1.5 if dashed else 2:g}"{dash}/>')
        out.append(f'<text x="{lx + 30:.1f}" y="{ly:.1f}" fill="{_INK}">{esc(lab)}</text>')
    out += _axis_titles(left, pw, top, ph, total_h, "Factor / component number", "Eigenvalue")
    return _close(out, "scree")


# ------------------------------------------------------------ loading heatmap
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
        A diverging blue–white–red map from −1 to 1 (colour-blind safe RdBu). Written as
        SVG directly (one rectangle and one text per cell), not through matplotlib, which
        took over a second per report to lay out the cells and labels (issue 16).
    """
    frame = _numeric(_as_frame(loadings, "loadings"), "loadings")
    if frame.empty:
        raise DataError("loadings is empty: pass an items × factors DataFrame")
    n_items, n_factors = frame.shape
    item_labels = _labels(frame.index, labels, 48)
    longest = max(len(s) for s in item_labels)
    extra = 1 if communalities is not None else 0
    if width is None:
        width = min(7.0, 1.0 + 0.062 * longest + 0.62 * (n_factors + extra))
    esc = html.escape
    total_w = width * _PX
    left = 10.0 + max(_text_width(t, 9.5) for t in item_labels)
    top, bottom, right = 24.0, 8.0, 6.0
    cell_h = 0.23 * _PX
    cell_w = max(30.0, min(64.0, (total_w - left - right) / (n_factors + extra)))
    total_w = max(total_w, left + cell_w * (n_factors + extra) + right)
    total_h = top + n_items * cell_h + bottom
    values = frame.to_numpy()
    out = _open(total_w, total_h)
    cols = [str(c) for c in frame.columns] + (["h²"] if communalities is not None else [])
    for j, c in enumerate(cols):
        out.append(f'<text x="{left + (j + 0.5) * cell_w:.1f}" y="{top - 8:.1f}" text-anchor="middle" '
                   f'fill="#444444">{esc(c)}</text>')
    h2 = None
    if communalities is not None:
        h2 = pd.to_numeric(pd.Series(communalities), errors="coerce").reindex(frame.index).to_numpy(dtype=float)
    for i in range(n_items):
        y = top + i * cell_h
        out.append(f'<text x="{left - 6:.1f}" y="{y + cell_h / 2 + 3.3:.1f}" text-anchor="end" fill="#444444">'
                   f'{esc(item_labels[i])}</text>')
        for j in range(n_factors):
            v = values[i, j]
            if not math.isfinite(v):
                continue
            rgb = _rdbu(1.0 - (min(max(v, -1.0), 1.0) + 1.0) / 2.0)  # RdBu_r on [−1, 1]
            strong = abs(v) >= threshold
            fill = "white" if _dark(rgb) else (_INK if strong else "#5a5a5a")
            weight = ' font-weight="bold"' if strong else ""
            x = left + j * cell_w
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" '
                       f'fill="{_hex(rgb)}" stroke="white" stroke-width="1.6"/>')
            out.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 3:.1f}" text-anchor="middle" '
                       f'font-size="8.5" fill="{fill}"{weight}>{_apa(v)}</text>')
        if h2 is not None:
            out.append(f'<text x="{left + (n_factors + 0.5) * cell_w:.1f}" y="{y + cell_h / 2 + 3:.1f}" '
                       f'text-anchor="middle" font-size="8.5" fill="{_INK}">{_apa(h2[i])}</text>')
    return _close(out, "heatmap")
