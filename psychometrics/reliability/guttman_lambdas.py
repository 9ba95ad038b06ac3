"""Guttman's (1945) lower bounds to reliability: λ1, λ2, λ3 (= α), λ4 (best split)
and λ6, from the correlation or the covariance matrix (``psych::guttman``,
``psych::splitHalf``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike
from psychometrics._linalg import smc
from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic
from psychometrics.reliability.prepare import Missing, check_matrix, prepare_items
from psychometrics.reliability.splits import split_coefficients

__all__ = ["GuttmanResult", "guttman", "guttman_from"]


@dataclass(frozen=True, eq=False)
class GuttmanResult(ResultMixin):
    """Guttman's (1945) lower bounds λ1, λ2, λ3 (= α), λ4 (best split) and λ6.

    Computed from the correlation matrix (``covar=False``, as ``psych::guttman``)
    or the covariance matrix (``covar=True``, as ``psych::splitHalf(covar = TRUE)``).
    """

    lambda1: float
    lambda2: float
    lambda3: float
    lambda4: float
    lambda6: float
    covar: bool
    n: int
    n_items: int
    missing: str
    n_excluded: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Guttman's lambdas"


def guttman_from(c: np.ndarray) -> dict[str, float]:
    """λ1, λ2, λ3 and λ6 of a correlation or covariance matrix ``c`` (λ4 needs the splits)."""
    p = c.shape[0]
    vt = c.sum()
    off = c - np.diag(np.diag(c))
    l1 = 1 - np.trace(c) / vt
    l2 = (off.sum() + np.sqrt(np.sum(off**2) * p / (p - 1))) / vt
    d = np.diag(c)
    # SMC of each item times its variance (psych::smc(covar = TRUE))
    smcs = smc(c) * d
    l6 = (vt + smcs.sum() - np.trace(c)) / vt
    return dict(lambda1=float(l1), lambda2=float(l2), lambda3=float(p / (p - 1) * l1), lambda6=float(l6))


def guttman(
    data: pd.DataFrame, *, covar: bool = False, missing: Missing = "listwise", seed: SeedLike = None
) -> GuttmanResult:
    """Guttman's λ1, λ2, λ3, λ4 and λ6.

    With C the correlation (or covariance) matrix, V = 1ᵀC1, C⁰ its off-diagonal part:

    * λ1 = 1 − tr C / V;  λ3 = k/(k − 1) λ1 (= α);
    * λ2 = (1ᵀC⁰1 + √(k/(k − 1) Σ_{i≠j} c²ᵢⱼ)) / V;
    * λ4 = max over splits into two halves of 4 c_AB / V (psych's ``maxrb``; see
      :func:`split_half`; above 10000 splits, over 10000 random splits drawn with ``seed``);
    * λ6 = (V − tr C + Σ smcᵢ·cᵢᵢ) / V, smc = squared multiple correlation.

    Notes
    -----
    Validated against ``psych::guttman`` (lambda.1, 2, 3, 4, 6; correlations)
    and ``psych::splitHalf(covar = TRUE)`` (lambda2, lambda6; covariances).

    References
    ----------
    Guttman (1945), Psychometrika 10, 255–282.
    """
    prep = prepare_items(data, missing, min_items=3, what="Guttman's lambdas")
    diags = list(prep.diagnostics)
    check_matrix(prep, diags)
    c = prep.cov if covar else prep.cor_pairwise  # psych::guttman: cor(use = "pairwise")
    vals = guttman_from(c)
    sh = split_coefficients(c, "psych", 10000, seed)
    return GuttmanResult(lambda4=sh["max"], covar=bool(covar), n=prep.n, n_items=len(prep.items),
                         missing=prep.missing, n_excluded=prep.n_excluded, diagnostics=tuple(diags), **vals)

