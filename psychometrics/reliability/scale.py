"""Every coefficient at once: :func:`reliability` for one item set (α, ω, Guttman's
λ, split-half, SEM) and :func:`scale_reliability` for each subscale and the total
scale of a :class:`psychometrics.scale.Scale` (or a mapping subscale → item ids).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike
from psychometrics._results import ResultMixin
from psychometrics._validation import name_list
from psychometrics.exceptions import (DataError, Diagnostic, PsychometricsWarning, ReliabilityWarning, quiet_warnings,
                                     record)
from psychometrics.reliability.alpha import AlphaResult, cronbach_alpha
from psychometrics.reliability.efa_omega import OmegaResult, ledermann_ok, omega
from psychometrics.reliability.guttman_lambdas import GuttmanResult, guttman
from psychometrics.reliability._pattern_em import SHARED_MIN_ROWS, PatternMoments
from psychometrics.reliability.prepare import Interval, Missing, fiml_source, shared_preparation
from psychometrics.reliability.split_halves import SplitHalfResult, split_half
from psychometrics._text import quote

__all__ = ["ReliabilityResult", "reliability", "ScaleReliabilityResult", "scale_reliability", "subscale_map"]


@dataclass(frozen=True, eq=False)
class ReliabilityResult(ResultMixin):
    """All reliability statistics of one item set."""

    name: str
    items: tuple[str, ...]
    alpha: AlphaResult
    omega: OmegaResult | None
    guttman: GuttmanResult | None
    split_half: SplitHalfResult | None
    sem: float
    average_r: float
    n: int
    missing: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Reliability"

    def summary_row(self) -> dict[str, Any]:
        a, o, g, s = self.alpha, self.omega, self.guttman, self.split_half
        return {
            "n": self.n, "n_items": len(self.items),
            "alpha": a.alpha, "alpha_low": a.ci[0] if a.ci else np.nan, "alpha_high": a.ci[1] if a.ci else np.nan,
            "std_alpha": a.std_alpha,
            "omega_total": o.omega_total if o else np.nan,
            "omega_total_low": o.ci_total[0] if o and o.ci_total else np.nan,
            "omega_total_high": o.ci_total[1] if o and o.ci_total else np.nan,
            "omega_hierarchical": o.omega_hierarchical if o and o.omega_hierarchical is not None else np.nan,
            "lambda2": g.lambda2 if g else np.nan, "lambda6": g.lambda6 if g else np.nan,
            "split_half_min": s.min if s else np.nan, "split_half_mean": s.mean if s else np.nan,
            "split_half_max": s.max if s else np.nan,
            "spearman_brown": s.spearman_brown if s else np.nan,
            "average_r": self.average_r, "sem": self.sem,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.summary_row()], index=pd.Index([self.name], name="scale"))

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"reliability": self.to_frame().T, "items": self.alpha.item_stats}


def reliability(
    data: pd.DataFrame,
    *,
    name: str = "scale",
    nfactors: int = 1,
    missing: Missing = "listwise",
    ci: float | None = 0.95,
    alpha_ci: Literal["feldt", "bootstrap"] = "feldt",
    n_boot: int = 1000,
    interval: Interval = "bca",
    seed: SeedLike = None,
    progress: bool | None = None,
) -> ReliabilityResult:
    """Run α, ω, Guttman's λs, split-half and SEM for one item set.

    ω and its bootstrap interval use ``nfactors`` (``n_boot = 0`` for no ω
    interval). With two items only α (and SEM, average r) are computed — ω,
    λ2/λ6 and split-half need three items; a :class:`ReliabilityWarning` says so.
    """
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    with shared_preparation():
        return _reliability(data, name, nfactors, missing, ci, alpha_ci, n_boot, interval, rng, progress)


def _reliability(data, name, nfactors, missing, ci, alpha_ci, n_boot, interval, rng, progress) -> ReliabilityResult:
    a = cronbach_alpha(data, ci=ci, method=alpha_ci, missing=missing, interval=interval, n_boot=n_boot,
                       seed=rng, progress=progress)
    diags: list[Diagnostic] = list(a.diagnostics)
    o = g = s = None
    if data.shape[1] >= 3:
        with quiet_warnings(PsychometricsWarning):
            # Our own warnings of these calls (e.g. the matrix warnings alpha already issued) are
            # recorded as diagnostics and re-issued below without duplicates; only that category is
            # silenced here, so NumPy's RuntimeWarnings and other libraries' warnings still surface
            # (thread-safe: the pipeline may run another step on a second thread).
            o = omega(data, nfactors=nfactors, missing=missing, ci=ci if n_boot else None, n_boot=max(n_boot, 2),
                      interval=interval, seed=rng, progress=progress)
            g = guttman(data, missing=missing, seed=rng)
            s = split_half(data, missing=missing, seed=rng)
        for d in (*o.diagnostics, *g.diagnostics, *s.diagnostics):
            if d not in diags:  # re-issue what the silenced calls found that alpha did not
                diags.append(d)
                warnings.warn(d.message, _category(d.category), stacklevel=2)
    else:
        record(diags, ReliabilityWarning,
               f"{name}: ω, Guttman's λ2/λ6 and split-half need at least three items; only α is reported "
               f"for {name_list(list(map(str, data.columns)))}", stacklevel=2)
    return ReliabilityResult(
        name=name, items=tuple(map(str, data.columns)), alpha=a, omega=o, guttman=g, split_half=s,
        sem=a.sem, average_r=a.average_r, n=a.n, missing=missing, diagnostics=tuple(diags),
    )


def _category(name: str):
    from psychometrics import exceptions

    return getattr(exceptions, name, ReliabilityWarning)


@dataclass(frozen=True, eq=False)
class ScaleReliabilityResult(ResultMixin):
    """Reliability per subscale and for the total scale.

    Attributes
    ----------
    table : DataFrame
        One row per subscale and ``"total"`` (see :meth:`ReliabilityResult.summary_row`).
    details : dict
        The full :class:`ReliabilityResult` of each row.
    """

    table: pd.DataFrame
    details: dict[str, ReliabilityResult]
    missing: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Scale reliability"

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _item_id(item: Any) -> str:
    return str(getattr(item, "id", item))


def subscale_map(scale: Any, columns: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(subscale → item ids, all item ids) from a Scale-like object or a mapping."""
    if isinstance(scale, Mapping):
        groups = {str(k): [_item_id(i) for i in v] for k, v in scale.items()}
        all_items = [i for v in groups.values() for i in v]
        all_items = list(dict.fromkeys(all_items))
        return groups, all_items
    subs = getattr(scale, "subscales", None)
    if subs is None:
        raise DataError("scale must be a Scale (with .subscales and .items_of) or a mapping subscale → item ids")
    if isinstance(subs, Mapping):
        sub_ids = [str(k) for k in subs]
    else:
        sub_ids = [str(getattr(s, "id", s)) for s in subs]
    groups = {}
    for sid in sub_ids:
        if hasattr(scale, "items_of"):
            groups[sid] = [_item_id(i) for i in scale.items_of(sid)]
        else:
            groups[sid] = [_item_id(i) for i in subs[sid]]
    if getattr(scale, "items", None) is not None:
        all_items = [_item_id(i) for i in scale.items]
    else:
        all_items = list(dict.fromkeys(i for v in groups.values() for i in v))
    return groups, all_items


def scale_reliability(
    responses_or_frame: Any,
    scale: Any = None,
    *,
    missing: Missing = "listwise",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    interval: Interval = "bca",
    omega_ci: Literal["subscales", "all", "none"] = "subscales",
    seed: SeedLike = None,
    progress: bool | None = None,
    total: bool | None = None,
) -> ScaleReliabilityResult:
    """Reliability of every subscale and of the total scale in one call.

    Parameters
    ----------
    responses_or_frame
        Loaded responses (an object with ``.items``, a DataFrame of reverse-keyed
        item responses, and ``.scale``, as returned by
        :func:`psychometrics.data.load_responses`) or a DataFrame.
    scale
        A :class:`psychometrics.scale.Scale` (``.subscales``, ``.items_of(id)``,
        ``.items``) or a mapping subscale id → item ids. Defaults to the
        responses' scale. Without subscales only the total is computed.
    missing, ci, n_boot, interval, seed, progress
        As in :func:`reliability`; α intervals are Feldt's, ω intervals bootstrap.
    omega_ci : {"subscales", "all", "none"}
        Which ω get bootstrap intervals. One-factor ω (subscales) is vectorised
        and fast; the total scale's Schmid–Leiman ω needs one factor analysis per
        replicate (and, for BCa, per jackknife sample — n of them), so it is only
        bootstrapped with ``"all"``.
    total : bool, optional
        Whether the total score is analysed. Default (None): whenever there is not exactly
        one subscale. ``validate`` passes ``scale.has_total`` — a total only when the spec
        declares one (``scoring.total`` or a hierarchy), so five distinct traits get no
        total-score ω with items "reversed for ω".

    The total scale's ω uses one group factor per subscale (Schmid–Leiman ω_h
    when there are three or more subscales); each subscale uses one factor.
    """
    frame = responses_or_frame
    if not isinstance(frame, pd.DataFrame):
        if hasattr(frame, "items") and isinstance(frame.items, pd.DataFrame):
            if scale is None:
                scale = getattr(frame, "scale", None)
            frame = frame.items
        else:
            raise DataError("scale_reliability needs loaded responses (with .items) or a DataFrame of items")
    if scale is None:
        groups, all_items = {}, [str(c) for c in frame.columns]
    else:
        groups, all_items = subscale_map(scale, [str(c) for c in frame.columns])
    cols = {str(c): c for c in frame.columns}
    missing_cols = [i for i in all_items if i not in cols]
    if missing_cols:
        raise DataError(f"items {name_list(missing_cols)} of the scale are not columns of the responses")
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    details: dict[str, ReliabilityResult] = {}
    diags: list[Diagnostic] = []
    runs = [(sid, ids, 1) for sid, ids in groups.items()]
    if total if total is not None else len(groups) != 1:
        runs.append(("total", all_items, max(1, len(groups))))
    if omega_ci not in ("subscales", "all", "none"):
        raise DataError(f"omega_ci must be 'subscales', 'all' or 'none', not {quote(omega_ci)}")
    moments, pos = _shared_moments(frame, missing) if len(runs) > 1 else (None, {})
    for sid, ids, nf in runs:
        if len(ids) < 2:
            record(diags, ReliabilityWarning,
                   f"{sid}: reliability needs at least two items, the subscale has {len(ids)} "
                   f"({name_list(ids) or 'none'}); it is left out of the table", stacklevel=2)
            continue
        sub = frame[[cols[i] for i in ids]]
        sub.columns = [str(c) for c in sub.columns]
        nf_used = nf if ledermann_ok(len(ids), nf) else 1
        if nf_used != nf:
            record(diags, ReliabilityWarning,
                   f"{sid}: {len(ids)} items cannot identify {nf} group factors (Ledermann bound); ω is "
                   "computed from one factor", stacklevel=2)
        boot = n_boot if (omega_ci == "all" or (omega_ci == "subscales" and nf_used == 1)) else 0
        with fiml_source(moments, sub, [pos[i] for i in ids] if moments is not None else ()):
            res = reliability(sub, name=sid, nfactors=nf_used, missing=missing, ci=ci,
                              n_boot=boot, interval=interval, seed=rng, progress=progress)
        details[sid] = res
        diags.extend(Diagnostic(d.category, f"{sid}: {d.message}") for d in res.diagnostics)
    table = pd.DataFrame([details[k].summary_row() for k in details], index=pd.Index(list(details), name="scale"))
    return ScaleReliabilityResult(table=table, details=details, missing=missing, diagnostics=tuple(diags))


def _shared_moments(frame: pd.DataFrame, missing: str) -> tuple[Any, dict[str, int]]:
    """With FIML at large n: the per-pattern sums of all items, grouped once for every score's EM
    (:mod:`psychometrics.reliability._pattern_em`; None when sharing does not apply), and each item's
    column position."""
    if missing != "fiml" or len(frame) <= SHARED_MIN_ROWS:
        return None, {}
    try:
        x = frame.to_numpy(dtype=float, na_value=np.nan)  # a view when the items are one float block
    except (TypeError, ValueError):  # non-numeric items: each score's own checks report them
        return None, {}
    moments = PatternMoments.build(x)
    return moments, {str(c): j for j, c in enumerate(frame.columns)}
