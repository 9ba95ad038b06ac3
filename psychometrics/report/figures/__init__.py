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

from psychometrics.report.figures._svg import FONT_STACK, SVG
from psychometrics.report.figures.factors import loading_heatmap, scree_plot
from psychometrics.report.figures.invariance import invariance_delta_chart
from psychometrics.report.figures.irt import category_response_curves, information_curves
from psychometrics.report.figures.path import cfa_path_diagram
from psychometrics.report.figures.responses import response_distribution

__all__ = [
    "SVG",
    "FONT_STACK",
    "scree_plot",
    "loading_heatmap",
    "response_distribution",
    "cfa_path_diagram",
    "category_response_curves",
    "information_curves",
    "invariance_delta_chart",
]
