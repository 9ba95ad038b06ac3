"""The pipeline's optional short-form step (``validate --short-form N``) and the IRT section's
global fit (M2/C2, RMSEA2) and local dependence (LD χ², Q3*) — in results.json and the report.

One in-process CLI run on simulated data (n = 300, grouping career_stage) serves all checks.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from psychometrics.cli import main
from psychometrics.exceptions import SpecError
from psychometrics.pipeline.options import ValidationOptions


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from psychometrics.simulate import default_study_path, load_study, simulate_study, write_table

    tmp = tmp_path_factory.mktemp("sf")
    study = load_study(default_study_path())
    data = write_table(simulate_study(study, n=300, seed=1), tmp / "responses.csv")
    out = tmp / "out"
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            main(["validate", str(study.scale_files[study.scale.id]), str(data), "--group", "career_stage",
                  "--id-column", "id", "--short-form", "2", "--quiet", "--out", str(out)])
    except SystemExit as exc:
        assert not exc.code, err.getvalue()[-2000:]
    return json.loads((out / "results.json").read_text(encoding="utf-8")), (out / "report.html").read_text("utf-8")


def _records(frame: dict) -> dict:
    """results.json's {index, columns, data} as index → row dict."""
    return {i: dict(zip(frame["columns"], row)) for i, row in zip(frame["index"], frame["data"])}


def test_short_form_in_results_json(run):
    res, _ = run
    sf = res["short_form"]
    assert sf["per_subscale"] == 2
    assert all(len(v) == 2 for v in sf["items"].values()) and len(sf["items"]) == 5
    # re-validated on the validation rows: α/ω, CFA, invariance, Levy-corrected r
    assert sf["n_calibration"] + sf["n_validation"] == 300
    rv = _records(sf["revalidation"])
    assert set(rv) == set(sf["items"]) | {"total"}
    for r in rv.values():
        assert r["r_short_full_corrected"] < r["r_short_full"] <= 1
        assert 0 < r["alpha_short"] < 1
    assert sf["cfa_fit"]["df"] > 0 and 0 <= sf["cfa_fit"]["cfi"] <= 1
    # Likert items → ordinal → the categorical (WLSMV) ladder, as for the full scale
    assert sf["invariance_method"] == "WLSMV" or any("ML ladder is reported" in n for n in sf["notes"])
    levels = sf["invariance"]["index"]
    assert levels[0] == "configural" and levels[1] in ("thresholds", "metric")
    assert sf["invariance_level"].split(" ")[0] in ("configural", "thresholds", "loadings", "intercepts", "metric",
                                                    "scalar", "strict")
    assert any("invariance of the short form" in n for n in sf["notes"])


def test_short_form_section_in_report(run):
    _, html = run
    for title in ("Short Form: Chosen Items", "Short Form: Re-Validation on the Validation Sample",
                  "Short Form: CFA on the Validation Sample", "Short Form: Measurement Invariance on the Validation Sample",
                  "Levy, P. (1967)"):
        assert title in html


def test_irt_global_fit_and_local_dependence_in_results_and_report(run):
    res, html = run
    models = res["irt"]["models"]
    subscales = [k for k in models if k != "total"]
    assert subscales
    for sid in subscales:
        m2 = models[sid]["limited_information_fit"]
        assert m2["name"] == "C2" and m2["df"] > 0 and 0 <= m2["p"] <= 1 and m2["rmsea2"] >= 0
        ld = models[sid]["local_dependence"]
        k = len(models[sid]["category_values"])
        assert len(ld["data"]) == k * (k - 1) // 2
        assert {"ld_x2", "ld_std", "q3", "q3_star"} <= set(ld["columns"])
    assert models["total"]["limited_information_fit"] is None  # subscales only (Ξ grows with J⁴)
    assert "IRT Global Fit and Local Dependence" in html and "Chen, W.-H., &amp; Thissen" in html


def test_short_form_option_is_checked():
    with pytest.raises(SpecError, match="short_form"):
        ValidationOptions(short_form=0)
    assert ValidationOptions(short_form=3).short_form == 3
    assert ValidationOptions().short_form is None
