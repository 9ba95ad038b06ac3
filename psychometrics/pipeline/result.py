"""What :func:`~psychometrics.pipeline.validate` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic

if TYPE_CHECKING:
    from psychometrics.categorical_invariance import CategoricalInvarianceResult
    from psychometrics.cfa import CFAResult
    from psychometrics.data import Responses
    from psychometrics.efa import BartlettResult, EFAResult, KMOResult, MAPResult, ParallelAnalysisResult
    from psychometrics.invariance import InvarianceResult
    from psychometrics.items import ItemAnalysisResult
    from psychometrics.reliability import ScaleReliabilityResult
    from psychometrics.report.context import Verdict
    from psychometrics.scale import Scale
    from psychometrics.scoring import ScoreResult, ScoringKey
    from psychometrics.validity import ConstructValidity, HypothesisEvaluation

__all__ = ["ValidationResult", "verdict_frame"]


@dataclass(frozen=True, eq=False)
class ValidationResult(ResultMixin):
    """Everything :func:`validate` found.

    Attributes
    ----------
    scale : Scale
    responses : Responses
        The loaded responses (all rows used; see ``analysed``).
    companions : dict
        Companion measure id → its :class:`~psychometrics.data.Responses`.
    analysed : pandas.Index
        Row labels analysed (``responses.items.index`` minus excluded careless rows).
    calibration, validation : pandas.Index
        Row labels of the EFA and CFA samples.
    items : ItemAnalysisResult
    reliability : ScaleReliabilityResult
    kmo, bartlett, parallel, map, efa
        EFA-step results (``parallel``/``map`` None when retention could not run).
    cfa : dict
        Model name → :class:`~psychometrics.cfa.CFAResult` (models that could be fitted).
    cfa_comparison : DataFrame
        Fit of the competing models.
    invariance : object or None
        The result of :func:`psychometrics.invariance.measurement_invariance`.
    construct_validity : ConstructValidity or None
    hypotheses : HypothesisEvaluation or None
    scores : ScoreResult
    scoring_key : ScoringKey
    verdicts : tuple of Verdict
        The executive summary.
    results : dict
        The ``results.json`` content.
    html : str
        The report.
    timings : dict
        Seconds per step (not in ``results.json``, which is deterministic).
    diagnostics : tuple of Diagnostic
        Every step's diagnostics, prefixed with the step.
    """

    scale: Scale
    responses: Responses
    companions: dict[str, Responses]
    analysed: pd.Index
    calibration: pd.Index
    validation: pd.Index
    items: ItemAnalysisResult
    reliability: ScaleReliabilityResult
    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelAnalysisResult | None
    map: MAPResult | None
    efa: EFAResult
    cfa: dict[str, CFAResult]
    cfa_comparison: pd.DataFrame
    invariance: InvarianceResult | CategoricalInvarianceResult | None
    construct_validity: ConstructValidity | None
    hypotheses: HypothesisEvaluation | None
    scores: ScoreResult
    scoring_key: ScoringKey
    verdicts: tuple[Verdict, ...]
    results: dict[str, Any] = field(repr=False)
    html: str = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Validation"

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` content."""
        return self.results

    def to_frame(self) -> pd.DataFrame:
        """The executive summary: one row per criterion."""
        return verdict_frame(self.verdicts)

    def _scalars(self) -> dict[str, Any]:
        return {"respondents analysed": len(self.analysed), "calibration n": len(self.calibration),
                "validation n": len(self.validation)}

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.to_frame(), "CFA models": self.cfa_comparison}


def verdict_frame(verdicts: Sequence[Verdict]) -> pd.DataFrame:
    """One row per verdict: criterion, status, value (floats to 3 decimals), rule, reference."""
    return pd.DataFrame(
        [{"criterion": v.criterion, "status": v.status, "value": v.value if not isinstance(v.value, float)
          else round(v.value, 3), "rule": v.rule, "reference": v.reference} for v in verdicts],
    )
