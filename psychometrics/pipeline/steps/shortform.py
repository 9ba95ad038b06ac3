"""Optional step after item response theory (option ``short_form``): choose a short form with
``short_form`` items per subscale on the calibration sample and re-validate it on the validation
sample — α/ω, the correlated-factors CFA, measurement invariance across ``--group`` and the
overlap-corrected short–full correlation (:func:`psychometrics.irt.shortform.short_form`; the
same procedure as ``psychometrics shorten``). Failures are a note, never an error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.pipeline.state import DataStep
    from psychometrics.scale import Scale

__all__ = ["ShortFormStep", "short_form_step"]


@dataclass(frozen=True, eq=False)
class ShortFormStep:
    """The short form (:class:`~psychometrics.irt.shortform.ShortForm`) or None with the reason."""

    result: Any
    per_subscale: int
    note: str | None = None


def short_form_step(d: DataStep, scale: Scale, opts: ValidationOptions, ordinal: bool = False) -> ShortFormStep:
    """Short form of ``opts.short_form`` items per subscale (calibration rows → validation rows)."""
    from psychometrics.irt.shortform import short_form

    n = int(opts.short_form or 0)
    work = d.work
    subscales = {s.id: list(scale.items_of(s.id)) for s in scale.subscales}
    group = work.group if opts.group is not None else None
    try:
        sf = short_form(work.items, subscales, d.calibration, d.validation, per_subscale=n, group=group,
                         invariance_rule=opts.invariance_rule, ordinal=ordinal)
    except PsychometricsError as exc:
        return ShortFormStep(None, n, note=f"The short form could not be chosen: {why(exc)}")
    return ShortFormStep(sf, n)
