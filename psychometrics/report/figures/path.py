"""CFA path diagram with standardized estimates (hand-written SVG)."""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import FONT_STACK, SVG, _INK, _MUTED, _RED, _apa, _as_frame, _numeric


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
    lam, items, factors, phi, res = _inputs(loadings, factor_correlations, residuals)
    g = _layout(lam, items, factors, phi is not None, res is not None)
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(lam, index=True).to_numpy().tobytes()
        + repr((g.factor_names, g.item_names)).encode()
    ).hexdigest()[:8]
    mid = f"psy-arrow-{digest}"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="CFA path diagram" '
        f'width="{g.width:.0f}pt" height="{g.height:.0f}pt" viewBox="0 0 {g.width:.1f} {g.height:.1f}" '
        f'font-family="{_esc(", ".join(repr(f) if " " in f else f for f in FONT_STACK))}, sans-serif" '
        f'font-size="{_FONT:g}" fill="{_INK}">',
        "<defs>"
        f'<marker id="{mid}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse" markerUnits="userSpaceOnUse">'
        f'<path d="M0,1 L10,5 L0,9 z" fill="{_INK}"/></marker></defs>',
    ]
    # value labels are drawn last, over the lines
    labels = _loading_arrows(out, g, lam, items, factors, mid)
    if phi is not None and g.n_pairs:
        labels += _correlation_arcs(out, g, phi, factors, mid)
    for f, name in zip(factors, g.factor_names):
        cy = g.factor_y[f]
        out.append(
            f'<ellipse cx="{g.fx:.1f}" cy="{cy:.1f}" rx="{g.rx:.1f}" ry="{g.ry:.1f}" fill="#eef2f7" '
            f'stroke="{_INK}" stroke-width="1.1"/>'
            f'<text x="{g.fx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-weight="bold">{_esc(name)}</text>'
        )
    _item_boxes(out, g, items, res, mid)
    for x, y, text, colour in labels:
        w = _text_w(text, 11.0) + 6.0
        out.append(
            f'<rect x="{x - w / 2:.1f}" y="{y - 7.5:.1f}" width="{w:.1f}" height="15" rx="2" fill="white"/>'
            f'<text x="{x:.1f}" y="{y + 3.6:.1f}" font-size="11" text-anchor="middle" fill="{colour}">'
            f"{_esc(text)}</text>"
        )
    out.append("</svg>")
    return SVG("".join(out))


_FONT = 12.0
_esc = html.escape


def _text_w(s: str, size: float = _FONT) -> float:
    """Approximate width of ``s`` in points (no font metrics in hand-written SVG)."""
    return len(s) * 0.6 * size


def _value(v: float) -> tuple[str, str]:
    """Label text and colour of an estimate (red outside [−1, 1]: a Heywood case)."""
    return _apa(v, 2), (_RED if math.isfinite(v) and abs(v) > 1.0 else _INK)


def _inputs(loadings: pd.DataFrame, factor_correlations: pd.DataFrame | None, residuals: pd.Series | None):
    """Checked inputs: (loadings with NaN for no path, items grouped by first factor, factors, phi, residuals)."""
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
    return lam, items, factors, phi, res


@dataclass(frozen=True)
class _Layout:
    """Geometry of the diagram (points): factor column ``fx``, item boxes from ``ix``, rows, arcs."""

    item_names: list[str]
    factor_names: list[str]
    box_w: float
    box_h: float
    rx: float
    ry: float
    n_pairs: int
    arc_base: float
    arc_step: float
    fx: float
    ix: float
    res_len: float
    width: float
    height: float
    item_y: dict[Hashable, float]
    factor_y: dict[Hashable, float]


def _layout(lam: pd.DataFrame, items: list, factors: list, with_phi: bool, with_res: bool) -> _Layout:
    row_h = 28.0
    item_names = [str(i) for i in items]
    factor_names = [str(f) for f in factors]
    box_w = max(36.0, max(_text_w(s) for s in item_names) + 16.0)
    rx = max(34.0, max(_text_w(s) for s in factor_names) / 2.0 + 14.0)
    ry = 17.0
    n_pairs = len(factors) * (len(factors) - 1) // 2 if with_phi else 0
    arc_base, arc_step = 34.0, 20.0
    left = 12.0 + (arc_base + arc_step * max(n_pairs - 1, 0) + 18.0 if n_pairs else 0.0)
    fx = left + rx
    ix = fx + rx + 190.0  # left edge of the item boxes
    res_len = 34.0 if with_res else 0.0
    width = ix + box_w + (res_len + 36.0 if with_res else 12.0)
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
    return _Layout(item_names, factor_names, box_w, 20.0, rx, ry, n_pairs, arc_base, arc_step, fx, ix, res_len, width,
                   height, item_y, factor_y)


def _loading_arrows(out: list[str], g: _Layout, lam: pd.DataFrame, items: list, factors: list,
                    mid: str) -> list[tuple[float, float, str, str]]:
    """Arrows from the ellipse edge to the box's left side; returns their value labels."""
    labels = []
    for f in factors:
        cy = g.factor_y[f]
        for i in items:
            v = lam.at[i, f]
            if not math.isfinite(v):
                continue
            ty = g.item_y[i]
            dx, dy = g.ix - g.fx, ty - cy
            t = 1.0 / math.sqrt((dx / g.rx) ** 2 + (dy / g.ry) ** 2)  # ellipse boundary along the ray
            sx, sy = g.fx + dx * t, cy + dy * t
            out.append(
                f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{g.ix - 1:.1f}" y2="{ty:.1f}" stroke="{_INK}" '
                f'stroke-width="0.9" marker-end="url(#{mid})"/>'
            )
            p = 0.72
            text, colour = _value(v)
            labels.append((sx + (g.ix - sx) * p, sy + (ty - sy) * p, text, colour))
    return labels


def _correlation_arcs(out: list[str], g: _Layout, phi: pd.DataFrame, factors: list,
                      mid: str) -> list[tuple[float, float, str, str]]:
    """Factor correlations as cubic arcs on the left, widest for the longest span; returns their labels."""
    labels = []
    pairs = [(a, b) for k, a in enumerate(factors) for b in factors[k + 1:]]
    pairs.sort(key=lambda ab: (abs(g.factor_y[ab[1]] - g.factor_y[ab[0]]), g.factor_y[ab[0]]))
    for k, (a, b) in enumerate(pairs):
        v = phi.at[b, a] if math.isfinite(phi.at[b, a]) else phi.at[a, b]
        ya, yb = sorted((g.factor_y[a], g.factor_y[b]))
        x0 = g.fx - g.rx
        bulge = g.arc_base + g.arc_step * k
        out.append(
            f'<path d="M{x0 - 1:.1f},{ya:.1f} C{x0 - bulge:.1f},{ya:.1f} {x0 - bulge:.1f},{yb:.1f} '
            f'{x0 - 1:.1f},{yb:.1f}" fill="none" stroke="{_MUTED}" stroke-width="0.9" '
            f'marker-start="url(#{mid})" marker-end="url(#{mid})"/>'
        )
        text, colour = _value(v)
        labels.append((x0 - 0.75 * bulge, (ya + yb) / 2.0, text, colour))
    return labels


def _item_boxes(out: list[str], g: _Layout, items: list, res: pd.Series | None, mid: str) -> None:
    """Item boxes, and the residual variances as short arrows on their right."""
    for i, name in zip(items, g.item_names):
        ty = g.item_y[i]
        out.append(
            f'<rect x="{g.ix:.1f}" y="{ty - g.box_h / 2:.1f}" width="{g.box_w:.1f}" height="{g.box_h:.1f}" '
            f'fill="white" stroke="{_INK}" stroke-width="0.9"/>'
            f'<text x="{g.ix + g.box_w / 2:.1f}" y="{ty + 4:.1f}" text-anchor="middle">{_esc(name)}</text>'
        )
        if res is None:
            continue
        v = res.at[i]
        x1 = g.ix + g.box_w
        out.append(
            f'<line x1="{x1 + g.res_len:.1f}" y1="{ty:.1f}" x2="{x1 + 1:.1f}" y2="{ty:.1f}" stroke="{_MUTED}" '
            f'stroke-width="0.8" marker-end="url(#{mid})"/>'
        )
        text = _apa(v, 2)
        colour = _RED if math.isfinite(v) and (v < 0 or v > 1) else _MUTED
        out.append(
            f'<text x="{x1 + g.res_len + 3:.1f}" y="{ty + 3.6:.1f}" font-size="11" fill="{colour}">'
            f"{_esc(text)}</text>"
        )
