"""ω from confirmatory (maximum-likelihood) factor models, as ``semTools::compRelSEM``:
a one-factor ML model of the items (:func:`omega_cfa`) and a fitted bifactor CFA
(:func:`omega_bifactor`: ω total, ω hierarchical, ω of each subscale, ECV).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics._validation import name_list
from psychometrics.efa.extraction import extract
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    HeywoodCaseWarning,
    ReliabilityWarning,
    record,
)
from psychometrics.reliability.composite import composite_reliability_sem
from psychometrics.reliability.efa_omega import HEYWOOD_UNIQUENESS
from psychometrics.reliability.prepare import Missing, check_matrix, prepare_items
from psychometrics._text import quote

__all__ = ["OmegaCFAResult", "omega_cfa", "OmegaBifactorResult", "omega_bifactor"]


# ================================================================ omega (CFA)
def _ml_one_factor(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor model of a covariance matrix: ``(λ, θ, converged)``.

    ML over Σ = λλᵀ + diag(θ) is scale invariant, so the correlation matrix is fitted
    (:func:`psychometrics.efa.extraction.extract`, ``ml`` to the exact optimum) and the
    estimates are rescaled to the units of ``cov``. ``converged`` is False when the fit
    did not converge or a uniqueness sits at its lower bound 0.005 (Heywood case).
    """
    d = np.sqrt(np.diag(cov))
    ex = extract(cov / np.outer(d, d), 1, "ml", exact=True)
    lam = ex.loadings[:, 0]
    theta = 1.0 - lam**2
    return lam * d, theta * d**2, bool(ex.converged and not ex.at_bound.any())


@dataclass(frozen=True, eq=False)
class OmegaCFAResult(ResultMixin):
    """ω from a one-factor maximum-likelihood model, as ``semTools::compRelSEM``.

    Attributes
    ----------
    omega : float
        The coefficient for ``total_variance`` (observed by default, as compRelSEM).
    omega_observed : float
        (Σλ)² / 1ᵀS1 — denominator the observed variance of the sum score.
    omega_implied : float
        (Σλ)² / ((Σλ)² + Σθ) — denominator the model-implied variance.
    loadings, residual_variances : Series
        Unstandardised λ and θ (factor variance 1) in lavaan's metric (ML: the
        sample covariance matrix with divisor n).
    """

    omega: float
    omega_observed: float
    omega_implied: float
    total_variance: str
    n: int
    n_items: int
    missing: str
    n_excluded: int
    loadings: pd.Series
    residual_variances: pd.Series
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Omega (one-factor ML model)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"loading": self.loadings, "residual_variance": self.residual_variances})


def omega_cfa(
    data: pd.DataFrame,
    *,
    total_variance: Literal["observed", "implied"] = "observed",
    missing: Missing = "listwise",
) -> OmegaCFAResult:
    """ω of a unidimensional item set from a one-factor ML factor model.

    ω = (Σλᵢ)² / V, where λ are the ML loadings of a one-factor model with the
    factor variance fixed at 1 and V is either the observed variance of the sum
    score 1ᵀS1 (``"observed"``, the default of ``semTools::compRelSEM``,
    ``obs.var = TRUE``) or the model-implied (Σλ)² + Σθ (``"implied"``,
    ``obs.var = FALSE``). The ML estimates are those of ``lavaan::cfa`` for the
    same model (the normal-theory ML discrepancy is minimised over λ and θ; the
    ratio does not depend on whether S uses n or n − 1).

    Notes
    -----
    Validated against ``semTools::compRelSEM`` on ``lavaan::cfa("f =~ …",
    std.lv = TRUE)`` fits of Holzinger–Swineford x1–x3, x1–x9 and bfi A and C
    items (listwise), tolerance 1e-4 (iterative). A Heywood case (a residual
    variance at the bound) is reported; lavaan would let the variance go negative
    there, so the values differ in that case.

    References
    ----------
    McDonald (1999). Jorgensen et al., semTools (compRelSEM). Jöreskog (1967),
    Psychometrika 32, 443–482.
    """
    if total_variance not in ("observed", "implied"):
        raise DataError(f"total_variance must be 'observed' or 'implied', not {quote(total_variance)}")
    prep = prepare_items(data, missing, min_items=3, what="omega_cfa")
    diags = list(prep.diagnostics)
    check_matrix(prep, diags)
    lam, theta, conv = _ml_one_factor(prep.cov)
    if not conv:
        bound = [prep.items[i] for i in range(len(lam)) if theta[i] <= HEYWOOD_UNIQUENESS * prep.cov[i, i]]
        if bound:
            record(diags, HeywoodCaseWarning,
                   f"residual variances of {name_list(bound)} are at the lower bound (Heywood case); ω is "
                   "computed with the bounded estimates", stacklevel=2)
        else:
            record(diags, ConvergenceWarning, "the one-factor ML fit did not converge", stacklevel=2)
    num = lam.sum() ** 2
    obs = float(num / prep.cov.sum())
    imp = float(num / (num + theta.sum()))
    # report estimates in lavaan's metric: ML uses the covariance matrix with divisor n
    shrink = (prep.n - 1) / prep.n
    lam = lam * np.sqrt(shrink)
    theta = theta * shrink
    idx = pd.Index(prep.items, name="item")
    return OmegaCFAResult(
        omega=obs if total_variance == "observed" else imp, omega_observed=obs, omega_implied=imp,
        total_variance=total_variance, n=prep.n, n_items=len(prep.items), missing=prep.missing,
        n_excluded=prep.n_excluded, loadings=pd.Series(lam, index=idx, name="loading"),
        residual_variances=pd.Series(theta, index=idx, name="residual_variance"), diagnostics=tuple(diags),
    )


# ============================================================ bifactor CFA ω
@dataclass(frozen=True, eq=False)
class OmegaBifactorResult(ResultMixin):
    """ω total and ω hierarchical from a fitted bifactor CFA (``semTools::compRelSEM``).

    Attributes
    ----------
    omega_total : float
        1ᵀΛΨΛᵀ1 / V: the share of the sum-score variance due to all common factors.
    omega_hierarchical : float
        (Σλ_g)² ψ_g / V: the share due to the general factor alone.
    omega_subscales : Series
        For each specific factor *k*, (Σλ_k)² ψ_k / V_k over its own items
        (ω hierarchical of the subscale: what the subscale score measures beyond
        the general factor).
    ecv : float
        Explained common variance of the general factor, Σλ_g² / Σ_f Σλ_f²
        (standardized loadings).
    total_variance : str
        ``"observed"`` (V = 1ᵀS1, compRelSEM's default ``obs.var = TRUE``) or
        ``"implied"`` (V = 1ᵀΣ̂1, ``obs.var = FALSE``).
    """

    omega_total: float
    omega_hierarchical: float
    omega_subscales: pd.Series
    ecv: float
    general: str
    total_variance: str
    n: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Omega from a bifactor CFA"


def omega_bifactor(
    cfa_result: Any,
    general: str | None = None,
    *,
    total_variance: Literal["observed", "implied"] = "observed",
) -> OmegaBifactorResult:
    r"""ω total and ω hierarchical from a bifactor CFA.

    .. math::

        \omega_t = \frac{\mathbf 1'\Lambda\Psi\Lambda'\mathbf 1}{V}, \qquad
        \omega_h = \frac{(\sum_i \lambda_{ig})^2\,\psi_{g}}{V}

    with unstandardized loadings Λ, latent covariance matrix Ψ and V the observed
    (N divisor) or model-implied variance of the unit-weighted sum of all items.
    Per specific factor, ω of the subscale is (Σλ_k)²ψ_k over the variance of
    its own items' sum (Reise, 2012; Rodriguez, Reise & Haviland, 2016).

    Parameters
    ----------
    cfa_result : CFAResult
        A single-group fit of a bifactor model, e.g. ``fit_cfa(cfa.models.bifactor(scale),
        data, std_lv=True)``.
    general : str, optional
        Name of the general factor; by default the factor that loads on every item.
    total_variance : {"observed", "implied"}
        Denominator, as compRelSEM's ``obs.var``.

    Notes
    -----
    Validated against ``semTools::compRelSEM(fit, return.total = TRUE)`` (the
    general factor's value is ω_h, the ``total`` column ω_t, the specific factors'
    values ω of the subscales) on Holzinger–Swineford and simulated mentorship
    data, fixture ``tests/reference/omega_bifactor``; tolerance 1e-4 (iterative
    estimates).
    """

    if total_variance not in ("observed", "implied"):
        raise DataError(f"total_variance must be 'observed' or 'implied', not {quote(total_variance)}")
    if len(getattr(cfa_result, "groups", ("all",))) > 1:
        raise DataError("omega_bifactor needs a single-group CFA; fit the bifactor model per group")
    loadings = cfa_result.loadings.fillna(0.0)
    items = list(loadings.index)
    if general is None:
        spanning = [f for f in loadings.columns if (loadings[f] != 0).all()]
        if len(spanning) != 1:
            raise DataError(
                "cannot tell the general factor of the bifactor model (it must load on every item); "
                f"pass general= one of {', '.join(map(str, loadings.columns))}"
            )
        general = spanning[0]
    elif general not in loadings.columns:
        raise DataError(f"general factor {quote(general)} is not a factor of the model "
                        f"({', '.join(map(str, loadings.columns))})")
    psi = cfa_result.latent_cov.loc[loadings.columns, loadings.columns]
    total_cov = (cfa_result.sample_cov if total_variance == "observed" else cfa_result.implied_cov).loc[items, items]
    diags = list(getattr(cfa_result, "diagnostics", ()))
    off = psi.to_numpy() - np.diag(np.diag(psi.to_numpy()))
    if np.abs(off).max() > 1e-8:
        record(diags, ReliabilityWarning,
               "the factors of the bifactor model are correlated; ω_h assumes orthogonal factors "
               "(fit with cfa.models.bifactor, which fixes their covariances to 0)", stacklevel=2)
    lam = loadings.to_numpy()
    V = float(total_cov.to_numpy().sum())
    omega_t = float(lam.sum(axis=0) @ psi.to_numpy() @ lam.sum(axis=0)) / V
    per_factor = composite_reliability_sem(loadings, psi, total_cov)
    std = cfa_result.std_loadings.fillna(0.0).to_numpy()
    ecv = float((std[:, list(loadings.columns).index(general)] ** 2).sum() / (std ** 2).sum())
    return OmegaBifactorResult(
        omega_total=omega_t,
        omega_hierarchical=float(per_factor[general]),
        omega_subscales=per_factor.drop(general).rename("omega_subscale"),
        ecv=ecv, general=str(general), total_variance=total_variance,
        n=int(sum(cfa_result.nobs.values())),
        diagnostics=tuple(diags),
    )

