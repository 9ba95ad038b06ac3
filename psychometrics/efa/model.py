"""Exploratory factor analysis: ``efa()``, its result, item flags and item reduction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics._linalg import single_thread_blas
from psychometrics.efa._input import cor_smooth, prepare, scale_item_ids, subscale_mapping
from psychometrics.efa.extraction import METHODS, PSI_LOWER, extract
from psychometrics.efa.rotation import OBLIQUE, ROTATIONS, rotate, sign_and_order
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    EstimationError,
    HeywoodCaseWarning,
    record,
)
from psychometrics._text import quote

__all__ = ["EFAFit", "EFAResult", "efa", "item_flags", "FLAG_RULES"]

PREFIX = {"minres": "MR", "ml": "ML", "pa": "PA", "principal": "PC"}

#: Rules used by :func:`item_flags` (name → description); thresholds are arguments.
FLAG_RULES = {
    "low_primary": "primary (largest absolute pattern) loading < {primary_min:.2f}",
    "cross_loading": "second-largest absolute loading ≥ {cross_min:.2f}",
    "small_gap": "primary − secondary absolute loading < {gap_min:.2f}",
    "low_communality": "communality h² < {h2_min:.2f}",
    "heywood": "Heywood case: communality ≥ 1 − 0.005 (uniqueness at its lower bound) or > 1",
    "subscale_mismatch": "primary loading on a factor that belongs to another declared subscale",
}


@dataclass(frozen=True, eq=False)
class EFAFit(ResultMixin):
    """Model fit as ``psych::fa`` reports it (``fa.stats``).

    Attributes
    ----------
    objective : float
        F = tr(Σ̂⁻¹R) − ln|Σ̂⁻¹R| − p with Σ̂ = ΛΦΛᵀ with unit diagonal (both smoothed).
    chisq : float
        psych's ``STATISTIC``: F · (n − 1 − (2p + 5)/6 − 2k/3) (Bartlett's correction), ≥ 0.
    df : float
        p(p − 1)/2 − pk + k(k − 1)/2.
    pvalue : float
        Upper-tail χ² probability (NaN when df ≤ 0).
    rmsea : float
        √max(χ²/(df·n) − 1/(n − 1), 0).
    rmsea_ci : tuple of float
        90 % confidence interval from the non-central χ² (as psych; NaN where psych gives NA).
    tli : float
        Tucker–Lewis index (M₀ − M)/(M₀ − 1/m), M = F/df, M₀ = F₀/(p(p − 1)/2), m the multiplier.
    bic : float
        χ² − df · ln n.
    null_chisq, null_df : float
        χ² and df of the independence model.
    rmsr : float
        Root mean square of the off-diagonal residuals, √(Σ_{i≠j} e_ij² / (p(p − 1))).
    """

    objective: float
    chisq: float
    df: float
    pvalue: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    tli: float
    bic: float
    null_chisq: float
    null_df: float
    rmsr: float
    _title = "Fit of the factor model"


@dataclass(frozen=True, eq=False)
class EFAResult(ResultMixin):
    """Result of :func:`efa`.

    Attributes
    ----------
    loadings : DataFrame
        Pattern loadings, items × factors. Factors are named ``<prefix><j>`` (MR, ML, PA
        or PC by method) numbered in their final order (largest variance first); psych
        numbers its columns by their position before that sorting, so psych's "MR2" may be
        our "MR1" – the numbers differ, the columns and their order agree.
    structure : DataFrame
        Structure coefficients ΛΦ (item–factor correlations); equals ``loadings`` when
        the factors are orthogonal.
    phi : DataFrame
        Factor correlations Φ (identity for orthogonal or unrotated solutions).
    communalities : Series
        h² = diag(ΛΦΛᵀ) (invariant under rotation).
    uniquenesses : Series
        1 − h².
    variance : DataFrame
        psych's ``Vaccounted``: SS loadings (diag(ΦΛᵀΛ)), Proportion Var, Cumulative Var,
        Proportion Explained, Cumulative Proportion (rows) by factor (columns).
    eigenvalues : Series
        Eigenvalues of the correlation matrix.
    reduced_eigenvalues : Series
        Eigenvalues of R with the communalities on its diagonal (psych ``values``).
    fit : EFAFit or None
        Fit statistics (needs n_obs; computed for every method as psych does, meaningful
        as a likelihood-ratio test for ``method="ml"``).
    flags : DataFrame
        One row per (item, rule) found by :func:`item_flags`: columns item, rule, value,
        message.
    item_reduction : DataFrame
        Flagged items ranked for possible removal (most flags and weakest primary loading
        first): item, primary_factor, primary_loading, communality, n_flags, rules.
    factor_subscales : Series or None
        Declared subscale each factor represents (majority of primary loadings), when a
        subscale mapping was given.
    method, rotation : str
        Extraction method and rotation ("none" when unrotated).
    n_factors, n_obs : int
    converged : bool
        Extraction and rotation both converged.
    diagnostics : tuple of Diagnostic
    """

    loadings: pd.DataFrame
    structure: pd.DataFrame
    phi: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    eigenvalues: pd.Series
    reduced_eigenvalues: pd.Series
    fit: EFAFit | None
    flags: pd.DataFrame
    item_reduction: pd.DataFrame
    factor_subscales: pd.Series | None
    method: str
    rotation: str
    n_factors: int
    n_obs: int | None
    converged: bool
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Exploratory factor analysis"

    def to_frame(self) -> pd.DataFrame:
        """Loadings with communalities and uniquenesses (psych's printed table)."""
        out = self.loadings.copy()
        out["h2"] = self.communalities
        out["u2"] = self.uniquenesses
        return out

    def summary(self) -> str:
        """Text summary: the tables, then the fit statistics (when n_obs is known)."""
        text = super().summary()
        if self.fit is None:
            return text
        return text + "\n\n" + self.fit.summary()

    @property
    def primary_factor(self) -> pd.Series:
        """Factor on which each item has its largest absolute pattern loading."""
        return self.loadings.abs().idxmax(axis=1)


# --------------------------------------------------------------------------- helpers
def _ledermann_min_items(k: int) -> int:
    """Smallest p with non-negative degrees of freedom for k common factors: (p − k)² ≥ p + k."""
    p = k + 1
    while (p - k) ** 2 < p + k:
        p += 1
    return p


def _fit_stats(R: np.ndarray, L: np.ndarray, phi: np.ndarray, n: int | None, smooth: bool = True) -> EFAFit | None:
    """psych::fa.stats for n_obs known (alpha = 0.1 → 90 % RMSEA interval)."""
    from scipy.optimize import brentq
    from scipy import special  # not scipy.stats (its import costs ~0.5 s): the same functions it calls

    def ncx2_cdf(x: float, df: float, nc: float) -> float:  # scipy.stats.ncx2.cdf: chi2's cdf at nc = 0
        return float(special.chndtr(x, df, nc)) if nc != 0 else float(special.chdtr(df, x))

    p, k = L.shape
    model = L @ phi @ L.T
    resid = R - model
    off = resid.copy()
    np.fill_diagonal(off, 0)
    rmsr = float(np.sqrt(np.sum(off**2) / (p * (p - 1))))
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    if n is None:
        return None
    m = model.copy()
    np.fill_diagonal(m, np.diag(R))
    m, _ = cor_smooth(m)
    r = cor_smooth(R)[0] if smooth else R
    minv = np.linalg.solve(m, r)
    objective = float(np.trace(minv) - np.linalg.slogdet(minv)[1] - p)
    mult = (n - 1) - (2 * p + 5) / 6 - 2 * k / 3
    chisq = objective * mult
    stat = max(chisq, 0.0)
    pval = float(special.chdtrc(dof, stat)) if dof > 0 else float("nan")
    F0 = float(np.trace(r) - np.linalg.slogdet(r)[1] - p)
    null_chisq = F0 * ((n - 1) - (2 * p + 5) / 6)
    M0 = F0 * 2 / (p * (p - 1))
    tli = float("nan")
    rmsea, lo, hi = float("nan"), float("nan"), float("nan")
    bic = float("nan")
    if dof > 0:
        Mm = objective / dof
        tli = (M0 - Mm) / (M0 - 1 / mult)
        rmsea = float(np.sqrt(max(chisq / (dof * n) - 1 / (n - 1), 0)))
        upper_x = max(n, stat) + 2 * n
        tail = 0.05
        hi = 0.0
        if special.chdtr(dof, stat) > tail:
            try:
                hi = float(np.sqrt(brentq(lambda x: ncx2_cdf(stat, dof, x) - tail, 0, upper_x, xtol=1e-12) / (n - 1) / dof))
            except ValueError:
                hi = 0.0 if rmsea <= 0 else float("nan")
        lo = 0.0
        if special.chdtr(dof, stat) > 1 - tail:
            try:
                lo = float(np.sqrt(brentq(lambda x: ncx2_cdf(stat, dof, x) - 1 + tail, 0, upper_x, xtol=1e-12) / (n - 1) / dof))
            except ValueError:
                lo = float("nan")
        if np.isfinite(hi) and hi < rmsea:
            hi = float("nan")
        if np.isfinite(lo) and lo > rmsea:
            lo = float("nan")
        bic = chisq - dof * np.log(n)
    return EFAFit(objective, float(stat), float(dof), pval, rmsea, (lo, hi), float(tli), float(bic),
                  float(null_chisq), float(p * (p - 1) / 2), rmsr)


def item_flags(
    loadings: pd.DataFrame,
    communalities: pd.Series,
    *,
    subscales: Any = None,
    primary_min: float = 0.40,
    cross_min: float = 0.30,
    gap_min: float = 0.20,
    h2_min: float = 0.20,
) -> tuple[pd.DataFrame, pd.Series | None]:
    """Flag items by the rules in :data:`FLAG_RULES`.

    Each factor is assigned the declared subscale held by most of the items that load
    primarily on it (ties: larger summed absolute loading); an item is then flagged
    ``subscale_mismatch`` when its primary factor represents another subscale.

    Returns the flags (columns item, rule, value, message) and the factor → subscale
    assignment (``None`` without a mapping).
    """
    A = loadings.abs()
    k = A.shape[1]
    rows: list[dict[str, Any]] = []
    sorted_abs = np.sort(A.to_numpy(), axis=1)[:, ::-1]
    primary = sorted_abs[:, 0]
    secondary = sorted_abs[:, 1] if k > 1 else np.zeros(len(A))
    prim_fac = A.idxmax(axis=1)
    texts = {r: t.format(primary_min=primary_min, cross_min=cross_min, gap_min=gap_min, h2_min=h2_min) for r, t in FLAG_RULES.items()}
    for i, item in enumerate(A.index):
        h2 = float(communalities[item])
        if primary[i] < primary_min:
            rows.append(dict(item=item, rule="low_primary", value=float(primary[i]), message=f"{item}: {texts['low_primary']} ({primary[i]:.3f} on {prim_fac[item]})"))
        if k > 1 and secondary[i] >= cross_min:
            rows.append(dict(item=item, rule="cross_loading", value=float(secondary[i]), message=f"{item}: {texts['cross_loading']} ({secondary[i]:.3f})"))
        if k > 1 and primary[i] - secondary[i] < gap_min:
            rows.append(dict(item=item, rule="small_gap", value=float(primary[i] - secondary[i]), message=f"{item}: {texts['small_gap']} ({primary[i]:.3f} − {secondary[i]:.3f})"))
        if h2 < h2_min:
            rows.append(dict(item=item, rule="low_communality", value=h2, message=f"{item}: {texts['low_communality']} ({h2:.3f})"))
        if h2 >= 1 - PSI_LOWER - 1e-8:
            rows.append(dict(item=item, rule="heywood", value=h2, message=f"{item}: {texts['heywood']} (h² = {h2:.4f})"))
    assignment = None
    mapping = subscale_mapping(subscales)
    if mapping:
        fac_sub = {}
        for f in loadings.columns:
            members = [it for it in A.index if prim_fac[it] == f and it in mapping]
            if not members:
                fac_sub[f] = None
                continue
            counts: dict[str, tuple[int, float]] = {}
            for it in members:
                c, s = counts.get(mapping[it], (0, 0.0))
                counts[mapping[it]] = (c + 1, s + float(A.loc[it, f]))
            fac_sub[f] = max(counts, key=lambda s: counts[s])
        assignment = pd.Series(fac_sub, name="subscale", dtype=object)
        for item in A.index:
            if item in mapping and fac_sub[prim_fac[item]] is not None and fac_sub[prim_fac[item]] != mapping[item]:
                rows.append(dict(item=item, rule="subscale_mismatch", value=float(A.loc[item, prim_fac[item]]),
                                 message=f"{item}: declared subscale {quote(mapping[item])} but loads primarily on {prim_fac[item]} "
                                         f"({A.loc[item, prim_fac[item]]:.3f}), the factor of subscale {quote(fac_sub[prim_fac[item]])}"))
    flags = pd.DataFrame(rows, columns=["item", "rule", "value", "message"])
    return flags, assignment


def _item_reduction(loadings: pd.DataFrame, communalities: pd.Series, flags: pd.DataFrame) -> pd.DataFrame:
    cols = ["item", "primary_factor", "primary_loading", "communality", "n_flags", "rules"]
    if flags.empty:
        return pd.DataFrame(columns=cols)
    A = loadings.abs()
    out = []
    for item, grp in flags.groupby("item", sort=False):
        f = A.loc[item].idxmax()
        out.append(dict(item=item, primary_factor=f, primary_loading=float(loadings.loc[item, f]),
                        communality=float(communalities[item]), n_flags=len(grp), rules=", ".join(grp["rule"])))
    df = pd.DataFrame(out, columns=cols)
    df["_abs"] = df["primary_loading"].abs()
    return df.sort_values(["n_flags", "_abs"], ascending=[False, True]).drop(columns="_abs").reset_index(drop=True)


# --------------------------------------------------------------------------- efa
@single_thread_blas
def efa(
    data: pd.DataFrame | np.ndarray | None = None,
    n_factors: int = 1,
    method: Literal["minres", "ml", "pa", "principal"] = "minres",
    rotation: Literal["oblimin", "promax", "geomin", "varimax", "quartimax"] | None = "oblimin",
    *,
    corr: pd.DataFrame | np.ndarray | None = None,
    n_obs: int | None = None,
    scale: Any = None,
    subscales: Any = None,
    items: list[str] | None = None,
    primary_min: float = 0.40,
    cross_min: float = 0.30,
    gap_min: float = 0.20,
    h2_min: float = 0.20,
    max_iter: int = 50,
    exact: bool = False,
) -> EFAResult:
    """Exploratory factor analysis matching ``psych::fa`` (and ``psych::principal``).

    Steps, as psych: (1) correlations (pairwise-complete; a non-positive-definite matrix
    is smoothed as ``psych::cor.smooth`` with a :class:`NotPositiveDefiniteWarning`);
    (2) extraction of k factors (see :func:`psychometrics.efa.extraction.extract`):
    minres (ULS), ml, pa (iterated principal axes, psych's stopping rule) or principal
    components; columns signed so their sums are positive; (3) rotation (see
    :func:`psychometrics.efa.rotation.rotate`): oblimin (quartimin, γ = 0), promax
    (Kaiser-normalised, m = 4), geomin (oblique, δ = 0.01), varimax (Kaiser-normalised),
    quartimax or ``None``; (4) columns re-signed to positive sums and ordered by variance
    explained diag(ΦΛᵀΛ) (psych::fa; ``psych::principal`` orders by diag(ΛᵀΛ) before
    signing); (5) fit statistics (``psych::fa.stats``) when n_obs is known; (6) item flags
    and an item-reduction list.

    Parameters
    ----------
    data : DataFrame, optional
        Item responses (rows = respondents, numeric item columns). With ``scale`` only the
        scale's items are used.
    n_factors : int
        Number of factors k ≥ 1.
    method : {"minres", "ml", "pa", "principal"}
    rotation : {"oblimin", "promax", "geomin", "varimax", "quartimax"} or None
        Ignored (no rotation) when k = 1.
    corr, n_obs : optional
        A correlation (or covariance) matrix and its sample size instead of ``data``;
        without ``n_obs`` no fit statistics are computed.
    scale : Scale, optional
        A :class:`psychometrics.scale.Scale`; selects its items and supplies subscales.
    subscales : Scale or mapping item → subscale, optional
        Declared subscales for the ``subscale_mismatch`` flag (default: from ``scale``).
    items : list of str, optional
        Columns to analyse.
    primary_min, cross_min, gap_min, h2_min : float
        Thresholds of the item flags (.40, .30, .20, .20).
    max_iter : int
        Maximum iterations of principal axes (psych's ``max.iter = 50``).
    exact : bool
        minres/ml: iterate to the exact optimum instead of stopping where psych's call of
        R's L-BFGS-B stops (the default, which reproduces psych to ~1e-13; the two differ by
        ~1e-6).

    Returns
    -------
    EFAResult

    Raises
    ------
    DataError
        Bad input: non-numeric or constant items, fewer items than k factors need
        (degrees of freedom (p − k)² − (p + k) < 0), n_obs not above the number of items.

    References
    ----------
    Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
    *Psychometrika*, 31, 351–368.
    Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
    *Psychometrika*, 32, 443–482.
    Revelle, W. (2022). *psych: Procedures for Psychological, Psychometric, and Personality
    Research* (R package 2.2.9), ``fa``.

    Notes
    -----
    Validated against ``psych::fa`` and ``psych::principal`` for every method × rotation on
    Holzinger–Swineford (x1–x9, k = 3) and bfi (25 items, pairwise, k = 5)
    (``tests/reference/efa/efa_reference.json``): loadings, Φ, structure, communalities,
    variance table and fit statistics agree to ~1e-12 (tested at 1e-8).
    """
    if method not in METHODS:
        raise DataError(f"efa: method must be one of {', '.join(METHODS)}; got {quote(method)}")
    rot = "none" if rotation is None else str(rotation)
    if rot == "geominQ":
        rot = "geomin"
    if rot not in (*ROTATIONS, "none"):
        raise DataError(f"efa: rotation must be one of {', '.join(ROTATIONS)} or None; got {quote(rotation)}")
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise DataError(f"efa: n_factors must be a positive integer, got {quote(n_factors)}")
    k = int(n_factors)
    if scale is not None:
        ids = scale_item_ids(scale)
        if ids is not None and items is None:
            items = ids if data is not None else [i for i in ids if corr is None or i in list(getattr(corr, "columns", []))] or None
        if subscales is None:
            subscales = scale
    prep = prepare(data, corr=corr, n_obs=n_obs, items=items, what="efa")
    diagnostics = list(prep.diagnostics)
    R = prep.corr.to_numpy()
    names = prep.items
    p = len(names)
    if method == "principal":
        if k > p:
            raise DataError(f"efa: {k} components requested from {p} items; at most {p} are possible")
    else:
        need = _ledermann_min_items(k)
        if p < need:
            raise DataError(f"efa: {k} common factor(s) need at least {need} items for non-negative degrees of freedom "
                            f"((p − k)² ≥ p + k); {p} given. Ask for fewer factors or add items")
    ex = extract(R, k, method, max_iter=max_iter, exact=exact)
    if not np.isfinite(ex.loadings).all():
        raise EstimationError(f"efa: {method} extraction of {k} factor(s) produced undefined loadings (a retained eigenvalue of the "
                              "reduced correlation matrix became negative); extract fewer factors or use method='minres'")
    converged = ex.converged
    if not ex.converged:
        record(diagnostics, ConvergenceWarning, f"efa: {method} extraction did not converge ({ex.message or 'iteration limit'}); results may be inaccurate", stacklevel=3)
    L = ex.loadings.copy()
    L[L == 0] = 1e-15  # as psych, so that signs are defined
    phi = np.eye(k)
    if k == 1:
        rot = "none"
    if rot != "none":
        rr = rotate(L, rot, kaiser_promax=(method != "principal"))
        L = rr.loadings
        if rr.phi is not None:
            phi = rr.phi
        if not rr.converged:
            converged = False
            record(diagnostics, ConvergenceWarning, f"efa: {rot} rotation did not converge in 1000 iterations; the rotated loadings may not be at an optimum", stacklevel=3)
    oblique = rot in OBLIQUE
    if method == "principal":
        order = np.argsort(-np.sum(L**2, axis=0), kind="stable")
        L, phi = L[:, order], phi[np.ix_(order, order)]
        s = np.sign(L.sum(axis=0)); s[s == 0] = 1
        L, phi = L * s, phi * np.outer(s, s)
    else:
        L, phi = sign_and_order(L, phi)
    fnames = [f"{PREFIX[method]}{j + 1}" for j in range(k)]
    loadings = pd.DataFrame(L, index=names, columns=fnames)
    phi_df = pd.DataFrame(phi if oblique else np.eye(k), index=fnames, columns=fnames)
    structure = loadings @ phi_df
    h2 = pd.Series(ex.communalities, index=names, name="h2")
    u2 = pd.Series(1 - ex.communalities, index=names, name="u2")
    vx = np.diag(phi_df.to_numpy() @ L.T @ L)
    vtotal = float(p)
    var = {"SS loadings": vx, "Proportion Var": vx / vtotal}
    if k > 1:
        var["Cumulative Var"] = np.cumsum(vx / vtotal)
        var["Proportion Explained"] = vx / vx.sum()
        var["Cumulative Proportion"] = np.cumsum(vx / vx.sum())
    variance = pd.DataFrame(var, index=fnames).T
    heywood = [names[i] for i in range(p) if ex.communalities[i] >= 1 - PSI_LOWER - 1e-8]
    if heywood:
        record(diagnostics, HeywoodCaseWarning,
               f"efa: Heywood case(s) – item(s) {', '.join(heywood)} have communality ≥ 0.995 (uniqueness at its bound or negative); "
               "the solution is improper: try fewer factors, another method, or inspect these items", stacklevel=3)
    fit = _fit_stats(R, L, phi_df.to_numpy(), prep.n_obs)
    flags, assignment = item_flags(loadings, h2, subscales=subscales, primary_min=primary_min, cross_min=cross_min, gap_min=gap_min, h2_min=h2_min)
    reduction = _item_reduction(loadings, h2, flags)
    eig = np.linalg.eigvalsh(R)[::-1]
    return EFAResult(
        loadings=loadings, structure=structure, phi=phi_df, communalities=h2, uniquenesses=u2, variance=variance,
        eigenvalues=pd.Series(eig, index=range(1, p + 1), name="eigenvalue"),
        reduced_eigenvalues=pd.Series(ex.values, index=range(1, p + 1), name="reduced eigenvalue"),
        fit=fit, flags=flags, item_reduction=reduction, factor_subscales=assignment, method=method, rotation=rot,
        n_factors=k, n_obs=prep.n_obs, converged=converged, diagnostics=tuple(diagnostics),
    )
