"""Step 3, reliability: α, ω and the other coefficients of every score; ordinal α and
categorical ω when the items are treated as ordinal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.options import Estimation, ValidationOptions
from psychometrics.pipeline.state import ReliabilityStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.ordinal.shared import OrdinalRows
    from psychometrics.reliability import ScaleReliabilityResult
    from psychometrics.scale import Scale

__all__ = ["reliability_step", "ordinal_reliability", "GAMMA_DIAGONAL_ROWS"]

#: from this many rows on, categorical ω's DWLS weights come from Γ's exact diagonal (tables), not from Γ
GAMMA_DIAGONAL_ROWS = 10_000


def reliability_step(work: Responses, scale: Scale, opts: ValidationOptions, rng: np.random.Generator,
                     ordinal: bool, est: Estimation | None = None, ordinal_rows: OrdinalRows | None = None
                     ) -> ReliabilityStep:
    """All analysed rows; the bootstrap draws from ``rng`` (shared with the later seeded steps).

    With FIML (``est.fiml``, the default for ``missing: auto``/``fiml``) α, ω, λ, split-half and SEM
    come from the EM (FIML saturated) covariance matrix of every row with an answer (the bootstrap
    re-runs the EM per resample); ``missing: listwise`` keeps the complete rows of each score.
    ``ordinal_rows``: the run's shared codes and tables of the items (the polychoric input; issue 16)."""
    from psychometrics.reliability import scale_reliability

    missing = "fiml" if est is not None and est.fiml else "listwise"
    rel = scale_reliability(work, scale, missing=missing, n_boot=opts.n_boot, ci=opts.conf_level, seed=rng,
                            progress=False, total=scale.has_total)  # a total only when the spec declares one
    if not ordinal:
        return ReliabilityStep(result=rel)
    from psychometrics.pipeline.options import ordinal_missing

    return ordinal_reliability(rel, work.items, scale, missing=ordinal_missing(opts), ordinal_rows=ordinal_rows)


def ordinal_reliability(rel: ScaleReliabilityResult, items: pd.DataFrame, scale: Scale,
                        missing: str = "pairwise", share: bool = True,
                        ordinal_rows: OrdinalRows | None = None) -> ReliabilityStep:
    """Ordinal α (polychoric matrix) and categorical ω (WLSMV CFA) of every score beside ``rel``.

    ``items`` are the scored responses (reverse-keyed items already reversed), so the
    coefficients refer to the scored sum. ``missing="pairwise"`` (default): the polychoric
    matrix and the WLSMV fit use every row with an answer (pairwise deletion); ``"listwise"``
    complete rows only. Failures are notes, never errors. ``share``: one polychoric fit (with Γ) for
    both coefficients when the CFA's sample statistics are that fit's (``False``: two fits, as before).
    ``ordinal_rows``: the shared codes and tables of these rows (the same polychoric fit, from tables
    tabulated once for the run; :class:`~psychometrics.ordinal.shared.OrdinalRows`).
    """
    from psychometrics.cfa import fit_cfa, models
    from psychometrics.cfa.specification import observed_variables
    from psychometrics.ordinal import categorical_omega_from_cfa, ordinal_alpha
    from psychometrics.ordinal.shared import shared_polychoric

    notes: list[str] = []
    model = models.correlated_factors(scale)
    order = list(observed_variables(model))
    # One polychoric fit for ordinal α and the WLSMV CFA of categorical ω when the CFA's sample statistics
    # are this fit's (its items, in the model's order, and no row without answers for it to drop); else two.
    shared = share and sorted(order) == sorted(map(str, items.columns)) and not bool(items.isna().all(axis=1).any())
    # Categorical ω needs only the DWLS estimates, whose weights are 1/diag(Γ): from GAMMA_DIAGONAL_ROWS rows on
    # that diagonal is computed exactly from the bivariate tables (no pass over the rows for Γ's middle term, no
    # subsample above NACOV_ROWS; issue 16) — the same numbers up to summation order, so ω agrees to ~1e-12.
    # Below it (the demo) Γ is computed in full, as before, and every number is bit for bit the previous one.
    diagonal = len(items) >= GAMMA_DIAGONAL_ROWS
    poly = None
    if shared:
        try:
            poly = shared_polychoric(ordinal_rows, items.loc[:, order], missing=missing,
                                     acov="diagonal" if diagonal else True)
        except Exception:  # noqa: BLE001 - e.g. Γ undefined: ordinal α may still stand without it
            shared = False
        if poly is not None and (poly.dwls_weights if diagonal else poly.acov) is None:
            shared = False
    if poly is None:
        try:
            poly = shared_polychoric(ordinal_rows, items, missing=missing)  # ordinal α: the matrix only, no NACOV
        except Exception as exc:  # noqa: BLE001 - reported; the continuous coefficients stand alone
            notes.append(f"Ordinal α could not be computed (polychoric correlations: {why(exc)}); only the "
                         "continuous coefficients are reported.")
            return ReliabilityStep(result=rel, ordinal_notes=tuple(notes))
    rows = {}
    for s in scale.subscales:
        ids = list(scale.items_of(s.id))
        rows[s.id] = {"n": poly.n, "ordinal_alpha": ordinal_alpha(poly, ids) if len(ids) > 1 else math.nan}
    if scale.has_total:  # a total only when the spec declares one (scoring.total or a hierarchy)
        rows["total"] = {"n": poly.n, "ordinal_alpha": ordinal_alpha(poly, list(items.columns))}
    tab = pd.DataFrame(rows).T
    tab["categorical_omega"] = math.nan
    try:
        if shared:  # what fit_cfa(estimator="WLSMV") computes first (ordinal_sample_stats), from this fit
            from psychometrics.cfa.categorical import fit_categorical
            from psychometrics.ordinal.group_stats import _from_polychoric

            stats = _from_polychoric(poly, order, diagonal=diagonal)
            fit = fit_categorical(model, [stats], groups=("all",), diagnostics=[])
        else:
            fit = fit_cfa(model, items, estimator="WLSMV", missing=missing)
        if not fit.converged:
            raise PsychometricsError("the WLSMV CFA did not converge")
        om = categorical_omega_from_cfa(fit)
        for sid, v in om.items():
            if sid in tab.index:
                tab.loc[sid, "categorical_omega"] = float(v)
    except Exception as exc:  # noqa: BLE001 - reported; ordinal α still stands
        notes.append(f"Categorical ω could not be computed ({why(exc)}).")
    return ReliabilityStep(result=rel, ordinal_table=tab, ordinal_notes=tuple(notes), polychoric=poly)

