"""Ordinal logistic regression DIF against R MASS::polr (tests/reference/irt/dif_polr_bfi_agree.json,
made by dif_polr.R), and a planted-DIF simulation for the Jodoin–Gierl classes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataQualityWarning
from psychometrics.irt.dif import fit_proportional_odds, ordinal_logistic_dif
from psychometrics.irt.simulate import simulate_responses
from tests.conftest import load_reference

ITEMS = ["A1", "A2", "A3", "A4", "A5"]


@pytest.fixture(scope="module")
def ref():
    return load_reference("irt", "dif_polr_bfi_agree.json"), load_reference("irt", "bfi_agree.csv")


@pytest.mark.parametrize("item", ITEMS)
def test_proportional_odds_matches_polr(ref, item):
    r, data = ref
    t = np.array(r["theta"])
    y = data[item].to_numpy()
    fit = fit_proportional_odds(y, t[:, None])
    f = r["fits"][item]
    assert fit["loglik"] == pytest.approx(f["loglik"][0], abs=1e-6)
    # polr: logit P(Y <= k) = zeta_k - eta, so alpha = -zeta
    np.testing.assert_allclose(fit["alpha"], -np.array(f["zeta1"]), atol=1e-4)
    assert fit["beta"][0] == pytest.approx(f["coef1"], abs=1e-4)
    # SEs: polr inverts optim's finite-difference Hessian, ours too: 1e-3 relative
    np.testing.assert_allclose(fit["se"][[5, 0, 1, 2, 3, 4]], f["se1"], rtol=1e-3)


def test_dif_table_matches_polr(ref):
    r, data = ref
    theta = pd.Series(r["theta"], index=data.index)
    table = ordinal_logistic_dif(data, data["gender"], theta, ITEMS)
    for item in ITEMS:
        f = r["fits"][item]
        l1, l2, l3 = f["loglik"]
        row = table.loc[item]
        assert row["chi2_12"] == pytest.approx(2 * (l2 - l1), abs=1e-5)
        assert row["chi2_23"] == pytest.approx(2 * (l3 - l2), abs=1e-5)
        assert row["chi2_13"] == pytest.approx(2 * (l3 - l1), abs=1e-5)
        assert row["r2_1"] == pytest.approx(1 - l1 / f["loglik0"], abs=1e-8)
        assert row["delta_r2_13"] == pytest.approx((l1 - l3) / f["loglik0"], abs=1e-8)
        assert row["beta1_change"] == pytest.approx(abs((f["coef1"] - f["coef2"][0]) / f["coef1"]), abs=1e-4)
    assert set(table["jodoin_gierl"]) <= {"A", "B", "C"}


def test_planted_uniform_dif_is_class_c():
    rng = np.random.default_rng(3)
    a = rng.uniform(1.0, 2.0, 6)
    c = -a[:, None] * np.array([-1.0, 0.0, 1.0])
    ref_g = simulate_responses(a, c, 1500, seed=1)
    c_focal = c.copy()
    c_focal[0] -= 2.5 * a[0]  # item 1 much harder for the focal group
    foc = simulate_responses(a, c_focal, 1500, seed=2)
    data = pd.concat([ref_g, foc], ignore_index=True)
    group = pd.Series(["ref"] * 1500 + ["focal"] * 1500)
    theta = (data.sum(axis=1) - data.sum(axis=1).mean()) / data.sum(axis=1).std()
    table = ordinal_logistic_dif(data, group, theta)
    assert table.loc["I01", "jodoin_gierl"] == "C"
    assert table.loc["I01", "p_12"] < 1e-10
    assert (table.drop(index="I01")["jodoin_gierl"] == "A").all()


def test_category_unused_in_one_group_is_collapsed_and_warned():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 400)
    g = np.repeat(["a", "b"], 200)
    x[(g == "b") & (x == 2)] = 1  # group b never chooses 2
    data = pd.DataFrame({"x": x})
    with pytest.warns(DataQualityWarning, match="item x: 1 category unused"):
        table = ordinal_logistic_dif(data, pd.Series(g), pd.Series(rng.standard_normal(400)))
    assert table.loc["x", "collapsed"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(table.loc["x", "chi2_13"])


def test_untested_items_are_warned_and_keep_every_column():
    """Issue 14 (found by tests/test_fuzz_cli.py): when no item could be tested (each has fewer
    than 2 categories used in every group) the table lacked its statistic columns and the
    pipeline failed with an internal KeyError; an untested item was not mentioned."""
    data = pd.DataFrame({"a": [3] * 20, "b": [2, 3] * 10})
    group = pd.Series(["x"] * 10 + ["y"] * 10)
    with pytest.warns(DataQualityWarning, match="item a not tested"):
        out = ordinal_logistic_dif(data, group, pd.Series(np.linspace(-1, 1, 20)))
    assert {"chi2_13", "p_13", "delta_r2_13", "jodoin_gierl"} <= set(out.columns)
    assert out.loc["a", ["chi2_13", "p_13"]].isna().all()


def test_counted_rows_equal_repeated_rows():
    # analytic identity: the proportional-odds likelihood of rows repeated f times equals the
    # frequency-weighted likelihood of the distinct rows (what ordinal_logistic_dif uses at large n)
    rng = np.random.default_rng(5)
    t = np.round(rng.standard_normal(60), 1)
    g = rng.integers(0, 2, 60).astype(float)
    y = np.clip(np.round(t + 0.8 * g + rng.standard_normal(60)), -1, 2).astype(int) + 1
    f = rng.integers(1, 6, 60)
    x = np.column_stack([t, g])
    rows = fit_proportional_odds(np.repeat(y, f), np.repeat(x, f, axis=0))
    counted = fit_proportional_odds(y, x, weights=f)
    assert counted["loglik"] == pytest.approx(rows["loglik"], rel=1e-12)
    np.testing.assert_allclose(counted["beta"], rows["beta"], rtol=1e-7)
    np.testing.assert_allclose(counted["alpha"], rows["alpha"], rtol=1e-7)
    np.testing.assert_allclose(counted["se"], rows["se"], rtol=1e-5)


def test_dif_table_same_with_repeated_patterns():
    # the DIF table from data whose rows repeat (compressed internally) equals the one from the same
    # rows with θ̂ jittered by 1e-12 (nothing repeats: every row its own likelihood term)
    rng = np.random.default_rng(8)
    base = simulate_responses(np.ones(4), -np.ones((4, 1)) * np.array([[-1.0, 0.0, 1.0]]), 150, seed=2)
    data = pd.DataFrame(np.tile(base.to_numpy(), (4, 1)), columns=["a", "b", "c", "d"]) + 1
    theta = pd.Series(np.tile(rng.standard_normal(150), 4))
    group = pd.Series(np.tile(rng.choice(["x", "y"], 150), 4))
    packed = ordinal_logistic_dif(data, group, theta)
    jitter = ordinal_logistic_dif(data, group, theta + np.arange(600) * 1e-14)
    for col in ("chi2_12", "chi2_23", "chi2_13", "r2_1", "delta_r2_13"):
        np.testing.assert_allclose(packed[col].to_numpy(float), jitter[col].to_numpy(float), rtol=1e-6, atol=1e-9)


def _po_direct_loglik(params, y, x, k, w):
    """Independent per-row proportional-odds log-likelihood (all K − 1 logits per row)."""
    alpha, beta = params[: k - 1], params[k - 1:]
    z = alpha[None, :] + (x @ beta)[:, None]
    cum = np.column_stack([np.ones(y.size), 1 / (1 + np.exp(-z)), np.zeros(y.size)])  # P(X ≥ k)
    p = cum[np.arange(y.size), y] - cum[np.arange(y.size), y + 1]
    return float(w @ np.log(p))


def test_po_gradient_and_hessian_by_design_products_equal_finite_differences():
    # the per-category segment sums of the rows sorted by answer (instead of bincounts) against an
    # independent per-row likelihood: central differences of ℓ and of the analytic gradient
    from psychometrics.irt.dif import _po_loglik_grad

    rng = np.random.default_rng(11)
    n, k = 300, 4
    t = rng.standard_normal(n)
    g = rng.integers(0, 3, n)
    x = np.column_stack([t, g == 1, g == 2, (g == 1) * t]).astype(float)
    y = np.clip(np.round(t + 0.5 * (g == 1) + rng.standard_normal(n)) + 1, 0, k - 1).astype(int)
    w = rng.integers(1, 5, n).astype(float)
    params = np.array([1.0, 0.1, -0.9, 0.8, 0.3, -0.2, 0.1])
    ll, grad, hess = _po_loglik_grad(params, y, x, k, w, hessian=True)
    assert ll == pytest.approx(_po_direct_loglik(params, y, x, k, w), rel=1e-13)
    eps = 1e-6
    num_g = np.array([(_po_direct_loglik(params + eps * e, y, x, k, w) - _po_direct_loglik(params - eps * e, y, x, k, w))
                      / (2 * eps) for e in np.eye(params.size)])
    np.testing.assert_allclose(grad, num_g, rtol=1e-6, atol=1e-6 * np.abs(num_g).max())
    num_h = np.array([(_po_loglik_grad(params + eps * e, y, x, k, w)[1] - _po_loglik_grad(params - eps * e, y, x, k, w)[1])
                      / (2 * eps) for e in np.eye(params.size)])
    np.testing.assert_allclose(hess, num_h, rtol=1e-6, atol=1e-6 * np.abs(num_h).max())


def test_nested_starts_give_the_cold_start_fits(monkeypatch):
    # above NESTED_START_ABOVE the group and interaction models start from the nested model's estimate:
    # the same maxima (χ² to 1e-8 relative, estimates' β₁ change to 1e-6 absolute), the same flags
    import psychometrics.irt.dif as dif

    rng = np.random.default_rng(3)
    n = 3000
    theta = rng.standard_normal(n)
    group = pd.Series(rng.choice(["a", "b", "c"], n))
    shift = np.where(group == "b", 0.6, 0.0)
    data = pd.DataFrame({f"i{j}": np.clip(np.round(theta + shift * (j == 0) + rng.standard_normal(n)), -2, 2)
                         for j in range(4)})
    th = pd.Series(np.round(theta + 0.3 * rng.standard_normal(n), 2))
    cold = ordinal_logistic_dif(data, group, th)
    monkeypatch.setattr(dif, "NESTED_START_ABOVE", 0)
    warm = ordinal_logistic_dif(data, group, th)
    for col in ("chi2_12", "chi2_23", "chi2_13"):
        np.testing.assert_allclose(warm[col], cold[col], rtol=1e-8)
    np.testing.assert_allclose(warm["beta1_change"], cold["beta1_change"], atol=1e-6)
    assert (warm["jodoin_gierl"] == cold["jodoin_gierl"]).all() and warm["converged"].all()


def test_group_without_an_answer_to_an_item_gives_no_collinear_dummy():
    # the first group (the reference) has no answer to item b: its dummies would be collinear with the
    # thresholds (a singular Hessian); b's statistics — the df too (ninth session: the groups answering the
    # item, less one) — equal those of its rows without that group's label
    rng = np.random.default_rng(8)
    n = 600
    t = rng.standard_normal(n)
    group = pd.Series(np.where(np.arange(n) < 5, "a", rng.choice(["b", "c"], n)))
    data = pd.DataFrame({k: np.clip(np.round(t + rng.standard_normal(n)), -1, 1) for k in ("a", "b")})
    data.loc[group == "a", "b"] = np.nan
    theta = pd.Series(np.round(t, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ordinal_logistic_dif(data, group, theta)
        rest = group != "a"
        alone = ordinal_logistic_dif(data.loc[rest, ["b"]], group[rest], theta[rest])
    assert bool(out.loc["b", "converged"]) and np.isfinite(out.loc["b", "chi2_13"])
    assert out.loc["b", "df_13"] == 2 and out.loc["a", "df_13"] == 4
    for col in ("n", "chi2_12", "p_12", "chi2_23", "p_23", "chi2_13", "df_13", "p_13", "r2_1", "delta_r2_13"):
        assert out.loc["b", col] == pytest.approx(alone.loc["b", col], rel=1e-9, abs=1e-12), col


def test_an_item_answered_by_one_group_only_is_not_tested():
    """No group contrast to test: the item's DIF statistics are missing (NaN) and a warning says why, instead
    of χ² = 0 with p = 1."""
    rng = np.random.default_rng(9)
    n = 400
    t = rng.standard_normal(n)
    group = pd.Series(rng.choice(["g1", "g2"], n))
    data = pd.DataFrame({k: np.clip(np.round(t + rng.standard_normal(n)), -1, 1) for k in ("x", "y")})
    data.loc[group == "g2", "y"] = np.nan
    with pytest.warns(DataQualityWarning, match="item y not tested: only group 'g1' answered it"):
        out = ordinal_logistic_dif(data, group, pd.Series(np.round(t, 1)))
    assert out.loc["y", "n"] == (group == "g1").sum() and np.isnan(out.loc["y", "chi2_13"])
    assert np.isnan(out.loc["y", "p_13"]) and np.isfinite(out.loc["x", "chi2_13"])


def test_rows_sorted_by_answer_give_the_fit_of_unsorted_rows():
    """issue 16 (fifth session): ordinal DIF sorts each item's rows by answer once for its three fits; a fit of
    rows already sorted skips its own sort — bit for bit the fit of the unsorted rows (which it sorts stably)."""
    rng = np.random.default_rng(11)
    t = rng.normal(size=600)
    y = np.digitize(t + rng.logistic(size=600), [-1.0, 0.0, 1.2])
    x = np.column_stack([t, rng.integers(0, 2, 600)])
    w = rng.integers(1, 5, 600).astype(float)
    order = np.argsort(y, kind="stable")
    plain = fit_proportional_odds(y, x, weights=w)
    ready = fit_proportional_odds(y[order], x[order], weights=w[order])
    for key in ("loglik", "alpha", "beta", "se"):
        np.testing.assert_array_equal(ready[key], plain[key])


def test_distinct_rows_from_the_superset_codes_of_theta_equal_its_own_factorization():
    """issue 16 (fifth session): ordinal DIF codes θ̂ once for all items; an item's rows (a subset) with those
    codes give the same distinct (answer, θ̂, group) rows, in the same order, with the same counts."""
    from psychometrics.irt.dif import _distinct_rows

    rng = np.random.default_rng(12)
    t_all = np.round(rng.normal(size=900), 1)
    codes_all = pd.factorize(t_all, sort=True)[0]
    keep = rng.random(900) < 0.7
    y, g = rng.integers(0, 4, keep.sum()), rng.integers(0, 3, keep.sum())
    for w in (None, rng.integers(1, 4, keep.sum()).astype(float)):
        own = _distinct_rows(y, t_all[keep], g, w)
        shared = _distinct_rows(y, t_all[keep], g, w, codes_all[keep])
        for a, b in zip(own, shared):
            np.testing.assert_array_equal(a, b)


def test_distinct_rows_come_sorted_by_answer_theta_and_group():
    """issue 16 (seventh session): _distinct_rows gives the rows the fits need sorted by answer (no second
    sort in ordinal_logistic_dif): the distinct (y, θ̂, group) rows in that lexicographic order with their
    summed counts — as an independent pandas groupby of the rows — and, when nothing repeats, the rows
    themselves stably sorted by answer."""
    from psychometrics.irt.dif import _distinct_rows

    rng = np.random.default_rng(13)
    n = 700
    y, t, g = rng.integers(0, 4, n), np.round(rng.normal(size=n), 1), rng.integers(0, 3, n)
    for w in (None, rng.integers(1, 5, n).astype(float)):
        frame = pd.DataFrame({"y": y, "t": t, "g": g, "w": np.ones(n) if w is None else w})
        want = frame.groupby(["y", "t", "g"], sort=True)["w"].sum().reset_index()
        got = _distinct_rows(y, t, g, w)
        for col, arr in zip(("y", "t", "g", "w"), got):
            np.testing.assert_array_equal(arr, want[col].to_numpy())
    t_unique = rng.permutation(n) / 7.0  # nothing repeats: the rows, sorted stably by answer
    order = np.argsort(y, kind="stable")
    got = _distinct_rows(y, t_unique, g)
    assert got[3] is None
    for arr, ref in zip(got[:3], (y, t_unique, g)):
        np.testing.assert_array_equal(arr, ref[order])
