"""Reliability of continuous items from the EM (FIML saturated) covariance matrix (issue 13).

Reference: ``tests/reference/reliability/fiml_reliability.json`` — lavaan's EM estimate
(``sampstat.h1`` at em.h1.tol 1e-12) × N/(N − 1) fed to psych::alpha / omega / guttman
(``fiml_reliability_reference.R``). The bootstrap re-runs the EM on every resample; its
batched, weighted EM is checked against ``data.missing.em_normal`` (independent loop).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics._em import PatternSums, em_weighted
from psychometrics.data.missing import em_normal
from psychometrics.exceptions import DataError
from psychometrics.reliability import cronbach_alpha, guttman, omega, reliability

ROOT = Path(__file__).parents[1]
REF = json.loads((ROOT / "tests/reference/reliability/fiml_reliability.json").read_text())
FILES = {"hs_mcar": ROOT / "tests/reference/missing/hs_mcar.csv", "hs_mar": ROOT / "tests/reference/missing/hs_mar.csv",
         "bfi": ROOT / "psychometrics/datasets/bfi.csv"}


def _data(name: str) -> pd.DataFrame:
    ref = REF[name]
    d = pd.read_csv(FILES[name.split("_x")[0] if name.startswith("hs") else name.split("_")[0]])[ref["items"]]
    for r in ([ref["reverse"]] if isinstance(ref.get("reverse"), str) else ref.get("reverse") or []):
        d[r] = 7 - d[r]
    return d


@pytest.mark.parametrize("name", list(REF))
def test_em_coefficients_match_psych_on_lavaan_h1(name):
    ref, d = REF[name], _data(name)
    a = cronbach_alpha(d, missing="fiml")
    assert a.n == ref["n"] and a.missing == "fiml"
    # EM to 1e-10 here and 1e-12 in lavaan: closed-form functions of a converged iterative estimate
    assert a.alpha == pytest.approx(ref["alpha"]["raw_alpha"], abs=1e-7)
    assert a.std_alpha == pytest.approx(ref["alpha"]["std_alpha"], abs=1e-7)
    assert a.average_r == pytest.approx(ref["alpha"]["average_r"], abs=1e-7)
    assert a.g6 == pytest.approx(ref["alpha"]["G6"], abs=1e-7)
    np.testing.assert_allclose(a.item_stats["alpha_if_deleted"], ref["alpha"]["alpha_drop"], atol=1e-7)
    if len(ref["items"]) >= 3:
        g = guttman(d, missing="fiml")
        assert g.lambda2 == pytest.approx(ref["guttman"]["lambda2"], abs=1e-7)
        assert g.lambda6 == pytest.approx(ref["guttman"]["lambda6"], abs=1e-7)
        o = omega(d, nfactors=ref["omega"]["nfactors"], missing="fiml", ci=None)
        assert o.n == ref["n"]
        assert o.omega_total == pytest.approx(ref["omega"]["omega_tot"], abs=1e-4)  # iterative (minres)
        if ref["omega"]["nfactors"] > 1:
            assert o.omega_hierarchical == pytest.approx(ref["omega"]["omega_h"], abs=1e-4)


def test_em_cov_equals_lavaan_h1():
    ref, d = REF["hs_mcar_x1_x9"], _data("hs_mcar_x1_x9")
    x = d.dropna(how="all").to_numpy()
    mu, S, _ = em_normal(x)
    n = len(x)
    np.testing.assert_allclose(S * n / (n - 1), np.array(ref["em_cov"]), atol=1e-8)
    np.testing.assert_allclose(mu, ref["em_mean"], atol=1e-8)


def test_fiml_on_complete_data_is_listwise():
    hs = pd.read_csv(ROOT / "psychometrics/datasets/holzinger_swineford.csv")[[f"x{i}" for i in range(1, 10)]]
    a = reliability(hs, missing="listwise", n_boot=30, seed=3).to_frame()
    b = reliability(hs, missing="fiml", n_boot=30, seed=3).to_frame()
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_weighted_batched_em_equals_em_normal():
    """Unit weights: the loop of em_normal; integer weights: em_normal on the rows repeated."""
    x = _data("hs_mcar_x1_x9").dropna(how="all").to_numpy()
    ps = PatternSums(x)
    start = (np.nanmean(x, axis=0), np.diag(np.nanvar(x, axis=0)))
    rng = np.random.default_rng(1)
    w = np.vstack([np.ones(len(x)), rng.integers(0, 3, len(x))]).astype(float)
    mu, S, ok = em_weighted(ps, w, *start, tol=1e-12, max_iter=20_000)
    assert ok.all()
    for k in range(2):
        rep = np.repeat(x, w[k].astype(int), axis=0)
        mu_r, S_r, _ = em_normal(rep)
        np.testing.assert_allclose(S[k], S_r, atol=1e-9)
        np.testing.assert_allclose(mu[k], mu_r, atol=1e-9)


def test_bootstrap_with_em_seeded_and_covers():
    d = _data("hs_mcar_x1_x3")
    r1 = reliability(d, missing="fiml", n_boot=60, seed=11)
    r2 = reliability(d, missing="fiml", n_boot=60, seed=11)
    assert r1.to_frame().equals(r2.to_frame())
    lo, hi = r1.omega.ci_total
    assert lo < r1.omega.omega_total < hi
    assert r1.n == REF["hs_mcar_x1_x3"]["n"] and r1.missing == "fiml"


def test_items_never_observed_together_is_an_error():
    d = pd.DataFrame({"a": [1, 2, np.nan, np.nan, 3, 4], "b": [np.nan, np.nan, 1, 2, np.nan, np.nan],
                      "c": [1, 2, 3, 1, 2, 3]}, dtype=float)
    with pytest.raises(DataError, match="a and b are never observed together"):
        cronbach_alpha(d, missing="fiml")


def test_large_n_paths_of_the_em_bootstrap(monkeypatch):
    """Above EM_JACKKNIFE_MAX rows BCa uses acceleration 0 (no n EM re-runs); above LARGE_N the replicates
    are normal draws centred at the EM covariance. Both say so in a diagnostic; the thresholds are lowered
    here so the test stays small."""
    import psychometrics._bootstrap as B

    d = _data("hs_mcar_x1_x3")
    full = reliability(d, missing="fiml", n_boot=80, seed=5)
    monkeypatch.setattr(B, "EM_JACKKNIFE_MAX", 100)
    r = reliability(d, missing="fiml", n_boot=80, seed=5)
    assert any("acceleration 0" in x.message for x in r.diagnostics)
    assert r.omega.omega_total == full.omega.omega_total
    lo, hi = r.omega.ci_total
    assert lo < r.omega.omega_total < hi
    monkeypatch.setattr(B, "LARGE_N", 100)
    a = reliability(d, missing="fiml", n_boot=80, seed=5)
    assert any("asymptotic draws" in x.message and "EM (FIML)" in x.message for x in a.diagnostics)
    lo, hi = a.omega.ci_total
    assert lo < a.omega.omega_total < hi
    b = reliability(d, missing="fiml", n_boot=80, seed=5)
    assert a.omega.ci_total == b.omega.ci_total  # seeded


def test_pattern_sums_grouping_equals_np_unique_rows_and_unit_sums():
    """The packed-key grouping gives the patterns, rows and features of ``np.unique(obs, axis=0)`` (the
    previous implementation), also beyond 64 items; the unit-weight sums equal ``sums(ones)`` to 1e-12."""
    rng = np.random.default_rng(5)
    for p in (5, 70):
        x = rng.integers(1, 6, size=(400, p)).astype(float)
        x[rng.random(x.shape) < 0.15] = np.nan
        x = x[~np.isnan(x).all(axis=1)]
        obs = ~np.isnan(x)
        pats, inv = np.unique(obs, axis=0, return_inverse=True)
        ps = PatternSums(x)
        assert len(ps.parts) == len(pats)
        for j, (rows, o, m, _) in enumerate(ps.parts):
            np.testing.assert_array_equal(rows, np.flatnonzero(inv.ravel() == j))
            np.testing.assert_array_equal(o, np.flatnonzero(pats[j]))
            np.testing.assert_array_equal(m, np.flatnonzero(~pats[j]))
        for (n1, s1, S1), (n2, s2, S2) in zip(ps.sums(np.ones((1, len(x)))), ps.unit_sums()):
            np.testing.assert_array_equal(n1, n2)
            np.testing.assert_allclose(s1, s2, rtol=1e-12)
            np.testing.assert_allclose(S1, S2, rtol=1e-12)
    sub = x[:, :6][~np.isnan(x[:, :6]).all(axis=1)]
    start = (np.nanmean(sub, axis=0), np.diag(np.nanvar(sub, axis=0)))
    ps = PatternSums(sub)
    w = np.ones((1, len(sub)))
    a = em_weighted(ps, w, *start, tol=1e-12, max_iter=20_000)
    b = em_weighted(ps, w, *start, tol=1e-12, max_iter=20_000, sums=ps.unit_sums())
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10)


def test_large_n_em_centre_equals_em_normal():
    """The large-n bootstrap's centre (EM from per-pattern unit sums, start from the same sums) is the FIML
    point estimate: em_normal of the same rows × n/(n − 1), to the EM tolerance."""
    from psychometrics._bootstrap import _em_centre

    x = _data("hs_mcar_x1_x9").dropna(how="all").to_numpy()
    n = len(x)
    _, S, _ = em_normal(x, tol=1e-12, max_iter=20_000)
    np.testing.assert_allclose(_em_centre(x), S * n / (n - 1), rtol=1e-8, atol=1e-9)


def test_large_n_em_bootstrap_centred_at_the_given_estimate(monkeypatch):
    """``centre=`` (the point estimate, as reliability passes it) gives the draws of the EM re-run, to the EM
    tolerance: the same seed, the same replicates to 1e-8."""
    import psychometrics._bootstrap as boot

    monkeypatch.setattr(boot, "LARGE_N", 100)
    x = _data("hs_mcar_x1_x9").dropna(how="all").to_numpy()
    n = len(x)
    _, S, _ = em_normal(x, tol=1e-10, max_iter=20_000)
    kw = dict(n_boot=50, level=0.95, interval="bca", seed=3, show_progress=False, description="t", names=["s"],
              kind="em")
    stat = lambda c: c[:, 0, 1][:, None]  # noqa: E731
    a = boot.run_bootstrap(x, False, stat, np.array([S[0, 1]]), **kw)
    b = boot.run_bootstrap(x, False, stat, np.array([S[0, 1]]), centre=S * n / (n - 1), **kw)
    assert a.method == b.method == "asymptotic"
    np.testing.assert_allclose(b.replicates, a.replicates, rtol=1e-8, atol=1e-10)
