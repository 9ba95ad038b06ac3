"""The χ² upper tail without importing ``scipy.stats`` (its import alone takes 0.4–0.8 s)."""

from __future__ import annotations

import numpy as np

__all__ = ["chi2_sf"]


def chi2_sf(x, df):  # noqa: ANN001, ANN201 - scalars or arrays, as scipy.stats.chi2.sf
    """``scipy.stats.chi2.sf(x, df)``: ``scipy.special.chdtrc(df, x)`` — the function ``chi2.sf`` itself
    evaluates — with ``chi2.sf``'s conventions outside the support: 1 for x < 0, NaN for df ≤ 0 or
    NaN arguments (tests/test_irt_fit.py: equal to ``chi2.sf`` on those cases)."""
    from scipy import special

    x, df = np.asarray(x, dtype=float), np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(df > 0, special.chdtrc(np.where(df > 0, df, 1.0), np.where(x < 0, 0.0, x)), np.nan)
    out = np.where(np.isnan(x) | np.isnan(df), np.nan, out)
    return out[()] if out.ndim == 0 else out
