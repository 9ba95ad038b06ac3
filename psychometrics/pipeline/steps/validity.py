"""Step 7, validity: CR/AVE/Fornell–Larcker/HTMT of the declared model, the scores, and the
validity hypotheses against the companion measures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import CFAStep, ValidityStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.scale import Scale
    from psychometrics.validity import ConstructValidity

__all__ = ["validity_step"]


def validity_step(work: Responses, comps: Mapping[str, Responses], scale: Scale, cfa: CFAStep,
                  validation: pd.Index, opts: ValidationOptions) -> ValidityStep:
    """Construct validity from the declared CFA (validation rows); scores and hypotheses from all analysed rows."""
    from psychometrics.scoring import score
    from psychometrics.validity import evaluate_hypotheses, observed_scores

    notes: list[str] = []
    cv = _construct_validity(work, cfa, validation, notes)
    scores = score(scale, work)
    comp_scores = {cid: score(c.scale, c) for cid, c in comps.items()}
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
                        companion_scores=comp_scores)


def _construct_validity(work: Responses, cfa: CFAStep, validation: pd.Index,
                        notes: list[str]) -> ConstructValidity | None:
    """CR/AVE/HTMT of the declared model; from its ML refit when the WLSMV fit cannot give them (said in ``notes``)."""
    from psychometrics.validity import construct_validity

    main = cfa.main
    if main is None:
        notes.append("CR/AVE/HTMT were not computed: the correlated-factors CFA could not be fitted.")
        return None
    if not main.converged:
        notes.append("CR/AVE/HTMT were not computed: the correlated-factors CFA did not converge, so its estimates "
                     "are not interpretable.")
        return None
    items = work.items.loc[validation]
    try:
        return construct_validity(main, items)
    except Exception as exc:  # noqa: BLE001 - WLSMV fits may lack what it needs: fall back to ML, say so
        if main.estimator != "WLSMV":
            notes.append(f"CR/AVE/HTMT could not be computed: {why(exc)}")
            return None
        try:
            from psychometrics.cfa import fit_cfa

            cv = construct_validity(fit_cfa(cfa.syntax["correlated"], items), items)
        except Exception as exc2:  # noqa: BLE001 - reported, never a crash
            notes.append(f"CR/AVE/HTMT could not be computed: {why(exc2)}")
            return None
        notes.append(f"CR/AVE/HTMT are computed from the maximum-likelihood fit of the declared model: they could "
                     f"not be computed from the WLSMV fit ({why(exc)}).")
        return cv
