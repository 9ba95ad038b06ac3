"""Assemble the validation report: one self-contained HTML file.

:func:`render_report` takes a plain context dict (see
:mod:`psychometrics.report.context` and ``docs/report.md``) and renders it
with the package's jinja2 templates (autoescape on). The report is organised
by the sources of validity evidence of the *Standards for Educational and
Psychological Testing* (AERA, APA, & NCME, 2014): test content, internal
structure, relations to other variables, preceded by an executive summary and
a data-quality section and followed by the scoring key and the provenance.

Rounding happens in one place, :func:`psychometrics._display.format_value`
(re-exported here), which formats every number shown in a table (APA 7
conventions: true minus sign, no leading zero for quantities bounded by 1,
``<.001`` for small p values, thousands separators for counts).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._display import format_frame, format_value
from psychometrics.report.context import (
    VERDICT_STATUSES,
    Diagnostics,
    Figure,
    Paragraph,
    ReportContext,
    Table,
    Verdict,
    Verdicts,
)
from psychometrics.report.figures import SVG
from psychometrics._text import quote
from psychometrics.report.render import check_policy, environment

__all__ = ["render_report", "format_value", "format_table", "apa_table", "SECTIONS", "STANDARDS_REFERENCE"]

#: Sections in report order: context key → (anchor id, heading).
SECTIONS: dict[str, tuple[str, str]] = {
    "summary": ("summary", "Executive Summary"),
    "content": ("test-content", "Evidence Based on Test Content"),
    "data_quality": ("data-quality", "Data Quality"),
    "internal_structure": ("internal-structure", "Evidence Based on Internal Structure"),
    "relations": ("relations", "Evidence Based on Relations to Other Variables"),
    "scoring": ("scoring", "Scoring Key"),
    "provenance": ("provenance", "Provenance"),
}

STANDARDS_REFERENCE = (
    "American Educational Research Association, American Psychological Association, & National Council "
    "on Measurement in Education. (2014). Standards for educational and psychological testing. American "
    "Educational Research Association."
)

_DASH = "—"


# ------------------------------------------------------------- formatting
def format_table(table: Table) -> dict[str, Any]:
    """Turn a :class:`~psychometrics.report.context.Table` into rows of display strings.

    Returns ``{"head": [[cell, ...], ...], "body": [[cell, ...], ...], "n_rows": int}``
    where each cell is ``{"text", "colspan", "numeric", "stub", "spanner"}``
    (:func:`psychometrics._display.format_frame`). Texts are *not* escaped here; the
    template escapes them.
    """
    return format_frame(table.frame, title=table.title, digits=table.digits,
                        no_leading_zero=table.no_leading_zero, p_values=table.p_values,
                        show_index=table.show_index)


def apa_table(table: Table, number: int) -> Any:
    """HTML (``Markup``) of one APA-style table, e.g. for use outside the full report."""
    block = _table_block(table, number)
    return _macros().apa_table(block)


def _macros():
    return environment().get_template("_macros.html.j2").module


# -------------------------------------------------------- block normalising
_BLOCK_TYPES = {"paragraph": Paragraph, "table": Table, "figure": Figure, "verdicts": Verdicts,
                "diagnostics": Diagnostics}


def _coerce_block(block: Any, where: str) -> Any:
    if isinstance(block, tuple(_BLOCK_TYPES.values())):
        return block
    if isinstance(block, str):
        return Paragraph(block)
    if isinstance(block, Mapping):
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            raise ValueError(f"{where}: block type {quote(kind)} is not one of {sorted(_BLOCK_TYPES)}")
        fields = {k: v for k, v in block.items() if k != "type"}
        if kind == "verdicts":
            fields["verdicts"] = [_coerce_verdict(v, where) for v in fields.get("verdicts", ())]
        try:
            return _BLOCK_TYPES[kind](**fields)
        except TypeError as exc:
            raise TypeError(f"{where}: {kind} block: {exc}") from None
    raise TypeError(f"{where}: a block must be a Paragraph, Table, Figure, Verdicts, Diagnostics, a str or a "
                    f"dict with a 'type' key; got {type(block).__name__}")


def _coerce_verdict(verdict: Any, where: str) -> Verdict:
    if isinstance(verdict, Verdict):
        return verdict
    if isinstance(verdict, Mapping):
        try:
            return Verdict(**verdict)
        except TypeError as exc:
            raise TypeError(f"{where}: verdict {quote(dict(verdict).get('criterion'))}: {exc}") from None
    raise TypeError(f"{where}: a verdict must be a Verdict or a dict, got {type(verdict).__name__}")


def _paragraphs(intro: Any) -> list[str]:
    if intro is None:
        return []
    if isinstance(intro, str):
        return [intro]
    return [str(p) for p in intro]


class _Numbering:
    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0

    def table(self) -> int:
        self.tables += 1
        return self.tables

    def figure(self) -> int:
        self.figures += 1
        return self.figures


def _table_block(table: Table, number: int) -> dict[str, Any]:
    formatted = format_table(table)
    return {"type": "table", "number": number, "title": table.title, "note": table.note, "id": table.id,
            # short tables are kept on one printed page; long ones may break between rows
            "keep": formatted["n_rows"] <= 25, **formatted}


def _verdict_row(v: Verdict, where: str) -> dict[str, Any]:
    status = v.status
    if isinstance(status, (bool, np.bool_)):
        status = "met" if status else "not met"
    status = str(status).strip().lower()
    if status not in VERDICT_STATUSES:
        raise ValueError(f"{where}: verdict {quote(v.criterion)} has status {quote(v.status)}; "
                         f"use one of {list(VERDICT_STATUSES)} (or True/False)")
    value = v.value
    if value is None:
        shown = _DASH
    elif isinstance(value, str):
        shown = value
    else:
        shown = format_value(value, digits=v.digits, no_leading_zero=v.no_leading_zero)
    return {"criterion": v.criterion, "status": status, "css": status.replace(" ", "-"),
            "label": VERDICT_STATUSES[status], "value": shown, "rule": v.rule, "reference": v.reference,
            "section": v.section}


def _normalise_block(block: Any, where: str, numbering: _Numbering) -> dict[str, Any]:
    block = _coerce_block(block, where)
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "text": str(block.text)}
    if isinstance(block, Table):
        return _table_block(block, numbering.table())
    if isinstance(block, Figure):
        if not isinstance(block.svg, SVG):
            raise TypeError(
                f"{where}: figure {quote(block.title)} must be an SVG returned by a psychometrics.report.figures "
                f"function, got {type(block.svg).__name__}; a plain string is refused because it would be "
                "inserted into the page unescaped"
            )
        return {"type": "figure", "number": numbering.figure(), "title": block.title, "note": block.note,
                "id": block.id, "svg": block.svg}
    if isinstance(block, Verdicts):
        rows = [_verdict_row(_coerce_verdict(v, where), where) for v in block.verdicts]
        return {"type": "verdicts", "number": numbering.table(), "title": block.title, "note": block.note,
                "id": block.id, "rows": rows, "keep": len(rows) <= 25}
    if isinstance(block, Diagnostics):
        messages = []
        for m in block.messages:
            if is_dataclass(m) and not isinstance(m, type):
                d = asdict(m)
                messages.append({"category": str(d.get("category", "")), "message": str(d.get("message", m))})
            elif isinstance(m, Mapping):
                messages.append({"category": str(m.get("category", "")), "message": str(m.get("message", ""))})
            else:
                messages.append({"category": "", "message": str(m)})
        out: dict[str, Any] = {"type": "diagnostics", "title": block.title, "messages": messages, "causes": [],
                               "tiers": {}}
        if block.by_cause:
            from psychometrics.report.diagnostic_causes import TIERS, group_by_cause

            out["causes"] = [c.to_dict() for c in group_by_cause(messages)]
            out["tiers"] = dict(TIERS)
        return out
    raise AssertionError(f"unhandled block {quote(block)}")  # pragma: no cover - _coerce_block covers all types


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part) or "section"


def _normalise_section(key: str, section: Mapping[str, Any] | None, numbering: _Numbering,
                       pre_blocks: Sequence[Any] = ()) -> dict[str, Any]:
    anchor, title = SECTIONS[key]
    section = section or {}
    if not isinstance(section, Mapping):
        raise TypeError(f"context[{quote(key)}] must be a dict, got {type(section).__name__}")
    where = f"context[{quote(key)}]"
    blocks = [_normalise_block(b, where, numbering) for b in (*pre_blocks, *section.get("blocks", ()))]
    subsections = []
    for k, sub in enumerate(section.get("subsections", ())):
        if not isinstance(sub, Mapping) or "title" not in sub:
            raise TypeError(f"{where}['subsections'][{k}] must be a dict with a 'title'")
        sub_where = f"{where} subsection {quote(sub['title'])}"
        subsections.append({
            "title": str(sub["title"]),
            "id": str(sub.get("id") or f"{anchor}-{_slug(str(sub['title']))}"),
            "intro": _paragraphs(sub.get("intro")),
            "blocks": [_normalise_block(b, sub_where, numbering) for b in sub.get("blocks", ())],
        })
    return {"key": key, "id": anchor, "title": title, "present": bool(section),
            "intro": _paragraphs(section.get("intro")), "blocks": blocks, "subsections": subsections}


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise KeyError(f"{where} lacks the required key {quote(key)}; see docs/report.md for the context schema")
    return mapping[key]


def _flatten(options: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for k, v in options.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            rows.extend(_flatten(v, name + "."))
        else:
            rows.append((name, _plain(v)))
    return rows


def _plain(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v, key=str) if isinstance(v, (set, frozenset)) else v
        return ", ".join(_plain(x) for x in items) if items else "none"
    if isinstance(v, Mapping):
        return "none" if not v else ", ".join(f"{k}: {_plain(x)}" for k, x in v.items())
    return str(v)


def _fact(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return format_value(value, digits=2)
    return format_value(value)


# ------------------------------------------------------------------ render
def render_report(context: ReportContext | Mapping[str, Any],
                  template_dir: str | os.PathLike[str] | None = None) -> str:
    """Render the validation report as one self-contained HTML5 document.

    Parameters
    ----------
    context : dict
        See :class:`psychometrics.report.context.ReportContext` and
        ``docs/report.md``. Required keys: ``title``, ``scale``, ``summary``,
        ``content``, ``data_quality``, ``internal_structure``, ``provenance``;
        ``relations``, ``scoring``, ``subtitle`` and ``references`` are
        optional (an absent section says that its evidence was not collected).

    Returns
    -------
    str
        The HTML. It makes no network requests (inline CSS, inline SVG, a
        Content-Security-Policy that forbids everything else), escapes all
        text, and prints cleanly (a print stylesheet starts each section on a
        new page).

        ``template_dir`` is a custom template folder (see :mod:`psychometrics.report.render`).
    """
    return render_normalised(normalise_report(context), template_dir)


def render_normalised(normalised: Mapping[str, Any], template_dir: str | os.PathLike[str] | None = None) -> str:
    """HTML of an already normalised report (:func:`normalise_report`), with a custom template folder or not."""
    folder = None if template_dir is None else os.fspath(template_dir)
    html = environment(folder).get_template("report.html.j2").render(**normalised)
    return check_policy(html, folder)


def normalise_report(context: ReportContext | Mapping[str, Any]) -> dict[str, Any]:
    """The report template's variables: sections with numbered, formatted blocks.

    What :func:`render_report` renders, and what the Word tables
    (:func:`psychometrics.report.docx.write_tables_docx`) are made from, so both number and
    round every table the same way. Raises as :func:`render_report` for a bad context.
    """
    if not isinstance(context, Mapping):
        raise TypeError(f"context must be a dict, got {type(context).__name__}")
    title = str(_require(context, "title", "context"))
    scale = dict(_require(context, "scale", "context"))
    _require(scale, "name", "context['scale']")
    summary = _require(context, "summary", "context")
    content = _require(context, "content", "context")
    data_quality = _require(context, "data_quality", "context")
    _require(context, "internal_structure", "context")
    provenance = dict(_require(context, "provenance", "context"))
    _require(provenance, "package", "context['provenance']")

    numbering = _Numbering()
    sections = []
    verdicts = [_coerce_verdict(v, "context['summary']") for v in _require(summary, "verdicts", "context['summary']")]
    sections.append(_normalise_section("summary", summary, numbering, [
        Verdicts(verdicts, "Summary of Validity Evidence",
                 note="Each criterion is judged by the stated rule; the reference gives its source.",
                 id="summary-verdicts"),
    ]))
    items = _require(content, "items", "context['content']")
    pre = [Table(items, "Items", note=content.get("items_note", "Item texts as administered."), id="items-table")]
    if content.get("facets") is not None:
        pre.append(Table(content["facets"], "Facets", id="facets-table"))
    sections.append(_normalise_section("content", content, numbering, pre))
    exclusions = _require(data_quality, "exclusions", "context['data_quality']")
    pre = []
    if data_quality.get("flow") is not None:
        pre.append(Table(data_quality["flow"], "Flow of Response Records", id="flow-table"))
    if isinstance(exclusions, (pd.DataFrame, pd.Series)) and len(exclusions):
        pre.append(Table(exclusions, "Excluded Records and Values",
                         note="Every record or value excluded from the analyses, with the rule that excluded it.",
                         id="exclusions-table"))
    else:
        pre.append(Paragraph("No records or values were excluded from the analyses."))
    sections.append(_normalise_section("data_quality", data_quality, numbering, pre))
    for key in ("internal_structure", "relations", "scoring"):
        sections.append(_normalise_section(key, context.get(key), numbering))
    sections.append({"key": "provenance", "id": SECTIONS["provenance"][0], "title": SECTIONS["provenance"][1],
                     "present": True})

    facts = [(str(k), _fact(v)) for k, v in (summary.get("facts") or {}).items()]
    references = [str(r) for r in context.get("references", ())]
    if not any(r.startswith("American Educational Research Association") for r in references):
        references.append(STANDARDS_REFERENCE)
    references = sorted(dict.fromkeys(references), key=str.casefold)

    return {
        "title": title,
        "subtitle": context.get("subtitle"),
        "scale": scale,
        "facts": facts,
        "sections": sections,
        "provenance": {
            "package": str(provenance["package"]),
            "generated_at": provenance.get("generated_at"),
            "rows": [(label, _plain(provenance[key])) for key, label in _PROVENANCE_FIELDS if key in provenance],
            "dependencies": sorted((str(k), str(v)) for k, v in (provenance.get("dependencies") or {}).items()),
            "options": _flatten(provenance.get("options") or {}),
        },
        "references": references,
        "toc": [(s["id"], s["title"]) for s in sections],
    }


_PROVENANCE_FIELDS = [
    ("package", "Package"),
    ("generated_at", "Generated"),
    ("command", "Command"),
    ("python", "Python"),
    ("platform", "Platform"),
    ("seed", "Random seed"),
    ("data_file", "Data file"),
    ("data_sha256", "Data SHA-256"),
    ("scale_file", "Scale file"),
    ("scale_hash", "Scale hash"),
]
