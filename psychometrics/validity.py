"""Validity evidence: composite reliability, AVE, Fornell–Larcker, HTMT and hypotheses.

The functions here are *pure*: they take plain labelled inputs (loadings as an
items × factors DataFrame, correlation matrices, score columns) so that they can
be checked against R one formula at a time. Thin adapters build those inputs
from a CFA result, a :class:`~psychometrics.scale.Scale` and its responses.

Score naming
------------
Observed scores are columns named ``"<scale_id>.<score>"`` where ``<score>`` is
``total`` or a subscale id, e.g. ``mentorship_supportiveness.total``,
``self_efficacy.total``, ``coping.avoidance``. A validity hypothesis of scale
``S`` with ``scale_score: x``, ``measure: M``, ``measure_score: y`` compares the
columns ``S.x`` and ``M.y``.

Summary of the statistics (factor *f*, indicators *i ∈ f*)
---------------------------------------------------------
* :func:`composite_reliability` — (Σλ*)² / ((Σλ*)² + Σθ*); lavaan std.all, by hand.
* :func:`composite_reliability_sem` — (Σλ)² ψ_ff / 1'Σ_f 1; ``semTools::compRelSEM``.
* :func:`ave` — Σλ*² / (Σλ*² + Σθ*); lavaan std.all, by hand.
* :func:`ave_sem` — ψ_ff Σλ² / tr Σ_f; ``semTools::AVE``.
* :func:`fornell_larcker` — √AVE against |latent r|.
* :func:`htmt` — mean heterotrait r / √(mean monotrait r_i · r_j); ``semTools::htmt``.
* :func:`latent_correlations` — ψ_ab/√(ψ_aa ψ_bb), delta-method SE; lavaan
  ``standardizedSolution``.
* :func:`construct_validity` — all of the above from a fitted CFA.
* :func:`correlate` — Pearson r, Fisher-z CI, t-test p; ``stats::cor.test``.
* :func:`correlation_table` — every pair, Holm-adjusted p; ``psych::corr.test``.
* :func:`evaluate_hypotheses` — a scale's ``validity:`` hypotheses with verdicts.

(λ* standardized loadings, θ* standardized residual variances, λ unstandardized
loadings, ψ latent covariance matrix, Σ_f the observed or model-implied
covariance matrix of the factor's indicators.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._linalg import cov2cor, pairwise_correlation
from psychometrics._results import ResultMixin
from psychometrics._validation import check_finite, check_numeric, check_variance
from psychometrics.exceptions import DataError, Diagnostic, ReliabilityWarning, SpecError, record

__all__ = [
    "composite_reliability",
    "composite_reliability_sem",
    "ave",
    "ave_sem",
    "fornell_larcker",
    "FornellLarcker",
    "htmt",
    "HTMT",
    "correlate",
    "Correlation",
    "correlation_table",
    "CorrelationTable",
    "evaluate_hypotheses",
    "HypothesisEvaluation",
    "Hypothesis",
    "score_key",
    "observed_scores",
    "latent_correlations",
    "construct_validity",
    "ConstructValidity",
]

#: Verdict → status of the report's summary table (psychometrics.report.context.Verdict).
_STATUS = {"supported": "met", "inconclusive": "borderline", "not supported": "not met",
           "not assessed": "not assessed"}


def _status(verdict: str) -> str:
    return _STATUS.get(verdict, "borderline")  # "supported at 0.90 only" → borderline


#: Henseler, Ringle & Sarstedt (2015): .85 for conceptually distinct constructs,
#: .90 for conceptually similar ones.
HTMT_THRESHOLDS = (0.85, 0.90)


def score_key(scale_id: str, score: str) -> str:
    """The column name of an observed score: ``"<scale_id>.<score>"``."""
    return f"{scale_id}.{score}"


# =========================================================== input checking
def _as_loadings(loadings: pd.DataFrame | pd.Series, what: str) -> pd.DataFrame:
    """Items × factors float frame; NaN means 'does not load' and becomes 0."""
    if isinstance(loadings, pd.Series):
        loadings = loadings.to_frame(name=loadings.name if loadings.name is not None else "factor")
    if not isinstance(loadings, pd.DataFrame):
        raise DataError(
            f"{what} must be a pandas DataFrame (items × factors) or Series (one factor), "
            f"not {type(loadings).__name__}"
        )
    if loadings.index.has_duplicates or loadings.columns.has_duplicates:
        dup = list(loadings.index[loadings.index.duplicated()]) + list(
            loadings.columns[loadings.columns.duplicated()]
        )
        raise DataError(f"{what} has duplicated item or factor labels: {dup}")
    try:
        out = loadings.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric: {exc}") from None
    values = out.to_numpy()
    if np.isinf(values).any():
        bad = [f"{out.index[i]}/{out.columns[j]}" for i, j in zip(*np.nonzero(np.isinf(values)))]
        raise DataError(f"{what} has infinite loadings at {', '.join(bad)}")
    return out.fillna(0.0)


def _indicators(L: pd.DataFrame, factor: Any) -> list[Any]:
    return list(L.index[L[factor].to_numpy() != 0])


def _cross_loading_items(L: pd.DataFrame) -> set[Any]:
    # semTools::AVE treats an item as cross-loading when more than one loading is
    # non-zero after rounding to 5 decimals.
    nonzero = (np.round(L.to_numpy(), 5) != 0).sum(axis=1)
    return set(L.index[nonzero > 1])


def _usable_factors(L: pd.DataFrame, what: str) -> list[Any]:
    """Factors with ≥ 2 indicators (as semTools' ``dropSingle = TRUE``); warn about single ones.

    Columns without any item loading (e.g. a higher-order factor) are skipped silently:
    they are not measured by items.
    """
    import warnings

    keep = []
    for f in L.columns:
        n = len(_indicators(L, f))
        if n >= 2:
            keep.append(f)
        elif n == 1:
            warnings.warn(
                f"{what}: factor {f!r} has 1 indicator ({_indicators(L, f)[0]!r}); composite reliability "
                "and AVE need at least 2, so it is left out",
                ReliabilityWarning,
                stacklevel=4,
            )
    return keep


def _residuals(
    L: pd.DataFrame, residual_variances: pd.Series | Mapping[Any, float] | None, what: str
) -> pd.Series:
    if residual_variances is None:
        crossed = _cross_loading_items(L)
        if crossed:
            raise DataError(
                f"{what}: items {sorted(map(str, crossed))} load on more than one factor, so their "
                "residual variance is not 1 − λ²; pass residual_variances (the standardized θ "
                "from the CFA)"
            )
        return 1.0 - (L**2).sum(axis=1)
    theta = pd.Series(residual_variances, dtype=float)
    missing = [i for i in L.index if i not in theta.index]
    if missing:
        raise DataError(f"{what}: residual_variances lacks items {missing}")
    theta = theta.loc[L.index]
    if theta.isna().any():
        raise DataError(f"{what}: residual_variances is missing for items {list(theta.index[theta.isna()])}")
    return theta


def _warn_loading_problems(L: pd.DataFrame, theta: pd.Series, factor: Any, items: list[Any], what: str) -> None:
    import warnings

    lam = L.loc[items, factor]
    if (lam > 0).any() and (lam < 0).any():
        neg = list(lam.index[lam < 0])
        warnings.warn(
            f"{what}: factor {factor!r} has loadings of both signs (negative: {neg}); (Σλ)² "
            "understates reliability — reverse-key those items before the CFA",
            ReliabilityWarning,
            stacklevel=4,
        )
    bad = list(theta.loc[items].index[theta.loc[items] < 0])
    if bad:
        warnings.warn(
            f"{what}: factor {factor!r} has negative residual variances (Heywood case) for items "
            f"{bad}; the estimate is not meaningful",
            ReliabilityWarning,
            stacklevel=4,
        )


def _square(matrix: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(matrix, pd.DataFrame):
        raise DataError(f"{what} must be a labelled square pandas DataFrame, not {type(matrix).__name__}")
    if list(matrix.index) != list(matrix.columns):
        if set(matrix.index) != set(matrix.columns):
            raise DataError(f"{what} must have the same labels on rows and columns")
        matrix = matrix.loc[list(matrix.columns), :]
    try:
        out = matrix.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric: {exc}") from None
    v = out.to_numpy()
    if not np.isfinite(v).all():
        raise DataError(f"{what} has missing or infinite entries")
    if not np.allclose(v, v.T, rtol=0, atol=1e-10 * max(1.0, float(np.abs(v).max(initial=0.0)))):
        raise DataError(f"{what} is not symmetric")
    return out


def _need(matrix: pd.DataFrame, labels: Sequence[Any], what: str) -> None:
    missing = [x for x in labels if x not in matrix.index]
    if missing:
        raise DataError(f"{what} lacks rows/columns for {missing}")


# ===================================================== composite reliability
def composite_reliability(
    std_loadings: pd.DataFrame | pd.Series,
    residual_variances: pd.Series | Mapping[Any, float] | None = None,
) -> pd.Series:
    r"""Composite (construct) reliability of each factor from standardized loadings.

    .. math:: \mathrm{CR}_f = \frac{(\sum_{i\in f}\lambda^*_{if})^2}
                                  {(\sum_{i\in f}\lambda^*_{if})^2 + \sum_{i\in f}\theta^*_{ii}}

    with :math:`\theta^*_{ii} = 1-\lambda^{*2}_{i}` unless ``residual_variances``
    are given (Fornell & Larcker, 1981; Raykov, 1997). This is the reliability of
    the unit-weighted sum of the *standardized* items. It is not what
    ``semTools::compRelSEM`` reports: compRelSEM uses unstandardized loadings and
    the total variance of the sum of the *raw* items (see
    :func:`composite_reliability_sem`); the two agree only when all items have
    equal variances.

    Parameters
    ----------
    std_loadings : DataFrame or Series
        Standardized loadings, items × factors (0 or NaN where an item does not
        load). A Series is one factor.
    residual_variances : Series or mapping, optional
        Standardized residual variances θ* by item. Required when an item loads
        on more than one factor.

    Returns
    -------
    pandas.Series
        CR by factor, named ``"composite_reliability"``. Factors with fewer than
        two indicators are left out with a :class:`ReliabilityWarning` (as
        semTools' ``dropSingle = TRUE``).

    Notes
    -----
    Validated against lavaan's std.all solution of the Holzinger–Swineford and
    bfi models (``tests/reference/validity/cfa_cr_ave.json``, ``cr_std``).

    References
    ----------
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models
    with unobservable variables and measurement error. *Journal of Marketing
    Research, 18*(1), 39–50.
    """
    what = "composite_reliability"
    L = _as_loadings(std_loadings, "std_loadings")
    theta = _residuals(L, residual_variances, what)
    out = {}
    for f in _usable_factors(L, what):
        items = _indicators(L, f)
        _warn_loading_problems(L, theta, f, items, what)
        s2 = L.loc[items, f].sum() ** 2
        out[f] = s2 / (s2 + theta.loc[items].sum())
    return pd.Series(out, dtype=float, name="composite_reliability")


def composite_reliability_sem(
    loadings: pd.DataFrame | pd.Series,
    latent_cov: pd.DataFrame,
    total_cov: pd.DataFrame,
) -> pd.Series:
    r"""Composite reliability (ω) of each factor as ``semTools::compRelSEM``.

    .. math:: \omega_f = \frac{(\sum_{i\in f}\lambda_{if})^2\,\psi_{ff}}
                              {\mathbf 1'\Sigma_{f}\mathbf 1}

    where λ are unstandardized loadings, ψ_ff the factor variance and Σ_f the
    covariance matrix of the factor's indicators: the reliability of the
    unit-weighted sum of the raw items (Bentler, 2009; McDonald, 1999).

    ``compRelSEM``'s default ``obs.var = TRUE`` uses the *observed* (sample)
    covariance matrix with lavaan's divisor N for Σ_f; ``obs.var = FALSE`` uses
    the model-implied matrix (which includes residual covariances). Pass the one
    you want as ``total_cov``.

    Parameters
    ----------
    loadings : DataFrame or Series
        Unstandardized loadings, items × factors (0 or NaN where an item does
        not load). Cross-loadings are allowed: only the loadings on *f* enter
        the numerator, as in compRelSEM.
    latent_cov : DataFrame
        Latent covariance matrix ψ (factors × factors).
    total_cov : DataFrame
        Observed (N divisor) or model-implied covariance matrix of the items.

    Returns
    -------
    pandas.Series
        ω by factor, named ``"omega"``; factors with < 2 indicators are left
        out with a warning (compRelSEM ``dropSingle = TRUE``).

    Notes
    -----
    Validated against ``semTools::compRelSEM(fit)`` and
    ``compRelSEM(fit, obs.var = FALSE)`` (semTools 0.5-6) on the
    Holzinger–Swineford and bfi models, ``cfa_cr_ave.json``.
    """
    what = "composite_reliability_sem"
    L = _as_loadings(loadings, "loadings")
    psi = _square(latent_cov, "latent_cov")
    S = _square(total_cov, "total_cov")
    _need(psi, list(L.columns), "latent_cov")
    _need(S, list(L.index), "total_cov")
    out = {}
    for f in _usable_factors(L, what):
        items = _indicators(L, f)
        common = L.loc[items, f].sum() ** 2 * psi.loc[f, f]
        out[f] = common / S.loc[items, items].to_numpy().sum()
    return pd.Series(out, dtype=float, name="omega")


# ==================================================================== AVE
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
    import warnings

    what = "ave"
    L = _as_loadings(std_loadings, "std_loadings")
    crossed = _cross_loading_items(L)
    # Factors with cross-loading items are skipped below, so 1 − λ² is right for every item used.
    theta = 1.0 - (L**2).sum(axis=1) if residual_variances is None else _residuals(L, residual_variances, what)
    out = {}
    for f in _usable_factors(L, what):
        items = _indicators(L, f)
        if crossed.intersection(items):
            warnings.warn(
                f"ave: factor {f!r} has cross-loading indicators {sorted(map(str, crossed.intersection(items)))}; "
                "the variance they share with it is not identifiable, so its AVE is left out (as semTools::AVE)",
                ReliabilityWarning,
                stacklevel=2,
            )
            continue
        _warn_loading_problems(L, theta, f, items, what)
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
    import warnings

    what = "ave_sem"
    L = _as_loadings(loadings, "loadings")
    psi = _square(latent_cov, "latent_cov")
    S = _square(total_cov, "total_cov")
    _need(psi, list(L.columns), "latent_cov")
    _need(S, list(L.index), "total_cov")
    crossed = _cross_loading_items(L)
    out = {}
    for f in _usable_factors(L, what):
        items = _indicators(L, f)
        if crossed.intersection(items):
            warnings.warn(
                f"ave_sem: factor {f!r} has cross-loading indicators {sorted(map(str, crossed.intersection(items)))}; "
                "the variance they share with it is not identifiable, so its AVE is left out (as semTools::AVE)",
                ReliabilityWarning,
                stacklevel=2,
            )
            continue
        common = (L.loc[items, f] ** 2).sum() * psi.loc[f, f]
        out[f] = common / np.diag(S.loc[items, items].to_numpy()).sum()
    return pd.Series(out, dtype=float, name="ave")


# ========================================================= Fornell–Larcker
def _cov2cor(m: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(cov2cor(m.to_numpy()), index=m.index, columns=m.columns)


@dataclass(frozen=True, eq=False)
class FornellLarcker(ResultMixin):
    """Fornell–Larcker criterion: √AVE of each factor against its latent correlations.

    Attributes
    ----------
    table : DataFrame
        Factors × factors: √AVE on the diagonal, latent correlations elsewhere.
    pairs : DataFrame
        One row per factor pair: ``factor_a, factor_b, r, sqrt_ave_a,
        sqrt_ave_b, verdict`` (``"supported"`` when both √AVE exceed |r|,
        otherwise ``"not supported"``) and ``rule`` (the comparison in words).
    ave : Series
        The AVE used, by factor.
    """

    table: pd.DataFrame
    pairs: pd.DataFrame
    ave: pd.Series
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Fornell–Larcker criterion"

    def to_frame(self) -> pd.DataFrame:
        return self.pairs

    @property
    def supported(self) -> bool:
        """True when every pair meets the criterion."""
        return bool((self.pairs["verdict"] == "supported").all())

    def verdicts(self) -> list[dict[str, Any]]:
        """One report verdict per factor pair (fields of ``psychometrics.report.Verdict``)."""
        return [
            {"criterion": f"Fornell–Larcker {r.factor_a}–{r.factor_b}", "status": _status(r.verdict),
             "value": abs(r.r), "rule": "√AVE of both factors > |r|", "reference": "Fornell & Larcker (1981)"}
            for r in self.pairs.itertuples(index=False)
        ]


def fornell_larcker(ave: pd.Series | Mapping[Any, float], latent_cor: pd.DataFrame) -> FornellLarcker:
    r"""Fornell–Larcker (1981) discriminant-validity table.

    For factors *a* and *b* with latent correlation :math:`r_{ab}` the criterion
    is met when :math:`\sqrt{\mathrm{AVE}_a} > |r_{ab}|` and
    :math:`\sqrt{\mathrm{AVE}_b} > |r_{ab}|` (each factor shares more variance
    with its own indicators than with the other factor).

    Parameters
    ----------
    ave : Series or mapping
        AVE by factor (from :func:`ave` or :func:`ave_sem`).
    latent_cor : DataFrame
        Latent correlation matrix (a covariance matrix is standardized first).
        Its factors must all have an AVE.

    Returns
    -------
    FornellLarcker
    """
    a = pd.Series(ave, dtype=float)
    R = _square(latent_cor, "latent_cor")
    d = np.diag(R.to_numpy())
    if np.any(d <= 0):
        raise DataError("latent_cor has non-positive diagonal entries")
    if not np.allclose(d, 1.0, atol=1e-8):
        R = _cov2cor(R)
    factors = list(R.index)
    missing = [f for f in factors if f not in a.index or not np.isfinite(a.get(f, np.nan))]
    if missing:
        raise DataError(
            f"fornell_larcker: no AVE for factors {missing} (single-indicator or cross-loaded factors "
            "have none); drop them from latent_cor"
        )
    if (a.loc[factors] < 0).any():
        raise DataError(f"fornell_larcker: negative AVE for {list(a.loc[factors][a.loc[factors] < 0].index)}")
    root = np.sqrt(a.loc[factors])
    table = R.copy()
    for f in factors:
        table.loc[f, f] = root[f]
    rows = []
    for i, fa in enumerate(factors):
        for fb in factors[i + 1 :]:
            r = float(R.loc[fa, fb])
            ok = root[fa] > abs(r) and root[fb] > abs(r)
            verb = "exceed" if ok else "do not both exceed"
            rows.append(
                {
                    "factor_a": fa,
                    "factor_b": fb,
                    "r": r,
                    "sqrt_ave_a": float(root[fa]),
                    "sqrt_ave_b": float(root[fb]),
                    "verdict": "supported" if ok else "not supported",
                    "rule": (
                        f"Fornell–Larcker {fa}–{fb}: √AVE({fa}) = {root[fa]:.3f} and √AVE({fb}) = "
                        f"{root[fb]:.3f} {verb} |r| = {abs(r):.3f}"
                    ),
                }
            )
    pairs = pd.DataFrame(rows, columns=["factor_a", "factor_b", "r", "sqrt_ave_a", "sqrt_ave_b", "verdict", "rule"])
    return FornellLarcker(table=table, pairs=pairs, ave=a.loc[factors].rename("ave"))


# =================================================================== HTMT
@dataclass(frozen=True, eq=False)
class HTMT(ResultMixin):
    """Heterotrait–monotrait ratio of correlations (Henseler, Ringle & Sarstedt, 2015).

    Attributes
    ----------
    matrix : DataFrame
        Blocks × blocks HTMT (1 on the diagonal), as ``semTools::htmt``.
    pairs : DataFrame
        One row per pair: ``factor_a, factor_b, htmt, verdict, rule``. The
        verdict is ``"supported"`` (HTMT < .85), ``"supported at .90 only"``
        (.85 ≤ HTMT < .90: acceptable only for conceptually similar constructs)
        or ``"not supported"`` (HTMT ≥ .90).
    monotrait : Series
        Mean within-block correlation of each block (arithmetic or geometric).
    method : str
        ``"htmt2"`` (geometric means, semTools' default) or ``"htmt"``
        (arithmetic means, the original 2015 definition).
    absolute : bool
        Whether absolute correlations were averaged.
    missing : str
        ``"listwise"``, ``"pairwise"`` or ``"matrix"`` (a correlation or
        covariance matrix was given).
    n : int or None
        Complete cases used (listwise) or the smallest pairwise n; None for a matrix.
    n_excluded : int
        Rows left out by listwise deletion (0 otherwise).
    thresholds : tuple of float
        The (conservative, liberal) thresholds used for the verdicts.
    """

    matrix: pd.DataFrame
    pairs: pd.DataFrame
    monotrait: pd.Series
    method: str
    absolute: bool
    missing: str
    n: int | None
    n_excluded: int
    thresholds: tuple[float, float]
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Heterotrait–monotrait ratio (HTMT)"

    def to_frame(self) -> pd.DataFrame:
        return self.pairs

    @property
    def supported(self) -> bool:
        """True when every pair is below the conservative threshold."""
        return bool((self.pairs["verdict"] == "supported").all())

    def verdicts(self) -> list[dict[str, Any]]:
        """One report verdict per pair: met (< .85), borderline (< .90), not met."""
        lo, hi = self.thresholds
        name = "HTMT2" if self.method == "htmt2" else "HTMT"
        return [
            {"criterion": f"{name} {r.factor_a}–{r.factor_b}", "status": _status(r.verdict), "value": r.htmt,
             "rule": f"< {lo:.2f} (< {hi:.2f} for conceptually similar constructs)",
             "reference": "Henseler, Ringle & Sarstedt (2015)"}
            for r in self.pairs.itertuples(index=False)
        ]


def _blocks(blocks: Any) -> dict[str, list[str]]:
    """Factor → items from a mapping, lavaan model syntax (its ``=~`` lines), or a Scale."""
    if isinstance(blocks, str):
        from psychometrics.cfa import parse_model

        parsed: dict[str, list[str]] = {}
        for st in parse_model(blocks):
            if st.op == "=~":
                parsed.setdefault(st.lhs, []).extend(t.name for t in st.terms)
        if not parsed:
            raise DataError("htmt: the model syntax has no '=~' (measurement) statements")
        blocks = parsed
    if hasattr(blocks, "subscales") and hasattr(blocks, "items"):  # a Scale
        out: dict[str, list[str]] = {}
        for sub in blocks.subscales:
            sid = getattr(sub, "id", sub)
            out[sid] = [it.id for it in blocks.items if it.subscale == sid]
        blocks = out
    if not isinstance(blocks, Mapping) or not blocks:
        raise DataError("blocks must be a non-empty mapping {factor: [items]} or a Scale")
    out = {}
    seen: dict[Any, Any] = {}
    for name, items in blocks.items():
        if isinstance(items, str):
            raise DataError(f"block {name!r}: items must be a list of column names, not the string {items!r}")
        items = list(items)
        if len(items) < 2:
            raise DataError(
                f"block {name!r} has {len(items)} item(s); HTMT needs at least 2 items per block "
                "(the monotrait correlations are those among a block's own items)"
            )
        if len(set(items)) != len(items):
            raise DataError(f"block {name!r} lists an item more than once: {items}")
        for it in items:
            if it in seen:
                raise DataError(
                    f"item {it!r} is in blocks {seen[it]!r} and {name!r}; HTMT needs each item in one block"
                )
            seen[it] = name
        out[name] = items
    if len(out) < 2:
        raise DataError("HTMT needs at least 2 blocks")
    return out


def _is_matrix(data: pd.DataFrame) -> bool:
    return data.shape[0] == data.shape[1] and set(data.index) == set(data.columns)


def _numeric(data: pd.DataFrame, cols: list[Any], what: str) -> pd.DataFrame:
    check_numeric(data, what, cols)
    return data[cols].astype(float)


def htmt(
    data: pd.DataFrame,
    blocks: Mapping[str, Sequence[str]] | Any,
    *,
    htmt2: bool = True,
    absolute: bool = True,
    missing: Literal["listwise", "pairwise"] = "listwise",
    thresholds: tuple[float, float] = HTMT_THRESHOLDS,
) -> HTMT:
    r"""Heterotrait–monotrait ratio of correlations, exactly as ``semTools::htmt``.

    For blocks *i* and *j*,

    .. math:: \mathrm{HTMT}_{ij} = \frac{\bar r_{ij}}{\sqrt{\bar r_{ii}\,\bar r_{jj}}}

    where :math:`\bar r_{ij}` averages the heterotrait correlations (every item
    of *i* with every item of *j*) and :math:`\bar r_{ii}` the monotrait
    correlations (distinct item pairs within *i*). HTMT2 (Roemer, Schuberth &
    Henseler, 2021; semTools' default ``htmt2 = TRUE``) uses geometric instead
    of arithmetic means, and therefore absolute correlations.

    Parameters
    ----------
    data : DataFrame
        Raw item responses (rows = respondents), or a correlation/covariance
        matrix (a square frame with the same labels on rows and columns;
        semTools' ``sample.cov``; a covariance matrix is standardized).
    blocks : mapping, str or Scale
        ``{factor: [item, ...]}`` with at least two items per block and each
        item in one block; lavaan model syntax (its ``=~`` statements, as
        semTools' ``model`` argument); or a Scale (its subscales).
    htmt2 : bool, default True
        Geometric means (semTools ≥ 0.5-6 default). False: arithmetic (HTMT).
    absolute : bool, default True
        Average absolute correlations (semTools' default). With
        ``absolute=False`` and ``htmt2=False`` signed correlations are averaged;
        a block whose mean correlation is not positive is then an error (semTools
        returns NaN or −1): reverse-key its negatively keyed items.
    missing : {"listwise", "pairwise"}
        Raw data only. ``"listwise"`` (semTools' default, via ``lavCor``) uses
        the rows complete on every block item and reports the number left out;
        ``"pairwise"`` correlates each pair on its complete cases (R's
        ``cor(use = "pairwise.complete.obs")`` passed as ``sample.cov``).
    thresholds : (float, float)
        Conservative and liberal cut-offs for the verdicts, default (.85, .90).

    Returns
    -------
    HTMT

    Notes
    -----
    Validated against ``semTools::htmt`` (0.5-6) on Holzinger–Swineford (3
    blocks) and psychTools::bfi (5 blocks, listwise and pairwise, raw and
    reverse-keyed), ``tests/reference/validity/htmt.json``.

    References
    ----------
    Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for
    assessing discriminant validity in variance-based structural equation
    modeling. *Journal of the Academy of Marketing Science, 43*(1), 115–135.
    Roemer, E., Schuberth, F., & Henseler, J. (2021). HTMT2 – an improved
    criterion for assessing discriminant validity in structural equation
    modeling. *Industrial Management & Data Systems, 121*(12), 2637–2650.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"htmt: data must be a pandas DataFrame, not {type(data).__name__}")
    lo_t, hi_t = thresholds
    if not 0 < lo_t <= hi_t:
        raise DataError(f"htmt: thresholds must satisfy 0 < conservative ≤ liberal, got {thresholds}")
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"htmt: missing must be 'listwise' or 'pairwise', not {missing!r}")
    B = _blocks(blocks)
    items = [it for its in B.values() for it in its]
    n: int | None
    n_excluded = 0
    if _is_matrix(data):
        absent = [it for it in items if it not in data.index]
        if absent:
            raise DataError(f"htmt: items {absent} are not in the correlation/covariance matrix")
        C = _square(data.loc[items, items], "htmt correlation/covariance matrix")
        d = np.diag(C.to_numpy())
        if np.any(d <= 0):
            raise DataError(f"htmt: items {list(C.index[d <= 0])} have non-positive variance in the matrix")
        R = C.to_numpy() if np.allclose(d, 1.0, rtol=0, atol=1e-12) else _cov2cor(C).to_numpy()
        kind, n = "matrix", None
    else:
        absent = [it for it in items if it not in data.columns]
        if absent:
            raise DataError(
                f"htmt: items {absent} are not columns of the data (blocks: "
                + "; ".join(f"{k}: {[i for i in v if i in absent]}" for k, v in B.items() if set(v) & set(absent))
                + ")"
            )
        X = _numeric(data, items, "htmt")
        check_finite(X.to_numpy(), list(X.columns), X.index, "htmt")
        kind = missing
        if missing == "listwise":
            complete = X.notna().all(axis=1).to_numpy()
            Xc = X.to_numpy()[complete]
            n, n_excluded = int(complete.sum()), int((~complete).sum())
            if n < 3:
                raise DataError(f"htmt: only {n} rows are complete on the block items; correlations need ≥ 3")
            check_variance(Xc, list(X.columns), "htmt", "in the complete cases")
            R = np.corrcoef(Xc, rowvar=False)
        else:
            mask = X.notna().to_numpy().astype(float)
            counts = mask.T @ mask
            n = int(counts.min())
            if n < 3:
                raise DataError("htmt: some item pairs have fewer than 3 complete cases")
            check_variance(X.to_numpy(), list(X.columns), "htmt")
            R = pairwise_correlation(X.to_numpy())[0]
            if not np.isfinite(R).all():
                raise DataError("htmt: a pairwise correlation is undefined (zero variance on a pair's complete cases)")
    names = list(B)
    pos = {it: k for k, it in enumerate(items)}
    idx = [np.array([pos[it] for it in B[b]]) for b in names]
    A = np.abs(R) if (absolute or htmt2) else R.copy()
    np.fill_diagonal(A, np.nan)

    def block_mean(i: int, j: int) -> float:
        sub = A[np.ix_(idx[i], idx[j])]
        vals = sub[~np.isnan(sub)]
        if htmt2:
            with np.errstate(divide="ignore"):
                return float(np.exp(np.mean(np.log(vals))))
        return float(np.mean(vals))

    mono = np.array([block_mean(i, i) for i in range(len(names))])
    bad = [names[i] for i in range(len(names)) if not mono[i] > 0]
    if bad:
        detail = ", ".join(f"{names[i]}: {mono[i]:.3f}" for i in range(len(names)) if names[i] in bad)
        raise DataError(
            f"htmt: the mean monotrait correlation is not positive in blocks {bad} ({detail}); "
            "reverse-key the negatively keyed items or use absolute=True"
        )
    k = len(names)
    M = np.ones((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            M[i, j] = M[j, i] = block_mean(i, j) / math.sqrt(mono[i] * mono[j])
    matrix = pd.DataFrame(M, index=names, columns=names)
    label = "HTMT2" if htmt2 else "HTMT"
    rows = []
    for i in range(k):
        for j in range(i + 1, k):
            v = M[i, j]
            if v < lo_t:
                verdict, cmp = "supported", f"< {lo_t:.2f}"
            elif v < hi_t:
                verdict, cmp = f"supported at {hi_t:.2f} only", f"in [{lo_t:.2f}, {hi_t:.2f})"
            else:
                verdict, cmp = "not supported", f"≥ {hi_t:.2f}"
            rows.append(
                {
                    "factor_a": names[i],
                    "factor_b": names[j],
                    "htmt": v,
                    "verdict": verdict,
                    "rule": f"{label}({names[i]}, {names[j]}) = {v:.3f} {cmp}",
                }
            )
    pairs = pd.DataFrame(rows, columns=["factor_a", "factor_b", "htmt", "verdict", "rule"])
    return HTMT(
        matrix=matrix,
        pairs=pairs,
        monotrait=pd.Series(mono, index=names, name="monotrait"),
        method="htmt2" if htmt2 else "htmt",
        absolute=bool(absolute or htmt2),
        missing=kind,
        n=n,
        n_excluded=n_excluded,
        thresholds=(float(lo_t), float(hi_t)),
    )


# ============================================================ correlations
def _check_conf(conf_level: float) -> float:
    if not (isinstance(conf_level, (int, float)) and 0 < conf_level < 1):
        raise DataError(f"conf_level must be a number strictly between 0 and 1, got {conf_level!r}")
    return float(conf_level)


def _fisher_ci(r: np.ndarray | float, n: np.ndarray | float, conf_level: float) -> tuple[Any, Any]:
    from scipy.stats import norm

    zc = norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore"):
        z = np.arctanh(r)
    se = 1 / np.sqrt(np.asarray(n, dtype=float) - 3)
    return np.tanh(z - zc * se), np.tanh(z + zc * se)


def _t_test(r: np.ndarray | float, n: np.ndarray | float) -> tuple[Any, Any, Any]:
    from scipy.stats import t as t_dist

    df = np.asarray(n, dtype=float) - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(r) * np.sqrt(df) / np.sqrt(1 - np.asarray(r) ** 2)
    p = 2 * t_dist.sf(np.abs(t), df)
    return t, df, p


@dataclass(frozen=True, eq=False)
class Correlation(ResultMixin):
    """Pearson correlation with a Fisher-z confidence interval and a t-test.

    Attributes
    ----------
    x, y : str
        Names of the two variables.
    r : float
        Pearson correlation on the pairwise-complete cases.
    n : int
        Cases used; ``n_excluded`` rows had ``x`` or ``y`` missing.
    t, df, p : float
        t = r√(n−2)/√(1−r²) with df = n − 2; two-sided p.
    ci : (float, float)
        tanh(atanh r ∓ z_{1−α/2}/√(n−3)).
    conf_level : float
    """

    x: str
    y: str
    r: float
    n: int
    n_excluded: int
    t: float
    df: float
    p: float
    ci: tuple[float, float]
    conf_level: float
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Pearson correlation"


def correlate(
    x: pd.Series | Sequence[float],
    y: pd.Series | Sequence[float],
    *,
    conf_level: float = 0.95,
    x_name: str | None = None,
    y_name: str | None = None,
) -> Correlation:
    r"""Pearson correlation with Fisher-z CI and two-sided t-test, as ``cor.test``.

    Rows where ``x`` or ``y`` is missing are left out and counted
    (``n_excluded``). The CI is :math:`\tanh(\operatorname{atanh} r \pm
    z_{1-\alpha/2}/\sqrt{n-3})`; the p-value is from
    :math:`t = r\sqrt{n-2}/\sqrt{1-r^2}` on n − 2 df.

    Raises
    ------
    DataError
        If the lengths differ, fewer than 4 complete pairs remain (the CI needs
        n > 3), or either variable is constant on the complete pairs.

    Notes
    -----
    Validated against ``stats::cor.test`` (``correlations.json``).
    """
    conf_level = _check_conf(conf_level)
    xn = x_name if x_name is not None else (str(x.name) if isinstance(x, pd.Series) and x.name is not None else "x")
    yn = y_name if y_name is not None else (str(y.name) if isinstance(y, pd.Series) and y.name is not None else "y")
    if isinstance(x, pd.Series) and isinstance(y, pd.Series) and not x.index.equals(y.index):
        # Values are paired by position; differing row labels would pair different respondents.
        raise DataError(
            f"correlate: {xn!r} and {yn!r} have different row labels; align them (e.g. by respondent id) first"
        )
    xa = pd.to_numeric(pd.Series(np.asarray(x, dtype=object)), errors="coerce").to_numpy(dtype=float)
    ya = pd.to_numeric(pd.Series(np.asarray(y, dtype=object)), errors="coerce").to_numpy(dtype=float)
    for arr, orig, nm in ((xa, x, xn), (ya, y, yn)):
        orig_na = pd.isna(pd.Series(np.asarray(orig, dtype=object))).to_numpy()
        bad = np.isnan(arr) & ~orig_na
        if bad.any():
            first = np.asarray(orig, dtype=object)[bad][:3]
            raise DataError(f"correlate: {nm!r} has non-numeric values, e.g. {list(first)}")
        if np.isinf(arr).any():
            raise DataError(f"correlate: {nm!r} has infinite values")
    if xa.shape != ya.shape:
        raise DataError(f"correlate: {xn!r} has {xa.size} values but {yn!r} has {ya.size}")
    ok = ~(np.isnan(xa) | np.isnan(ya))
    n = int(ok.sum())
    if n < 4:
        raise DataError(
            f"correlate: only {n} complete pairs of {xn!r} and {yn!r}; a confidence interval needs at least 4"
        )
    xs, ys = xa[ok], ya[ok]
    for v, nm in ((xs, xn), (ys, yn)):
        if np.ptp(v) == 0:
            raise DataError(
                f"correlate: {nm!r} has zero variance on the {n} complete pairs (every value is {v[0]:g}); "
                "its correlation is undefined"
            )
    r = float(np.clip(np.corrcoef(xs, ys)[0, 1], -1.0, 1.0))
    lo, hi = _fisher_ci(r, n, conf_level)
    t, df, p = _t_test(r, n)
    return Correlation(
        x=xn, y=yn, r=r, n=n, n_excluded=int((~ok).sum()), t=float(t), df=float(df), p=float(p),
        ci=(float(lo), float(hi)), conf_level=conf_level,
    )


def _holm(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty_like(p)
    out[order] = adj
    return out


@dataclass(frozen=True, eq=False)
class CorrelationTable(ResultMixin):
    """All pairwise Pearson correlations with CIs and p-values (as ``psych::corr.test``).

    Attributes
    ----------
    r, n, p : DataFrame
        Variables × variables: correlations, pairwise n, unadjusted two-sided p.
    pairs : DataFrame
        One row per pair (``x, y, r, n, lower, upper, t, df, p, p_adjusted``);
        the CI is not adjusted for multiplicity, ``p_adjusted`` is.
    conf_level : float
    adjust : str
        ``"holm"`` (default, as corr.test), ``"bonferroni"`` or ``"none"``.
    """

    r: pd.DataFrame
    n: pd.DataFrame
    p: pd.DataFrame
    pairs: pd.DataFrame
    conf_level: float
    adjust: str
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Correlations"

    def to_frame(self) -> pd.DataFrame:
        return self.pairs


def correlation_table(
    data: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    conf_level: float = 0.95,
    adjust: Literal["holm", "bonferroni", "none"] = "holm",
) -> CorrelationTable:
    """Pearson correlations of every pair of columns on pairwise-complete cases.

    Each pair gets r, n, a Fisher-z CI, the t-test p and a multiplicity-adjusted
    p over all pairs (Holm by default), as ``psych::corr.test(x)``.

    Notes
    -----
    Validated against ``psych::corr.test`` (``correlations.json``).
    """
    conf_level = _check_conf(conf_level)
    if adjust not in ("holm", "bonferroni", "none"):
        raise DataError(f"correlation_table: adjust must be 'holm', 'bonferroni' or 'none', not {adjust!r}")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"correlation_table: data must be a pandas DataFrame, not {type(data).__name__}")
    cols = list(data.columns if columns is None else columns)
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise DataError(f"correlation_table: columns {absent} are not in the data")
    if len(cols) < 2:
        raise DataError("correlation_table: needs at least 2 columns")
    X = _numeric(data, cols, "correlation_table")
    mask = X.notna().to_numpy().astype(float)
    N = mask.T @ mask
    if N.min() < 4:
        i, j = np.unravel_index(np.argmin(N), N.shape)
        raise DataError(
            f"correlation_table: {cols[i]!r} and {cols[j]!r} have only {int(N[i, j])} complete pairs; "
            "a confidence interval needs at least 4"
        )
    check_variance(X.to_numpy(), cols, "correlation_table")
    R = pairwise_correlation(X.to_numpy())[0]
    if not np.isfinite(R).all():
        bad = sorted({cols[i] for i, _ in zip(*np.nonzero(~np.isfinite(R)))})
        raise DataError(f"correlation_table: columns {bad} have zero variance (on some pair's complete cases)")
    R = np.clip(R, -1, 1)
    np.fill_diagonal(R, 1.0)
    t, df, P = _t_test(R, N)
    iu = np.triu_indices(len(cols), 1)
    r_u, n_u, p_u = R[iu], N[iu], P[iu]
    lo, hi = _fisher_ci(r_u, n_u, conf_level)
    if adjust == "holm":
        p_adj = _holm(p_u)
    elif adjust == "bonferroni":
        p_adj = np.minimum(1.0, p_u * p_u.size)
    else:
        p_adj = p_u.copy()
    pairs = pd.DataFrame(
        {
            "x": [cols[i] for i in iu[0]],
            "y": [cols[j] for j in iu[1]],
            "r": r_u,
            "n": n_u.astype(int),
            "lower": lo,
            "upper": hi,
            "t": t[iu],
            "df": df[iu],
            "p": p_u,
            "p_adjusted": p_adj,
        }
    )
    lab = dict(index=cols, columns=cols)
    np.fill_diagonal(P, 0.0)
    return CorrelationTable(
        r=pd.DataFrame(R, **lab),
        n=pd.DataFrame(N.astype(int), **lab),
        p=pd.DataFrame(P, **lab),
        pairs=pairs,
        conf_level=conf_level,
        adjust=adjust,
    )


# ===================================================== latent correlations
def _psi_label(a: Any, b: Any, labels: Sequence[str]) -> str | None:
    for lab in (f"{a}~~{b}", f"{b}~~{a}"):
        if lab in labels:
            return lab
    return None


def latent_correlations(
    latent_cov: pd.DataFrame,
    vcov: pd.DataFrame | None = None,
    *,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    r"""Latent correlations with delta-method standard errors and Wald intervals.

    .. math:: r_{ab} = \frac{\psi_{ab}}{\sqrt{\psi_{aa}\psi_{bb}}},\qquad
              \operatorname{se}(r_{ab})^2 = g' V g,\quad
              g = \Bigl(\frac{1}{\sqrt{\psi_{aa}\psi_{bb}}},\,-\frac{r}{2\psi_{aa}},\,-\frac{r}{2\psi_{bb}}\Bigr)

    where V is the sampling covariance of (ψ_ab, ψ_aa, ψ_bb) — lavaan's
    ``standardizedSolution`` standard error of a factor correlation in a CFA
    (the correlation depends on no other parameter). Fixed variances (e.g.
    ``std.lv``) are constants and drop out. The interval is r ± z·se and p is
    the two-sided z-test of r = 0, as ``standardizedSolution``.

    Parameters
    ----------
    latent_cov : DataFrame
        Latent covariance matrix ψ.
    vcov : DataFrame, optional
        Sampling covariance matrix of the estimates, labelled lavaan-style
        (``"a~~b"``). Without it, and for pairs whose covariance is not a free
        parameter (e.g. implied by a higher-order factor), only ``est`` is
        returned (``se``, ``z``, ``p``, ``lower``, ``upper`` missing).

    Returns
    -------
    DataFrame
        ``lhs, rhs, est, se, z, p, lower, upper``, one row per factor pair.

    Notes
    -----
    Validated against lavaan ``standardizedSolution(fit)`` on the
    Holzinger–Swineford and bfi CFAs (``cfa_cr_ave.json``: ``latent_cor_table``,
    with ``vcov_psi`` from ``lavInspect(fit, "vcov")``).
    """
    from scipy.stats import norm

    conf_level = _check_conf(conf_level)
    psi = _square(latent_cov, "latent_cov")
    d = np.diag(psi.to_numpy())
    if np.any(d <= 0):
        raise DataError(f"latent_cov has non-positive variances for {list(psi.index[d <= 0])} (Heywood case)")
    if vcov is not None:
        vcov = _square(vcov, "vcov")
    zc = norm.ppf(1 - (1 - conf_level) / 2)
    factors = list(psi.index)
    rows = []
    for i, a in enumerate(factors):
        for b in factors[i + 1 :]:
            paa, pbb, pab = psi.loc[a, a], psi.loc[b, b], psi.loc[a, b]
            r = pab / math.sqrt(paa * pbb)
            se = np.nan
            if vcov is not None:
                labels = list(vcov.index)
                grad = {
                    _psi_label(a, b, labels): 1 / math.sqrt(paa * pbb),
                    _psi_label(a, a, labels): -r / (2 * paa),
                    _psi_label(b, b, labels): -r / (2 * pbb),
                }
                # When ψ_ab is not a free parameter (e.g. implied by a higher-order factor) the
                # correlation depends on other parameters too: no SE from this formula.
                if _psi_label(a, b, labels) is not None:
                    grad.pop(None, None)
                    keys = list(grad)
                    g = np.array([grad[k] for k in keys])
                    se = float(math.sqrt(max(g @ vcov.loc[keys, keys].to_numpy() @ g, 0.0)))
            z = r / se if se > 0 else np.nan
            rows.append(
                {
                    "lhs": a, "rhs": b, "est": r, "se": se, "z": z,
                    "p": float(2 * norm.sf(abs(z))) if np.isfinite(z) else np.nan,
                    "lower": r - zc * se, "upper": r + zc * se,
                }
            )
    return pd.DataFrame(rows, columns=["lhs", "rhs", "est", "se", "z", "p", "lower", "upper"])


@dataclass(frozen=True, eq=False)
class ConstructValidity(ResultMixin):
    """Convergent and discriminant validity of the factors of a CFA.

    Attributes
    ----------
    reliability : DataFrame
        By factor: ``n_items``, ``cr`` (standardized composite reliability),
        ``omega`` (``semTools::compRelSEM``), ``ave`` (Fornell–Larcker AVE from
        std.all loadings), ``ave_sem`` (``semTools::AVE``) and ``sqrt_ave``.
    fornell_larcker : FornellLarcker
        √AVE (the ``ave`` column) against the latent correlations.
    latent_correlations : DataFrame
        ``lhs, rhs, est, se, z, p, lower, upper`` (see :func:`latent_correlations`).
    htmt : HTMT or None
        HTMT2/HTMT of the CFA's blocks when item data were given.
    obs_var : bool
        True: ω and AVE_sem use the sample covariance matrix (semTools' default);
        False: the model-implied one.
    """

    reliability: pd.DataFrame
    fornell_larcker: FornellLarcker
    latent_correlations: pd.DataFrame
    htmt: HTMT | None
    obs_var: bool
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Construct validity (CR, AVE, Fornell–Larcker, HTMT)"

    def to_frame(self) -> pd.DataFrame:
        return self.reliability

    def _tables(self) -> dict[str, pd.DataFrame]:
        out = {"reliability": self.reliability, "latent_correlations": self.latent_correlations,
               "fornell_larcker": self.fornell_larcker.table,
               "fornell_larcker_verdicts": self.fornell_larcker.pairs.drop(columns="rule")}
        if self.htmt is not None:
            out["htmt"] = self.htmt.matrix
            out["htmt_verdicts"] = self.htmt.pairs.drop(columns="rule")
        return out


def _select_group(obj: Any, group: Any) -> Any:
    if isinstance(obj, (pd.DataFrame, pd.Series)) and isinstance(obj.index, pd.MultiIndex):
        if group is None:
            groups = list(dict.fromkeys(obj.index.get_level_values(0)))
            raise DataError(f"a multi-group CFA: pass group= (one of {groups})")
        out = obj.xs(group, level=0)
        if isinstance(obj, pd.DataFrame) and isinstance(obj.columns, pd.MultiIndex):
            out = out.xs(group, axis=1, level=0)
        return out
    return obj


def _cfa_n(result: Any) -> int | None:
    nobs = getattr(result, "nobs", None)
    if isinstance(nobs, Mapping) and len(nobs) == 1:
        return int(next(iter(nobs.values())))
    if isinstance(nobs, (int, np.integer)):
        return int(nobs)
    return None


def _cfa_vcov(result: Any, group: Any = None) -> pd.DataFrame | None:
    """Sampling covariance of a CFA's free parameters in one group, labelled ``"lhs<op>rhs"``.

    For a :class:`psychometrics.cfa.CFAResult` the rows of ``result.vcov()`` (one per
    free parameter, in the engine's parameter order) are picked for the parameters of
    the requested group through its parameter table — equality-constrained parameters
    share one row — and relabelled without lavaan's ``.g2`` group suffixes. Any other
    object may carry a ready ``vcov`` DataFrame labelled ``"lhs<op>rhs"``.
    """
    engine = getattr(result, "_engine", None)
    spec = getattr(engine, "spec", None)
    vcov = getattr(result, "vcov", None)
    if spec is None or not hasattr(spec, "parameters"):
        if callable(vcov):
            vcov = vcov()
        return vcov if isinstance(vcov, pd.DataFrame) else None
    V = np.asarray(vcov() if callable(vcov) else engine.vcov(), dtype=float)
    groups = list(getattr(spec, "groups", ()) or [None])
    if len(groups) > 1 and group is None:
        return None
    g = groups.index(group) if group in groups else 0
    rows = [p for p in spec.parameters if p.free and p.group == g]
    labels = [f"{p.lhs}{p.op}{p.rhs}" for p in rows]
    if V.ndim != 2 or len(set(labels)) != len(labels):
        return None
    idx = np.array([p.index for p in rows], dtype=int)
    sub = V[np.ix_(idx, idx)]
    if not np.isfinite(sub).all():
        return None
    return pd.DataFrame(sub, index=labels, columns=labels)


def construct_validity(
    result: Any,
    data: pd.DataFrame | None = None,
    *,
    obs_var: bool = True,
    group: Any = None,
    htmt2: bool = True,
    missing: Literal["listwise", "pairwise"] = "listwise",
    conf_level: float = 0.95,
) -> ConstructValidity:
    """CR, ω, AVE, Fornell–Larcker, latent correlations (and HTMT) from a fitted CFA.

    Parameters
    ----------
    result : CFAResult
        From :func:`psychometrics.cfa.fit_cfa` (or any object with its fields:
        ``std_loadings``, ``std_residual_variances``, ``loadings``,
        ``latent_cov``, ``sample_cov``, ``implied_cov``; optionally ``vcov``).
    data : DataFrame, optional
        Item responses; when given, :func:`htmt` is computed on the CFA's blocks
        (the items loading on each factor).
    obs_var : bool, default True
        As semTools: ω and ``ave_sem`` divide by the observed (True) or
        model-implied (False) item (co)variances.
    group : optional
        The group to report for a multi-group CFA.

    Notes
    -----
    Validated against ``semTools::compRelSEM``/``AVE`` and lavaan's
    ``standardizedSolution`` on the Holzinger–Swineford and bfi CFAs
    (``cfa_cr_ave.json``).
    """
    import warnings

    diagnostics: list[Diagnostic] = []
    lam_std = _select_group(result.std_loadings, group)
    lam = _select_group(result.loadings, group)
    theta = _select_group(result.std_residual_variances, group)
    psi = _select_group(result.latent_cov, group)
    total = _select_group(result.sample_cov if obs_var else result.implied_cov, group)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cr = composite_reliability(lam_std, theta)
        omega = composite_reliability_sem(lam, psi, total)
        av = ave(lam_std, theta)
        av_sem = ave_sem(lam, psi, total)
    seen = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, ReliabilityWarning) and msg.split(":", 1)[1] not in seen:
            seen.add(msg.split(":", 1)[1])
            record(diagnostics, ReliabilityWarning, msg)
        elif not issubclass(w.category, ReliabilityWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    L = _as_loadings(lam_std, "std_loadings")
    rel = pd.DataFrame(
        {"n_items": pd.Series({f: len(_indicators(L, f)) for f in L.columns}),
         "cr": cr, "omega": omega, "ave": av, "ave_sem": av_sem}
    )
    rel["sqrt_ave"] = np.sqrt(rel["ave"])
    rel = rel.loc[[f for f in L.columns if f in cr.index or f in av.index]]
    rel.index.name = "factor"
    vcov = _cfa_vcov(result, group)
    lat = latent_correlations(psi, vcov, conf_level=conf_level)
    if vcov is None and not lat.empty:
        record(diagnostics, ReliabilityWarning,
               "the CFA result has no sampling covariance matrix (vcov): latent correlations are given "
               "without standard errors or confidence intervals")
    elif lat["se"].isna().any():
        pairs = ", ".join(f"{a}–{b}" for a, b in lat.loc[lat["se"].isna(), ["lhs", "rhs"]].itertuples(index=False))
        record(diagnostics, ReliabilityWarning,
               f"latent correlations {pairs} are not free parameters of the CFA (implied by a higher-order "
               "structure): they are given without standard errors or confidence intervals")
    usable = [f for f in psi.index if f in av.index]
    fl = fornell_larcker(av, _cov2cor(_square(psi, "latent_cov")).loc[usable, usable])
    h = None
    if data is not None:
        blocks = {f: _indicators(L, f) for f in L.columns if len(_indicators(L, f)) >= 2}
        crossed = _cross_loading_items(L)
        if crossed:
            record(diagnostics, ReliabilityWarning,
                   f"HTMT not computed: items {sorted(map(str, crossed))} load on more than one factor, and HTMT "
                   "needs each item in one block")
        elif len(blocks) >= 2:
            h = htmt(data, blocks, htmt2=htmt2, missing=missing)
    return ConstructValidity(reliability=rel, fornell_larcker=fl, latent_correlations=lat, htmt=h,
                             obs_var=obs_var, diagnostics=tuple(diagnostics))


# ================================================================== scores
def observed_scores(measures: Mapping[str, Any]) -> pd.DataFrame:
    """Combine the scores of several measures into ``"<scale_id>.<score>"`` columns.

    Parameters
    ----------
    measures : mapping
        Scale id → its scores for the same respondents: a
        :class:`~psychometrics.scoring.ScoreResult` (its ``score_names`` columns
        are used) or a DataFrame whose columns are score names (``total``,
        subscale ids). All must have the same row index (same respondents in the
        same order) — rows are never re-aligned or dropped here.

    Returns
    -------
    DataFrame
        One column per score, named by :func:`score_key`.

    Examples
    --------
    >>> from psychometrics.scoring import score                          # doctest: +SKIP
    >>> scores = observed_scores({"mentorship_supportiveness": score(mss, resp),
    ...                           "self_efficacy": score(gse, resp)})      # doctest: +SKIP
    """
    if not isinstance(measures, Mapping) or not measures:
        raise DataError("observed_scores: pass a non-empty mapping {scale_id: scores}")
    frames = []
    first: tuple[str, pd.Index] | None = None
    for sid, sc in measures.items():
        if hasattr(sc, "scores") and hasattr(sc, "score_names"):
            frame = sc.scores.loc[:, list(sc.score_names)]
        elif isinstance(sc, pd.DataFrame):
            frame = sc
        else:
            raise DataError(
                f"observed_scores: scores of {sid!r} must be a ScoreResult or a DataFrame, not {type(sc).__name__}"
            )
        if "." in str(sid):
            raise DataError(f"observed_scores: scale id {sid!r} must not contain '.' (it separates scale and score)")
        if first is None:
            first = (sid, frame.index)
        elif not frame.index.equals(first[1]):
            raise DataError(
                f"observed_scores: the scores of {sid!r} ({len(frame)} rows) do not have the same rows as those "
                f"of {first[0]!r} ({len(first[1])} rows); companion measures must come from the same "
                "respondents in the same order (align them by respondent id first)"
            )
        frames.append(frame.rename(columns=lambda c, sid=sid: score_key(sid, str(c))))
    out = pd.concat(frames, axis=1)
    if out.columns.has_duplicates:
        raise DataError(f"observed_scores: duplicated score columns {list(out.columns[out.columns.duplicated()])}")
    return out


# ================================================================ hypotheses
@dataclass(frozen=True)
class Hypothesis:
    """A validity hypothesis (the ``validity:`` entries of a scale spec).

    ``region`` gives the correlations that support it as closed intervals of ρ:
    ``positive`` → [min, max]; ``negative`` → [−max, −min]; ``any`` → |ρ| in
    [min, max] (two intervals when min > 0). A missing ``min_abs_r`` is 0 and a
    missing ``max_abs_r`` is 1.
    """

    id: str
    description: str
    scale_score: str
    measure: str
    measure_score: str
    kind: str
    direction: str
    min_abs_r: float | None = None
    max_abs_r: float | None = None

    @classmethod
    def coerce(cls, h: Any) -> "Hypothesis":
        """Build from a Scale's hypothesis object, a mapping, or a Hypothesis."""
        if isinstance(h, Hypothesis):
            return h
        get = (lambda k, d=None: h.get(k, d)) if isinstance(h, Mapping) else (lambda k, d=None: getattr(h, k, d))
        hid = get("id")
        if not hid:
            raise SpecError(f"validity hypothesis without an id: {h!r}")
        hid = str(hid)
        vals = {}
        for k in ("scale_score", "measure", "measure_score"):
            v = get(k)
            if not v:
                raise SpecError(f"validity hypothesis {hid}: field {k!r} is required")
            vals[k] = str(v)
        kind = str(_enum_value(get("kind", "convergent")))
        direction = str(_enum_value(get("direction", "any")))
        if kind not in ("convergent", "discriminant"):
            raise SpecError(f"validity hypothesis {hid}: kind must be 'convergent' or 'discriminant', not {kind!r}")
        if direction not in ("positive", "negative", "any"):
            raise SpecError(
                f"validity hypothesis {hid}: direction must be 'positive', 'negative' or 'any', not {direction!r}"
            )
        lo, hi = get("min_abs_r"), get("max_abs_r")
        for nm, v in (("min_abs_r", lo), ("max_abs_r", hi)):
            if v is not None and not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise SpecError(f"validity hypothesis {hid}: {nm} must be between 0 and 1, got {v!r}")
        if lo is not None and hi is not None and lo > hi:
            raise SpecError(f"validity hypothesis {hid}: min_abs_r ({lo}) exceeds max_abs_r ({hi})")
        if direction == "any" and lo is None and hi is None:
            raise SpecError(
                f"validity hypothesis {hid}: direction 'any' without min_abs_r or max_abs_r makes no testable "
                "claim; give a bound or a direction"
            )
        return cls(
            id=hid,
            description=str(get("description", "") or ""),
            kind=kind,
            direction=direction,
            min_abs_r=None if lo is None else float(lo),
            max_abs_r=None if hi is None else float(hi),
            **vals,
        )

    @property
    def region(self) -> list[tuple[float, float]]:
        lo = self.min_abs_r or 0.0
        hi = 1.0 if self.max_abs_r is None else self.max_abs_r
        if self.direction == "positive":
            return [(lo, hi)]
        if self.direction == "negative":
            return [(-hi, -lo)]
        return [(-hi, -lo), (lo, hi)] if lo > 0 else [(-hi, hi)]

    @property
    def expectation(self) -> str:
        """The supporting region in words, e.g. ``"r ≥ .30"`` or ``"|r| ≤ .30"``."""
        lo, hi = self.min_abs_r, self.max_abs_r

        def f(v: float) -> str:
            return f"{v:.2f}"

        if self.direction == "any":
            if lo is not None and hi is not None:
                return f"{f(lo)} ≤ |r| ≤ {f(hi)}"
            return f"|r| ≥ {f(lo)}" if lo is not None else f"|r| ≤ {f(hi)}"  # type: ignore[arg-type]
        if self.direction == "positive":
            if hi is None:
                return f"r ≥ {f(lo)}" if lo is not None else "r > 0"
            return f"{f(lo) if lo is not None else '0'} ≤ r ≤ {f(hi)}"
        if hi is None:
            return f"r ≤ −{f(lo)}" if lo is not None else "r < 0"
        return f"−{f(hi)} ≤ r ≤ {'−' + f(lo) if lo is not None else '0'}"


def _enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


def _verdict(region: list[tuple[float, float]], lower: float, upper: float) -> str:
    """supported: CI inside the region; not supported: CI disjoint from it; else inconclusive."""
    if any(a <= lower and upper <= b for a, b in region):
        return "supported"
    if all(upper < a or lower > b for a, b in region):
        return "not supported"
    return "inconclusive"


@dataclass(frozen=True, eq=False)
class HypothesisEvaluation(ResultMixin):
    """Validity hypotheses checked against observed-score (and latent) correlations.

    Attributes
    ----------
    table : DataFrame
        One row per hypothesis and basis (``observed``, and ``latent`` when a
        latent correlation was available), with columns ``hypothesis,
        description, kind, basis, score, measure_score, expected, r, lower,
        upper, n, p, verdict, rule``. ``verdict`` is ``"supported"`` when the
        whole CI lies in the expected region, ``"not supported"`` when the whole
        CI lies outside it, and ``"inconclusive"`` when the CI straddles one of
        its bounds (the data cannot decide at this sample size).
    conf_level : float
    diagnostics : tuple of Diagnostic
    """

    table: pd.DataFrame
    conf_level: float
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Validity hypotheses"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def verdicts(self) -> list[dict[str, Any]]:
        """One report verdict per row: supported → met, inconclusive → borderline, else not met."""
        pct = f"{100 * self.conf_level:g}%"
        return [
            {"criterion": f"{r.hypothesis} ({r.basis}): {r.description or r.score + ' vs ' + r.measure_score}",
             "status": _status(r.verdict), "value": r.r,
             "rule": r.rule if r.verdict == "not assessed" else
                     f"{r.expected}; {pct} CI [{r.lower:.2f}, {r.upper:.2f}] inside → met, outside → not met, "
                     "straddling a bound → borderline",
             "reference": f"validity hypothesis {r.hypothesis}"}
            for r in self.table.itertuples(index=False)
        ]


def _latent_table(latent: Any, conf_level: float) -> pd.DataFrame:
    if isinstance(latent, ConstructValidity):
        latent = latent.latent_correlations
    elif not isinstance(latent, pd.DataFrame) and hasattr(latent, "latent_cov"):  # a CFA result
        latent = latent_correlations(_select_group(latent.latent_cov, None), _cfa_vcov(latent),
                                     conf_level=conf_level).assign(n=_cfa_n(latent))
    if not isinstance(latent, pd.DataFrame):
        raise DataError(f"latent must be a DataFrame with columns lhs, rhs, est, se; not {type(latent).__name__}")
    need = {"lhs", "rhs", "est", "se"}
    if not need.issubset(latent.columns):
        raise DataError(f"latent correlations need columns {sorted(need)}; got {list(latent.columns)}")
    return latent


def evaluate_hypotheses(
    hypotheses: Sequence[Any] | Any,
    scores: pd.DataFrame,
    *,
    scale_id: str | None = None,
    latent: pd.DataFrame | None = None,
    factor_of: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    missing_scores: Literal["error", "skip"] = "error",
) -> HypothesisEvaluation:
    """Check validity hypotheses against correlations of observed (and latent) scores.

    For hypothesis *H* of scale *S* the observed correlation is that of the
    score columns ``S.<scale_score>`` and ``<measure>.<measure_score>`` (see
    :func:`score_key`), on the respondents with both scores (``n``), with a
    Fisher-z CI and t-test p (:func:`correlate`).

    Verdict rule (at ``conf_level``): the hypothesis defines a region of ρ
    (:attr:`Hypothesis.region`: ``positive`` → [min_abs_r, max_abs_r],
    ``negative`` → [−max_abs_r, −min_abs_r], ``any`` → min_abs_r ≤ |ρ| ≤
    max_abs_r; a missing min is 0, a missing max is 1). It is

    * **supported** when the whole CI lies inside the region,
    * **not supported** when the whole CI lies outside it,
    * **inconclusive** when the CI straddles a bound of the region.

    Parameters
    ----------
    hypotheses : sequence or Scale
        Hypothesis objects of a Scale's ``validity`` list, mappings with the
        spec fields, or :class:`Hypothesis`; a Scale gives its own list and id.
    scores : DataFrame or mapping
        Score columns named ``"<scale_id>.<score>"``, one row per respondent;
        or a mapping {scale_id: ScoreResult or DataFrame} combined by
        :func:`observed_scores`.
    scale_id : str
        Id of the scale the hypotheses belong to (taken from a Scale).
    latent : DataFrame, CFA result or ConstructValidity, optional
        Latent correlations with columns ``lhs, rhs, est, se`` (optionally ``n``),
        e.g. :func:`latent_correlations` of a CFA of both measures; a fitted
        single-group CFA result or a :class:`ConstructValidity` is converted.
        When both scores of a hypothesis have a factor, a ``latent`` row is
        added with the Wald CI est ± z·se (as lavaan's ``standardizedSolution``).
    factor_of : mapping, optional
        Score key → factor name in ``latent``; by default a factor named like
        the score key or, failing that, like its score part (when unique).
    conf_level : float, default 0.95
    missing_scores : {"error", "skip"}
        What to do when a hypothesis names a score that is not in ``scores``
        (e.g. a companion measure that was not administered): raise (default),
        or keep a row with verdict ``"not assessed"`` (numbers missing) and a
        diagnostic naming the hypothesis.

    Raises
    ------
    SpecError
        A hypothesis is malformed (names its id).
    DataError
        A hypothesis names a score not in ``scores`` (unless
        ``missing_scores="skip"``) or a constant score (names the hypothesis id
        and the column).
    """
    from scipy.stats import norm

    conf_level = _check_conf(conf_level)
    if hasattr(hypotheses, "validity") and hasattr(hypotheses, "id"):
        scale_id = scale_id or hypotheses.id
        hypotheses = hypotheses.validity or []
    if scale_id is None:
        raise DataError("evaluate_hypotheses: scale_id is required (the id of the scale the hypotheses belong to)")
    if isinstance(scores, Mapping):
        scores = observed_scores(scores)
    if not isinstance(scores, pd.DataFrame):
        raise DataError(f"evaluate_hypotheses: scores must be a DataFrame, not {type(scores).__name__}")
    if missing_scores not in ("error", "skip"):
        raise DataError(f"evaluate_hypotheses: missing_scores must be 'error' or 'skip', not {missing_scores!r}")
    hyps = [Hypothesis.coerce(h) for h in hypotheses]
    dup = sorted({h.id for h in hyps if sum(g.id == h.id for g in hyps) > 1})
    if dup:
        raise SpecError(f"validity hypotheses ids are not unique: {dup}")
    lat = _latent_table(latent, conf_level) if latent is not None else None
    diagnostics: list[Diagnostic] = []
    zc = norm.ppf(1 - (1 - conf_level) / 2)
    pct = f"{100 * conf_level:g}%"
    rows = []
    for h in hyps:
        a, b = score_key(scale_id, h.scale_score), score_key(h.measure, h.measure_score)
        absent = [k for k in (a, b) if k not in scores.columns]
        if absent and missing_scores == "skip":
            msg = f"validity hypothesis {h.id}: score column(s) {absent} not in the data; not assessed"
            record(diagnostics, ReliabilityWarning, msg)
            rows.append({"hypothesis": h.id, "description": h.description, "kind": h.kind, "basis": "observed",
                         "score": a, "measure_score": b, "expected": h.expectation, "r": np.nan,
                         "lower": np.nan, "upper": np.nan, "n": None, "p": np.nan,
                         "verdict": "not assessed", "rule": f"{h.id} ({h.kind}): {msg}"})
            continue
        if absent:
            raise DataError(
                f"validity hypothesis {h.id}: score column(s) {absent} not found; available scores: "
                f"{sorted(map(str, scores.columns))} (columns are named '<scale_id>.<score>', score = "
                "'total' or a subscale id)"
            )
        try:
            c = correlate(scores[a], scores[b], conf_level=conf_level, x_name=a, y_name=b)
        except DataError as exc:
            raise DataError(f"validity hypothesis {h.id}: {exc}") from None
        base = {
            "hypothesis": h.id, "description": h.description, "kind": h.kind,
            "score": a, "measure_score": b, "expected": h.expectation,
        }
        rows.append(_row(h, base, "observed", c.r, c.ci, c.n, c.p, pct))
        if lat is not None:
            fa, fb = _factor(a, h.scale_score, lat, factor_of), _factor(b, h.measure_score, lat, factor_of)
            hit = None
            if fa is not None and fb is not None:
                sel = ((lat["lhs"] == fa) & (lat["rhs"] == fb)) | ((lat["lhs"] == fb) & (lat["rhs"] == fa))
                if sel.any():
                    hit = lat[sel].iloc[0]
            if hit is None:
                record(
                    diagnostics, ReliabilityWarning,
                    f"validity hypothesis {h.id}: no latent correlation of {a} and {b} in the CFA "
                    "(observed-score evidence only)",
                )
                continue
            est, se = float(hit["est"]), float(hit["se"])
            if not (np.isfinite(est) and np.isfinite(se) and se > 0):
                raise DataError(
                    f"validity hypothesis {h.id}: the latent correlation of {fa} and {fb} has no usable "
                    f"estimate/standard error (est = {est}, se = {se})"
                )
            p = float(2 * norm.sf(abs(est / se)))
            n_lat = int(hit["n"]) if "n" in hit.index and pd.notna(hit["n"]) else None
            rows.append(_row(h, base, "latent", est, (est - zc * se, est + zc * se), n_lat, p, pct))
    cols = ["hypothesis", "description", "kind", "basis", "score", "measure_score", "expected",
            "r", "lower", "upper", "n", "p", "verdict", "rule"]
    table = pd.DataFrame(rows, columns=cols)
    # Latent rows may have no n: keep Python ints and None (JSON null), not a float NaN.
    table["n"] = pd.Series([None if v is None or pd.isna(v) else int(v) for v in table["n"]], dtype=object)
    return HypothesisEvaluation(table=table, conf_level=conf_level, diagnostics=tuple(diagnostics))


def _factor(key: str, score: str, lat: pd.DataFrame, factor_of: Mapping[str, str] | None) -> str | None:
    names = set(lat["lhs"]) | set(lat["rhs"])
    if factor_of and key in factor_of:
        return factor_of[key] if factor_of[key] in names else None
    if key in names:
        return key
    if factor_of is None and score in names and score != "total":
        return score
    return None


def _row(h: Hypothesis, base: dict, basis: str, r: float, ci: tuple[float, float], n: int | None,
         p: float, pct: str) -> dict:
    lo, hi = ci
    verdict = _verdict(h.region, lo, hi)
    where = {"supported": "lies inside", "not supported": "lies outside",
             "inconclusive": "straddles a bound of"}[verdict]
    rule = (
        f"{h.id} ({h.kind}, {basis}): expects {h.expectation} for r({base['score']}, {base['measure_score']}); "
        f"r = {r:.3f}, {pct} CI [{lo:.3f}, {hi:.3f}] {where} that region → {verdict}"
    )
    return {**base, "basis": basis, "r": r, "lower": lo, "upper": hi, "n": n, "p": p,
            "verdict": verdict, "rule": rule}
