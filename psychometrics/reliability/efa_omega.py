"""McDonald's ω from an exploratory factor solution, exactly as ``psych::omega``:
minres factors, oblimin, Schmid–Leiman general factor (ω total, ω hierarchical,
ω per group factor), and the bootstrap of ω (batched one-factor minres; one
Schmid–Leiman fit per replicate for several factors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike, run_bootstrap
from psychometrics._linalg import cov2cor, single_thread_blas, smc
from psychometrics._results import ResultMixin
from psychometrics._validation import name_list
from psychometrics.efa.extraction import PSI_LOWER, extract, minres_one_factor_batch
from psychometrics.efa.rotation import rotate, sign_and_order
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    HeywoodCaseWarning,
    ReliabilityWarning,
    record,
)
from psychometrics.reliability.alpha import alpha_batch
from psychometrics.reliability.prepare import (
    Interval,
    Missing,
    PreparedItems,
    check_boot,
    check_level,
    check_matrix,
    prepare_items,
    record_bootstrap_diagnostics,
)
from psychometrics._text import quote

__all__ = ["OmegaResult", "omega", "ledermann_ok", "HEYWOOD_UNIQUENESS"]

#: A uniqueness below this is reported as a Heywood case. psych::fa (which psych::omega
#: calls) bounds every uniqueness ψ below at PSI_LOWER = 0.005 (``optim(..., method =
#: "L-BFGS-B", lower = 0.005)`` in psych 2.2.9's ``fac``); psych itself does not flag the
#: bound: it warns ("ultra-Heywood") only when a communality exceeds 1, i.e. u2 < 0
#: (checked with R: a matrix whose one-factor loading wants to exceed 1 gives u2 = −0.073
#: and that warning from fa, nothing from omega). The u2 = 1 − h² of the Schmid–Leiman
#: table is recomputed from the loadings: for an item whose ψ sits on the bound the
#: criterion pushes outwards, so u2 ≤ 0.005 (often < 0); an optimiser that stops just
#: short of the bound leaves it a hair above 0.005. The margin of 1e-4 above the bound
#: catches those. Also used for the one-factor ML fit of
#: :func:`psychometrics.reliability.omega_cfa` (θ / σ² is the same ψ there).
#: PSI_LOWER + 1e-4 == 0.0051 exactly in floating point (the value used before the constant).
HEYWOOD_UNIQUENESS = PSI_LOWER + 1e-4


# ============================================================ Schmid–Leiman fit
@dataclass(frozen=True)
class _SL:
    omega_total: float
    omega_h: float
    omega_limit: float
    alpha: float
    g6: float
    ecv: float
    sl: pd.DataFrame
    oblique: np.ndarray
    phi: np.ndarray
    omega_group: pd.DataFrame
    flipped: list[str]
    converged: bool
    psi: np.ndarray


def _minres(r: np.ndarray, nfactors: int, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``psych::fa(r, nfactors, fm = "minres", rotate = "varimax")`` as ``psych::omega`` calls it.

    Returns the loadings (varimax-rotated for several factors, in psych's sign and column
    order), the uniquenesses ψ where the optimiser stopped (a warm start for bootstrap
    replicates: ``start``) and whether extraction and rotation converged.
    """
    ex = extract(r, nfactors, "minres", start=start)
    load = ex.loadings.copy()
    load[load == 0] = 1e-15  # as psych::fa, so that signs are defined
    converged = ex.converged
    if nfactors > 1:
        load = rotate(load, "varimax").loadings  # stats::varimax, as psych::fa
        load, _ = sign_and_order(load, np.eye(nfactors))
    return load, ex.uniquenesses, converged


def _schmid_leiman(r: np.ndarray, nfactors: int, items: list[str], start: np.ndarray | None = None,
                   light: bool = False) -> Any:
    """ω total / hierarchical from a Schmid–Leiman solution exactly as ``psych::omega``.

    minres with ``nfactors`` factors, varimax, then GPArotation oblimin; the
    general factor is a one-factor minres solution of the factor correlations
    (three or more factors) or √|φ₁₂| (two factors, psych's ``option = "equal"``).
    ``start`` warm-starts minres (bootstrap); ``light=True`` returns only ``(ω_t, ω_h)``.
    """
    p = r.shape[0]
    orth, psi, converged = _minres(r, nfactors, start=start)
    if nfactors == 1:
        fload = orth
        phi = np.ones((1, 1))
        gload = np.array([1.0])
    else:
        rot = rotate(orth, "oblimin")  # GPArotation::oblimin, as psych::schmid
        fload, phi = rot.loadings, rot.phi
        converged = converged and rot.converged
        if nfactors > 2:
            gl, _, gconv = _minres(phi, 1)
            gload = gl[:, 0]
            converged = converged and gconv
        else:
            g = np.sqrt(abs(phi[0, 1]))
            gload = np.array([g, np.sign(phi[0, 1]) * g])
    g = fload @ gload
    h2 = np.sum(orth**2, axis=1)
    u2 = np.diag(r) - h2
    uniq2 = fload**2 - (fload * gload) ** 2
    uniq2[uniq2 < 0] = 0
    sm = np.sign(fload) * np.sqrt(uniq2)
    m = r.copy()
    key = np.sign(g)
    key[key == 0] = 1
    flipped = [items[i] for i in range(p) if key[i] < 0]
    if flipped:  # psych's flip = TRUE: reverse items with negative general loadings
        m = m * np.outer(key, key)
        g = g * key
        sm = sm * key[:, None]
    vt = m.sum()
    gsq = g.sum() ** 2
    om_tot = (vt - u2.sum()) / vt
    if light:  # bootstrap replicates need only (ω_t, ω_h)
        return float(om_tot), float(gsq / vt)
    alpha = alpha_batch(m)
    g6 = (vt + smc(m).sum() - np.trace(m)) / vt
    ev = np.concatenate([[np.sum(g**2)], np.sum(sm**2, axis=0)])
    ecv = ev[0] / ev.sum()
    # ω per group factor (psych's omega.group): items assigned to their largest group loading
    names = ["g"] + [f"F{j + 1}*" for j in range(nfactors)]
    total, general, group = [om_tot], [gsq / vt], [np.nan]
    sub = np.argmax(np.abs(sm), axis=1)
    grs = 0.0
    for j in range(nfactors):
        idx = np.where(sub == j)[0]
        if len(idx) == 0:
            total.append(np.nan), general.append(np.nan), group.append(np.nan)
            continue
        vgr = m[np.ix_(idx, idx)].sum()
        gr = sm[idx, j].sum()
        grs += gr**2
        gg = g[idx].sum()
        total.append((gr**2 + gg**2) / vgr)
        general.append(gg**2 / vgr)
        group.append(gr**2 / vgr)
    group[0] = grs / vt
    om_group = pd.DataFrame({"total": total, "general": general, "group": group}, index=names)
    sl = pd.DataFrame(np.column_stack([g, sm]), index=pd.Index(items, name="item"), columns=names)
    sl["h2"] = h2
    sl["u2"] = u2
    sl["p2"] = g**2 / h2
    return _SL(float(om_tot), float(gsq / vt), float(gsq / (vt - u2.sum())), float(alpha), float(g6),
               float(ecv), sl, fload, phi, om_group, flipped, converged, psi)


def ledermann_ok(p: int, k: int) -> bool:
    """A k-factor model of p items has non-negative degrees of freedom ((p − k)² − (p + k)) / 2 ≥ 0."""
    return (p - k) ** 2 - (p + k) >= 0


def _omega1_batch(cov: np.ndarray, start: np.ndarray) -> np.ndarray:
    """ω total (one factor, psych::omega nfactors = 1) for a batch of covariance matrices."""
    r = cov2cor(cov)
    out = np.full(cov.shape[0], np.nan)
    finite = np.all(np.isfinite(r), axis=(1, 2))
    if not finite.any():
        return out
    rf = r[finite]
    lam, ok = minres_one_factor_batch(rf, start)
    vals = np.empty(rf.shape[0])
    vt = rf.sum(axis=(1, 2))
    p = r.shape[1]
    vals[:] = (vt - (p - np.sum(lam**2, axis=1))) / vt
    for i in np.where(~ok)[0]:  # Newton failed or a bound is active: refit as psych does
        try:
            loadings = extract(rf[i], 1, "minres").loadings
            vals[i] = (vt[i] - (p - np.sum(loadings**2))) / vt[i]
        except (np.linalg.LinAlgError, ValueError):
            vals[i] = np.nan
    out[finite] = vals
    return out


def _omega_sl_batch(cov: np.ndarray, nfactors: int, items: list[str], psi: np.ndarray) -> np.ndarray:
    """(ω_t, ω_h) per covariance matrix; one Schmid–Leiman fit each, warm-started at ``psi``."""
    out = np.full((cov.shape[0], 2), np.nan)
    with single_thread_blas():
        for i in range(cov.shape[0]):
            c = cov[i]
            d = np.sqrt(np.diag(c))
            if not np.all(np.isfinite(c)) or np.any(d <= 0):
                continue
            try:
                out[i] = _schmid_leiman(c / np.outer(d, d), nfactors, items, start=psi, light=True)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                continue
    return out



# ====================================================================== omega
@dataclass(frozen=True, eq=False)
class OmegaResult(ResultMixin):
    """McDonald's ω as ``psych::omega`` computes it (from the item correlations).

    Attributes
    ----------
    omega_total : float
        ω_t = (1ᵀR1 − Σ u²ᵢ) / 1ᵀR1, u²ᵢ = 1 − h²ᵢ (communalities of the
        ``nfactors``-factor minres solution).
    omega_hierarchical : float or None
        ω_h = (Σ gᵢ)² / 1ᵀR1 with g the Schmid–Leiman general-factor loadings;
        ``None`` for ``nfactors = 1`` (ω_h is not meaningful for one factor).
    omega_limit : float or None
        ω_h / ω_t (psych's ``omega.lim``); ``None`` for one factor.
    ecv : float or None
        Explained common variance of the general factor; ``None`` for one factor.
    alpha, g6 : float
        Standardised α and Guttman's λ6 of the correlation matrix (psych's omega output).
    loadings : DataFrame
        Schmid–Leiman loadings (g, F1*, …), h2, u2, p2 per item (one factor: g = loadings).
    omega_group : DataFrame or None
        ω total / general / group per group factor (psych's ``omega.group``).
    ci_total, ci_hierarchical : tuple or None
        Bootstrap intervals (``ci_method``).
    """

    omega_total: float
    omega_hierarchical: float | None
    omega_limit: float | None
    ecv: float | None
    alpha: float
    g6: float
    nfactors: int
    n: int
    n_items: int
    missing: str
    n_excluded: int
    loadings: pd.DataFrame
    omega_group: pd.DataFrame | None
    factor_correlations: pd.DataFrame | None
    ci_total: tuple[float, float] | None = None
    ci_hierarchical: tuple[float, float] | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    n_boot: int = 0
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "McDonald's omega"

    def to_frame(self) -> pd.DataFrame:
        return self.loadings


def omega(
    data: pd.DataFrame,
    nfactors: int = 1,
    *,
    missing: Missing = "listwise",
    ci: float | None = None,
    interval: Interval = "bca",
    n_boot: int = 1000,
    seed: SeedLike = None,
    progress: bool | None = None,
) -> OmegaResult:
    """McDonald's ω total (and ω hierarchical for several factors) as ``psych::omega``.

    The item correlation matrix R is factored by minres (``psych::fa``,
    ``fm = "minres"``) with ``nfactors`` factors. With one factor,
    ω_t = (1ᵀR1 − Σ(1 − λᵢ²)) / 1ᵀR1. With several, the varimax solution is
    rotated by oblimin (``GPArotation::oblimin``), a general factor is
    extracted from the factor correlations (minres, one factor; for two factors
    psych's ``option = "equal"``: both loadings √|φ₁₂|), and the Schmid–Leiman
    transformation gives general loadings g; ω_h = (Σ gᵢ)²/1ᵀR1 and
    ω_t = (1ᵀR1 − Σ u²ᵢ)/1ᵀR1.

    Parameters
    ----------
    data : DataFrame
        Item responses (already reverse-keyed).
    nfactors : int
        Number of group factors (1 = unidimensional).
    missing : {"listwise", "pairwise"}
    ci : float or None
        Confidence level of bootstrap intervals for ω_t (and ω_h); ``None`` = none.
    interval, n_boot, seed, progress
        Bootstrap settings. One factor: vectorised (batched Newton minres). Several
        factors: one Schmid–Leiman fit per replicate (and per jackknife sample for
        BCa), with progress shown.

    Notes
    -----
    Validated against ``psych::omega(x, nfactors, plot = FALSE)`` (omega_h,
    omega.tot, omega.lim, alpha, G6, ECV, schmid$sl, schmid$oblique, schmid$phi,
    omega.group) on Holzinger–Swineford x1–x3 (1 factor), x1–x9 (1 and 3),
    bfi A (1), A+C (2), 25 items (3 and 5), listwise and pairwise.

    References
    ----------
    McDonald (1999), *Test theory: a unified treatment*. Zinbarg, Revelle, Yovel & Li
    (2005), Psychometrika 70, 123–133. Schmid & Leiman (1957), Psychometrika 22, 53–61.
    """
    check_level(ci)
    if not isinstance(nfactors, (int, np.integer)) or nfactors < 1:
        raise DataError(f"nfactors must be a positive integer, not {quote(nfactors)}")
    prep = prepare_items(data, missing, min_items=3, what="omega")
    p = len(prep.items)
    if not ledermann_ok(p, int(nfactors)):
        raise DataError(
            f"{nfactors} factors are too many for {p} items: a {nfactors}-factor model has "
            f"{((p - nfactors) ** 2 - (p + nfactors)) / 2:g} degrees of freedom (Ledermann bound); "
            "use fewer factors or more items"
        )
    diags = list(prep.diagnostics)
    check_matrix(prep, diags)
    if nfactors == 2:
        record(diags, ReliabilityWarning,
               "with two group factors the general factor is not identified; as psych::omega "
               "(option = 'equal') both general-factor loadings of the factors are set to √|φ₁₂| — "
               "interpret ω_h with caution (three or more group factors are needed)", stacklevel=3)
    r = prep.cor_pairwise  # psych::omega correlates with cor(use = "pairwise")
    with single_thread_blas():
        res = _schmid_leiman(r, int(nfactors), prep.items)
    _record_fit_problems(res, diags)
    one = nfactors == 1
    ci_t = ci_h = None
    method = None
    if ci is not None:
        check_boot(n_boot, interval)
        out = _bootstrap_omega(prep, res, int(nfactors), ci, interval, n_boot, seed, progress)
        record_bootstrap_diagnostics(out, diags)
        ci_t = out.intervals[0]
        ci_h = None if one else out.intervals[1]
        method = f"bootstrap-{interval}"
    loadings = res.sl
    if one:
        loadings = loadings.drop(columns=["F1*", "p2"]).rename(columns={"g": "loading"})
    return OmegaResult(
        omega_total=res.omega_total,
        omega_hierarchical=None if one else res.omega_h,
        omega_limit=None if one else res.omega_limit,
        ecv=None if one else res.ecv,
        alpha=res.alpha, g6=res.g6, nfactors=int(nfactors), n=prep.n, n_items=p, missing=prep.missing,
        n_excluded=prep.n_excluded, loadings=loadings,
        omega_group=None if one else res.omega_group,
        factor_correlations=None if one else pd.DataFrame(
            res.phi, index=[f"F{j + 1}" for j in range(nfactors)], columns=[f"F{j + 1}" for j in range(nfactors)]),
        ci_total=ci_t, ci_hierarchical=ci_h, ci_level=ci if method else None, ci_method=method,
        n_boot=int(n_boot) if method else 0, diagnostics=tuple(diags),
    )


def _record_fit_problems(res: _SL, diags: list[Diagnostic]) -> None:
    """Record non-convergence, Heywood cases and items reversed for the general factor."""
    if not res.converged:
        record(diags, ConvergenceWarning,
               "the factor extraction or the oblimin rotation did not converge; ω may be inaccurate",
               stacklevel=4)
    heywood = res.sl.index[res.sl["u2"] < HEYWOOD_UNIQUENESS].tolist()
    if heywood:
        record(diags, HeywoodCaseWarning,
               f"items {name_list(heywood)} have uniquenesses at the lower bound 0.005 (Heywood case); "
               "ω total may be overestimated", stacklevel=4)
    if res.flipped:
        record(diags, ReliabilityWarning,
               f"items {name_list(res.flipped)} load negatively on the general factor and were reversed for ω "
               "(as psych::omega's flip = TRUE does). If they are not reverse-keyed by mistake, the item set "
               "has no common general factor in one direction and ω_h should be read with care", stacklevel=4)


def _bootstrap_omega(prep: PreparedItems, res: _SL, nfactors: int, ci: float, interval: str, n_boot: int,
                     seed: SeedLike, progress: bool | None) -> Any:
    """Bootstrap ω_t (one factor: batched Newton minres) or ω_t and ω_h (one Schmid–Leiman fit each)."""
    one = nfactors == 1
    if one:
        start = res.sl["g"].to_numpy()

        def stat(c):
            return _omega1_batch(c, start)[:, None]

        est = np.array([res.omega_total])
        names = ["omega_total"]
    else:
        def stat(c):
            return _omega_sl_batch(c, int(nfactors), prep.items, res.psi)

        est = np.array([res.omega_total, res.omega_h])
        names = ["omega_total", "omega_hierarchical"]
    return run_bootstrap(prep.x, prep.missing == "pairwise", stat, est, n_boot=int(n_boot), level=ci,
                         interval=interval, seed=seed, show_progress=progress,
                         description=f"bootstrap omega (B = {n_boot})", names=names,
                         chunk=None if one else 10,  # Schmid–Leiman: one fit per replicate
                         # pairwise: R's cor(use = "pairwise"), as the estimate; fiml: EM per resample
                         kind="em" if prep.missing == "fiml" else "cor",
                         centre=prep.cov if prep.missing == "fiml" else None)  # large n: the EM estimate, not a re-run
