"""Step 8, the scoring key: the spec's scoring rules with the reliabilities, the invariance
level and the norms of all analysed rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psychometrics._linalg import single_thread_blas
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import InvarianceStep, IRTStep, ReliabilityStep

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.scale import Scale
    from psychometrics.scoring import ScoreResult, ScoringKey

__all__ = ["scoring_step", "with_irt"]


@single_thread_blas  # as the validity step: thin products over all rows
def scoring_step(work: Responses, scale: Scale, reliability: ReliabilityStep, invariance: InvarianceStep,
                 opts: ValidationOptions, irt: IRTStep | None = None, scores: ScoreResult | None = None
                 ) -> ScoringKey:
    """The key of :class:`psychometrics.scoring.ScoringKey` (coefficient: ω total); with the IRT step,
    the GRM calibrations and sum-score → EAP tables of every score.

    ``scores``: the validity step's ``score(scale, work)``, reused for the key's n and norms instead of
    scoring every row again (the same numbers: ``ScoringKey.build(scores=...)``)."""
    from psychometrics.scoring import ScoringKey

    key = ScoringKey.build(scale, work, reliability=reliability.result, invariance=_invariance_entry(
        work, invariance, opts), norms=True, description=(f"all {len(work.items)} respondents analysed by "
                                                          f"psychometrics validate (data {Path(str(work.source)).name})"),
        coefficient="omega_total", scores=scores)
    return key if irt is None else with_irt(key, irt)


def with_irt(key: ScoringKey, irt: IRTStep) -> ScoringKey:
    """The key with the IRT step's GRM calibrations and sum-score → EAP tables of every score (unchanged
    without calibrations): what :func:`scoring_step` adds given ``irt`` — for a key built while the IRT
    step still ran in its worker process."""
    if not irt.calibrations:
        return key
    import dataclasses

    from psychometrics.irt.keyio import calibration_to_key

    entry = {sid: calibration_to_key(cal, irt.sum_scores.get(sid)) for sid, cal in irt.calibrations.items()}
    return dataclasses.replace(key, irt=entry)


def _invariance_entry(work: Responses, invariance: InvarianceStep, opts: ValidationOptions) -> dict[str, Any] | None:
    """The key's invariance record: level, groups and notes (None without a grouping variable)."""
    inv = invariance.result
    if inv is not None:
        entry: dict[str, Any] = {"level": invariance.level_text, "group_variable": opts.group,
                                 "groups": [str(g) for g in (inv.groups or sorted(work.group.astype(str).unique()))]}
        notes = [f"rule: {inv.rule}"]
        released = invariance.released
        if released:
            notes.append("released across groups (partial invariance): " + ", ".join(released))
        if invariance.non_invariant_items:
            notes.append("non-invariant items: " + ", ".join(invariance.non_invariant_items))
        entry["notes"] = "; ".join(notes)
        return entry
    if opts.group is not None:
        return {"level": "not assessed", "group_variable": opts.group, "groups": sorted(map(str, work.group.unique())),
                "notes": invariance.note or ""}
    return None
