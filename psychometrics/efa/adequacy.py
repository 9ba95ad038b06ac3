"""Sampling adequacy: Kaiser–Meyer–Olkin MSA and Bartlett's test of sphericity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics._linalg import single_thread_blas
from psychometrics.efa._input import prepare
from psychometrics.exceptions import Diagnostic

__all__ = ["KMOResult", "BartlettResult", "kmo", "bartlett"]


def _kmo_label(value: float) -> str:
    # Kaiser (1974) verbal labels
    for cut, label in ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"), (0.5, "miserable")):
        if value >= cut:
            return label
    return "unacceptable"


@dataclass(frozen=True, eq=False)
class KMOResult(ResultMixin):
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        Overall MSA.
    per_item : pandas.Series
        MSA of each item (index = item ids).
    label : str
        Kaiser's (1974) verbal label of ``overall`` ("marvelous" ≥ .90 … "unacceptable" < .50).
    diagnostics : tuple of Diagnostic
    """

    overall: float
    per_item: pd.Series
    label: str
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Kaiser-Meyer-Olkin measure of sampling adequacy"


@dataclass(frozen=True, eq=False)
class BartlettResult(ResultMixin):
    """Bartlett's test that the correlation matrix is an identity matrix.

    Attributes
    ----------
    chisq, df, pvalue : float
        Test statistic, degrees of freedom p(p − 1)/2 and upper-tail p value.
    n_obs : int
        Sample size used.
    diagnostics : tuple of Diagnostic
    """

    chisq: float
    df: float
    pvalue: float
    n_obs: int
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Bartlett's test of sphericity"


@single_thread_blas
def kmo(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None) -> KMOResult:
    """Kaiser–Meyer–Olkin measure of sampling adequacy (MSA).

    With R the correlation matrix and Q the partial (anti-image) correlations
    q_ij = −(R⁻¹)_ij / √((R⁻¹)_ii (R⁻¹)_jj),

        MSA = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} q_ij²),
        MSA_j = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} q_ij²).

    (The sign of q does not matter as it is squared.) Correlations are
    pairwise-complete, as ``psych::KMO`` uses.

    Parameters
    ----------
    data : DataFrame, optional
        Item responses (rows = respondents).
    corr : DataFrame or array, optional
        A correlation matrix instead of ``data``.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. *Psychometrika*, 35, 401–415.
    Kaiser, H. F., & Rice, J. (1974). Little jiffy, mark IV. *Educational and Psychological
    Measurement*, 34, 111–117.

    Notes
    -----
    Validated against ``psych::KMO`` (``tests/reference/efa/efa_reference.json``) to 1e-10.
    """
    prep = prepare(data, corr=corr, what="kmo", smooth=True)
    r = prep.corr.to_numpy()
    inv = np.linalg.inv(r)
    d = 1 / np.sqrt(np.diag(inv))
    q = inv * np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = (r0**2).sum(axis=0), (q**2).sum(axis=0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    per_item = pd.Series(r2 / (r2 + q2), index=prep.items, name="MSA")
    return KMOResult(overall, per_item, _kmo_label(overall), tuple(prep.diagnostics))


@single_thread_blas
def bartlett(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None,
             n_obs: int | None = None) -> BartlettResult:
    """Bartlett's (1951) test of sphericity.

        χ² = −ln|R| · (n − 1 − (2p + 5)/6),   df = p(p − 1)/2.

    Parameters
    ----------
    data : DataFrame, optional
        Item responses; n is the number of rows and R the pairwise-complete correlations
        (as ``psych::cortest.bartlett`` on raw data).
    corr, n_obs : optional
        A correlation matrix and its sample size instead of ``data``.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a χ² approximation in factor
    analysis. *Biometrika*, 38, 337–344.

    Notes
    -----
    Validated against ``psych::cortest.bartlett`` (``tests/reference/efa/efa_reference.json``).
    """
    from psychometrics._dist import chi2_sf

    prep = prepare(data, corr=corr, n_obs=n_obs, what="bartlett", require_n=True)
    r = prep.corr.to_numpy()
    p = r.shape[0]
    n = prep.n_obs
    sign, logdet = np.linalg.slogdet(r)
    stat = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) / 2
    return BartlettResult(stat, float(df), float(chi2_sf(stat, df)), int(n), tuple(prep.diagnostics))
