"""Normal, t and χ² tail functions without importing ``scipy.stats``.

``import scipy.stats`` costs 0.4–0.8 s (its distributions build their docstrings at import), a
fixed cost of every ``validate`` run that needs only a handful of tail probabilities and
quantiles. These are the functions ``scipy.stats`` itself evaluates, called directly in
``scipy.special`` (the same values bit for bit; the edge cases — invalid degrees of freedom,
x outside the support — as ``scipy.stats`` returns them):

=================================  ===============================
``scipy.stats``                    here
=================================  ===============================
``norm.cdf(x)``                    :func:`norm_cdf` (``ndtr``)
``norm.sf(x)``                     :func:`norm_sf` (``ndtr(-x)``)
``norm.ppf(q)``                    :func:`norm_ppf` (``ndtri``)
``t.sf(x, df)``                    :func:`t_sf` (``stdtr(df, -x)``)
``chi2.sf(x, df)``                 :func:`chi2_sf` (``chdtrc``)
=================================  ===============================

Scalars give numpy float64 scalars, arrays arrays (as ``scipy.stats``). Validated against
``scipy.stats`` to 1e-12 relative (``tests/test_dist.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["norm_cdf", "norm_sf", "norm_ppf", "t_sf", "chi2_sf"]


def norm_cdf(x: Any) -> Any:
    """Standard normal CDF Φ(x) (``scipy.stats.norm.cdf``)."""
    from scipy.special import ndtr

    return ndtr(x)


def norm_sf(x: Any) -> Any:
    """Standard normal upper tail 1 − Φ(x) = Φ(−x) (``scipy.stats.norm.sf``)."""
    from scipy.special import ndtr

    return ndtr(np.negative(x))


def norm_ppf(q: Any) -> Any:
    """Standard normal quantile Φ⁻¹(q) (``scipy.stats.norm.ppf``; NaN outside [0, 1])."""
    from scipy.special import ndtri

    return ndtri(q)


def t_sf(x: Any, df: Any) -> Any:
    """Student t upper tail P(T_df > x) (``scipy.stats.t.sf``; NaN for df ≤ 0)."""
    from scipy.special import stdtr

    return stdtr(df, np.negative(x))


def chi2_sf(x: Any, df: Any) -> Any:
    """χ² upper tail P(χ²_df > x) (``scipy.stats.chi2.sf``): 1 for x < 0, 0 for x = ∞, NaN for df ≤ 0."""
    from scipy.special import chdtrc

    x_arr, df_arr = np.asarray(x, dtype=float), np.asarray(df, dtype=float)
    out = chdtrc(df_arr, np.maximum(x_arr, 0.0))  # chdtrc(df, 0) = 1, the value of scipy.stats for x < 0
    out = np.where(x_arr == np.inf, 0.0, out)  # also for df = inf (chdtrc: NaN)
    out = np.where(df_arr > 0, out, np.nan)
    out = np.where(np.isnan(x_arr), np.nan, out)
    return out[()] if out.ndim == 0 else out
