"""Every table of a report as an APA 7 table in a Word document (``tables.docx``).

The tables are numbered, rounded and worded exactly as in the HTML report: both come from
:func:`psychometrics.report.build.normalise_report` (so from the one formatter,
:func:`psychometrics._display.format_value`). APA 7 style (American Psychological
Association, 2020, §7.8–7.21): "Table N" in bold, the title in italic title case on the next
line, horizontal rules only (above and below the column headings and below the last row),
decimals without a leading zero where the statistic cannot exceed 1 (as in the report), and
the general note under the table after an italic *Note.*

Needs python-docx (``pip install "scalevalid[docx]"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from psychometrics._io import atomic_write
from psychometrics.exceptions import MissingDependencyError

__all__ = ["write_tables_docx", "write_normalised_docx", "report_tables", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "scalevalid[docx]"'
_VERDICT_HEAD = ("Criterion", "Evidence", "Judgement", "Rule")


def _docx() -> Any:
    try:
        import docx
    except ImportError as exc:
        raise MissingDependencyError(
            f"Writing tables.docx needs the optional library python-docx ({type(exc).__name__}: {str(exc)[:100]}). "
            f"Install it with: {INSTALL_HINT}") from exc
    return docx


def report_tables(normalised: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The numbered tables of a normalised report, in order: ``{"number", "title", "note", "head", "body"}``.

    ``head`` and ``body`` are rows of cells ``{"text", "colspan", "numeric"}``; a verdict table
    (the summary) becomes criterion / evidence / judgement / rule.
    """
    out = []

    def visit(blocks: Sequence[Mapping[str, Any]]) -> None:
        for b in blocks:
            if b["type"] == "table":
                out.append({k: b[k] for k in ("number", "title", "note", "head", "body")})
            elif b["type"] == "verdicts":
                cell = lambda text, numeric=False: {"text": str(text or ""), "colspan": 1, "numeric": numeric}  # noqa: E731
                out.append({"number": b["number"], "title": b["title"], "note": b["note"],
                            "head": [[cell(h) for h in _VERDICT_HEAD]],
                            "body": [[cell(r["criterion"]), cell(r["value"], True), cell(r["label"]),
                                      cell(f"{r['rule']} ({r['reference']})" if r.get("reference") else r["rule"])]
                                     for r in b["rows"]]})

    for section in normalised["sections"]:
        visit(section.get("blocks", ()))
        for sub in section.get("subsections", ()):
            visit(sub["blocks"])
    return out


def _rule(cell_or_table: Any, edges: Mapping[str, bool], *, table: bool = False) -> None:
    """Single horizontal rules on the given edges, none elsewhere (APA: no vertical rules)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = cell_or_table._tbl.tblPr if table else cell_or_table._tc.get_or_add_tcPr()
    tag = "w:tblBorders" if table else "w:tcBorders"
    borders = props.find(qn(tag))
    if borders is None:
        borders = OxmlElement(tag)
        props.append(borders)
    sides = ("top", "left", "bottom", "right") + (("insideH", "insideV") if table else ())
    for side in sides:
        el = OxmlElement(f"w:{side}")
        on = edges.get(side, False)
        el.set(qn("w:val"), "single" if on else "nil")
        if on:
            el.set(qn("w:sz"), "6")
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
        borders.append(el)


def _add_table(document: Any, t: Mapping[str, Any]) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    label = document.add_paragraph()
    label.add_run(f"Table {t['number']}").bold = True
    title = document.add_paragraph()
    title.add_run(str(t["title"])).italic = True
    n_cols = sum(c["colspan"] for c in t["head"][-1]) if t["head"] else len(t["body"][0])
    n_rows = len(t["head"]) + len(t["body"])
    table = document.add_table(rows=n_rows, cols=n_cols)
    _rule(table, {"top": True, "bottom": True}, table=True)
    for r, row in enumerate([*t["head"], *t["body"]]):
        c = 0
        for cell in row:
            target = table.cell(r, c)
            if cell["colspan"] > 1:
                target = target.merge(table.cell(r, c + cell["colspan"] - 1))
            target.text = str(cell["text"])
            if cell.get("numeric") and r >= len(t["head"]):
                target.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            # the rules as cell borders too: Word and LibreOffice do not all draw the table-level ones
            edges = {"top": r == 0, "bottom": r == len(t["head"]) - 1 or r == n_rows - 1}
            if any(edges.values()):
                _rule(target, edges)
            c += cell["colspan"]
    if t.get("note"):
        note = document.add_paragraph()
        note.add_run("Note.").italic = True
        note.add_run(f" {t['note']}")
    document.add_paragraph()


def write_tables_docx(context: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write every table of the report ``context`` to ``path`` as APA tables (atomically).

    Parameters
    ----------
    context : dict
        A report context (:class:`~psychometrics.report.context.ReportContext`), e.g.
        :func:`psychometrics.report.validation.build_context` of a run.
    path : path
        The ``.docx`` file to write; written to a temporary file first and renamed, so a crash
        never leaves half a document.

    Returns
    -------
    pathlib.Path
    """
    from psychometrics.report.build import normalise_report

    return write_normalised_docx(normalise_report(context), path)


def write_normalised_docx(normalised: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """:func:`write_tables_docx` for a report already normalised (e.g. read back from results.json)."""
    docx = _docx()
    document = docx.Document()
    document.add_heading(str(normalised["title"]), level=1)
    if normalised.get("subtitle"):
        document.add_paragraph(str(normalised["subtitle"]))
    for t in report_tables(normalised):
        _add_table(document, t)
    return atomic_write(path, lambda tmp: document.save(str(tmp)))
