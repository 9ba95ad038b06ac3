"""Item fit (S-X²) and local dependence: simulation checks (no reference implementation stored:
the S-X² null distribution and an LD pair planted in simulated data are the checks)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from psychometrics.irt import calibrate
from psychometrics.irt.fit import _bh, item_fit, local_dependence
from psychometrics.irt.simulate import simulate_responses


@pytest.fixture(scope="module")
def sim():
    rng = np.random.default_rng(5)
    a = rng.uniform(0.9, 2.0, 8)
    b = np.sort(rng.normal(0, 0.6, (8, 3)) + np.array([-1.0, 0.0, 1.0]), axis=1)
    data = simulate_responses(a, -a[:, None] * b, 3000, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data, calibrate(data)


def test_s_x2_under_the_true_model(sim):
    data, cal = sim
    fit = item_fit(cal, data)
    assert (fit["df"] > 0).all()
    assert (fit["p_bh"] > 0.01).all()
    # with 8 items the mean p-value of a uniform null is about 0.5 ± 0.1
    assert 0.2 < fit["p"].mean() < 0.8


def test_s_x2_flags_a_misfitting_item(sim):
    data, _ = sim
    bad = data.copy()
    rng = np.random.default_rng(0)
    # item 1 answered by a non-monotone process: extreme respondents choose the middle category
    total = bad.sum(axis=1)
    flip = (total > total.quantile(0.8)) & (rng.random(len(bad)) < 0.8)
    bad.loc[flip, "I01"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate(bad)
    fit = item_fit(cal, bad)
    assert fit.loc["I01", "p_bh"] < 1e-4
    assert fit["s_x2"].idxmax() == "I01"


def test_local_dependence_finds_a_planted_pair(sim):
    data, _ = sim
    ld = data.copy()
    rng = np.random.default_rng(1)
    copy = rng.random(len(ld)) < 0.3
    ld.loc[copy, "I02"] = ld.loc[copy, "I03"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = calibrate(ld)
    table = local_dependence(cal, ld)
    top = table.sort_values("ld_std", ascending=False).iloc[0]
    assert {top["item1"], top["item2"]} == {"I02", "I03"}
    assert top["ld_std"] > 10
    # Q3 is the weaker index with 8 items (θ̂ absorbs part of the dependence): the pair is its maximum
    best = table.sort_values("q3_star", ascending=False).iloc[0]
    assert {best["item1"], best["item2"]} == {"I02", "I03"}
    assert len(table) == 8 * 7 // 2


def test_benjamini_hochberg():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    # R: p.adjust(c(.01,.04,.03,.5), "BH") = 0.04 0.0533 0.0533 0.5
    np.testing.assert_allclose(_bh(p)[[0, 1, 2, 4]], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(_bh(p)[3])


def test_chi2_sf_without_scipy_stats_equals_chi2_sf():
    """The χ² tail from scipy.special.chdtrc (no scipy.stats import) is chi2.sf, also outside the support."""
    from scipy.stats import chi2

    from psychometrics._dist import chi2_sf

    x = np.array([-1e-10, 0.0, 0.5, 3.0, np.nan, 1e3, np.inf])
    for df in (0, 1, 2.0, 3, 7, -1, np.nan):
        np.testing.assert_array_equal(chi2_sf(x, df), chi2.sf(x, df))
        assert float(chi2_sf(3.0, df)) == float(chi2.sf(3.0, df)) or np.isnan(chi2.sf(3.0, df))
