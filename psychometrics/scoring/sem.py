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
    if items.shape[0] < 10_000:
        return items.cov().to_numpy()
    x = items.to_numpy(dtype=float)
    obs = ~np.isnan(x)
    x0 = np.where(obs, x, 0.0)
    if not np.array_equal(x0, np.round(x0)) or np.abs(x0).max(initial=0.0) > 2**20:
        return items.cov().to_numpy()
    m = obs.astype(float)
    n = m.T @ m
    s = x0.T @ m  # s[i, j]: Σ x_i over the rows observing i and j
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (x0.T @ x0 - s * s.T / n) / (n - 1)
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


def _alpha_or_reason(items: pd.DataFrame) -> tuple[float, str | None]:
    """coefficient_alpha, and why it is NaN (None for fewer than 2 items: no alpha to speak of)."""
    k = items.shape[1]
    if k < 2:
        return float("nan"), None
    from psychometrics.reliability.alpha import alpha_batch

    names = name_list(items.columns)
    pairs = (items.notna().astype(int).T @ items.notna().astype(int)).to_numpy()
    if pairs.min() < 2:
        return float("nan"), (f"alpha of items {names} is undefined: some pair of items has fewer than 2 "
                              "respondents answering both")
    c = pairwise_cov(items)  # pairwise complete, ddof = 1 (as R's cov(use="pairwise"))
    total = c.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan"), f"alpha of items {names} is undefined: the variance of their sum is zero"
    return float(alpha_batch(c)), None


def _sem_table(vals: pd.DataFrame, items: pd.DataFrame, rules: ScoringRules,
               key: KeyView | None, reliability: Any, method: str,
               diagnostics: list[Diagnostic]) -> pd.DataFrame:
    rows = {}
    for d in rules.scores:
        sd_src = "data"
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
            rel, reason = _alpha_or_reason(items[list(d.items)])
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
