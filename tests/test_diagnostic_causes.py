"""Issue 15 (3): diagnostics grouped by cause — one line per cause with the steps and groups it
affected, the most urgent first, the full list one click away (report) and in results.json."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from psychometrics.exceptions import Diagnostic
from psychometrics.report.diagnostic_causes import TIERS, group_by_cause

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "demo" / "demo_seed0_n400.json"
REPORT = ROOT / "reports" / "demo" / "report.html"


def test_grouping_and_order():
    diags = [
        Diagnostic("DataQualityWarning", "CFA One factor: listwise deletion: 12 of 300 rows have missing values"),
        Diagnostic("DataQualityWarning", "CFA Bifactor: listwise deletion: 12 of 300 rows have missing values"),
        Diagnostic("DataQualityWarning", "invariance: 40 item pair(s) have empty cells in their bivariate table "
                                         "(groups 'a' and 'b')"),
        Diagnostic("ConvergenceWarning", "CFA Bifactor: the estimation did not converge after 500 iterations"),
        Diagnostic("ReliabilityWarning", "reliability: x: something new happened to 3 items"),
        Diagnostic("ReliabilityWarning", "reliability: y: something new happened to 5 items"),
    ]
    causes = group_by_cause(diags)
    assert [c.tier for c in causes] == ["act", "check", "note", "note"]
    assert causes[0].steps == ("CFA Bifactor",) and "did not converge" in causes[0].cause
    # an unknown message is its own cause, numbers blanked: the two reliability messages fall together
    assert causes[1].count == 2 and causes[1].scopes == ("x", "y")
    lw = causes[2]
    assert lw.steps == ("CFA One factor", "CFA Bifactor") and lw.count == 2 and lw.indices == (0, 1)
    assert causes[3].groups == ("a",) or "a" in causes[3].groups
    assert sorted(i for c in causes for i in c.indices) == list(range(len(diags)))
    assert [t for t, _ in TIERS] == ["act", "check", "note"]


def test_demo_results_json_has_one_entry_per_cause():
    res = json.loads(REFERENCE.read_text(encoding="utf-8"))
    full, by_cause = res["diagnostics"], res["diagnostics_by_cause"]
    causes = [c["cause"] for c in by_cause]
    assert len(causes) == len(set(causes))  # each distinct cause once
    assert len(by_cause) < len(full)
    assert sorted(i for c in by_cause for i in c["diagnostics"]) == list(range(len(full)))
    assert sum(c["count"] for c in by_cause) == len(full)
    tiers = [t for t, _ in TIERS]
    assert [tiers.index(c["tier"]) for c in by_cause] == sorted(tiers.index(c["tier"]) for c in by_cause)
    # one cause that several steps hit is one entry naming every step: empty bivariate cells in
    # the four CFA models and invariance (the demo's ordinal steps use pairwise deletion, so no
    # listwise-deletion cause remains)
    cells = [c for c in by_cause if c["cause"].startswith("item pairs with empty cells")]
    assert len(cells) == 1 and len(cells[0]["steps"]) == 5 and cells[0]["count"] >= 5
    assert not [c for c in by_cause if c["cause"].startswith("listwise deletion")]


def test_demo_report_box_counts_each_cause_once():
    html = REPORT.read_text(encoding="utf-8")
    start = html.index("Diagnostics by cause")
    box = html[start:html.index("</div>", start)]
    lines = [unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r'<li class="diag-[a-z]+">(.*?)</li>',
                                                                              box)]
    res = json.loads((REPORT.parent / "results.json").read_text(encoding="utf-8"))
    causes = [c["cause"] for c in res["diagnostics_by_cause"]]
    assert len(lines) == len(causes)
    for cause in causes:
        assert sum(cause in line for line in lines) == 1, cause
    # the full list one click away
    assert '<details class="diag-all"><summary>All ' + str(len(res["diagnostics"])) + " diagnostics" in box
