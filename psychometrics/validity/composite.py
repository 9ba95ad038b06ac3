"""Average variance extracted (AVE) of the factors of a CFA; composite reliability
(re-exported from :mod:`psychometrics.reliability.composite`).

* :func:`composite_reliability` — (Σλ*)² / ((Σλ*)² + Σθ*); lavaan std.all, by hand.
* :func:`composite_reliability_sem` — (Σλ)² ψ_ff / 1'Σ_f 1; ``semTools::compRelSEM``.
* :func:`ave` — Σλ*² / (Σλ*² + Σθ*); lavaan std.all, by hand.
* :func:`ave_sem` — ψ_ff Σλ² / tr Σ_f; ``semTools::AVE``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import ReliabilityWarning
from psychometrics.reliability._loadings import (
    as_loadings,
    cross_loading_items,
    indicators,
    need,
    residuals,
    square,
    usable_factors,
    warn_loading_problems,
)
from psychometrics.reliability.composite import composite_reliability, composite_reliability_sem
from psychometrics._text import quote

__all__ = ["composite_reliability", "composite_reliability_sem", "ave", "ave_sem"]


def _ave_factors(L: pd.DataFrame, what: str) -> Iterator[tuple[Any, list[Any]]]:
    """(factor, indicators) of every usable factor without a cross-loading indicator; the
    others are left out with a :class:`ReliabilityWarning` (semTools::AVE returns NA)."""
    import warnings

    crossed = cross_loading_items(L)
    for f in usable_factors(L, what):
        items = indicators(L, f)
        shared = crossed.intersection(items)
        if shared:
            # stacklevel 3: the caller of ave / ave_sem (this generator runs inside them)
            warnings.warn(
                f"{what}: factor {quote(f)} has cross-loading indicators {sorted(map(str, shared))}; "
                "the variance they share with it is not identifiable, so its AVE is left out (as semTools::AVE)",
                ReliabilityWarning,
                stacklevel=3,
            )
            continue
        yield f, items


def ave(
    std_loadings: pd.DataFrame | pd.Series,
    residual_variances: pd.Series | Mapping[Any, float] | None = None,
) -> pd.Series:
    r"""Average variance extracted (Fornell & Larcker, 1981) from standardized loadings.

    .. math:: \mathrm{AVE}_f = \frac{\sum_{i\in f}\lambda^{*2}_{if}}
                                   {\sum_{i\in f}\lambda^{*2}_{if} + \sum_{i\in f}\theta^*_{ii}}

    which is the mean squared standardized loading when θ* = 1 − λ*² (the
    default). Factors with a cross-loading indicator are left out with a
    :class:`ReliabilityWarning`, as ``semTools::AVE`` returns NA for them.

    Returns
    -------
    pandas.Series
        AVE by factor, named ``"ave"``.

    Notes
    -----
    ``semTools::AVE`` itself uses unstandardized estimates and the observed
    item variances (:func:`ave_sem`); the two differ slightly because each
    item's variance is model-implied here and observed there. Validated against
    lavaan's std.all solution (``cfa_cr_ave.json``, ``ave_std``).
    """
    what = "ave"
    L = as_loadings(std_loadings, "std_loadings")
    # Factors with cross-loading items are skipped below, so 1 − λ² is right for every item used.
    theta = 1.0 - (L**2).sum(axis=1) if residual_variances is None else residuals(L, residual_variances, what)
    out = {}
    for f, items in _ave_factors(L, what):
        warn_loading_problems(L, theta, f, items, what)
        s = (L.loc[items, f] ** 2).sum()
        out[f] = s / (s + theta.loc[items].sum())
    return pd.Series(out, dtype=float, name="ave")


def ave_sem(
    loadings: pd.DataFrame | pd.Series,
    latent_cov: pd.DataFrame,
    total_cov: pd.DataFrame,
) -> pd.Series:
    r"""Average variance extracted as ``semTools::AVE``.

    .. math:: \mathrm{AVE}_f = \frac{\psi_{ff}\sum_{i\in f}\lambda_{if}^2}{\sum_{i\in f}\Sigma_{ii}}

    with unstandardized loadings λ and the observed (``obs.var = TRUE``, the
    default; N divisor) or model-implied item variances Σ_ii. Factors with a
    cross-loading indicator are left out with a warning (semTools: NA).

    Notes
    -----
    Validated against ``semTools::AVE(fit)`` and ``AVE(fit, obs.var = FALSE)``
    (semTools 0.5-6), ``cfa_cr_ave.json``.
    """
    what = "ave_sem"
    L = as_loadings(loadings, "loadings")
    psi = square(latent_cov, "latent_cov")
    S = square(total_cov, "total_cov")
    need(psi, list(L.columns), "latent_cov")
    need(S, list(L.index), "total_cov")
    out = {}
    for f, items in _ave_factors(L, what):
        common = (L.loc[items, f] ** 2).sum() * psi.loc[f, f]
        out[f] = common / np.diag(S.loc[items, items].to_numpy()).sum()
    return pd.Series(out, dtype=float, name="ave")
