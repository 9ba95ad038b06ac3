"""psychometrics._dist: the scipy.special calls behind scipy.stats' normal, t and χ² functions equal
scipy.stats itself (independent implementation: scipy.stats' public API), to 1e-12 relative, with its
edge cases (invalid degrees of freedom, x outside the support, NaN, ±inf)."""

import numpy as np
import pytest
from scipy import stats

from psychometrics import _dist

X = np.array([-np.inf, -40.0, -8.5, -3.0, -1.0, -1e-9, 0.0, 1e-9, 0.3, 1.0, 1.96, 3.0, 8.5, 40.0, 400.0,
              np.inf, np.nan])
Q = np.array([0.0, 1e-300, 1e-12, 0.001, 0.025, 0.5, 0.8, 0.975, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan])
DF = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.5, 30.0, 430.0, 1e6, np.inf, np.nan])


def _same(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)


def test_normal_functions_equal_scipy_stats():
    _same(_dist.norm_cdf(X), stats.norm.cdf(X))
    _same(_dist.norm_sf(X), stats.norm.sf(X))
    _same(_dist.norm_ppf(Q), stats.norm.ppf(Q))
    for v in (0.975, -1.3, 2.0):
        assert isinstance(_dist.norm_ppf(v) if v < 1 else _dist.norm_sf(v), np.floating)
    assert _dist.norm_ppf(0.975) == stats.norm.ppf(0.975)
    assert _dist.norm_sf(1.3) == stats.norm.sf(1.3)


@pytest.mark.parametrize("dist, ours", [(stats.t, _dist.t_sf), (stats.chi2, _dist.chi2_sf)])
def test_t_and_chi2_tails_equal_scipy_stats(dist, ours):
    x, df = np.meshgrid(np.concatenate([X, [2190.945, 437.338]]), DF)
    expected = dist.sf(x, df)
    _same(ours(x, df), expected)
    for xi, di in [(2.5, 10.0), (437.338, 430), (-1.0, 3), (0.0, 2), (1.0, 0), (np.nan, 4)]:
        got, want = ours(xi, di), dist.sf(xi, di)
        assert np.ndim(got) == 0
        assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=0)
