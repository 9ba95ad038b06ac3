"""Rasch family (Rasch, PCM, RSM) by marginal ML with θ ~ N(0, σ²) (psychometrics.irt.rasch_mml).

References (tests/reference/irt/rasch_mml.R, provenance_rasch_mml.json):
* R lme4::glmer — the Rasch model as a logistic random-intercept model, adaptive Gauss–Hermite
  with 25 points (rasch_mml_glmer.json, sim_rasch.csv);
* an independent R implementation of the PCM / RSM marginal likelihood at the same 21-point
  Gauss–Hermite rule, maximised by nlminb, SEs by numDeriv (rasch_mml_R.json, bfi_agree.csv).
Plus analytic identities (the PCM is the GPCM with equal slopes; the sum score is sufficient),
agreement with CML on large simulated data, and simulation recovery with interval coverage.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError
from psychometrics.irt import eap_scores, sum_score_table
from psychometrics.irt._data import prepare_responses, quadrature
from psychometrics.irt._engine import Engine
from psychometrics.irt.cml import fit_cml
from psychometrics.irt.rasch_mml import RaschMMLResult, fit_rasch_mml
from psychometrics.irt.simulate import simulate_responses
from tests.conftest import load_reference

ITEMS = ["A1", "A2", "A3", "A4", "A5"]


def _bfi() -> pd.DataFrame:
    return load_reference("irt", "bfi_agree.csv")[ITEMS]


def _quiet(*args, **kwargs) -> RaschMMLResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extreme response patterns in bfi: warned, tested in test_irt.py
        return fit_rasch_mml(*args, **kwargs)


def test_rasch_mml_matches_glmer():
    ref = load_reference("irt", "rasch_mml_glmer.json")
    data = load_reference("irt", "sim_rasch.csv")
    # glmer integrates by adaptive quadrature (25 points); 41 fixed Gauss–Hermite points reach the
    # same integral (21 points: log L 1.3e-5 lower, estimates within 1e-6)
    res = fit_rasch_mml(data, "rasch", quadrature_points=41)
    assert res.converged
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    np.testing.assert_allclose(res.betapar, ref["beta"], atol=1e-5)
    assert res.sigma == pytest.approx(ref["sigma"], abs=1e-5)
    # glmer's SEs of β come from its own finite-difference Hessian: 1e-3 relative
    np.testing.assert_allclose(res.se_betapar, ref["se_beta"], rtol=1e-3)


@pytest.mark.parametrize("model", ["pcm", "rsm"])
def test_pcm_rsm_mml_match_independent_r_implementation(model):
    ref = load_reference("irt", "rasch_mml_R.json")[model]
    res = _quiet(_bfi(), model)
    assert res.converged
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    # R's nlminb stops at max |∇| ≈ 7e-5 (gradient of −ℓ on N = 2709): estimates 1e-5
    np.testing.assert_allclose(res.parameters["estimate"], ref["par"], atol=1e-5)
    np.testing.assert_allclose(res.sigma, ref["sigma"], atol=1e-5)
    # SEs: numDeriv Hessian in R, Louis observed information here: 1e-4 relative
    np.testing.assert_allclose(res.parameters["se"], ref["se_par"], rtol=1e-4)
    # thresholds are −c in the logit metric
    c = np.asarray(ref["c"])
    np.testing.assert_allclose(res.thresholds[[f"threshold{v}" for v in range(1, 6)]].to_numpy(), -c, atol=1e-5)
    np.testing.assert_allclose(res.thresholds["location"], -c.mean(axis=1), atol=1e-5)


def test_pcm_mml_is_the_gpcm_with_equal_slopes():
    """Identity with the GPCM engine: at the PCM estimate the GPCM likelihood equals the PCM's and its
    gradient has no component inside the equal-slope subspace (Σ_j ∂ℓ/∂a_j = 0, ∂ℓ/∂c = 0)."""
    data = _bfi()
    res = _quiet(data, "pcm")
    prepared = prepare_responses(data, ITEMS)
    engine = Engine(prepared, "gpcm", *quadrature("gauss-hermite", 21))
    x = np.concatenate([[a, *c] for a, c in res.calibration.item_arrays()])
    ll, _, r, _ = engine.estep(x)
    grad = engine.item_terms(x, r, info=False)[0]
    assert ll == pytest.approx(res.loglik, abs=1e-8)
    a_pos = engine.offs[:-1]
    assert abs(grad[a_pos].sum()) / engine.n < 1e-7
    assert np.max(np.abs(np.delete(grad, a_pos))) / engine.n < 1e-7
    np.testing.assert_allclose([a for a, _ in res.calibration.item_arrays()], res.sigma, rtol=1e-12)
    # the free-slope GPCM nests the PCM
    from psychometrics.irt import calibrate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert calibrate(data, model="gpcm").loglik > res.loglik


def _pcm_truth(seed: int, j: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return -(rng.normal(0, 0.7, (j, 1)) + np.linspace(-0.9, 0.8, k - 1))


def test_cml_and_mml_agree_on_large_simulated_data():
    """N = 5000 PCM with a normal latent trait: both estimators are consistent, so after moving the
    MML β to CML's identification (Σβ = 0) they differ by far less than a standard error."""
    c = _pcm_truth(5, 6, 4)
    data = simulate_responses(np.full(6, 1.3), c, 5000, model="gpcm", seed=6)
    mml = _quiet(data, "pcm")
    cml = fit_cml(data, "pcm")
    beta, se = mml.betapar_sum0()
    assert np.max(np.abs(beta - cml.betapar) / cml.se_betapar) < 0.5
    np.testing.assert_allclose(se, cml.se_betapar, rtol=0.15)  # MML uses the normal prior: slightly smaller
    assert abs(mml.sigma - 1.3) < 3 * mml.se_sigma
    # the same for the RSM (c_jv = e_j + t_v)
    e = np.array([-0.6, -0.2, 0.1, 0.4, 0.7])
    t = np.array([0.8, 0.0, -0.9])
    data = simulate_responses(np.full(5, 1.0), e[:, None] + t[None, :], 5000, model="gpcm", seed=7)
    mml = _quiet(data, "rsm")
    cml = fit_cml(data, "rsm")
    beta, _ = mml.betapar_sum0()
    assert np.max(np.abs(beta - cml.betapar) / cml.se_betapar) < 0.5
    est = mml.parameters["estimate"]
    z = (est.to_numpy() - np.concatenate([[1.0], e + t[0], t[1:] - t[0]])) / mml.parameters["se"].to_numpy()
    assert np.all(np.abs(z) < 3)


def test_pcm_mml_recovery_and_coverage():
    """100 replications, N = 400, 5 items × 3 categories, σ = 1: every parameter's 95 % interval
    covers the truth in 93–97 % of the fits on average (Wald intervals, Louis SEs)."""
    c = _pcm_truth(5, 5, 3)
    truth = np.concatenate([[1.0], c.ravel()])
    hits = []
    for rep in range(100):
        res = _quiet(simulate_responses(np.ones(5), c, 400, model="gpcm", seed=100 + rep), "pcm")
        assert res.converged
        hits.append(np.abs(res.parameters["estimate"].to_numpy() - truth) < 1.959964 * res.parameters["se"].to_numpy())
    assert 0.93 <= np.mean(hits) <= 0.97


def test_sum_score_is_sufficient_in_the_mml_rasch_family():
    """Rasch family: patterns with the same sum score have the same EAP, equal to the sum-score table's."""
    data = simulate_responses(np.full(4, 1.2), _pcm_truth(3, 4, 3), 300, model="gpcm", seed=3)
    res = _quiet(data, "pcm")
    eap = eap_scores(res.calibration, data)
    table = sum_score_table(res.calibration)
    s = data.sum(axis=1)
    np.testing.assert_allclose(eap["theta"].to_numpy(), table["eap"].to_numpy()[s.to_numpy()], atol=1e-10)
    assert isinstance(res.to_frame(), pd.DataFrame) and "location" in res.to_frame()
    assert "Rasch" in res._repr_html_()


def test_rasch_mml_bad_input_is_a_typed_error():
    data = pd.DataFrame({"x1": [0, 1, 2, 1] * 10, "x2": [0, 1, 1, 0] * 10})
    with pytest.raises(DataError, match="x1"):
        fit_rasch_mml(data, "rasch")
    with pytest.raises(DataError, match="same number"):
        fit_rasch_mml(data, "rsm")
    with pytest.raises(ValueError, match="unknown"):
        fit_rasch_mml(data, "3pl")
