"""The scipy.special functions used instead of scipy.stats in reliability/, efa/ and cfa/ (issue 16).

scipy.stats' import alone takes 0.4–0.8 s per run; these are the functions scipy.stats itself calls
(``chi2._sf`` is ``chdtrc``, ``norm._ppf`` is ``ndtri``, ``f._ppf`` is ``fdtri``, ``ncx2._cdf`` is
``chndtr`` — chi2's cdf at nc = 0), so the values are equal; checked here to 1e-12 relative on a grid.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import special, stats


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize("df", [1, 2, 5, 17.5, 120, 1134])
def test_chi2_sf_and_cdf(df):
    x = np.concatenate([[0.0], np.geomspace(1e-3, 5 * df + 50, 40)])
    assert _rel(special.chdtrc(df, x), stats.chi2.sf(x, df)) <= 1e-12
    assert _rel(special.chdtr(df, x), stats.chi2.cdf(x, df)) <= 1e-12


def test_norm_ppf():
    q = np.array([1e-10, 0.001, 0.025, 0.5, 0.95, 0.975, 0.999])
    assert _rel(special.ndtri(q), stats.norm.ppf(q)) <= 1e-12
    from psychometrics.cfa._tables import _Z975

    assert _Z975 == float(stats.norm.ppf(0.975))


@pytest.mark.parametrize("d1,d2", [(1, 3), (9, 72), (399, 10773), (99_999, 2_699_973)])
def test_f_ppf(d1, d2):
    q = np.array([0.005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995])
    assert _rel(special.fdtri(d1, d2, q), stats.f.ppf(q, d1, d2)) <= 1e-12


def test_ncx2_cdf_and_the_efa_rmsea_interval():
    from psychometrics.efa import model

    for df in (2, 13, 150):
        for x in (0.5, df, 3.0 * df):
            for nc in (0.0, 1e-3, 1.0, 25.0, 400.0):
                mine = special.chndtr(x, df, nc) if nc != 0 else special.chdtr(df, x)
                assert _rel(mine, stats.ncx2.cdf(x, df, nc)) <= 1e-12
    # the RMSEA interval found by brentq on the ncx2 cdf, against scipy.stats' ncx2 at the end points
    rng = np.random.default_rng(1)
    L = np.array([[0.7, 0.6, 0.5, 0.65, 0.55, 0.6, 0.4, 0.5]]).T
    R = L @ L.T
    np.fill_diagonal(R, 1.0)
    E = rng.normal(scale=0.12, size=R.shape)
    R = R + (E + E.T) / 2
    np.fill_diagonal(R, 1.0)
    n = 300
    fit = model._fit_stats(R, L, np.eye(1), n)
    assert fit is not None and np.isfinite(fit.rmsea)
    assert stats.chi2.sf(fit.chisq, fit.df) == pytest.approx(fit.pvalue, rel=1e-12)
    lo, hi = fit.rmsea_ci
    for end, tail in ((hi, 0.05), (lo, 0.95)):  # each end solves ncx2.cdf(χ², df, λ) = tail, λ = end² (n − 1) df
        assert end > 0
        assert stats.ncx2.cdf(fit.chisq, fit.df, end**2 * (n - 1) * fit.df) == pytest.approx(tail, abs=1e-9)


def test_measurement_steps_do_not_import_scipy_stats():
    code = ("import sys; import psychometrics.pipeline.steps.reliability, psychometrics.pipeline.steps.efa, "
            "psychometrics.pipeline.steps.cfa, psychometrics.pipeline.steps.invariance, psychometrics.cfa.compare, "
            "psychometrics.cfa._tables, psychometrics.efa.adequacy, psychometrics.efa.model, "
            "psychometrics.reliability.alpha; print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
