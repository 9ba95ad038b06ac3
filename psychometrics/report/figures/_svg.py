"""The SVG type, the report's figure style and helpers shared by every figure."""

from __future__ import annotations

import functools
import hashlib
import html
import io
import math
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import pandas as pd

from psychometrics.exceptions import DataError

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


def _new_figure(width: float, height: float, layout: str | None = "constrained"):
    """A matplotlib Figure with its own SVG canvas (no pyplot, no global backend).

    ``layout=None`` for grids of small panels placed by hand: the constrained layout
    measures every tick label of every panel (most of the drawing time there).
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
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
          "responses": "Item response distributions", "invariance": "Change in fit between invariance models",
          "power": "Power curves against sample size",
          "irt_crc": "IRT category response curves", "irt_info": "IRT test information curves"}


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


def _cmap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


# ------------------------------------------------- figures written as SVG directly
#: ColorBrewer RdBu (matplotlib's ``RdBu`` anchors, interpolated linearly between them as matplotlib does)
_RDBU = [(0.403921568627451, 0.0, 0.12156862745098039), (0.6980392156862745, 0.09411764705882353, 0.16862745098039217),
         (0.8392156862745098, 0.3764705882352941, 0.30196078431372547), (0.9568627450980393, 0.6470588235294118, 0.5098039215686274),
         (0.9921568627450981, 0.8588235294117647, 0.7803921568627451), (0.9686274509803922, 0.9686274509803922, 0.9686274509803922),
         (0.8196078431372549, 0.8980392156862745, 0.9411764705882353), (0.5725490196078431, 0.7725490196078432, 0.8705882352941177),
         (0.2627450980392157, 0.5764705882352941, 0.7647058823529411), (0.12941176470588237, 0.4, 0.6745098039215687),
         (0.0196078431372549, 0.18823529411764706, 0.3803921568627451)]
_PX = 96.0  # CSS pixels per inch: figure sizes stay in inches, as with matplotlib (72 pt per inch)


def _rdbu(t: float) -> tuple[float, float, float]:
    """RGB (0..1) of the RdBu colour map at ``t`` in [0, 1] (``_rdbu(1 - t)`` is RdBu_r)."""
    pos = min(max(float(t), 0.0), 1.0) * (len(_RDBU) - 1)
    i = min(int(pos), len(_RDBU) - 2)
    a, b = _RDBU[i], _RDBU[i + 1]
    return tuple(x + (pos - i) * (y - x) for x, y in zip(a, b))  # type: ignore[return-value]


def _hex(rgb: tuple[float, ...]) -> str:
    return "#" + "".join(f"{int(round(min(max(v, 0.0), 1.0) * 255)):02x}" for v in rgb[:3])


def _dark(rgb: tuple[float, ...]) -> bool:
    """Whether text on this colour should be white (perceived luminance below one half)."""
    r, g, b = rgb[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _nice_ticks(lo: float, hi: float, max_ticks: int = 9) -> list[float]:
    """Round tick values covering [lo, hi] (steps 1, 2, 2.5, 5 × 10^k), at most ``max_ticks`` of them."""
    span = hi - lo if hi > lo else 1.0
    for k in range(-6, 7):
        for m in (1.0, 2.0, 2.5, 5.0):
            step = m * 10.0 ** k
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            if last - first + 1 <= max_ticks and step >= span / max_ticks / 1.0001:
                return [round(v * step, 10) + 0.0 for v in range(first, last + 1)]
    return [lo, hi]


def _text_width(text: str, size: float) -> float:
    """Approximate width in px of ``text`` at font size ``size`` px (sans-serif: ~0.55 em per character)."""
    return 0.55 * size * len(text)


def _open(width: float, height: float, size: float = 9.5) -> list[str]:
    """The opening tag of a hand-written figure ``width`` × ``height`` px with the report's font stack."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{html.escape(", ".join(FONT_STACK))}" '
            f'font-size="{size:g}">']


def _tick(t: float) -> str:
    """A tick label: ``{t:g}`` with a true minus sign (U+2212)."""
    return f"{t:g}".replace("-", "\u2212")


def _y_grid(ticks: list[float], left: float, plot_width: float, sy: Callable[[float], float],
            stroke_width: float) -> list[str]:
    """Horizontal grid lines at ``ticks`` (y in data units, ``sy`` maps to px) with their labels at the left."""
    out = []
    for t in ticks:
        y = sy(t)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_width:.1f}" y2="{y:.1f}" stroke="{_GRID}" '
                   f'stroke-width="{stroke_width:g}"/>')
        out.append(f'<text x="{left - 5:.1f}" y="{y + 3.3:.1f}" text-anchor="end" fill="#444444">{_tick(t)}</text>')
    return out


def _axis_titles(left: float, plot_width: float, top: float, plot_height: float, total_height: float,
                 x_title: str, y_title: str) -> list[str]:
    """The x-axis title centred under the plot and the y-axis title rotated at the left (escaped)."""
    mid = top + plot_height / 2
    return [f'<text x="{left + plot_width / 2:.1f}" y="{total_height - 8:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{_INK}">{html.escape(x_title)}</text>',
            f'<text x="13" y="{mid:.1f}" text-anchor="middle" font-size="10" fill="{_INK}" '
            f'transform="rotate(-90 13 {mid:.1f})">{html.escape(y_title)}</text>']


def _close(parts: list[str], kind: str) -> SVG:
    parts.append("</svg>")
    return SVG(_accessible("".join(parts), _NAMES.get(kind, kind)))
