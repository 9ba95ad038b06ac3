"""CFA from a Scale specification, and the hand-off to psychometrics.validity."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_reference
from psychometrics import validity
from psychometrics.cfa import fit_cfa, models
from psychometrics.scale import Scale


@pytest.fixture(scope="module")
def hs_scale() -> Scale:
    subs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    return Scale.from_dict({
        "id": "hs", "name": "Holzinger-Swineford abilities", "version": "1.0.0",
        "construct": "Mental ability tests.",
        "response_format": {"type": "likert", "min": 0, "max": 10},
        "subscales": [{"id": s, "name": s.title()} for s in subs],
        "items": [{"id": i, "text": f"Test {i}", "subscale": s} for s, its in subs.items() for i in its],
        "hierarchy": {"id": "g", "name": "General ability", "subscales": list(subs)},
    })


def test_scale_builders(hs_scale):
    assert models.factor_items(hs_scale) == {
        "visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    assert models.correlated_factors(hs_scale) == "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    assert models.higher_order(hs_scale).endswith("g =~ visual + textual + speed")
    assert models.one_factor(hs_scale) == "general =~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9"
    assert models.bifactor(hs_scale, name="general") == load_reference("cfa", "hs_bifactor.json")["model"]


def test_fit_cfa_with_a_scale_is_the_correlated_factors_model(hs_scale, hs):
    ref = load_reference("cfa", "hs3.json")
    res = fit_cfa(hs_scale, hs)
    assert res.fit["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-6)
    higher = fit_cfa(models.higher_order(hs_scale), hs)
    ref_h = load_reference("cfa", "hs_higher.json")
    assert higher.fit["chisq"] == pytest.approx(ref_h["fit"]["chisq"], rel=1e-6)


def test_vcov_labels_and_standard_errors(hs):
    res = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs)
    V = res.parameter_vcov()
    assert "visual=~x2" in V.index and "visual~~textual" in V.index and V.shape == (21, 21)
    e = res.estimates
    se = e.loc[(e.lhs == "visual") & (e.op == "=~") & (e.rhs == "x2"), "se"].item()
    assert np.sqrt(V.loc["visual=~x2", "visual=~x2"]) == pytest.approx(se, rel=1e-12)
    mg = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs,
                 group="school", group_equal=["loadings"])
    names = list(mg.parameter_vcov().index)
    assert "visual=~x2" in names and "visual=~x2.g2" not in names  # equal loadings appear once
    assert "visual~~textual.g2" in names
    gw = mg.parameter_vcov(group="Grant-White")
    assert gw.loc["visual~~textual", "visual~~textual"] == mg.parameter_vcov().loc["visual~~textual.g2"].loc["visual~~textual.g2"]
    assert gw.loc["visual=~x2", "visual=~x2"] == mg.parameter_vcov().loc["visual=~x2", "visual=~x2"]


def test_construct_validity_consumes_the_result(hs):
    ref = load_reference("validity", "cfa_cr_ave.json")["hs"]
    res = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs)
    cv = validity.construct_validity(res)
    lat = cv.latent_correlations.set_index(["lhs", "rhs"])
    for row in ref["latent_cor_table"]:
        got = lat.loc[(row["lhs"], row["rhs"])]
        assert got["est"] == pytest.approx(row["est.std"], abs=1e-5)
        assert got["se"] == pytest.approx(row["se"], abs=1e-5)
