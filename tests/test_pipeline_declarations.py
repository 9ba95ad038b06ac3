"""Issue 15 (1): verdicts, reliability, the CFA comparison, the scoring key and the norms follow
what the spec declares. A multi-trait spec (five Big Five subscales, ``scoring.total: false``,
no hierarchy) gets no total score anywhere; the same spec with a hierarchy gets one back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from psychometrics.datasets import load_dataset
from psychometrics.pipeline import validate
from psychometrics.pipeline.verdicts import RULES

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "bfi_five_traits.yaml"
# small and fast: continuous methods, no bootstrap, few parallel-analysis data sets
FAST = {"n_boot": 0, "parallel_iter": 20, "ordinal": "no"}


def _run(tmp: Path, spec: Path) -> dict:
    data = tmp / "bfi.csv"
    load_dataset("bfi").iloc[:1000].to_csv(data, index=False)
    validate(spec, data, id_column="id", out=tmp / "out", quiet=True, options=FAST)
    out = {"results": json.loads((tmp / "out" / "results.json").read_text(encoding="utf-8")),
           "key": json.loads((tmp / "out" / "scoring_key.json").read_text(encoding="utf-8")),
           "html": (tmp / "out" / "report.html").read_text(encoding="utf-8")}
    return out


@pytest.fixture(scope="module")
def five_traits(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("five"), SPEC)


@pytest.fixture(scope="module")
def with_hierarchy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hier")
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec["hierarchy"] = {"id": "personality", "name": "General personality factor",
                         "subscales": [s["id"] for s in spec["subscales"]]}
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return _run(tmp, tmp / "spec.yaml")


def _reliability_rows(res: dict) -> list[str]:
    return list(res["results"]["reliability"]["table"]["index"])


def test_no_total_score_without_a_declaration(five_traits):
    res = five_traits["results"]
    criteria = [v["criterion"] for v in res["summary"]]
    assert not [c for c in criteria if "total score" in c.lower()]
    assert sum(c.startswith("Internal consistency: ") for c in criteria) == 5
    assert "total" not in _reliability_rows(five_traits)
    # no items "reversed for ω" of a total that does not exist
    assert not [d for d in res["diagnostics"] if "reversed for" in d["message"] or "general factor" in d["message"]]
    key = five_traits["key"]
    assert [s["name"] for s in key["scores"]] == ["agreeableness", "conscientiousness", "extraversion",
                                                  "neuroticism", "openness"]
    assert "total" not in key["norms"]["tables"] and "total" not in key["reliability"]
    # the bifactor model stays a comparison model; its total-score ω is not reported
    assert res["cfa"]["bifactor_omega"] is None
    assert "Total score" not in five_traits["html"]
    assert "CFA fit of the declared correlated-factors model" in criteria
    assert not [c for c in criteria if "one factor" in c.lower() or "bifactor" in c.lower()]


def test_a_hierarchy_declares_the_total(with_hierarchy):
    res = with_hierarchy["results"]
    criteria = [v["criterion"] for v in res["summary"]]
    assert "Internal consistency: total score" in criteria
    assert "total" in _reliability_rows(with_hierarchy)
    key = with_hierarchy["key"]
    assert "total" in [s["name"] for s in key["scores"]]
    assert "total" in key["norms"]["tables"] and "total" in key["reliability"]
    assert "CFA fit of the declared higher-order model" in criteria


def test_every_rule_names_its_declaration():
    for rule in RULES:
        assert rule.declaration.startswith(("spec:", "option:")), rule.name
    by_name = {r.name: r for r in RULES}
    assert "scoring.total" in by_name["internal_consistency"].declaration
    assert "hierarchy" in by_name["internal_consistency"].declaration
    assert "comparisons, never judged" in by_name["cfa_fit"].declaration


def test_docs_list_every_rule_with_its_declaration():
    text = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule.name}` |" in text and rule.declaration in text, rule.name


def test_a_hypothesis_on_an_undeclared_total_is_a_spec_error():
    from psychometrics.exceptions import SpecError
    from psychometrics.scale import Scale

    spec = yaml.safe_load((ROOT / "tests" / "data" / "mini_scale.yaml").read_text(encoding="utf-8"))
    spec["scoring"]["total"] = False
    spec.pop("hierarchy")
    with pytest.raises(SpecError, match=r"validity\[0\]\.scale_score: hypothesis 'H1' refers to the total score"):
        Scale.from_dict(spec)
    spec["validity"] = spec["validity"][1:]  # only the subscale hypothesis: valid
    assert not Scale.from_dict(spec).has_total


def test_check_shows_no_total_score(capsys):
    from psychometrics.cli import main

    main(["check", str(SPEC)])
    out = capsys.readouterr().out
    assert "all items (no total score)" in out and "total score" not in out.replace("(no total score)", "")
