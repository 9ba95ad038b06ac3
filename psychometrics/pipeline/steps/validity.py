"""Step 7, validity: CR/AVE/Fornell–Larcker/HTMT of the declared model, the scores, and the
validity hypotheses against the companion measures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from psychometrics.exceptions import PsychometricsError
from psychometrics._linalg import single_thread_blas
from psychometrics.pipeline.options import Estimation, ValidationOptions
from psychometrics.pipeline.state import CFAStep, ValidityStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.cfa import CFAResult
    from psychometrics.data import Responses
    from psychometrics.scale import Scale
    from psychometrics.validity import ConstructValidity

__all__ = ["validity_step"]


@single_thread_blas  # matrix products over 10⁶ rows × a few columns: threaded BLAS only adds hand-off cost
def validity_step(work: Responses, comps: Mapping[str, Responses], scale: Scale, cfa: CFAStep,
                  validation: pd.Index, opts: ValidationOptions, est: Estimation | None = None) -> ValidityStep:
    """Construct validity from the declared CFA (validation rows); scores and hypotheses from all analysed rows.

    The declared CFA is the CFA step's fit, with its estimator and missing-data method (FIML + MLR for
    continuous items, pairwise WLSMV for ordinal ones by default); HTMT uses that fit's sample
    correlations — the EM (FIML saturated) or the pairwise polychoric matrix of the same rows — or,
    listwise, the complete rows. ``est`` words an ML refit when a WLSMV fit cannot give the numbers."""
    from psychometrics.scoring import score
    from psychometrics.validity import evaluate_hypotheses, observed_scores

    notes: list[str] = []
    cv, n_cv = _construct_validity(work, cfa, validation, notes, est or Estimation("ML", "listwise"))
    scores = score(scale, work)
    # the companions' scores and descriptives are reported, their SEM is not: no α of their items (issue 16:
    # the pairwise sums over every row were a third of scoring a companion measure)
    comp_scores = {cid: score(c.scale, c, reliability=None) for cid, c in comps.items()}
    hypotheses = None
    usable = [h for h in scale.validity if h.measure in comp_scores]
    if usable:
        frames = {scale.id: scores.scores.loc[:, list(scores.score_names)]}
        for cid, sc in comp_scores.items():
            frames[cid] = sc.scores.loc[:, list(sc.score_names)].reindex(scores.scores.index)
        obs = observed_scores(frames)
        try:
            hypotheses = evaluate_hypotheses(usable, obs, scale_id=scale.id, conf_level=opts.conf_level)
        except PsychometricsError as exc:
            notes.append(f"Validity hypotheses could not be evaluated: {exc}")
    return ValidityStep(construct_validity=cv, hypotheses=hypotheses, notes=tuple(notes), scores=scores,
                        companion_scores=comp_scores, n=n_cv)


def _construct_validity(work: Responses, cfa: CFAStep, validation: pd.Index, notes: list[str],
                        est: Estimation) -> tuple[ConstructValidity | None, int | None]:
    """CR/AVE/HTMT of the declared model and the n behind them; from an ML-family refit with the run's
    missing-data method when the WLSMV fit cannot give them (said in ``notes``)."""
    main = cfa.main
    if main is None:
        notes.append("CR/AVE/HTMT were not computed: the correlated-factors CFA could not be fitted.")
        return None, None
    if not main.converged:
        notes.append("CR/AVE/HTMT were not computed: the correlated-factors CFA did not converge, so its estimates "
                     "are not interpretable.")
        return None, None
    rows: list[pd.DataFrame] = []

    def items() -> pd.DataFrame:  # the validation rows, copied once and only when a listwise or ML fit needs them
        if not rows:
            rows.append(work.items.loc[validation])
        return rows[0]

    try:
        return _from_fit(main, items, notes), _n(main)
    except Exception as exc:  # noqa: BLE001 - WLSMV fits may lack what it needs: fall back to ML, say so
        if main.estimator == "WLSMV":
            try:
                from psychometrics.cfa import fit_cfa

                fit = fit_cfa(cfa.syntax["correlated"], items(), estimator=est.estimator, missing=est.missing)
                cv = _from_fit(fit, items, notes)
            except Exception as exc2:  # noqa: BLE001 - reported, never a crash
                notes.append(f"CR/AVE/HTMT could not be computed: {why(exc2)}")
                return None, None
            notes.append(f"CR/AVE/HTMT are computed from the {est.label} fit of the declared model: they could "
                         f"not be computed from the WLSMV fit ({why(exc)}).")
            return cv, _n(fit)
        notes.append(f"CR/AVE/HTMT could not be computed: {why(exc)}")
        return None, None


def _n(fit: CFAResult) -> int:
    return int(sum(fit.nobs.values()))


def _from_fit(fit: CFAResult, items: Callable[[], pd.DataFrame], notes: list[str]) -> ConstructValidity:
    """construct_validity of ``fit``; HTMT from the fit's own sample correlations unless it is listwise."""
    from psychometrics.validity import construct_validity

    listwise = fit.estimator != "WLSMV" and getattr(fit, "missing", "listwise") == "listwise"
    if listwise:
        return construct_validity(fit, items())
    cv = construct_validity(fit, fit.sample_cov)  # a square matrix: htmt uses it as semTools' sample.cov
    kind = ("pairwise polychoric correlations" if fit.estimator == "WLSMV"
            else "EM (FIML saturated-model) correlations")
    notes.append(f"CR, AVE and the latent correlations are from the declared CFA ({fit.estimator}, n = {_n(fit)} "
                 f"validation rows with at least one answered item); HTMT from the {kind} of the same rows.")
    return cv
