"""Unidimensional IRT calibration by marginal maximum likelihood (GRM, GPCM, 2PL)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics._validation import dependent_items, name_list
from psychometrics.exceptions import ConvergenceWarning, DataError, DataQualityWarning
from psychometrics.irt._data import IRTData, prepare_responses, quadrature
from psychometrics.irt._engine import Engine
from psychometrics.irt.results import IRTCalibration
from psychometrics._text import quote

__all__ = ["calibrate", "calibration_from_vector"]

_MODELS = {"grm": "grm", "gpcm": "gpcm", "2pl": "grm"}


@single_thread_blas
def calibrate(
    data: pd.DataFrame,
    items: list[str] | None = None,
    model: str = "grm",
    *,
    quadrature_rule: str = "gauss-hermite",
    quadrature_points: int = 21,
    categories: dict[str, list[float]] | None = None,
    tol: float = 1e-8,
    max_em: int = 2000,
    link: str = "logit",
) -> IRTCalibration:
    """Calibrate a unidimensional IRT model by marginal maximum likelihood.

    Bock–Aitkin EM (Bock & Aitkin 1981) on a fixed quadrature for θ ~ N(0, 1), finished by
    Newton steps on the marginal log-likelihood with the observed information of Louis (1982);
    converged when max |∂ℓ/∂ξ| / N < ``tol`` (the exact marginal gradient).

    Parameters
    ----------
    data : DataFrame
        Item responses (numbers; NaN = missing). Categories are recoded to 0..K_j−1 in the
        order of their values; a declared category (``categories``) nobody chose is collapsed
        and warned about.
    model : {"grm", "gpcm", "2pl"}
        Graded response (Samejima 1969), generalized partial credit (Muraki 1992) or the
        two-parameter logistic model (binary items). Rasch-family models: :func:`fit_cml`.
    quadrature_rule, quadrature_points
        ``gauss-hermite`` (default, 21 points) or ``equal`` (equally spaced on [−6, 6]).
    link : {"logit", "probit"}
        ``probit`` fits the normal-ogive GRM / 2PL, P(X ≥ k | θ) = Φ(aθ + c_k) — lavaan's
        ``estimator = "MML"`` metric with a = λ (loading) and c_k = −τ_k (threshold).

    Returns
    -------
    IRTCalibration

    Notes
    -----
    Validated against the Python ``mirt`` package and the exact maximiser of the same
    quadrature likelihood (tests/reference/irt/mirt_*.json): estimates to 1e−4 of the exact
    optimum, 1e−3 of mirt; log-likelihood to 1e−6; SEs to 1e−3 relative. The normal-ogive
    GRM / 2PL against lavaan 0.6 ``estimator = "MML"`` (lavaan_mml_*.json): estimates 1e−4,
    log-likelihood 1e−6 (tests/test_irt_probit.py).
    """
    key = str(model).lower()
    if key not in _MODELS:
        raise ValueError(f"unknown IRT model {quote(model)}; use 'grm', 'gpcm' or '2pl' (Rasch family: fit_cml)")
    if link not in ("logit", "probit") or (link == "probit" and key == "gpcm"):
        raise ValueError(f"link {quote(link)} with model {quote(model)}: use 'logit', or 'probit' with 'grm'/'2pl'")
    prepared = prepare_responses(data, items, categories)
    if key == "2pl" and any(k != 2 for k in prepared.n_categories):
        bad = [i for i, k in zip(prepared.items, prepared.n_categories) if k != 2]
        raise DataError(f"2PL needs binary items; not binary: {', '.join(bad[:10])}")
    nodes, weights = quadrature(quadrature_rule, quadrature_points)
    engine_model = "grm_probit" if link == "probit" else _MODELS[key]
    # what needs the rows' codes comes first: above _WARM_PATTERNS patterns (a long total at 10⁵–10⁶
    # respondents) the fit then holds only the distinct patterns (the codes: 8 bytes per answer, 0.22 GB at 10⁶ × 28)
    redundant = _redundant_items(prepared)
    x0, chord = _warm_start(prepared, engine_model, nodes, weights, tol, max_em)
    n_rows = int(prepared.codes.shape[0])
    if prepared.patterns.shape[0] > _WARM_PATTERNS:
        prepared = dataclasses.replace(prepared, codes=prepared.codes[:0])
    engine = Engine(prepared, engine_model, nodes, weights)
    out = engine.fit(x0=x0, tol=tol, max_em=max_em, chord=chord, se_rows=SE_ROWS)
    diagnostics = []
    if out.get("se_rows"):
        diagnostics.append(
            f"standard errors: {prepared.patterns.shape[0]:,} distinct response patterns, so the posterior-variance "
            f"(missing-information) term of the observed information was estimated from a fixed random "
            f"{SE_ROWS:,} of the {n_rows:,} respondents (Louis 1982; its exact sum costs one "
            "parameters² product per pattern and node); the estimates, the log-likelihood and the complete-data "
            "term use every respondent (SEs within about 1 % of the exact ones, docs/large-samples.md)")
    if not out["converged"]:
        msg = (
            f"IRT ({key}): not converged after {out['em_cycles']} EM cycles and {out['newton_steps']} Newton steps "
            f"(max |gradient|/N = {np.max(np.abs(out['grad'])) / engine.n:.2e}); estimates are provisional"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        diagnostics.append(msg)
    diagnostics += _extreme_patterns(prepared)
    if redundant:
        warnings.warn(redundant, DataQualityWarning, stacklevel=2)
        diagnostics.append(redundant)
    if prepared.collapsed:
        diagnostics.append(
            "collapsed categories (chosen by nobody): " + ", ".join(f"{i}={v:g}" for i, v in prepared.collapsed)
        )
    return calibration_from_vector(
        key, prepared, engine, out["x"], out["information"], out["loglik"], out, quadrature_rule, tuple(diagnostics),
        link=link, n_obs=n_rows,
    )


def _redundant_items(prepared: IRTData) -> str | None:
    """A note naming items that are copies, reversed copies or linear combinations of others
    (on the complete rows): their slopes are not identified and grow without bound.

    The correlations of the complete rows from their exact moments: the codes' sums and cross-products
    are integers, summed block by block in float64 without rounding (below 2⁵³), so n·Σxxᵀ − ΣxΣxᵀ is
    exact and only the final scaling rounds — np.corrcoef's matrix to ≈ 10⁻¹⁵ without its float copy of
    the rows (tests/test_irt.py::test_redundancy_correlations_from_exact_moments_equal_corrcoef)."""
    r = _complete_correlations(prepared.patterns, prepared.counts)
    if r is None:
        return None
    dep = dependent_items(r, list(prepared.items))
    if not dep:
        return None
    return (f"items {name_list(dep)} are linearly dependent on the complete rows (copies, reversed copies or a "
            "combination of others): their slopes are not identified; remove the redundant items")


def _complete_correlations(codes: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray | None:
    """Correlations of the complete rows of the codes (None: at most J complete rows or a constant item).

    ``counts``: the codes are distinct patterns, each standing for this many rows — the same integer sums
    (a subscale at 10⁶ rows: ≈ 25,000 patterns instead of 10⁶ rows), so the same correlations bit for bit."""
    complete = np.all(codes >= 0, axis=1)
    f = np.ones(codes.shape[0]) if counts is None else np.asarray(counts, dtype=float)
    n, j = int(round(float(f[complete].sum()))), codes.shape[1]
    if n <= j:
        return None
    sums, cross = np.zeros(j), np.zeros((j, j))
    for lo in range(0, codes.shape[0], _MOMENT_BLOCK):
        keep = complete[lo: lo + _MOMENT_BLOCK]
        x = codes[lo: lo + _MOMENT_BLOCK][keep].astype(float)
        fx = x if counts is None else x * f[lo: lo + _MOMENT_BLOCK][keep][:, None]
        sums += fx.sum(axis=0)
        cross += fx.T @ x
    cen = n * cross - np.outer(sums, sums)  # integers (exact): n² × the covariance with divisor n
    var = np.diag(cen).copy()
    if np.any(var <= 0):  # a constant item (n Σx² = (Σx)² exactly)
        return None
    sd = np.sqrt(var)
    r = cen / sd[:, None] / sd[None, :]
    np.fill_diagonal(r, 1.0)
    return r


#: rows per block of the redundancy check's moments
_MOMENT_BLOCK = 1 << 16


#: above this many distinct response patterns (a long total score at 10⁶ respondents) the SEs' observed
#: information takes its missing-information term from a fixed random SE_ROWS respondents (method change
#: above a size threshold: recorded in the calibration's diagnostics; tests/test_irt.py)
SE_ROWS = 100_000

#: above this many distinct response patterns the full-data fit starts from a subsample's
_WARM_PATTERNS = 50_000
#: respondents of the subsample start: with 10,000 instead of 20,000 the full data take as many Newton steps
#: at 10⁶ rows (6) and one more at 10⁵ (7; measured), at half the start's cost
_WARM_ROWS = 10_000
#: the subsample's convergence criterion (max |∂ℓ/∂ξ| / N): its estimate is only the full data's start
_WARM_TOL = 1e-4


def _warm_start(prepared: IRTData, model: str, nodes: np.ndarray, weights: np.ndarray, tol: float,
                max_em: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """At large n (more than ``_WARM_PATTERNS`` distinct patterns, e.g. a long total score at 10⁵–10⁶
    respondents) every EM cycle and the observed information cost O(patterns). The model is
    then first calibrated on ``_WARM_ROWS`` respondents drawn with a fixed seed, and the full
    data's Newton iterations start from that estimate with its information (scaled to n) as
    the chord: no EM cycles and one observed information (for the SEs) on the full data instead
    of dozens of passes. The full-data estimate is the same — it is converged on the full
    data's exact gradient with the same criterion. (None, None) when not needed or when the
    subsample misses a category of some item."""
    if prepared.patterns.shape[0] <= _WARM_PATTERNS:
        return None, None
    from psychometrics.irt._data import _unique_patterns

    n = prepared.codes.shape[0]
    rows = np.sort(np.random.default_rng(0).choice(n, size=min(_WARM_ROWS, n), replace=False))
    codes = prepared.codes[rows]
    for j, k in enumerate(prepared.n_categories):
        if np.unique(codes[:, j][codes[:, j] >= 0]).size != k:
            return None, None
    patterns, inverse, counts = _unique_patterns(codes)
    sub = IRTData(items=prepared.items, codes=codes, n_categories=prepared.n_categories,
                  category_values=prepared.category_values, collapsed=prepared.collapsed, n_dropped_rows=0,
                  patterns=patterns, counts=counts.astype(float), inverse=inverse.ravel())
    engine = Engine(sub, model, nodes, weights, grouped=True)
    engine.blas_scores_above = 0  # (the same information in BLAS's summation order)
    # the start need not be the subsample's maximum to 1e-8: it is ≈ 1/√10,000 from the full data's anyway,
    # and the full-data Newton steps converge with the full criterion from wherever they start
    out = engine.fit(tol=max(tol, _WARM_TOL), max_em=max_em)
    if not out["converged"] or out["information"] is None:
        return None, None
    return out["x"], out["information"] * (float(prepared.counts.sum()) / float(sub.counts.sum()))


def _extreme_patterns(prepared: IRTData) -> list[str]:
    codes = prepared.patterns  # the distinct patterns with their counts: the same respondents counted
    kmax = np.asarray(prepared.n_categories) - 1
    some = (codes >= 0).any(axis=1)  # (codes −1 missing: a pattern at or below 0 / at its top or missing)
    low = np.all(codes <= 0, axis=1) & some
    high = np.all((codes == kmax[None, :]) | (codes < 0), axis=1) & some
    n_low, n_high = int(round(float(prepared.counts[low].sum()))), int(round(float(prepared.counts[high].sum())))
    out = []
    if n_low or n_high:
        msg = (
            f"extreme response patterns: {n_low} respondent(s) chose the lowest and {n_high} the "
            "highest category of every item; their ML θ is infinite (EAP is finite and reported)"
        )
        warnings.warn(f"IRT: {msg}", DataQualityWarning, stacklevel=3)
        out.append(msg)
    return out


def _labels(prepared: IRTData) -> list[str]:
    return [f"{i}:{'a' if s == 0 else f'c{s}'}" for i, k in zip(prepared.items, prepared.n_categories) for s in range(k)]


def calibration_from_vector(
    model: str,
    prepared: IRTData,
    engine: Engine,
    x: np.ndarray,
    information: np.ndarray,
    loglik: float,
    out: dict,
    rule: str,
    diagnostics: tuple[str, ...],
    link: str = "logit",
    covariance: np.ndarray | None = None,
    n_obs: int | None = None,
) -> IRTCalibration:
    """Assemble the result: parameter table in both parameterisations with SEs (``covariance``
    given: used as is — a constrained model's W Cov(η) Wᵀ, irt/rasch_mml.py)."""
    labels = _labels(prepared)
    diag = list(diagnostics)
    try:
        cov = np.linalg.inv(information) if covariance is None else covariance
        if np.any(np.diag(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full((x.size, x.size), np.nan)
        diag.append("observed information not positive definite: no standard errors")
    kmax = max(prepared.n_categories)
    rows, no_se_b = {}, []
    for j, item in enumerate(prepared.items):
        k = prepared.n_categories[j]
        o = int(engine.offs[j])
        a = x[o]
        row: dict[str, float] = {"a": a, "se_a": np.sqrt(cov[o, o])}
        for s in range(1, kmax):
            if s < k:
                c = x[o + s]
                grad = np.array([c / a**2, -1.0 / a])  # ∂b/∂(a, c)
                sub = cov[np.ix_([o, o + s], [o, o + s])]
                var_b = float(grad @ sub @ grad)
                if not var_b >= 0 and np.isfinite(cov).all():
                    no_se_b.append(item)
                row.update({f"c{s}": c, f"b{s}": -c / a, f"se_c{s}": np.sqrt(cov[o + s, o + s]),
                            f"se_b{s}": np.sqrt(var_b) if var_b >= 0 else np.nan})
            else:
                row.update({f"c{s}": np.nan, f"b{s}": np.nan, f"se_c{s}": np.nan, f"se_b{s}": np.nan})
        rows[item] = row
    cols = ["a"] + [f"c{s}" for s in range(1, kmax)] + [f"b{s}" for s in range(1, kmax)]
    cols += ["se_a"] + [f"se_c{s}" for s in range(1, kmax)] + [f"se_b{s}" for s in range(1, kmax)]
    if no_se_b:
        diag.append(f"no standard errors of the thresholds b of items {name_list(dict.fromkeys(no_se_b))}: their "
                    "sampling covariance is not positive semi-definite (nearly unidentified slopes)")
    params = pd.DataFrame.from_dict(rows, orient="index")[cols]
    params.index.name = "item"
    n = int(prepared.codes.shape[0]) if n_obs is None else n_obs  # (the codes may be dropped at large n)
    p = int(x.size)
    return IRTCalibration(
        model=model,
        items=prepared.items,
        n_obs=n,
        n_patterns=int(prepared.patterns.shape[0]),
        loglik=float(loglik),
        n_parameters=p,
        aic=float(-2 * loglik + 2 * p),
        bic=float(-2 * loglik + np.log(n) * p),
        converged=bool(out["converged"]),
        em_cycles=int(out["em_cycles"]),
        newton_steps=int(out["newton_steps"]),
        max_abs_gradient=float(np.max(np.abs(out["grad"]))),
        quadrature_rule=rule,
        quadrature_points=int(engine.theta.size),
        parameters=params,
        covariance=pd.DataFrame(cov, index=labels, columns=labels),
        category_values=dict(zip(prepared.items, prepared.category_values)),
        nodes=engine.theta,
        weights=np.exp(engine.logw),
        collapsed_categories=prepared.collapsed,
        n_dropped_rows=prepared.n_dropped_rows,
        diagnostics=tuple(diag),
        link=link,
    )
