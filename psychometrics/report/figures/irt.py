"""IRT figures: category response curves and information curves."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.report.figures._svg import (
    _BLUE, _GRID, _INK, _NAMES, _PX, FONT_STACK, SVG, _accessible, _axis_titles, _close, _nice_ticks, _open,
    _text_width, _tick, _truncate, _y_grid,
)

__all__ = ["category_response_curves", "information_curves"]


# viridis at 0, .25, .5, .75, 1 (matplotlib's colormap; interpolated linearly between them)
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float)


def _viridis(t: float) -> str:
    pos = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(pos), len(_VIRIDIS) - 2)
    rgb = _VIRIDIS[i] + (pos - i) * (_VIRIDIS[i + 1] - _VIRIDIS[i])
    return "#" + "".join(f"{int(round(v)):02x}" for v in rgb)


def category_response_curves(curves: Mapping[str, pd.DataFrame], *, columns: int = 4, width: float = 6.5) -> SVG:
    """One panel per item: P(X = k | θ) for every category k.

    ``curves`` maps item → DataFrame indexed by θ with one column per category label.
    Written as SVG directly (polylines on a fixed grid of panels), not through matplotlib:
    a 28-item scale has 28 small panels, and laying those out with matplotlib took most of
    the IRT section's drawing time.
    """
    if not curves:
        raise DataError("no category response curves to draw")
    items = list(curves)
    cols = min(columns, len(items))
    rows = math.ceil(len(items) / cols)
    px = 96.0  # CSS pixels per inch, as the other figures' width in inches
    left, right, top, bottom, gap_x, gap_y, title_h = 58.0, 10.0, 8.0, 40.0, 14.0, 34.0, 16.0
    total_w = width * px
    pw = (total_w - left - right - gap_x * (cols - 1)) / cols
    ph = 88.0
    total_h = top + rows * (title_h + ph) + (rows - 1) * (gap_y - title_h) + bottom
    esc = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
           f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="{esc(", ".join(FONT_STACK))}" '
           f'font-size="9">']
    for n, item in enumerate(items):
        frame = curves[item]
        r, c = divmod(n, cols)
        x0 = left + c * (pw + gap_x)
        y0 = top + r * (ph + gap_y) + title_h
        theta = frame.index.to_numpy(dtype=float)
        lo, hi = float(theta.min()), float(theta.max())
        span = hi - lo if hi > lo else 1.0

        def sx(t: float) -> float:
            return x0 + (t - lo) / span * pw

        def sy(p: float) -> float:
            return y0 + (1.0 - p) * ph

        out.append(f'<text x="{x0 + pw / 2:.1f}" y="{y0 - 5:.1f}" text-anchor="middle" font-size="10" '
                   f'fill="{_INK}">{esc(_truncate(str(item), 18))}</text>')
        ticks = [t for t in range(math.ceil(lo), math.floor(hi) + 1) if t % 2 == 0]
        for t in ticks:
            out.append(f'<line x1="{sx(t):.1f}" y1="{y0:.1f}" x2="{sx(t):.1f}" y2="{y0 + ph:.1f}" '
                       f'stroke="{_GRID}" stroke-width="0.5"/>')
        for p, lab in ((0.0, "0"), (0.5, ".5"), (1.0, "1")):
            out.append(f'<line x1="{x0:.1f}" y1="{sy(p):.1f}" x2="{x0 + pw:.1f}" y2="{sy(p):.1f}" '
                       f'stroke="{_GRID}" stroke-width="0.5"/>')
            if c == 0:
                out.append(f'<text x="{x0 - 4:.1f}" y="{sy(p) + 3:.1f}" text-anchor="end" fill="#444444">{lab}</text>')
        if r == rows - 1 or n + cols >= len(items):  # the lowest panel of each column gets θ labels
            for t in ticks:
                out.append(f'<text x="{sx(t):.1f}" y="{y0 + ph + 12:.1f}" text-anchor="middle" '
                           f'fill="#444444">{str(t).replace("-", "−")}</text>')
        out.append(f'<path d="M{x0:.1f},{y0:.1f}V{y0 + ph:.1f}H{x0 + pw:.1f}" fill="none" stroke="#444444" '
                   'stroke-width="0.8"/>')
        k = frame.shape[1]
        values = frame.to_numpy(dtype=float)
        xs = x0 + (theta - lo) / span * pw  # sx and sy element-wise (the same operations in the same order)
        ys = y0 + (1.0 - values) * ph
        for i in range(k):
            ok = np.isfinite(values[:, i])
            pts = " ".join(map("{:.1f},{:.1f}".format, xs[ok].tolist(), ys[ok, i].tolist()))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{_viridis(i / max(k - 1, 1))}" '
                       'stroke-width="1.1"/>')
    first = curves[items[0]]
    lx, ly = left + 6, top + title_h + 10
    out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="7" fill="{_INK}">category</text>')
    for i, col in enumerate(first.columns):
        yy = ly + 9 * (i + 1)
        out.append(f'<line x1="{lx:.1f}" y1="{yy - 2.5:.1f}" x2="{lx + 14:.1f}" y2="{yy - 2.5:.1f}" '
                   f'stroke="{_viridis(i / max(first.shape[1] - 1, 1))}" stroke-width="1.1"/>')
        out.append(f'<text x="{lx + 18:.1f}" y="{yy:.1f}" font-size="7" fill="{_INK}">'
                   f'{esc(_truncate(str(col), 12))}</text>')
    out.append(f'<text x="{left + (total_w - left - right) / 2:.1f}" y="{total_h - 8:.1f}" text-anchor="middle" '
               f'font-size="10" fill="{_INK}">θ</text>')
    mid = top + (total_h - top - bottom) / 2
    out.append(f'<text x="14" y="{mid:.1f}" text-anchor="middle" font-size="10" fill="{_INK}" '
               f'transform="rotate(-90 14 {mid:.1f})">P(category | θ)</text>')
    out.append("</svg>")
    return SVG(_accessible("".join(out), _NAMES["irt_crc"]))


#: matplotlib's tab10 colours (the second to tenth score; the first is the report's blue)
_TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


def information_curves(information: Mapping[str, pd.Series], *, width: float = 6.5) -> SVG:
    """Test information of each score against θ (one line per score), with the I = 10 line (reliability .90).

    Written as SVG directly (polylines and text on a fixed layout, 96 px per inch as the other
    figures), not through matplotlib: its import and layout were most of the report step's fixed
    time, about half a second per report (issue 16). Same content: labelled axes, grid, one line
    per score in tab10 colours, the dashed I = 10 reference and a legend.
    """
    if not information:
        raise DataError("no information curves to draw")
    esc = html.escape
    curves = []
    for i, (name, series) in enumerate(information.items()):
        x = np.asarray(series.index, dtype=float)
        y = np.asarray(series.to_numpy(), dtype=float)
        curves.append((x, y, _TAB10[i % 10] if i else _BLUE, str(name)))
    xs = np.concatenate([c[0] for c in curves])
    ys = np.concatenate([c[1][np.isfinite(c[1])] for c in curves] + [np.array([0.0, 10.0])])
    x_lo, x_hi = float(xs.min()), float(xs.max())
    x_ticks = [t for t in _nice_ticks(x_lo, x_hi, 9) if x_lo - 1e-9 <= t <= x_hi + 1e-9]
    y_ticks = _nice_ticks(0.0, float(ys.max()), 6)
    y_lo, y_hi = min(y_ticks[0], 0.0), max(y_ticks[-1], float(ys.max()))
    total_w, total_h = width * _PX, 2.8 * _PX
    left, right, top, bottom = 50.0, 12.0, 10.0, 38.0
    pw, ph = total_w - left - right, total_h - top - bottom

    def sx(v: float) -> float:
        return left + (v - x_lo) / ((x_hi - x_lo) or 1.0) * pw

    def sy(v: float) -> float:
        return top + (y_hi - v) / ((y_hi - y_lo) or 1.0) * ph

    out = _open(total_w, total_h)
    out += _y_grid(y_ticks, left, pw, sy, 0.5)
    for t in x_ticks:
        out.append(f'<line x1="{sx(t):.1f}" y1="{top:.1f}" x2="{sx(t):.1f}" y2="{top + ph:.1f}" stroke="{_GRID}" '
                   'stroke-width="0.5"/>')
        out.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14:.1f}" text-anchor="middle" fill="#444444">'
                   f'{_tick(t)}</text>')
    out.append(f'<line x1="{left:.1f}" y1="{sy(10.0):.1f}" x2="{left + pw:.1f}" y2="{sy(10.0):.1f}" stroke="{_INK}" '
               'stroke-width="0.8" stroke-dasharray="2.5,1.5"/>')
    out.append(f'<text x="{left + 3:.1f}" y="{sy(10.0) - 3:.1f}" font-size="7" fill="{_INK}">'
               'I = 10 (reliability .90)</text>')
    for x, y, colour, _ in curves:
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x.tolist(), y.tolist()) if math.isfinite(b))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
    out.append(f'<path d="M{left:.1f},{top:.1f}V{top + ph:.1f}H{left + pw:.1f}" fill="none" stroke="#444444" '
               'stroke-width="1"/>')
    lw = max(_text_width(_truncate(name, 24), 7) for *_, name in curves) + 30
    for k, (_, _, colour, name) in enumerate(curves):  # legend, upper right
        lx, ly = left + pw - lw, top + 10 + 10 * k
        out.append(f'<line x1="{lx:.1f}" y1="{ly - 2.5:.1f}" x2="{lx + 20:.1f}" y2="{ly - 2.5:.1f}" stroke="{colour}" '
                   'stroke-width="1.4"/>')
        out.append(f'<text x="{lx + 25:.1f}" y="{ly:.1f}" font-size="7" fill="{_INK}">{esc(_truncate(name, 24))}</text>')
    out += _axis_titles(left, pw, top, ph, total_h, "θ", "test information I(θ)")
    return _close(out, "irt_info")
