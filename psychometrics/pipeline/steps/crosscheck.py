"""Optional step: the declared CFA model and the EFA re-fitted by independent libraries
(semopy, factor_analyzer) on the same rows — :mod:`psychometrics.crosscheck`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.state import CFAStep, CrosscheckStep, EFAStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    import pandas as pd

    from psychometrics.pipeline.options import ValidationOptions

__all__ = ["crosscheck_step", "require_engines"]


def require_engines() -> None:
    """Fail before any work when ``--crosscheck`` is asked for but the engines are not installed."""
    from psychometrics.crosscheck.result import require

    require("semopy", "--crosscheck (the CFA cross-check)")
    require("factor_analyzer", "--crosscheck (the EFA cross-check)")


def crosscheck_step(items: pd.DataFrame, calibration: pd.Index, validation: pd.Index, efa: EFAStep, cfa: CFAStep,
                    opts: ValidationOptions) -> CrosscheckStep:
    """Cross-check the declared CFA model (validation rows) and the EFA (calibration rows).

    Each cross-check that cannot run (e.g. too few complete rows, an EFA method factor_analyzer
    does not have) is a note, never an error.
    """
    from psychometrics.crosscheck import crosscheck_cfa, crosscheck_efa

    notes: list[str] = []
    cfa_check = efa_check = None
    try:
        cfa_check = crosscheck_cfa(cfa.syntax["correlated"], items.loc[validation])
    except PsychometricsError as exc:
        notes.append(f"CFA cross-check (semopy) not run: {why(exc)}")
    try:
        efa_check = crosscheck_efa(items.loc[calibration], efa.n_extracted, opts.efa_method, opts.rotation)
    except PsychometricsError as exc:
        notes.append(f"EFA cross-check (factor_analyzer) not run: {why(exc)}")
    return CrosscheckStep(cfa=cfa_check, efa=efa_check, notes=tuple(notes))
