"""ω total / ω hierarchical from a bifactor CFA against semTools::compRelSEM."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import fit_cfa, models
from psychometrics.exceptions import DataError, ReliabilityWarning
from psychometrics.reliability import omega_bifactor
from tests.conftest import REFERENCE, load_reference

REF = load_reference("omega_bifactor", "omega_bifactor_reference.json")
FACETS = {"encouragement": range(1, 7), "feedback": range(7, 13), "safety": range(13, 18),
          "growth": range(18, 24), "non_supportive": range(24, 29)}


def _hs_fit(hs):
    factors = {"visual": "x1 + x2 + x3", "textual": "x4 + x5 + x6", "speed": "x7 + x8 + x9"}
    model = models.bifactor({f: v.split(" + ") for f, v in factors.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # x1's residual variance is negative, as in lavaan
        return fit_cfa(model, hs, std_lv=True)


def _mentorship_fit():
    data = pd.read_csv(REFERENCE / "omega_bifactor" / "mentorship_items.csv")
    facets = {f: [f"MSS{i:02d}" for i in r] for f, r in FACETS.items()}
    return fit_cfa(models.bifactor(facets), data, std_lv=True)


@pytest.mark.parametrize("case", ["hs", "mentorship"])
@pytest.mark.parametrize("total_variance", ["observed", "implied"])
def test_matches_semtools_comprelsem(hs, case, total_variance):
    fit = _hs_fit(hs) if case == "hs" else _mentorship_fit()
    res = omega_bifactor(fit, total_variance=total_variance)
    ref = REF[case][total_variance]
    # iterative estimates: 1e-4
    assert res.omega_total == pytest.approx(ref["total"], abs=1e-4)
    assert res.omega_hierarchical == pytest.approx(ref["general"], abs=1e-4)
    for factor, value in res.omega_subscales.items():
        assert value == pytest.approx(ref[factor], abs=1e-4)
    assert res.general == "general"


def test_ecv_from_standardized_loadings(hs):
    fit = _hs_fit(hs)
    std = REF["hs"]["std_loadings"]
    g = np.square(std["general"]).sum()
    total = sum(np.square(v).sum() for v in std.values())
    assert omega_bifactor(fit).ecv == pytest.approx(g / total, abs=1e-4)


def test_errors_and_warnings(hs):
    fit = _hs_fit(hs)
    with pytest.raises(DataError, match="general factor 'g' is not a factor"):
        omega_bifactor(fit, general="g")
    with pytest.raises(DataError, match="total_variance"):
        omega_bifactor(fit, total_variance="sample")
    correlated = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs)
    with pytest.raises(DataError, match="cannot tell the general factor"):
        omega_bifactor(correlated)
    with pytest.warns(ReliabilityWarning, match="correlated"):
        res = omega_bifactor(correlated, general="visual")
    assert any(d.category == "ReliabilityWarning" for d in res.diagnostics)
    by_school = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs, group="school")
    with pytest.raises(DataError, match="single-group"):
        omega_bifactor(by_school)
