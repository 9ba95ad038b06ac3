"""M2 / C2 limited-information fit against the Python mirt package (2PL) and by simulation (GRM)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from psychometrics.irt import calibrate
from psychometrics.irt.m2 import _with_parameters, limited_information_fit
from psychometrics.irt.simulate import simulate_responses
from tests.conftest import load_reference


def test_m2_matches_mirt_for_the_2pl():
    ref = load_reference("irt", "m2_mirt_2pl_sim_2pl.json")
    data = load_reference("irt", "sim_2pl.csv")
    cal = calibrate(data, model="2pl")
    params = cal.parameters.copy()
    a = np.array(ref["estimates"]["discrimination"])
    params["a"] = a
    params["c1"] = -a * np.array(ref["estimates"]["difficulty"])
    fit = limited_information_fit(_with_parameters(cal, params), data)  # at mirt's own estimates
    assert fit["name"] == "M2" and fit["df"] == ref["m2"]["df"]
    assert fit["statistic"] == pytest.approx(ref["m2"]["M2"], rel=1e-5)
    assert fit["p"] == pytest.approx(ref["m2"]["p_value"], abs=1e-5)
    at_ours = limited_information_fit(cal, data)  # at our optimum (2e-5 away): M2 close
    assert at_ours["statistic"] == pytest.approx(ref["m2"]["M2"], rel=1e-3)


def test_c2_under_the_true_grm_is_chi_square():
    """GRM, 6 items × 3 categories: C2 has 12 + 15 = 27 moments, 18 parameters, df = 9; the mean of C2
    over replications is near df (simulation check; no polytomous C2 reference is stored)."""
    a = np.array([0.8, 1.2, 1.6, 2.0, 1.0, 1.4])
    c = -a[:, None] * np.array([[-0.6, 0.6]])
    stats = []
    for r in range(8):
        data = simulate_responses(a, c, 800, seed=50 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = calibrate(data)
        fit = limited_information_fit(cal, data)
        assert fit["name"] == "C2" and fit["df"] == 9
        stats.append(fit["statistic"])
    # mean of 8 χ²(9) draws: 9 ± 3·√(18/8) = 9 ± 4.5
    assert 4.5 < np.mean(stats) < 13.5


def test_perturbed_item_probabilities_equal_the_full_recomputation():
    """issue 16 (fifth session): the finite-difference Δ recomputes only the perturbed item's probabilities;
    the array equals _probs of the perturbed vectors (every parameter, both directions), bit for bit."""
    from psychometrics.irt._models import category_probs
    from psychometrics.irt.m2 import _item_vectors, _probs

    a = np.linspace(0.8, 2.0, 5)
    df = simulate_responses(a, -a[:, None] * np.array([[-1.0, 0.0, 1.0]]), 800, seed=5).astype(float)
    df["I02"] = (df["I02"] > 1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate(df)
    vecs = _item_vectors(cal)
    probs = _probs(cal)
    for j, v in enumerate(vecs):
        for m in range(v.size):
            for step in (1e-5, -1e-5):
                full = [x.copy() for x in vecs]
                full[j][m] += step
                x = v.copy()
                x[m] += step
                p = probs.copy()
                p[j, :, : x.size] = category_probs(cal.engine_model, x[:1], x[None, 1:], cal.nodes)[0]
                np.testing.assert_array_equal(p, _probs(cal, full))
