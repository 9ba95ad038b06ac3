"""Reliability of each score and its standard error of measurement, SEM = SD * sqrt(1 - reliability)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._validation import name_list
from psychometrics.exceptions import DataError, Diagnostic, ReliabilityWarning, record
from psychometrics.scoring._arrays import ItemArrays
from psychometrics.scoring.result import KeyView
from psychometrics.scoring.rules import ScoringRules
from psychometrics._text import quote

__all__ = ["coefficient_alpha"]


def pairwise_cov(items: pd.DataFrame) -> np.ndarray:
    """``items.cov()`` (pairwise-complete, ddof = 1); at large n from three matrix products.

    For integer answers (Likert codes) every sum — the pair counts n_ij, Σx_i and Σx_i x_j over
    the rows observing both — is an integer below 2⁵³, so it is exact in any order and
    C_ij = (Σx_i x_j − Σx_i Σx_j / n_ij) / (n_ij − 1) is correctly rounded (pandas' pairwise
    loop: 6.6 s for the 18 scores of the demo study at 10⁶ rows). Below 10,000 rows, or for
    non-integer values, pandas computes it as before.
    """
    moments = _PairwiseMoments.of(items)
    return items.cov().to_numpy() if moments is None else moments.cov(list(range(items.shape[1])))


class _PairwiseMoments:
    """Pair counts n_ij, Σx_i and Σx_i x_j over the rows observing both, of all items at once.

    Each entry is a sum over the rows of one pair only and, for integer answers below 2²⁰, an
    integer below 2⁵³ — exact in any summation order — so the covariance of a subset of the
    items from these sums equals :func:`pairwise_cov` of that subset bit for bit: one pass over
    the rows serves every score (issue 16: 18 scores of 10⁶ rows took 4 s as 18 passes).
    """

    def __init__(self, n: np.ndarray, s: np.ndarray, xx: np.ndarray):
        self.n, self.s, self.xx = n, s, xx

    @classmethod
    def of(cls, items: pd.DataFrame, arrays: ItemArrays | None = None) -> _PairwiseMoments | None:
        """The sums of ``items``; None below 10,000 rows or for non-integer / large values (then pandas).

        ``arrays``: the items' :class:`~psychometrics.scoring.item_matrix.ItemArrays` when the caller has
        them (the scores were built from the same arrays)."""
        if items.shape[0] < 10_000:
            return None
        if arrays is not None and arrays.pairs is not None:
            return cls(*arrays.pairs)  # summed in the pass that built the scores
        arrays = ItemArrays(items.to_numpy(dtype=float)) if arrays is None else arrays
        if arrays.sums(np.zeros((0, items.shape[1]))) is None or arrays.peak ** 2 * items.shape[0] >= 2**53:
            return None  # not whole numbers, or Σx_i x_j not exact: pandas
        m, x0 = arrays.okf, arrays.z
        return cls(m.T @ m, x0.T @ m, x0.T @ x0)  # s[i, j]: Σ x_i over the rows observing i and j

    def cov(self, cols: list[int]) -> np.ndarray:
        ix = np.ix_(cols, cols)
        n, s = self.n[ix], self.s[ix]
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (self.xx[ix] - s * s.T / n) / (n - 1)
        c[n < 2] = np.nan
        return c


def coefficient_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha from the pairwise-complete item covariance matrix.

    ``alpha = k / (k - 1) * (1 - sum(diag C) / sum(C))`` with ``C`` the covariance
    matrix of the (reverse-keyed) items computed from pairwise-complete cases, which
    is what ``psych::scoreItems`` reports as ``alpha`` (validated against it on bfi,
    ``tests/reference/scoring/provenance.json``: ``scoreitems_alpha``).

    NaN for fewer than 2 items; NaN with a :class:`ReliabilityWarning` naming the items when
    a pair of items has fewer than 2 joint answers or the variance of their sum is zero.
    """
    value, reason = _alpha_or_reason(items)
    if reason:
        warnings.warn(reason, ReliabilityWarning, stacklevel=2)
    return value


def _alpha_or_reason(items: pd.DataFrame, moments: _PairwiseMoments | None = None,
                     cols: list[int] | None = None) -> tuple[float, str | None]:
    """coefficient_alpha, and why it is NaN (None for fewer than 2 items: no alpha to speak of).

    ``moments``: the pairwise sums of a larger item set of which ``items`` are columns ``cols``."""
    k = items.shape[1]
    if k < 2:
        return float("nan"), None
    from psychometrics.reliability.alpha import alpha_batch

    names = name_list(items.columns)
    if moments is not None and cols is not None:
        pairs = moments.n[np.ix_(cols, cols)]
    else:
        obs = items.notna().to_numpy(dtype=np.float32)  # counts exact below 2^24 per product entry
        pairs = obs.T @ obs if obs.shape[0] < 2**24 else obs.astype(float).T @ obs  # (int DataFrame @: no BLAS)
    if pairs.min() < 2:
        return float("nan"), (f"alpha of items {names} is undefined: some pair of items has fewer than 2 "
                              "respondents answering both")
    if moments is not None and cols is not None:
        c = moments.cov(cols)  # the same numbers as pairwise_cov(items), from sums shared by all scores
    else:
        c = pairwise_cov(items)  # pairwise complete, ddof = 1 (as R's cov(use="pairwise"))
    total = c.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan"), f"alpha of items {names} is undefined: the variance of their sum is zero"
    return float(alpha_batch(c)), None


def _sem_table(vals: pd.DataFrame, items: pd.DataFrame, rules: ScoringRules,
               key: KeyView | None, reliability: Any, method: str,
               diagnostics: list[Diagnostic], arrays: ItemArrays | None = None,
               desc: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per score: SD, reliability, coefficient, SEM and their sources. ``desc``: the scores' descriptives
    (their ``sd`` is the score's SD; else each column's ``std(ddof=1)``, the same number)."""
    rows = {}
    moments = _PairwiseMoments.of(items, arrays) if reliability == "alpha" and key is None else None
    pos = {c: j for j, c in enumerate(items.columns)}
    for d in rules.scores:
        sd_src = "data"
        if desc is not None:
            sd = float(desc.at[d.name, "sd"]) if desc.at[d.name, "n"] > 1 else float("nan")
        else:
            sd = float(vals[d.name].std(ddof=1)) if vals[d.name].notna().sum() > 1 else float("nan")
        rel, coef, rel_src = float("nan"), None, None
        if key is not None:
            info = key.reliability.get(d.name)
            if info is not None:
                rel, coef, rel_src = float(info["value"]), info.get("coefficient"), "key"
            if key.norms is not None and d.name in key.norms.scores:
                t = key.norms.table(d.name)
                if key.rules.method == method:
                    sd, sd_src = t.sd, "key"
        elif isinstance(reliability, Mapping):
            if d.name in reliability:
                v = reliability[d.name]
                if isinstance(v, Mapping):
                    rel, coef = float(v["value"]), v.get("coefficient")
                else:
                    rel, coef = float(v), None
                rel_src = "given"
        elif reliability == "alpha":
            # with the shared sums only the column names are read: no copy of the score's rows
            sub = items[list(d.items)] if moments is None else items.iloc[:0][list(d.items)]
            rel, reason = _alpha_or_reason(sub, moments, [pos[i] for i in d.items])
            coef, rel_src = "alpha", "data"
            if reason:
                record(diagnostics, ReliabilityWarning, f"{d.name}: {reason}; no standard error of measurement",
                       stacklevel=5)
        elif reliability is not None:
            raise DataError(f"reliability must be a mapping, 'alpha' or None, not {quote(reliability)}")
        if rel == rel and not 0.0 <= rel <= 1.0:
            record(diagnostics, ReliabilityWarning,
                   f"{d.name}: reliability {rel:.3f} ({coef or 'given'}) of items {name_list(d.items)} is outside "
                   "[0, 1]; no standard error of measurement", stacklevel=5)
            sem = float("nan")
        else:
            sem = sd * math.sqrt(1.0 - rel)  # NaN when reliability is unknown (None)
        rows[d.name] = {"sd": sd, "reliability": rel, "coefficient": coef, "sem": sem,
                        "sd_source": sd_src, "reliability_source": rel_src}
    t = pd.DataFrame.from_dict(rows, orient="index")
    t.index.name = "score"
    return t
