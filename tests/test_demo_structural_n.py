"""Issue 13: the demo analyses every respondent in every structural step.

For the committed demo report (reports/demo, n = 1,200, with its responses.csv) and the stored
regression copy (tests/reference/demo, n = 400; test_demo_regression.py guards that a fresh demo
equals it), the n each structural section of results.json states — reliability (each score, and
the ordinal coefficients), EFA, every CFA model, measurement invariance, validity (CR/AVE/HTMT) — equals
the number of rows of that section's sample with at least one observed item.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from psychometrics.scale import Scale

ROOT = Path(__file__).parents[1]
SCALE = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")


def _check(res: dict, answered) -> None:
    """``answered(rows, items)``: rows of the list (all rows if None) with ≥ 1 of ``items`` observed."""
    items = [i.id for i in SCALE.items]
    cal, val = res["efa"]["rows"], res["cfa"]["rows"]
    # reliability: every score on all analysed rows, the EM (FIML) estimate
    rel = res["reliability"]["table"]
    assert res["reliability"]["missing"] == "fiml"
    for score, row in zip(rel["index"], rel["data"]):
        ids = items if score == "total" else [i for i in SCALE.items_of(score)]
        assert row[rel["columns"].index("n")] == answered(None, ids), score
    ordinal = res["reliability"]["ordinal"]
    if ordinal is not None:
        assert {r[ordinal["columns"].index("n")] for r in ordinal["data"]} == {answered(None, items)}
    # EFA: the calibration sample
    assert res["efa"]["result"]["n_obs"] == answered(cal, items)
    # CFA: every model fitted on the validation sample
    comp = res["cfa"]["comparison"]
    ns = [r[comp["columns"].index("n")] for r in comp["data"]]
    assert ns and set(ns) == {answered(val, items)}
    # invariance: all analysed rows (invariance_sample full)
    assert res["invariance"]["sample"] == "full"
    assert sum(res["invariance"]["result"]["nobs"].values()) == answered(None, items)
    # validity: the declared CFA of the validation sample
    assert res["validity"]["n"] == answered(val, items)
    assert res["validity"]["construct_validity"] is not None


def test_committed_demo_report_uses_every_respondent():
    res = json.loads((ROOT / "reports" / "demo" / "results.json").read_text(encoding="utf-8"))
    data = pd.read_csv(ROOT / "reports" / "demo" / "responses.csv").set_index("id")
    assert len(data) == 1200

    def answered(rows, ids):
        d = data if rows is None else data.loc[rows]
        return int(d[ids].notna().any(axis=1).sum())

    assert answered(None, [i.id for i in SCALE.items]) == 1200
    _check(res, answered)


def test_regression_demo_uses_every_respondent():
    """The stored n = 400 copy; its responses are re-simulated (same study, n and seed as the demo)."""
    from psychometrics.simulate import default_study_path, load_study, simulate_study
    from test_demo_regression import N, REFERENCE, SEED

    res = json.loads(REFERENCE.read_text(encoding="utf-8"))
    data = simulate_study(load_study(default_study_path()), n=N, seed=SEED).set_index("id")
    assert len(data) == N == res["data_quality"]["missing_data"]["n_rows"]

    def answered(rows, ids):
        d = data if rows is None else data.loc[rows]
        return int(d[ids].notna().any(axis=1).sum())

    _check(res, answered)
