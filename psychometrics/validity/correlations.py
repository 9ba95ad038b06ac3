"""Observed correlations: Pearson r with Fisher-z intervals, t-tests and Holm-adjusted tables."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._dist import norm_ppf, t_sf
from psychometrics._linalg import pairwise_correlation
from psychometrics._results import ResultMixin
from psychometrics._validation import check_variance
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics.validity._input import _check_conf, _numeric
from psychometrics._text import quote

__all__ = ["correlate", "Correlation", "correlation_table", "CorrelationTable"]


def _fisher_ci(r: np.ndarray | float, n: np.ndarray | float, conf_level: float) -> tuple[Any, Any]:
    zc = norm_ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore"):
        z = np.arctanh(r)
    se = 1 / np.sqrt(np.asarray(n, dtype=float) - 3)
    return np.tanh(z - zc * se), np.tanh(z + zc * se)


def _t_test(r: np.ndarray | float, n: np.ndarray | float) -> tuple[Any, Any, Any]:
    df = np.asarray(n, dtype=float) - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(r) * np.sqrt(df) / np.sqrt(1 - np.asarray(r) ** 2)
    p = 2 * t_sf(np.abs(t), df)
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
            f"correlate: {quote(xn)} and {quote(yn)} have different row labels; align them (e.g. by respondent id) first"
        )
    xa, ya = _as_floats(x, xn), _as_floats(y, yn)
    if xa.shape != ya.shape:
        raise DataError(f"correlate: {quote(xn)} has {xa.size} values but {quote(yn)} has {ya.size}")
    ok = ~(np.isnan(xa) | np.isnan(ya))
    n = int(ok.sum())
    if n < 4:
        raise DataError(
            f"correlate: only {n} complete pairs of {quote(xn)} and {quote(yn)}; a confidence interval needs at least 4"
        )
    xs, ys = xa[ok], ya[ok]
    for v, nm in ((xs, xn), (ys, yn)):
        if np.ptp(v) == 0:
            raise DataError(
                f"correlate: {quote(nm)} has zero variance on the {n} complete pairs (every value is {v[0]:g}); "
                "its correlation is undefined"
            )
    r = float(np.clip(np.corrcoef(xs, ys)[0, 1], -1.0, 1.0))
    lo, hi = _fisher_ci(r, n, conf_level)
    t, df, p = _t_test(r, n)
    if abs(r) == 1.0:
        warnings.warn(f"correlate: {quote(xn)} and {quote(yn)} correlate perfectly (r = {r:+.0f}): one is a linear "
                      "copy of the other; t is infinite and the confidence interval has zero width",
                      DataQualityWarning, stacklevel=2)
    return Correlation(
        x=xn, y=yn, r=r, n=n, n_excluded=int((~ok).sum()), t=float(t), df=float(df), p=float(p),
        ci=(float(lo), float(hi)), conf_level=conf_level,
    )


def _as_floats(v: Any, name: str) -> np.ndarray:
    """``v`` as a float array (NaN = missing); text that is not a number or ±inf is a DataError.

    A numeric (not boolean) Series or array is converted directly — the same floats as the
    object route through ``pd.to_numeric``, which costs about 0.3 s per million values
    (issue 16: the validity hypotheses correlate 10⁶ scores)."""
    arr = None
    if isinstance(v, (pd.Series, np.ndarray)) and v.dtype.kind in "iuf":
        arr = v.to_numpy(dtype=float, na_value=np.nan) if isinstance(v, pd.Series) else v.astype(float)
    else:
        obj = np.asarray(v, dtype=object)
        arr = pd.to_numeric(pd.Series(obj), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(arr) & ~pd.isna(pd.Series(obj)).to_numpy()
        if bad.any():
            raise DataError(f"correlate: {quote(name)} has non-numeric values, e.g. {list(obj[bad][:3])}")
    if np.isinf(arr).any():
        raise DataError(f"correlate: {quote(name)} has infinite values")
    return arr


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
        raise DataError(f"correlation_table: adjust must be 'holm', 'bonferroni' or 'none', not {quote(adjust)}")
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
            f"correlation_table: {quote(cols[i])} and {quote(cols[j])} have only {int(N[i, j])} complete pairs; "
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
    diagnostics: list[Diagnostic] = []
    perfect = pairs.loc[pairs["r"].abs() == 1.0, ["x", "y"]]
    if len(perfect):
        shown = ", ".join(f"{quote(x)}–{quote(y)}" for x, y in perfect.head(10).itertuples(index=False))
        record(diagnostics, DataQualityWarning,
               f"correlation_table: {len(perfect)} pair(s) correlate perfectly (linear copies): {shown}; "
               "their t is infinite", stacklevel=3)
    return CorrelationTable(
        r=pd.DataFrame(R, **lab),
        n=pd.DataFrame(N.astype(int), **lab),
        p=pd.DataFrame(P, **lab),
        pairs=pairs,
        conf_level=conf_level,
        adjust=adjust,
        diagnostics=tuple(diagnostics),
    )
