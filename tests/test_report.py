"""The validation report: figures, APA tables, templates and the assembled HTML."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError
from psychometrics.report import figures
from psychometrics.report.build import SECTIONS, apa_table, format_table, format_value, render_report
from psychometrics.report.context import Figure, Paragraph, Table, Verdict
from report_example import EVIL, build_example_context

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def context() -> dict:
    return build_example_context()


@pytest.fixture(scope="module")
def report_html(context) -> str:
    return render_report(context)


@pytest.fixture(scope="module")
def report_file(report_html, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report_html, encoding="utf-8")
    return path


# ------------------------------------------------------------ the document
def test_report_is_a_complete_html5_document(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html and html.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in html


def test_tags_are_balanced(report_html):
    """Every element is closed in order (catches template nesting mistakes)."""
    from html.parser import HTMLParser

    void = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source", "track"}

    class Checker(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str] = []
            self.errors: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in void:
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):  # <path .../> in SVG
            pass

        def handle_endtag(self, tag):
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            else:
                self.stack.pop()

    checker = Checker()
    checker.feed(report_html)
    checker.close()
    assert checker.errors == [] and checker.stack == []


def test_every_section_present_in_order(report_html):
    positions = []
    for anchor, heading in SECTIONS.values():
        assert f'id="{anchor}"' in report_html, anchor
        assert f"<h2>{heading}</h2>" in report_html, heading
        positions.append(report_html.index(f'id="{anchor}"'))
    assert positions == sorted(positions)
    assert 'id="references"' in report_html
    # the internal-structure subsections
    for sub in ("Item Analysis", "Reliability", "Exploratory Factor Analysis", "Confirmatory Factor Analysis",
                "Measurement Invariance"):
        assert f"<h3>{sub}</h3>" in report_html


def test_user_text_is_escaped(report_html):
    assert "<script" not in report_html.lower()
    escaped = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;"
    # item text, respondent id in the exclusions, hypothesis label, option value
    assert report_html.count(escaped) >= 4
    assert "work &amp; field" in report_html


def test_no_network_resources(report_html):
    for attr, value in re.findall(r'\b(src|href|action|poster|srcset)\s*=\s*"([^"]*)"', report_html, re.I):
        assert attr.lower() == "href" and value.startswith("#"), (attr, value)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", report_html, re.I)
    assert "@import" not in report_html
    assert "<link" not in report_html.lower() and "<script" not in report_html.lower()
    assert "<img" not in report_html.lower() and "<iframe" not in report_html.lower()


def test_content_security_policy(report_html):
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
    ) in report_html


def test_print_stylesheet(report_html):
    css = report_html[report_html.index("<style>"): report_html.index("</style>")]
    media = css[css.index("@media print"):]
    assert "section.major { break-before: page" in media
    assert "nav.toc" in media and "display: none" in media
    assert "thead { display: table-header-group; }" in media
    assert "break-inside: avoid" in media


def test_figures_inline_and_numbered(report_html):
    assert report_html.count("<svg ") == 5
    assert report_html.count('<p class="figure-number">Figure') == 5
    numbers = [int(n) for n in re.findall(r'<p class="figure-number">Figure (\d+)</p>', report_html)]
    assert numbers == list(range(1, 6))
    tables = [int(n) for n in re.findall(r'<p class="table-number">Table (\d+)</p>', report_html)]
    assert tables == list(range(1, len(tables) + 1)) and len(tables) >= 15


def test_element_ids_are_unique(report_html):
    ids = re.findall(r'\sid="([^"]+)"', report_html)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates


def test_report_is_deterministic_and_small(context, report_html):
    # figures are checked for determinism separately (test_figures_are_deterministic)
    again = render_report(context)
    assert again == report_html
    assert len(report_html.encode("utf-8")) < 400_000


def test_verdicts_name_rule_and_reference(report_html):
    assert "Hu &amp; Bentler (1999)" in report_html
    assert "CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08" in report_html
    for label in ("Met", "Borderline", "Not met", "Not assessed"):
        assert f">{label}</span>" in report_html
    assert '<a href="#internal-structure-reliability">' in report_html
    assert 'id="internal-structure-reliability"' in report_html


def test_every_exclusion_listed(context, report_html):
    exclusions = context["data_quality"]["exclusions"]
    section = report_html[report_html.index('id="data-quality"'): report_html.index('id="internal-structure"')]
    for row, detail in zip(exclusions.index, exclusions["Detail"]):
        assert f'<th scope="row" class="stub">{row}</th>' in section
        assert detail.replace("&", "&amp;") in section


def test_absent_sections_say_so(context):
    minimal = {k: v for k, v in context.items() if k not in ("relations", "scoring", "references")}
    minimal["data_quality"] = {"exclusions": pd.DataFrame(columns=["Rule"])}
    html = render_report(minimal)
    assert "this source of validity evidence was not examined" in html
    assert "No scoring key was produced." in html
    assert "No records or values were excluded from the analyses." in html
    assert "Standards for educational and psychological testing" in html  # always cited


def test_provenance(report_html):
    section = report_html[report_html.index('id="provenance"'):]
    for text in ("Data SHA-256", "9f2c1e0b7a6d5c4b", "Scale hash", "Random seed", "20261126",
                 "efa.parallel.n_iter", "semopy", "2.3.11", "scalevalid 0.1.0"):
        assert text in section


# ------------------------------------------------------------- the context
def test_plain_string_figure_is_refused(context):
    bad = dict(context)
    bad["scoring"] = {"blocks": [Figure("<svg onload='alert(1)'></svg>", "Sneaky")]}
    with pytest.raises(TypeError, match="must be an SVG returned by a psychometrics.report.figures function"):
        render_report(bad)


def test_blocks_as_plain_dicts(context):
    ctx = dict(context)
    ctx["scoring"] = {"blocks": [
        {"type": "paragraph", "text": "x < y"},
        {"type": "table", "frame": pd.DataFrame({"a": [0.5]}), "title": "T"},
        {"type": "verdicts", "title": "V", "verdicts": [{"criterion": "c", "status": True, "rule": "r"}]},
        "a bare string becomes a paragraph",
    ]}
    html = render_report(ctx)
    assert "<p>x &lt; y</p>" in html and "a bare string becomes a paragraph" in html
    with pytest.raises(ValueError, match="block type 'chart'"):
        render_report({**ctx, "scoring": {"blocks": [{"type": "chart"}]}})


def test_missing_required_key_names_it(context):
    with pytest.raises(KeyError, match="context lacks the required key 'provenance'"):
        render_report({k: v for k, v in context.items() if k != "provenance"})
    with pytest.raises(KeyError, match=r"context\['content'\] lacks the required key 'items'"):
        render_report({**context, "content": {}})


def test_bad_verdict_status(context):
    ctx = {**context, "summary": {"verdicts": [Verdict("c", "passed")]}}
    with pytest.raises(ValueError, match="status 'passed'"):
        render_report(ctx)


# -------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0.4567, {}, "0.46"),
        (-0.4567, {"no_leading_zero": True}, "\u2212.46"),
        (-0.001, {}, "0.00"),  # no negative zero
        (1.02, {"no_leading_zero": True}, "1.02"),
        (0.0004, {"p_value": True}, "<.001"),
        (0.04321, {"p_value": True}, ".043"),
        (np.nan, {}, "—"),
        (None, {}, "—"),
        (1187, {}, "1,187"),
        (np.int64(-12), {}, "\u221212"),
        (5123.4, {"digits": 1}, "5,123.4"),
        ((0.81, 0.9), {"no_leading_zero": True}, "[.81, .90]"),
        (True, {}, "yes"),
        ("text", {}, "text"),
    ],
)
def test_format_value(value, kwargs, expected):
    assert format_value(value, **kwargs) == expected


def test_format_table_spanners_and_row_groups():
    columns = pd.MultiIndex.from_tuples([("Women", "M"), ("Women", "SD"), ("Men", "M"), ("Men", "SD")])
    index = pd.MultiIndex.from_tuples([("Career", "MS1"), ("Career", "MS2"), ("Role", "MS9")],
                                      names=["Facet", "Item"])
    frame = pd.DataFrame(np.arange(12, dtype=float).reshape(3, 4) / 7, index=index, columns=columns)
    out = format_table(Table(frame, "Means", digits=2))
    top, bottom = out["head"]
    assert [(c["text"], c["colspan"], c["spanner"]) for c in top] == [
        ("", 1, False), ("", 1, False), ("Women", 2, True), ("Men", 2, True)]
    assert [c["text"] for c in bottom] == ["Facet", "Item", "M", "SD", "M", "SD"]
    assert [c["text"] for c in out["body"][1][:2]] == ["", "MS2"]  # repeated facet label blanked
    assert out["body"][0][2]["text"] == "0.00" and out["body"][0][2]["numeric"]
    html = str(apa_table(Table(frame, "Means <b>", note="n = 10"), 3))
    assert '<p class="table-number">Table 3</p>' in html and "Means &lt;b&gt;" in html
    assert 'colspan="2"' in html and "<em>Note.</em> n = 10" in html


def test_format_table_hides_plain_row_numbers():
    frame = pd.DataFrame({"lhs": ["F1"], "est": [0.5]})
    assert [c["text"] for c in format_table(Table(frame, "t"))["body"][0]] == ["F1", "0.50"]
    assert [c["text"] for c in format_table(Table(frame, "t", show_index=True))["body"][0]] == ["0", "F1", "0.50"]
    named = frame.rename_axis("row")
    assert len(format_table(Table(named, "t"))["body"][0]) == 3


def test_format_table_escapes_nothing_itself_but_template_does():
    out = format_table(Table(pd.DataFrame({"<x>": ["<y>"]}, index=["<z>"]), "t"))
    assert out["body"][0][1]["text"] == "<y>"
    html = str(apa_table(Table(pd.DataFrame({"<x>": ["<y>"]}, index=["<z>"]), "t"), 1))
    assert "<y>" not in html and "&lt;y&gt;" in html and "&lt;x&gt;" in html and "&lt;z&gt;" in html


def test_result_repr_html_still_uses_shared_environment():
    from psychometrics.report.render import environment

    assert environment().autoescape is True
    assert environment().get_template("result.html.j2") is not None


# ----------------------------------------------------------------- figures
def _eigen():
    observed = pd.DataFrame({"FA": [3.2, 1.1, 0.2, 0.05], "PCA": [3.6, 1.5, 0.6, 0.3]}, index=[1, 2, 3, 4])
    simulated = pd.DataFrame({"FA": [0.3, 0.2, 0.1, 0.0], "PCA": [1.3, 1.1, 0.95, 0.8]}, index=[1, 2, 3, 4])
    return observed, simulated


def _all_figures() -> dict[str, str]:
    observed, simulated = _eigen()
    lam = pd.DataFrame({"F1": [0.7, 0.6, np.nan, np.nan], "F2": [np.nan, 0.2, 0.8, 0.5]},
                       index=["a$1", "b<2>", "c&3", "d"])
    phi = pd.DataFrame([[1, 0.4], [0.4, 1]], index=["F1", "F2"], columns=["F1", "F2"])
    counts = pd.DataFrame([[1, 2, 3, 4], [4, 3, 2, 1]], index=["a$1", "<b>"], columns=["1", "2", "3", "4"])
    deltas = pd.DataFrame({"ΔCFI": [-0.004, -0.02], "ΔRMSEA": [0.002, 0.01]}, index=["metric", "scalar"])
    return {
        "scree": figures.scree_plot(observed, simulated, retained=2, kaiser=True),
        "heatmap": figures.loading_heatmap(lam.fillna(0.0), communalities=(lam.fillna(0) ** 2).sum(axis=1)),
        "responses": figures.response_distribution(counts, centered=True),
        "responses_plain": figures.response_distribution(counts, centered=False),
        "path": figures.cfa_path_diagram(lam, phi, residuals=pd.Series([0.5, 0.6, 0.36, 0.75], index=lam.index)),
        "invariance": figures.invariance_delta_chart(deltas, {"ΔCFI": -0.01, "ΔRMSEA": {"metric": 0.015}}),
        "irt_info": figures.information_curves(_information()),
    }


def _information() -> dict[str, pd.Series]:
    theta = pd.Index(np.linspace(-4, 4, 33), name="theta")
    return {name: pd.Series(peak * np.exp(-((theta - mu) ** 2) / 2), index=theta)
            for name, peak, mu in (("a<1>", 6.0, -0.5), ("b&2", 9.0, 0.5), ("total", 16.0, 0.0))}


def test_information_curves_written_directly_with_axes_and_legend(all_figures):
    # issue 16: drawn as SVG without matplotlib (its import and layout were the report's fixed cost)
    import xml.etree.ElementTree as ET

    svg = all_figures["irt_info"]
    root = ET.fromstring(str(svg))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "θ" in texts and "test information I(θ)" in texts and "I = 10 (reliability .90)" in texts
    assert {"a<1>", "b&2", "total"} <= set(texts)  # the legend, escaped in the source
    assert len(list(root.iter("{http://www.w3.org/2000/svg}polyline"))) == 3
    assert "−2" in texts and "4" in texts  # θ ticks, with a minus sign
    with pytest.raises(DataError):
        figures.information_curves({})


@pytest.fixture(scope="module")
def all_figures():
    return _all_figures()


def test_figures_are_inline_svg_with_text_as_text(all_figures):
    for name, svg in all_figures.items():
        assert isinstance(svg, figures.SVG), name
        assert svg.startswith("<svg ") and svg.endswith("</svg>"), name
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata" not in svg, name
        assert "<text" in svg, name  # svg.fonttype = "none": text stays text
        assert "glyph" not in svg.lower() and "DejaVuSans-" not in svg, name
        assert "<image" not in svg and not re.search(r'href="(?!#)', svg), name
        assert svg.__html__() == str(svg) and svg._repr_svg_() == str(svg)


def test_figures_are_deterministic_and_leave_matplotlib_alone(all_figures):
    import matplotlib

    backend = matplotlib.get_backend()
    before = dict(matplotlib.rcParams)
    again = _all_figures()
    for name in all_figures:
        assert again[name] == all_figures[name], name
    # no matplotlib.use(), and rc_context restored every rcParam the figures set
    assert matplotlib.get_backend() == backend
    after = dict(matplotlib.rcParams)
    assert [k for k in before if before[k] != after[k]] == []


def test_figure_labels_escaped_and_not_mathtext(all_figures):
    for name in ("heatmap", "responses", "path"):
        svg = all_figures[name]
        assert "&lt;" in svg and "<b>" not in svg and "<2>" not in svg, name
        assert "a$1" in svg, name  # a dollar sign is text, not mathtext
    assert "c&amp;3" in all_figures["path"]


def test_figure_ids_are_scoped(all_figures):
    seen: dict[str, str] = {}
    for name, svg in all_figures.items():
        for ident in re.findall(r'\sid="([^"]+)"', svg):
            assert ident.startswith("psy-"), (name, ident)
            assert seen.setdefault(ident, name) == name, ident  # unique across figures
        for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg):
            target = ref[0] or ref[1]
            assert f'id="{target}"' in svg, (name, target)


def test_invariance_chart_marks_violations(all_figures):
    svg = all_figures["invariance"]
    assert svg.count("#b2182b") == 1  # only scalar ΔCFI (−.020 < −.010) exceeds its cut-off
    assert "ΔCFI" in svg and "ΔRMSEA" in svg


def test_path_diagram_content(all_figures):
    svg = all_figures["path"]
    assert svg.count("<ellipse") == 2 and svg.count("<rect") >= 4
    assert ">.70<" in svg and ">.40<" in svg and ">.20<" in svg  # loadings, correlation, cross-loading
    assert 'marker-end="url(#psy-arrow-' in svg


def test_path_diagram_zero_means_no_path():
    lam = pd.DataFrame({"F1": [0.7, 0.6, 0.0], "F2": [0.0, 0.0, 0.8]}, index=["a", "b", "c"])
    svg = figures.cfa_path_diagram(lam)
    assert svg.count("<line") == 3 and ".00" not in svg


def test_import_is_light_and_figures_identical_across_processes(all_figures):
    """Importing the report does not import matplotlib; another process (another hash
    seed) draws byte-identical figures."""
    code = (
        "import sys, hashlib\n"
        "import psychometrics.report.figures, psychometrics.report.build\n"
        "print('matplotlib' in sys.modules)\n"
        "from test_report import _all_figures\n"
        "for name, svg in sorted(_all_figures().items()):\n"
        "    print(name, hashlib.sha256(svg.encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    lines = out.stdout.split("\n")
    assert lines[0] == "False"
    expected = [f"{name} {hashlib.sha256(svg.encode()).hexdigest()}" for name, svg in sorted(all_figures.items())]
    assert [line for line in lines[1:] if line] == expected


def test_figure_input_errors():
    with pytest.raises(DataError, match=r"items \['x'\] have no responses"):
        figures.response_distribution(pd.DataFrame({"1": [0, 3], "2": [0, 1]}, index=["x", "y"]))
    with pytest.raises(DataError, match="must not be negative"):
        figures.response_distribution(pd.DataFrame({"1": [-1, 3]}, index=["x", "y"]))
    with pytest.raises(DataError, match=r"items \['x'\] load on no factor"):
        figures.cfa_path_diagram(pd.DataFrame({"F": [np.nan, 0.5]}, index=["x", "y"]))
    with pytest.raises(DataError, match="numbers only"):
        figures.loading_heatmap(pd.DataFrame({"F": ["high", 0.5]}, index=["x", "y"]))
    with pytest.raises(DataError, match="not columns of deltas"):
        figures.invariance_delta_chart(pd.DataFrame({"ΔCFI": [0.0]}, index=["metric"]), {"CFI": -0.01})
    observed, simulated = _eigen()
    with pytest.raises(DataError, match="no observed counterpart"):
        figures.scree_plot(observed, simulated.rename(columns={"FA": "PAF"}))
    with pytest.raises(TypeError, match="pandas Series or DataFrame"):
        figures.scree_plot([1, 2, 3])


def test_paragraph_block_escapes(context):
    html = render_report({**context, "scoring": {"blocks": [Paragraph(EVIL)]}})
    assert EVIL not in html


def test_category_response_curves_panels_titles_and_fixed_ticks():
    """One panel per item with its (escaped) title, the category legend and the axis labels; panels
    are placed by hand (no constrained layout), ticks fixed at the even θ and 0/.5/1."""
    import numpy as np
    import pandas as pd

    from psychometrics.report.figures.irt import category_response_curves

    theta = np.linspace(-4, 4, 61)
    p = 1 / (1 + np.exp(-1.5 * (theta[:, None] - np.array([-1.0, 0.0, 1.0]))))
    probs = np.column_stack([1 - p[:, 0], p[:, 0] - p[:, 1], p[:, 1] - p[:, 2], p[:, 2]])
    curves = {f"<i{j}>": pd.DataFrame(probs, index=theta, columns=["1", "2", "3", "4"]) for j in range(6)}
    svg = category_response_curves(curves)
    assert svg.count("&lt;i") == 6 and "<i0>" not in svg  # titles are text, escaped
    assert "P(category | θ)" in svg and "category" in svg
    assert svg.startswith("<svg") and "−4" in svg and ">.5<" in svg  # fixed ticks: even θ, 0 / .5 / 1
    # the polylines' points (computed for all points at once) as the panel's scales give them point by point
    probs[5, 1] = np.nan  # a missing point is left out
    one = str(category_response_curves({"i": pd.DataFrame(probs, index=theta, columns=["1", "2", "3", "4"])}))
    x0, pw, y0, ph = 58.0, 6.5 * 96.0 - 58.0 - 10.0, 8.0 + 16.0, 88.0
    for i in range(4):
        ok = np.isfinite(probs[:, i])
        pts = " ".join(f"{x0 + (t + 4.0) / 8.0 * pw:.1f},{y0 + (1.0 - v) * ph:.1f}"
                       for t, v in zip(theta[ok], probs[ok, i]))
        assert f'<polyline points="{pts}"' in one


def test_flagged_rows_table_is_bounded():
    # issue 16: nothing in the report grows with n — the careless-flag table lists the first
    # MAX_LISTED flagged rows and says how many there are (results.json keeps every one)
    from types import SimpleNamespace

    from psychometrics.report.sections import data_quality as dq

    n = dq.MAX_LISTED + 50
    careless = pd.DataFrame({"flagged": True, "longstring": 3, "mahalanobis_d2": 50.0, "mahalanobis_p": 1e-5,
                             "evenodd": np.nan, "longstring_flag": False, "mahalanobis_flag": True,
                             "evenodd_flag": False}, index=range(n))
    quality = SimpleNamespace(rows_read=n, rows_used=n, complete_cases=n, careless_flags={"any": n},
                              to_frame=lambda: pd.DataFrame({"missing": [0], "missing_share": [0.0]}, index=["x1"]))
    resp = SimpleNamespace(quality=quality, careless=careless, ids=None, diagnostics=())
    data = SimpleNamespace(responses=resp, analysed=range(n), calibration=range(n // 2), validation=range(n // 2),
                           missing_data=None, companions={}, exclusions=pd.DataFrame({"Row": [], "Reason": []}))
    for exclude in (False, True):
        out = dq.data_quality_section(SimpleNamespace(data=data, options=SimpleNamespace(exclude_careless=exclude)))
        table = next(b for b in out["blocks"] if isinstance(b, Table))
        assert len(table.frame) == dq.MAX_LISTED
        assert f"The first {dq.MAX_LISTED} of {n} flagged rows are shown" in table.note
        assert f"flagged {n} of {n} rows" in out["blocks"][0].text
