"""Bifactor GRM / 2PL by marginal ML with the Gibbons–Hedeker reduction (psychometrics.irt.bifactor).

Checks used:
* reference implementation: the Python ``mirt`` package's ``bfactor`` (binary items only;
  tests/reference/irt/mirt_bifactor_sim_bifactor_binary.json made by mirt_bifactor_reference.py):
  log L, estimates and Oakes SEs;
* analytic identities: with every specific slope fixed at 0 the model is the unidimensional GRM
  (log L and estimates of irt.calibrate); the exact gradient against finite differences; the
  per-pattern scores sum to the gradient;
* simulation recovery with coverage of the 95 % intervals (polytomous items, one general-only item).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import ConvergenceWarning, DataError, HeywoodCaseWarning
from psychometrics.irt import calibrate
from psychometrics.irt._data import prepare_responses
from psychometrics.irt.bifactor import BifactorEngine, calibrate_bifactor
from tests.conftest import REFERENCE

A0 = np.array([1.5, 1.2, 1.8, 1.0, 1.4, 1.6, 1.1, 1.3, 1.2])
A1 = np.array([1.0, 0.8, 1.2, 0.9, 1.1, 0.7, 0.8, 1.0, 0.0])
FAC = [0, 0, 0, 0, 1, 1, 1, 1, -1]
C = np.array([[1.5, 0, -1.5], [2, 0.5, -1], [1, -0.5, -2], [1.8, 0.2, -1.2]] * 2 + [[1.2, 0, -1.2]])
SPEC = {f"I{j + 1}": (f"s{FAC[j]}" if FAC[j] >= 0 else None) for j in range(9)}


def _simulate(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0, ts = rng.standard_normal(n), rng.standard_normal((n, 2))
    x = np.zeros((n, 9), dtype=int)
    for j in range(9):
        eta = A0[j] * t0 + (A1[j] * ts[:, FAC[j]] if FAC[j] >= 0 else 0.0)
        x[:, j] = (rng.random((n, 1)) < 1 / (1 + np.exp(-(eta[:, None] + C[j])))).sum(axis=1)
    return pd.DataFrame(x, columns=list(SPEC))


@pytest.fixture(scope="module")
def mirt_case():
    ref = json.loads((REFERENCE / "irt" / "mirt_bifactor_sim_bifactor_binary.json").read_text())
    data = pd.read_csv(REFERENCE / "irt" / "sim_bifactor_binary.csv")
    spec = {c: f"s{f}" for c, f in zip(data.columns, ref["specific_factors"])}
    return ref, data, spec, calibrate_bifactor(data, spec)


def test_matches_mirt_bfactor(mirt_case):
    ref, _, _, res = mirt_case
    assert res.converged
    assert res.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    p = res.parameters
    # 1e-3: mirt's EM stops on |Δℓ| < 1e-11, which leaves up to 4e-4 along the flat direction of item
    # B7 (specific slope 3.2, SE 5: three binary items per specific factor barely identify it)
    np.testing.assert_allclose(p["a_g"], ref["general"], atol=1e-3)
    np.testing.assert_allclose(p["a_s"], ref["specific"], atol=1e-3)
    np.testing.assert_allclose(p["c1"], ref["intercepts"], atol=1e-3)
    se = ref["standard_errors"]
    np.testing.assert_allclose(p["se_a_g"], se["general_loadings"], rtol=1e-3)
    np.testing.assert_allclose(p["se_a_s"], se["specific_loadings"], rtol=1e-3)
    np.testing.assert_allclose(p["se_c1"], se["intercepts"], rtol=1e-3)


def test_crossproduct_ses_are_close_to_hessian_ses(mirt_case):
    _, data, spec, res = mirt_case
    xpd = calibrate_bifactor(data, spec, se="crossprod")
    assert xpd.se_method == "crossprod" and res.se_method == "hessian"
    ratio = xpd.parameters.filter(like="se_").to_numpy() / res.parameters.filter(like="se_").to_numpy()
    # XPD is asymptotically equivalent; at n = 1000 within 10 % (7 % for the weakly identified B7)
    assert np.all(np.abs(ratio - 1) < 0.1)


def test_identity_specific_slopes_zero_is_unidimensional_grm():
    data = _simulate(3, 500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        uni = calibrate(data, list(data.columns))
        bf = calibrate_bifactor(data, SPEC, fix_specific_zero=True, se=None)
    assert bf.loglik == pytest.approx(uni.loglik, abs=1e-6)
    np.testing.assert_allclose(bf.parameters["a_g"], uni.parameters["a"], atol=1e-4)
    np.testing.assert_allclose(bf.parameters[["c1", "c2", "c3"]], uni.parameters[["c1", "c2", "c3"]], atol=1e-4)
    assert (bf.parameters["a_s"].dropna() == 0).all()


def test_gradient_and_pattern_scores_are_exact():
    data = _simulate(1, 300)
    eng = BifactorEngine(prepare_responses(data, list(data.columns)), FAC, 2, 7)
    rng = np.random.default_rng(0)
    x = np.zeros(eng.n_par)
    for j in range(9):
        s = eng.start_of[j]
        x[s: s + 5] = [1.2 + 0.2 * rng.standard_normal(), 0.8 if FAC[j] >= 0 else 0.0, 1.4, 0.1, -1.3]
    ll, grad = eng.loglik_grad(x)
    h = 1e-6
    fd = np.array([(eng.loglik_grad(x + h * e)[0] - eng.loglik_grad(x - h * e)[0]) / (2 * h) for e in np.eye(x.size)])
    np.testing.assert_allclose(grad, fd, atol=1e-4)
    _, scores = eng.loglik_grad(x, per_pattern=True)
    np.testing.assert_allclose(eng.f @ scores, grad, atol=1e-8)


def test_recovery_and_coverage():
    """Seeded replications (few, for speed; 11 points per dimension): every estimate within 4 SE of
    the truth, 95 % interval coverage over 4 × 44 intervals between .88 and .99 (the binomial SD of a
    coverage over 176 intervals is .016, and the estimates of one replication are correlated)."""
    hits = []
    true = np.c_[A0, np.where(np.array(FAC) >= 0, A1, np.nan), C]
    for seed in range(4):
        res = calibrate_bifactor(_simulate(seed, 700), SPEC, quadrature_points=11)
        assert res.converged
        p = res.parameters
        est = p[["a_g", "a_s", "c1", "c2", "c3"]].to_numpy()
        se = p[["se_a_g", "se_a_s", "se_c1", "se_c2", "se_c3"]].to_numpy()
        z = np.abs(est - true) / se
        z = z[np.isfinite(z)]
        assert z.size == 44 and z.max() < 4
        hits.append(z < 1.959964)
    assert 0.88 <= np.mean(np.concatenate(hits)) <= 0.99


def test_result_table_and_reliability(mirt_case):
    _, _, _, res = mirt_case
    frame = res.to_frame()
    assert list(frame.columns[:4]) == ["specific", "a_g", "a_s", "c1"]
    rel = res.reliability
    assert 0 < rel["omega_h"] < rel["omega"] < 1 and 0 < rel["ecv"] < 1
    lam = res.loadings
    # standardised normal-ogive loadings: λ = (a/1.702)/√(1 + (a_g² + a_s²)/1.702²)
    a_g, a_s = frame["a_g"], frame["a_s"]
    np.testing.assert_allclose(lam["general"], a_g / 1.702 / np.sqrt(1 + (a_g**2 + a_s**2) / 1.702**2), atol=1e-12)
    assert "Bifactor" in res._repr_html_()


def test_bad_input_is_named():
    data = _simulate(2, 200)
    with pytest.raises(DataError, match="fewer than two items: s9"):
        calibrate_bifactor(data, {**SPEC, "I9": "s9"})
    with pytest.raises(ValueError, match="se must be"):
        calibrate_bifactor(data, SPEC, se="oakes")


def test_near_heywood_case_is_warned_and_recorded():
    """n = 200: item I8's slopes run away (the likelihood keeps rising along a ridge); the fit says so."""
    with pytest.warns(HeywoodCaseWarning, match="I8"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = calibrate_bifactor(_simulate(2, 200), SPEC, se=None)
    assert any("near-Heywood" in d for d in res.diagnostics)
