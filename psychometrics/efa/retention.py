"""How many factors to retain: parallel analysis, MAP, scree, Kaiser, empirical Kaiser.

Parallel analysis follows ``psych::fa.parallel``: principal-component eigenvalues are
those of R; "factor" eigenvalues are those of R with the communalities of a one-factor
minres solution on its diagonal (psych calls ``fa(r, nfactors = 1, fm = "minres")$values``,
for the observed and for every simulated matrix). The simulated matrices are the
correlation matrices of n × p independent standard-normal data sets, drawn here directly
from their exact sampling distribution — (n − 1)·S ~ Wishart_p(n − 1, I), generated
with Bartlett's decomposition — which is the same distribution as psych's ``rnorm`` data
at a fraction of the cost (p(p + 1)/2 random numbers per data set instead of n·p).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._progress import progress
from psychometrics._results import ResultMixin
from psychometrics._linalg import pairwise_correlation, single_thread_blas
from psychometrics.efa._input import prepare
from psychometrics.efa.extraction import PSI_LOWER, extract, minres_one_factor_batch, refit_one_factor_at_bound
from psychometrics._validation import dependent_items, name_list
from psychometrics.exceptions import ConvergenceWarning, DataError, Diagnostic, NotPositiveDefiniteWarning, record
from psychometrics._text import quote

__all__ = [
    "ParallelAnalysisResult", "MAPResult", "KaiserResult", "EmpiricalKaiserResult", "RetentionSummary",
    "parallel_analysis", "map_test", "scree", "kaiser", "empirical_kaiser", "retention_summary",
]


def _count_leading(observed: np.ndarray, threshold: np.ndarray) -> int:
    """Number of leading eigenvalues above their threshold (psych: which(!(obs > ci))[1] − 1)."""
    above = observed > threshold
    return int(len(above) if above.all() else np.argmin(above))


# ----------------------------------------------------------------- simulation
def _wishart_correlations(rng: np.random.Generator, n_obs: int, p: int, size: int) -> np.ndarray:
    """Correlation matrices of ``size`` simulated n_obs × p standard-normal data sets.

    Bartlett (1933) decomposition: (n − 1)S = A Aᵀ with A lower triangular,
    A_ii = √χ²(n − i) (i = 1..p), A_ij ~ N(0, 1) for i > j.
    """
    A = np.tril(rng.standard_normal((size, p, p)), -1)
    dfs = (n_obs - 1) - np.arange(p)
    diag = np.sqrt(rng.chisquare(dfs, size=(size, p)))
    idx = np.arange(p)
    A[:, idx, idx] = diag
    W = A @ A.transpose(0, 2, 1)
    d = 1 / np.sqrt(np.einsum("bii->bi", W))
    R = W * d[:, :, None] * d[:, None, :]
    R[:, idx, idx] = 1.0
    return R


def _resampled_correlations(rng: np.random.Generator, x: np.ndarray, size: int) -> np.ndarray:
    """Correlations of data sets whose columns are resampled independently with replacement
    (psych's ``sample(y, n, replace = TRUE)`` per column), pairwise-complete."""
    n, p = x.shape
    # flat indices into the column-major data: row draw + column offset (one take)
    idx = rng.integers(0, n, size=(size, n, p), dtype=np.intp)
    idx += (np.arange(p, dtype=np.intp) * n)[None, None, :]
    X = np.take(np.asfortranarray(x).ravel(order="F"), idx)   # (size, n, p)
    return pairwise_correlation(X)[0]


def _reduced_eigenvalues(R: np.ndarray, h2: np.ndarray) -> np.ndarray:
    S = R.copy()
    idx = np.arange(R.shape[1])
    S[:, idx, idx] = h2
    return np.linalg.eigvalsh(S)[:, ::-1]


# ----------------------------------------------------------------- parallel analysis
@dataclass(frozen=True, eq=False)
class ParallelAnalysisResult(ResultMixin):
    """Result of :func:`parallel_analysis`.

    Attributes
    ----------
    n_factors : int or None
        Number of leading factor eigenvalues above their simulated quantile (kind "fa"/"both").
    n_components : int or None
        Same for principal components (kind "pca"/"both").
    eigenvalues : DataFrame
        Index 1..p; columns ``observed_pc``, ``simulated_pc_mean``, ``simulated_pc_sd``,
        ``simulated_pc_quantile`` and the same for ``fa`` (as requested by ``kind``).
    kind : str
    n_iter : int
    quantile : float
    resample : bool
        True: columns of the data resampled; False: normal data simulated.
    n_obs : int
    seed : int or None
    diagnostics : tuple of Diagnostic
    """

    n_factors: int | None
    n_components: int | None
    eigenvalues: pd.DataFrame
    kind: str
    n_iter: int
    quantile: float
    resample: bool
    n_obs: int
    seed: Any
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Parallel analysis"

    def to_frame(self) -> pd.DataFrame:
        return self.eigenvalues


@single_thread_blas
def parallel_analysis(
    data: pd.DataFrame | None = None,
    *,
    corr: pd.DataFrame | np.ndarray | None = None,
    n_obs: int | None = None,
    n_iter: int = 1000,
    quantile: float = 0.95,
    kind: Literal["fa", "pca", "both"] = "both",
    resample: bool = False,
    seed: int | np.random.Generator | None = None,
    batch_size: int = 500,
    show_progress: bool | None = None,
) -> ParallelAnalysisResult:
    """Horn's parallel analysis as ``psych::fa.parallel``.

    Retain the leading factors (components) whose observed eigenvalue exceeds the
    ``quantile`` of the eigenvalues of random data of the same size::

        k = max{ j : e_i > q_i(random) for all i ≤ j }.

    Component eigenvalues are those of R; factor eigenvalues are those of R with
    one-factor minres communalities on the diagonal, for the observed and for every random
    matrix (psych's definition). Random matrices are correlations of n × p normal data
    (``resample=False``; psych's "simulated" data) drawn exactly via the Wishart
    distribution, or of the data with every column resampled with replacement
    (``resample=True``; psych's "resampled" data; needs raw ``data``).

    Parameters
    ----------
    data : DataFrame, optional
        Item responses; n = number of rows (as psych).
    corr, n_obs : optional
        A correlation matrix and sample size instead of ``data`` (simulation only).
    n_iter : int
        Number of random data sets.
    quantile : float
        Quantile of the random eigenvalues used as threshold (psych ``quant = .95``;
        Glorfeld 1995). psych's ``kind="fa"`` with simulation compares with the mean by
        mistake; here the quantile is always used.
    kind : {"fa", "pca", "both"}
    resample : bool
    seed : int or numpy.random.Generator, optional
        Same seed → same random eigenvalues.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika*, 30, 179–185.
    Glorfeld, L. W. (1995). An improvement on Horn's parallel analysis methodology for
    selecting the correct number of factors to retain. *Educational and Psychological
    Measurement*, 55, 377–393.

    Notes
    -----
    Validated against ``psych::fa.parallel``: observed eigenvalues to 1e-10; the means and
    quantiles of the random eigenvalues agree within Monte Carlo error
    (``tests/reference/efa/efa_reference.json``).
    """
    if kind not in ("fa", "pca", "both"):
        raise DataError(f"parallel_analysis: kind must be 'fa', 'pca' or 'both', not {quote(kind)}")
    if not 0 < quantile < 1:
        raise DataError(f"parallel_analysis: quantile must lie in (0, 1), got {quantile}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 2:
        raise DataError(f"parallel_analysis: n_iter must be an integer ≥ 2, got {quote(n_iter)}")
    prep = prepare(data, corr=corr, n_obs=n_obs, what="parallel_analysis", require_n=True)
    if resample and data is None:
        raise DataError("parallel_analysis: resample=True needs the raw data (`data`), not a correlation matrix")
    diagnostics = list(prep.diagnostics)
    R = prep.corr.to_numpy()
    p = R.shape[0]
    n = prep.n_obs
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    want_fa = kind in ("fa", "both")
    want_pc = kind in ("pca", "both")
    prep_x = None
    if resample:
        frame = data[prep.items] if isinstance(data, pd.DataFrame) else data
        prep_x = np.asarray(frame, dtype=float)
    pcs, fas = [], []
    n_bad = 0
    if resample:  # resampled data sets are n × p each: smaller batches bound the memory
        batch_size = max(1, min(batch_size, int(2e7 // (prep_x.shape[0] * p))))
    with progress(f"parallel analysis (n_iter = {n_iter})", n_iter, show_progress) as advance:
        done = 0
        while done < n_iter:
            b = min(batch_size, n_iter - done)
            if resample:
                Rs = _resampled_correlations(rng, prep_x, b)
                bad = ~np.isfinite(Rs).all(axis=(1, 2))
                while bad.any():  # a resampled column without variance: draw again (as psych)
                    Rs[bad] = _resampled_correlations(rng, prep_x, int(bad.sum()))
                    bad = ~np.isfinite(Rs).all(axis=(1, 2))
            else:
                Rs = _wishart_correlations(rng, n, p, b)
            if want_pc:
                pcs.append(np.linalg.eigvalsh(Rs)[:, ::-1])
            if want_fa:
                lam, ok = minres_one_factor_batch(Rs)
                h2 = lam**2
                rest = np.where(~ok)[0]
                if rest.size:  # items at psych's bound: finish in psych's ψ parametrisation
                    h2[rest], ok2 = refit_one_factor_at_bound(Rs[rest], h2[rest])
                    ok[rest] = ok2
                for i in np.where(~ok)[0]:  # rare: finish with the exact (scipy) minres fit
                    ex = extract(Rs[i], 1, "minres")
                    h2[i] = ex.communalities
                    n_bad += int(not ex.converged)
                fas.append(_reduced_eigenvalues(Rs, h2))
            done += b
            advance(b)
    if n_bad:
        record(diagnostics, ConvergenceWarning,
               f"parallel_analysis: the one-factor minres fit did not converge for {n_bad} of {n_iter} random data sets; "
               "their factor eigenvalues use the last iterate", stacklevel=3)
    table = pd.DataFrame(index=pd.RangeIndex(1, p + 1, name="number"))

    def compare(kind: str, obs: np.ndarray, sims: list[np.ndarray]) -> int:
        """Add the observed and simulated eigenvalue columns of ``kind``; number retained."""
        sims = np.concatenate(sims)
        q = np.quantile(sims, quantile, axis=0)
        table[f"observed_{kind}"] = obs
        table[f"simulated_{kind}_mean"] = sims.mean(axis=0)
        table[f"simulated_{kind}_sd"] = sims.std(axis=0, ddof=1)
        table[f"simulated_{kind}_quantile"] = q
        return _count_leading(obs, q)

    n_comp = compare("pc", np.linalg.eigvalsh(R)[::-1], pcs) if want_pc else None
    n_fac = compare("fa", extract(R, 1, "minres").values, fas) if want_fa else None
    return ParallelAnalysisResult(n_fac, n_comp, table, kind, int(n_iter), float(quantile), bool(resample), int(n),
                                  seed if not isinstance(seed, np.random.Generator) else "Generator", tuple(diagnostics))


# ----------------------------------------------------------------- MAP
@dataclass(frozen=True, eq=False)
class MAPResult(ResultMixin):
    """Velicer's minimum average partial test.

    Attributes
    ----------
    n_factors : int
        Number of components with the smallest average squared partial correlation.
    values : Series
        Average squared partial correlation after removing 1..m components.
    """

    n_factors: int
    values: pd.Series
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Velicer's MAP test"


@single_thread_blas
def map_test(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None, max_factors: int = 8) -> MAPResult:
    """Velicer's (1976) MAP test as ``psych::VSS`` reports it (``$map``).

    For m = 1..min(max_factors, p − 1) with C_m = V_m diag(√e_m) the first m principal
    components, the partial covariance R* = R − C_m C_mᵀ is rescaled to correlations
    D^{-½} R* D^{-½}; MAP(m) = Σ_{i≠j} r*_ij² / (p(p − 1)). The suggested number is the
    m minimising MAP(m). (psych does not report the m = 0 value, nor do we.)

    References
    ----------
    Velicer, W. F. (1976). Determining the number of components from the matrix of partial
    correlations. *Psychometrika*, 41, 321–327.

    Notes
    -----
    Validated against ``psych::VSS(x, n = 8)$map`` to 1e-10.
    """
    prep = prepare(data, corr=corr, what="map_test")
    R = prep.corr.to_numpy()
    p = R.shape[0]
    e, V = np.linalg.eigh(R)
    e, V = e[::-1], V[:, ::-1]
    comp = V * np.sqrt(np.maximum(e, 0))
    n = min(int(max_factors), p - 1)
    values = np.empty(n)
    diagnostics = list(prep.diagnostics)
    for m in range(1, n + 1):
        c = R - comp[:, :m] @ comp[:, :m].T
        if not np.all(np.diag(c) > 1e-12):
            # the m components reproduce some item exactly (a singular R): no partial correlations
            values[m - 1:] = np.nan
            record(diagnostics, NotPositiveDefiniteWarning,
                   f"map_test: the correlation matrix is singular (items "
                   f"{name_list(dependent_items(R, list(prep.corr.columns)))} are linearly dependent); "
                   f"the MAP criterion is undefined from {m} component(s) on")
            break
        d = 1 / np.sqrt(np.diag(c))
        rs = c * np.outer(d, d)
        np.fill_diagonal(rs, 0)
        values[m - 1] = np.sum(rs**2) / (p * (p - 1))
    s = pd.Series(values, index=pd.RangeIndex(1, n + 1, name="factors"), name="map")
    if np.isnan(values).all():
        raise DataError("map_test: the MAP criterion is undefined for every number of components "
                        f"(items {name_list(dependent_items(R, list(prep.corr.columns)))} are linearly dependent)")
    return MAPResult(int(np.nanargmin(values)) + 1, s, tuple(diagnostics))


# ----------------------------------------------------------------- scree, Kaiser, EKC
def scree(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None) -> pd.DataFrame:
    """Scree data: eigenvalues of R with proportion and cumulative proportion of variance,
    and the one-factor reduced ("fa") eigenvalues psych plots (index 1..p)."""
    prep = prepare(data, corr=corr, what="scree")
    R = prep.corr.to_numpy()
    e = np.linalg.eigvalsh(R)[::-1]
    p = len(e)
    return pd.DataFrame({"eigenvalue": e, "proportion": e / p, "cumulative": np.cumsum(e) / p,
                         "fa_eigenvalue": extract(R, 1, "minres").values},
                        index=pd.RangeIndex(1, p + 1, name="number"))


@dataclass(frozen=True, eq=False)
class KaiserResult(ResultMixin):
    """Kaiser–Guttman rule: number of eigenvalues of R greater than 1.

    It is known to over-extract, especially with many items (Zwick & Velicer 1986); it is
    reported for completeness and excluded from the consensus.
    """

    n_factors: int
    eigenvalues: pd.Series
    note: str = "Kaiser's eigenvalue > 1 rule is known to over-extract (Zwick & Velicer, 1986)"
    _title = "Kaiser criterion"


def kaiser(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None) -> KaiserResult:
    """Kaiser (1960) criterion: the number of eigenvalues of R above 1.

    References
    ----------
    Kaiser, H. F. (1960). The application of electronic computers to factor analysis.
    *Educational and Psychological Measurement*, 20, 141–151.
    Zwick, W. R., & Velicer, W. F. (1986). Comparison of five rules for determining the
    number of components to retain. *Psychological Bulletin*, 99, 432–442.
    """
    prep = prepare(data, corr=corr, what="kaiser")
    e = np.linalg.eigvalsh(prep.corr.to_numpy())[::-1]
    return KaiserResult(int(np.sum(e > 1)), pd.Series(e, index=pd.RangeIndex(1, len(e) + 1, name="number"), name="eigenvalue"))


@dataclass(frozen=True, eq=False)
class EmpiricalKaiserResult(ResultMixin):
    """Empirical Kaiser criterion (Braeken & van Assen, 2017).

    Attributes
    ----------
    n_factors : int
    table : DataFrame
        Observed eigenvalues and their reference values.
    """

    n_factors: int
    table: pd.DataFrame
    _title = "Empirical Kaiser criterion"


def empirical_kaiser(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None,
                     n_obs: int | None = None) -> EmpiricalKaiserResult:
    """Empirical Kaiser criterion.

    Reference eigenvalues l_j = max{ (1 + √(p/n))² · (p − Σ_{i<j} e_i)/(p − j + 1), 1 };
    retain the leading factors with e_j > l_j.

    References
    ----------
    Braeken, J., & van Assen, M. A. L. M. (2017). An empirical Kaiser criterion.
    *Psychological Methods*, 22, 450–466.
    """
    prep = prepare(data, corr=corr, n_obs=n_obs, what="empirical_kaiser", require_n=True)
    e = np.linalg.eigvalsh(prep.corr.to_numpy())[::-1]
    p, n = len(e), prep.n_obs
    before = np.concatenate([[0.0], np.cumsum(e)[:-1]])
    ref = np.maximum((1 + np.sqrt(p / n)) ** 2 * (p - before) / (p - np.arange(p)), 1.0)
    table = pd.DataFrame({"eigenvalue": e, "reference": ref}, index=pd.RangeIndex(1, p + 1, name="number"))
    return EmpiricalKaiserResult(_count_leading(e, ref), table)


# ----------------------------------------------------------------- consensus
@dataclass(frozen=True, eq=False)
class RetentionSummary(ResultMixin):
    """All retention criteria side by side and a consensus.

    Attributes
    ----------
    n_factors : int
        Consensus: the median (rounded down) of parallel analysis (factors), parallel
        analysis (components), MAP and the empirical Kaiser criterion. Kaiser's rule is
        shown but not counted because it over-extracts.
    table : DataFrame
        One row per criterion: n_factors, used_in_consensus, note.
    parallel, map, kaiser, empirical_kaiser : results of the individual criteria
    scree : DataFrame
    """

    n_factors: int
    table: pd.DataFrame
    parallel: ParallelAnalysisResult
    map: MAPResult
    kaiser: KaiserResult
    empirical_kaiser: EmpiricalKaiserResult
    scree: pd.DataFrame
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Number of factors to retain"

    def to_frame(self) -> pd.DataFrame:
        return self.table


@single_thread_blas
def retention_summary(data: pd.DataFrame | None = None, *, corr: pd.DataFrame | np.ndarray | None = None,
                      n_obs: int | None = None, n_iter: int = 1000, quantile: float = 0.95,
                      seed: int | np.random.Generator | None = None, max_factors: int = 8) -> RetentionSummary:
    """Run every retention criterion and report a consensus (see :class:`RetentionSummary`)."""
    pa = parallel_analysis(data, corr=corr, n_obs=n_obs, n_iter=n_iter, quantile=quantile, kind="both", seed=seed)
    mp = map_test(data, corr=corr, max_factors=max_factors)
    ks = kaiser(data, corr=corr)
    ekc = empirical_kaiser(data, corr=corr, n_obs=n_obs)
    sc = scree(data, corr=corr)
    rows = [
        ("parallel analysis (factors)", pa.n_factors, True, f"one-factor reduced eigenvalues above the {quantile:.0%} quantile of {n_iter} random data sets (Horn 1965)"),
        ("parallel analysis (components)", pa.n_components, True, f"component eigenvalues above the {quantile:.0%} quantile of random data"),
        ("MAP", mp.n_factors, True, "Velicer's minimum average squared partial correlation"),
        ("empirical Kaiser", ekc.n_factors, True, "Braeken & van Assen (2017)"),
        ("Kaiser (eigenvalue > 1)", ks.n_factors, False, "known to over-extract; not used in the consensus"),
    ]
    table = pd.DataFrame(rows, columns=["criterion", "n_factors", "used_in_consensus", "note"]).set_index("criterion")
    used = np.sort([r[1] for r in rows if r[2]])
    consensus = int(used[(len(used) - 1) // 2])
    return RetentionSummary(consensus, table, pa, mp, ks, ekc, sc, tuple(pa.diagnostics))
