"""The result of scoring (:class:`ScoreResult`) and what it knows of a scoring key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic
from psychometrics.scoring.norm_tables import Norms
from psychometrics.scoring.rules import ScoreDefinition, ScoringRules

__all__ = ["ScoreResult"]


class KeyView(Protocol):
    """What scoring reads from a :class:`~psychometrics.scoring.ScoringKey`.

    ``ScoringKey.build`` scores its calibration sample, so the key module sits above the
    scoring stages and this result; they know a key by this interface, not by its class.
    """

    @property
    def rules(self) -> ScoringRules: ...

    @property
    def reliability(self) -> dict[str, dict[str, Any]]: ...

    @property
    def invariance(self) -> dict[str, Any] | None: ...

    @property
    def norms(self) -> Norms | None: ...

    def check_scale(self, scale: Any) -> None: ...

    def scale(self) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, eq=False)
class ScoreResult(ResultMixin):
    """Scores of one data set.

    Attributes
    ----------
    scores : DataFrame
        One row per input row, same index and order as the input; the id column
        first (when given), then one column per score (``definitions``), then norm
        columns ``<score>_z``, ``<score>_T``, ``<score>_pr``, ``<score>_stanine``
        (when norms are applied), then factor scores ``fs_<factor>`` (when requested).
    n_answered : DataFrame
        Number of answered items per row and score.
    not_scored : DataFrame
        Rows left missing, by score (index) and reason (columns
        ``no_items_answered``, ``too_few_answered``).
    sem : DataFrame
        Per score: ``sd``, ``reliability``, ``coefficient``, ``sem``
        (= sd * sqrt(1 - reliability)) and ``source`` of sd and reliability
        (``"key"`` = calibration sample of the scoring key, ``"data"`` = these data,
        ``"given"`` = passed by the caller).
    descriptives : DataFrame
        Per score: n scored, mean, sd, min, max in these data.
    missing_codes : Series
        Per item: how many declared missing codes were set to missing.
    definitions : tuple of ScoreDefinition
    method : str
    min_answered : float
    n_rows : int
    factor_method : str or None
    factor_names : tuple of str
    group : Series or None
        The group label of each row, when a group was given (or found: the group of a
        ``Responses`` object, the key's invariance grouping variable).
    norms : Norms or None
        The norms applied (if any).
    key : ScoringKey or None
        The key the data were scored with (if any).
    diagnostics : tuple of Diagnostic
    """

    scores: pd.DataFrame
    n_answered: pd.DataFrame
    not_scored: pd.DataFrame
    sem: pd.DataFrame
    descriptives: pd.DataFrame
    missing_codes: pd.Series
    definitions: tuple[ScoreDefinition, ...]
    method: str
    min_answered: float
    n_rows: int
    response_min: float | None = None
    response_max: float | None = None
    id_column: str | None = None
    factor_method: str | None = None
    factor_names: tuple[str, ...] = ()
    group: pd.Series | None = None
    norms: Norms | None = None
    key: KeyView | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Scores"

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def _tables(self) -> dict[str, pd.DataFrame]:  # per-row tables are too long to print
        return {"descriptives": self.descriptives, "not_scored": self.not_scored,
                "sem": self.sem}

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["key"] = None if self.key is None else self.key.to_dict()
        return d

    @property
    def score_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.definitions)
