"""Latent correlations with delta-method SEs, and construct validity from a fitted CFA.

:func:`construct_validity` gathers CR, ω, AVE, Fornell–Larcker, latent correlations and
(with item data) HTMT for the factors of a CFA result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._dist import norm_ppf, norm_sf
from psychometrics._linalg import cov2cor
from psychometrics._results import ResultMixin
from psychometrics.exceptions import DataError, Diagnostic, ReliabilityWarning, record, recorded_warnings
from psychometrics.reliability._loadings import as_loadings, cross_loading_items, indicators, square
from psychometrics.validity._input import _check_conf
from psychometrics.validity.composite import ave, ave_sem, composite_reliability, composite_reliability_sem
from psychometrics.validity.discriminant import HTMT, FornellLarcker, fornell_larcker, htmt

__all__ = ["latent_correlations", "construct_validity", "ConstructValidity"]


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
    conf_level = _check_conf(conf_level)
    psi = square(latent_cov, "latent_cov")
    d = np.diag(psi.to_numpy())
    if np.any(d <= 0):
        raise DataError(f"latent_cov has non-positive variances for {list(psi.index[d <= 0])} (Heywood case)")
    if vcov is not None:
        vcov = square(vcov, "vcov")
    zc = norm_ppf(1 - (1 - conf_level) / 2)
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
                    "p": float(2 * norm_sf(abs(z))) if np.isfinite(z) else np.nan,
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
    if callable(vcov):
        V = vcov()
    elif callable(getattr(engine, "vcov", None)):
        V = engine.vcov()
    else:  # the categorical (WLSMV) engine keeps its robust sampling covariance as ``V``
        V = getattr(engine, "V", None)
    if V is None:
        return None
    V = np.asarray(V, dtype=float)
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
    with recorded_warnings() as caught:  # (thread-safe, unlike catch_warnings)
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
    L = as_loadings(lam_std, "std_loadings")
    rel = pd.DataFrame(
        {"n_items": pd.Series({f: len(indicators(L, f)) for f in L.columns}),
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
    psi_sq = square(psi, "latent_cov")
    phi = pd.DataFrame(cov2cor(psi_sq.to_numpy()), index=psi_sq.index, columns=psi_sq.columns)
    fl = fornell_larcker(av, phi.loc[usable, usable])
    h = None
    if data is not None:
        blocks = {f: indicators(L, f) for f in L.columns if len(indicators(L, f)) >= 2}
        crossed = cross_loading_items(L)
        if crossed:
            record(diagnostics, ReliabilityWarning,
                   f"HTMT not computed: items {sorted(map(str, crossed))} load on more than one factor, and HTMT "
                   "needs each item in one block")
        elif len(blocks) >= 2:
            h = htmt(data, blocks, htmt2=htmt2, missing=missing)
    return ConstructValidity(reliability=rel, fornell_larcker=fl, latent_correlations=lat, htmt=h,
                             obs_var=obs_var, diagnostics=tuple(diagnostics))
