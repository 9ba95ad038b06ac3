"""tables.docx: every report table as an APA 7 table in Word, read back with python-docx and
compared with the HTML report (same numbering, same rounded cells); converted to PDF with
LibreOffice where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape

import docx  # the test extra installs python-docx: a broken install must fail, not skip
import pytest

from psychometrics.pipeline import demo

FAST = {"n_boot": 0, "parallel_iter": 20}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("docx") / "demo"
    res = demo(out, seed=2, n=300, quiet=True, options=FAST, tables="docx")
    return out, res


def _html_tables(html: str) -> dict[int, str]:
    """Table number → title, from the report's 'Table N' labels."""
    found = re.findall(r'<p class="table-number">Table (\d+)</p>\s*<p class="table-title">(.*?)</p>', html, re.S)
    return {int(n): unescape(re.sub(r"<[^>]+>", "", t)).strip() for n, t in found}


def test_every_report_table_is_in_the_document(run):
    out, res = run
    document = docx.Document(str(out / "tables.docx"))
    html_tables = _html_tables(res.html)
    assert html_tables, "the report has numbered tables"
    assert len(document.tables) == len(html_tables)
    labels = [p.text for p in document.paragraphs if re.fullmatch(r"Table \d+", p.text)]
    assert labels == [f"Table {n}" for n in sorted(html_tables)]
    # the title follows its label, in italic; the label is bold
    paragraphs = document.paragraphs
    for i, p in enumerate(paragraphs):
        if re.fullmatch(r"Table \d+", p.text):
            n = int(p.text.split()[1])
            assert p.runs[0].bold
            assert paragraphs[i + 1].text == html_tables[n] and paragraphs[i + 1].runs[0].italic


def test_cells_match_the_html(run):
    out, res = run
    document = docx.Document(str(out / "tables.docx"))
    # Table 1 is the summary of validity evidence (verdicts): criterion / evidence / judgement / rule
    head = [c.text for c in document.tables[0].rows[0].cells]
    assert head == ["Criterion", "Evidence", "Judgement", "Rule"]
    # an ordinary table: its header and first body row appear in the HTML, cell for cell
    items = document.tables[1]
    cells = [c.text for c in items.rows[1].cells]
    assert all(unescape(c) in unescape(res.html) for c in cells if c)
    # APA decimals: no leading zero for statistics that cannot exceed 1 (e.g. ".86", never "0.86")
    texts = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert any(re.fullmatch(r"−?\.\d+", t) for t in texts)


def test_only_horizontal_rules(run):
    out, _ = run
    document = docx.Document(str(out / "tables.docx"))
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    borders = document.tables[1]._tbl.tblPr.find(f"{ns}tblBorders")
    vals = {el.tag.replace(ns, ""): el.get(f"{ns}val") for el in borders}
    assert vals["top"] == "single" and vals["bottom"] == "single"
    assert vals["left"] == vals["right"] == vals["insideV"] == vals["insideH"] == "nil"
    # and as cell borders (LibreOffice draws only these): above the headings, below them, below the last row
    table = document.tables[1]

    def edge(cell, side):
        found = cell._tc.tcPr.find(f"{ns}tcBorders")
        el = None if found is None else found.find(f"{ns}{side}")
        return None if el is None else el.get(f"{ns}val")

    first, last = table.rows[0].cells[0], table.rows[-1].cells[0]
    assert edge(first, "top") == "single" and edge(first, "bottom") == "single"
    assert edge(last, "bottom") == "single" and edge(table.rows[1].cells[0], "top") in (None, "nil")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed here; "
                                                           "only the PDF conversion is skipped")
def test_converts_to_pdf_with_libreoffice(run, tmp_path):
    out, _ = run
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(out / "tables.docx")], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "tables.pdf"
    assert pdf.exists() and pdf.read_bytes()[:4] == b"%PDF"
