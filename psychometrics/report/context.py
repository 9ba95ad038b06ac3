"""The report's input: a plain context dict and the blocks that fill its sections.

:func:`psychometrics.report.build.render_report` takes a :class:`ReportContext`
(a ``dict``; the TypedDicts below document its keys) whose sections hold
*blocks*: :class:`Paragraph`, :class:`Table`, :class:`Figure`,
:class:`Verdicts` and :class:`Diagnostics`. A block may also be given as a
plain dict with a ``"type"`` key (``{"type": "table", "frame": df, "title": ...}``).

Numbers stay unrounded in the context: tables and verdict values are rounded
only when rendered. Text is plain text (it is escaped when rendered); the only
markup the report accepts is an :class:`~psychometrics.report.figures.SVG`
produced by :mod:`psychometrics.report.figures`.

The schema is described for humans in ``docs/report.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Required, TypedDict, Union

import pandas as pd

__all__ = [
    "Paragraph",
    "Table",
    "Figure",
    "Verdict",
    "Verdicts",
    "Diagnostics",
    "Block",
    "VERDICT_STATUSES",
    "ScaleInfo",
    "Subsection",
    "SectionContext",
    "SummaryContext",
    "ContentContext",
    "DataQualityContext",
    "ProvenanceContext",
    "ReportContext",
]

#: Allowed :attr:`Verdict.status` values, as shown in the report.
VERDICT_STATUSES: dict[str, str] = {
    "met": "Met",
    "borderline": "Borderline",
    "not met": "Not met",
    "not assessed": "Not assessed",
}


# ------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (escaped when rendered)."""

    text: str
    type: Literal["paragraph"] = field(default="paragraph", init=False, repr=False)


@dataclass(frozen=True)
class Table:
    """An APA-style table: numbered title, horizontal rules only, italic note.

    Attributes
    ----------
    frame : DataFrame or Series
        Unrounded values. The index is shown as the first column(s) unless
        ``show_index`` is false; its name is that column's heading. Two-level
        columns give spanner headings.
    title : str
        Table title (italic title case in APA style), e.g. ``"Item Statistics"``.
    note : str, optional
        The general note printed under the table after *Note.*
    digits : int or mapping
        Decimals for floats, one number or per column (default 2).
    no_leading_zero : bool or collection
        Columns (or all, if true) whose values cannot exceed 1 in absolute
        value — correlations, loadings, α, proportions — printed without the
        leading zero (APA 7 §6.36).
    p_values : collection
        Columns holding p values: three decimals, no leading zero, ``<.001``.
    show_index : bool or None
        Show the index as the first column(s); by default (None) it is shown
        unless it is an unnamed ``RangeIndex`` (plain row numbers).
    id : str, optional
        HTML anchor, to link to the table.
    """

    frame: pd.DataFrame | pd.Series
    title: str
    note: str | None = None
    digits: int | Mapping[Hashable, int] = 2
    no_leading_zero: bool | Collection[Hashable] = False
    p_values: Collection[Hashable] = ()
    show_index: bool | None = None
    id: str | None = None
    type: Literal["table"] = field(default="table", init=False, repr=False)


@dataclass(frozen=True)
class Figure:
    """A figure: an SVG from :mod:`psychometrics.report.figures`, a title and a note.

    ``svg`` must be the :class:`~psychometrics.report.figures.SVG` object a
    figure function returned; a plain string is refused (it could carry
    markup from user input).
    """

    svg: Any
    title: str
    note: str | None = None
    id: str | None = None
    type: Literal["figure"] = field(default="figure", init=False, repr=False)


@dataclass(frozen=True)
class Verdict:
    """One criterion of the executive summary (or of a section).

    Attributes
    ----------
    criterion : str
        What is judged, e.g. ``"Internal consistency (ω total)"``.
    status : str
        ``"met"``, ``"borderline"``, ``"not met"`` or ``"not assessed"``; a
        bool is read as met / not met.
    value : str, float or tuple, optional
        The evidence: a number (rounded when shown), a CI tuple, or text such
        as ``"CFI = .962, RMSEA = .041"``.
    rule : str
        The decision rule applied, e.g. ``"ω ≥ .80"``.
    reference : str
        Where the rule comes from, e.g. ``"Hu & Bentler (1999)"``.
    section : str, optional
        Anchor id of the section holding the evidence (linked from the table).
    digits : int
        Decimals for a numeric ``value`` (default 2).
    no_leading_zero : bool
        Print a numeric ``value`` without the leading zero (default true: most
        criteria are coefficients bounded by 1).
    """

    criterion: str
    status: str | bool
    value: Any = None
    rule: str = ""
    reference: str = ""
    section: str | None = None
    digits: int = 2
    no_leading_zero: bool = True


@dataclass(frozen=True)
class Verdicts:
    """A numbered table of verdicts (e.g. the validity hypotheses and their outcome)."""

    verdicts: Sequence[Verdict]
    title: str
    note: str | None = None
    id: str | None = None
    type: Literal["verdicts"] = field(default="verdicts", init=False, repr=False)


@dataclass(frozen=True)
class Diagnostics:
    """Estimation or data warnings kept on results (``Diagnostic`` objects or text)."""

    messages: Sequence[Any]
    title: str = "Diagnostics"
    #: show one line per cause (:func:`psychometrics.report.diagnostic_causes.group_by_cause`), most urgent
    #: first, with the full list behind a ``<details>``
    by_cause: bool = False
    type: Literal["diagnostics"] = field(default="diagnostics", init=False, repr=False)


Block = Union[Paragraph, Table, Figure, Verdicts, Diagnostics, Mapping[str, Any]]


# ------------------------------------------------------------ context dicts
class ScaleInfo(TypedDict, total=False):
    """The scale under study."""

    name: Required[str]
    version: str
    construct: str
    description: str
    response_format: str
    language: str


class Subsection(TypedDict, total=False):
    """A titled part of a section (e.g. *Reliability* inside internal structure)."""

    title: Required[str]
    id: str
    intro: str | Sequence[str]
    blocks: Sequence[Block]


class SectionContext(TypedDict, total=False):
    """A section: introductory paragraphs, blocks, then subsections."""

    intro: str | Sequence[str]
    blocks: Sequence[Block]
    subsections: Sequence[Subsection]


class SummaryContext(SectionContext, total=False):
    """Executive summary: key facts and one verdict per criterion."""

    facts: Mapping[str, Any]
    verdicts: Required[Sequence[Verdict]]


class ContentContext(SectionContext, total=False):
    """Evidence based on test content: the items as administered."""

    items: Required[pd.DataFrame]
    items_note: str
    facets: pd.DataFrame


class DataQualityContext(SectionContext, total=False):
    """Data quality: the flow of respondents and every exclusion."""

    flow: pd.DataFrame
    exclusions: Required[pd.DataFrame]


class ProvenanceContext(TypedDict, total=False):
    """How the report was produced, enough to reproduce it."""

    package: Required[str]
    generated_at: str
    command: str
    python: str
    platform: str
    seed: int | None
    data_file: str
    data_sha256: str
    scale_file: str
    scale_hash: str
    dependencies: Mapping[str, str]
    options: Mapping[str, Any]


class ReportContext(TypedDict, total=False):
    """Everything :func:`~psychometrics.report.build.render_report` needs."""

    title: Required[str]
    subtitle: str
    scale: Required[ScaleInfo]
    summary: Required[SummaryContext]
    content: Required[ContentContext]
    data_quality: Required[DataQualityContext]
    internal_structure: Required[SectionContext]
    relations: SectionContext
    scoring: SectionContext
    provenance: Required[ProvenanceContext]
    references: Sequence[str]
