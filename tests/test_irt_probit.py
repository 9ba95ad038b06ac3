"""Normal-ogive (probit) GRM / 2PL by MML (irt/_probit.py, ``calibrate(..., link="probit")``)
against lavaan 0.6 ``estimator = "MML"`` (tests/reference/irt/lavaan_mml_*.json, made by
lavaan_mml.R) and the exact maximiser of the same 21-point likelihood (lavaan_mml_check.json).

lavaan's metric (std.lv = TRUE): P(X ≥ k | θ) = Φ(λθ − τ_k), so a = λ and c_k = −τ_k.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.irt import calibrate, eap_scores, sum_score_table
from psychometrics.irt._probit import probit_information, probit_probs, probit_probs_grad
from psychometrics.irt.keyio import calibration_from_key, calibration_to_key
from tests.conftest import load_reference

CASES = ["binary", "bfi_agree6_n500", "bfi_agree6"]


def _data(name: str, items: list[str]) -> pd.DataFrame:
    x = load_reference("irt", "bfi_agree.csv")[items]
    if name == "binary":
        return (x >= 4).astype(int)  # lavaan_mml.R: 1 if category >= 4
    return x.iloc[:500] if name.endswith("n500") else x


@pytest.fixture(scope="module", params=CASES)
def fitted(request):
    name = request.param
    ref = load_reference("irt", f"lavaan_mml_{name}.json")
    check = load_reference("irt", "lavaan_mml_check.json")[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extreme response patterns in bfi (warned, tested elsewhere)
        cal = calibrate(_data(name, ref["items"]), model="2pl" if name == "binary" else "grm", link="probit",
                        quadrature_points=ref["integration_ngh"])
    est = pd.DataFrame(ref["estimates"])
    return name, ref, check, est, cal


def _lavaan(est: pd.DataFrame, items: list[str], col: str) -> tuple[np.ndarray, np.ndarray]:
    lam = est[est.op == "=~"].set_index("rhs").loc[items, col].to_numpy()
    th = est[est.op == "|"]
    tau = np.array([th[th.lhs == i].sort_values("rhs")[col].to_numpy() for i in items])
    return lam, tau


def test_probit_grm_matches_lavaan_mml(fitted):
    name, ref, check, est, cal = fitted
    items = ref["items"]
    assert cal.converged and cal.link == "probit" and cal.quadrature_points == 21
    k = len(cal.category_values[items[0]])
    lam, tau = _lavaan(est, items, "est")
    a = cal.parameters["a"].to_numpy()
    c = cal.parameters[[f"c{s}" for s in range(1, k)]].to_numpy()
    # lavaan (nlminb) stops within 5e-5 of the optimum (lavaan_mml_check.json): 1e-4
    np.testing.assert_allclose(a, lam, atol=1e-4)
    np.testing.assert_allclose(-c, tau, atol=1e-4)
    np.testing.assert_allclose(cal.parameters[[f"b{s}" for s in range(1, k)]].to_numpy(), tau / lam[:, None], atol=5e-4)
    # the exact maximiser of the same likelihood (own code in mirt_reference.py): 1e-6
    np.testing.assert_allclose(a, check["exact"]["lambda"], atol=1e-6)
    np.testing.assert_allclose(-c, check["exact"]["tau"], atol=1e-6)
    # log-likelihood: lavaan's fx is −ℓ at its (not quite optimal) estimates
    assert cal.loglik == pytest.approx(check["exact_loglik"], abs=1e-6)
    assert cal.loglik == pytest.approx(-ref["fx"], rel=1e-9)
    assert cal.loglik >= -ref["fx"] - 1e-9


def test_probit_standard_errors(fitted):
    name, ref, check, est, cal = fitted
    k = len(cal.category_values[ref["items"][0]])
    se_lam, se_tau = _lavaan(est, ref["items"], "se")
    se_a = cal.parameters["se_a"].to_numpy()
    se_c = cal.parameters[[f"se_c{s}" for s in range(1, k)]].to_numpy()
    # Louis observed information at the optimum vs a numerical Hessian (check): 1e-4 relative
    np.testing.assert_allclose(se_a, check["exact"]["se_lambda"], rtol=1e-4)
    np.testing.assert_allclose(se_c, check["exact"]["se_tau"], rtol=1e-4)
    # lavaan's SEs are evaluated at its own estimates (up to 5e-5 away): 2e-3 relative
    np.testing.assert_allclose(se_a, se_lam, rtol=2e-3)
    np.testing.assert_allclose(se_c, se_tau, rtol=2e-3)


def test_probit_derivatives_and_information_by_finite_differences():
    a = np.array([0.7, 1.6])
    c = np.array([[1.2, 0.1, -0.9], [0.4, -0.3, -2.5]])
    th = np.linspace(-7, 7, 15)
    p, d = probit_probs_grad(a, c, th)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    h = 1e-6
    for m in range(4):
        e = np.zeros((2, 4))
        e[:, m] = h
        pp = probit_probs(a + e[:, 0], c + e[:, 1:], th)
        pm = probit_probs(a - e[:, 0], c - e[:, 1:], th)
        np.testing.assert_allclose(d[..., m], (pp - pm) / (2 * h), atol=1e-8)
    dth = (probit_probs(a, c, th + h) - probit_probs(a, c, th - h)) / (2 * h)
    np.testing.assert_allclose(probit_information(a, c, th), (dth**2 / p).sum(axis=2), rtol=1e-5, atol=1e-12)


def test_probit_tail_probabilities_keep_precision():
    # P(top category) at z = 9 is Φ(−9)·… ≈ 1e-19: computed in the upper tail, not as 1 − Φ
    p = probit_probs(np.array([1.0]), np.array([[-9.0]]), np.array([0.0]))[0, 0]
    assert p[1] == pytest.approx(1.1285884059538324e-19, rel=1e-10)


def test_probit_calibration_scores_and_round_trips_through_key():
    name = "bfi_agree6_n500"
    ref = load_reference("irt", f"lavaan_mml_{name}.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate(_data(name, ref["items"]), link="probit")
    back = calibration_from_key(calibration_to_key(cal))
    assert back.link == "probit" and back.engine_model == "grm_probit"
    data = _data(name, ref["items"])
    pd.testing.assert_frame_equal(eap_scores(back, data), eap_scores(cal, data))
    table = sum_score_table(cal)
    assert np.all(np.diff(table["eap"].to_numpy()) > 0)


def test_probit_with_gpcm_is_refused():
    with pytest.raises(ValueError, match="probit"):
        calibrate(pd.DataFrame({"a": [0, 1, 2, 1], "b": [1, 2, 0, 1]}), model="gpcm", link="probit")
