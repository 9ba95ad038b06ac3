"""Scoring item responses: :func:`score`, the public entry.

It resolves what the data are scored with (a scoring key, a key or scale file, a scale,
``ScoringRules`` or a ``psych``-style keys list) and runs the stages of
:mod:`psychometrics.scoring.stages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics.exceptions import ScoringKeyError
from psychometrics.scoring._input import ScoringSource, scoring_source
from psychometrics.scoring.key import ScoringKey
from psychometrics.scoring.norm_tables import Norms
from psychometrics.scoring.result import ScoreResult
from psychometrics.scoring.stages import run_scoring
from psychometrics._text import quote

__all__ = ["score"]


def score(
    scale_or_key: Any,
    data: Any,
    min_answered: float | None = None,
    method: str | None = None,
    id_column: str | None = None,
    factor_scores: Any = None,
    norms: Norms | bool | None = None,
    *,
    factor_method: str = "regression",
    reliability: Mapping[str, float] | str | None = "alpha",
    group: str | pd.Series | None = None,
    response_range: tuple[float, float] | None = None,
    total: bool = False,
    stanine_from: str = "percentile",
    columns: Mapping[str, str] | None = None,
    read_options: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """Score item responses: subscale and total scores, SEM, norms, factor scores.

    Parameters
    ----------
    scale_or_key : Scale, ScoringKey, ScoringRules, mapping or path
        What to score with. A :class:`~psychometrics.scale.Scale`; a
        :class:`ScoringKey` (then data are checked against the key); a path to a
        scoring key file (name starts with ``scoring_key``) or to a scale YAML; or a
        ``psych``-style keys mapping ``{"score": ["item", "-reversed_item", ...]}``
        (then pass ``response_range`` when items are reverse-keyed).
    data : DataFrame, Responses or path
        Raw item responses (one column per item id; other columns are ignored), a
        :class:`~psychometrics.data.Responses` (its already reverse-keyed ``items``
        and ``ids`` are used) or a path to a data file.
    min_answered : float, optional
        Minimum share (0..1) of a score's items that must be answered for the score
        to be computed (prorating). Default: the spec's / key's ``scoring.min_answered``.
        ``0`` scores whatever is answered.
    method : {"mean", "sum"}, optional
        Default: the spec's / key's ``scoring.method``. ``"sum"`` is the prorated sum
        ``mean * k``.
    id_column : str, optional
        A data column passed through as the first column of ``scores``.
    factor_scores : CFA result or FactorScoreModel, optional
        Add factor scores computed from a fitted CFA (see :func:`factor_scores`).
    norms : Norms or bool, optional
        Norms to apply. Default (None or True) with a key: the key's norms when it has
        any (not when ``method`` differs from the key's). ``False`` applies none.
    factor_method : {"regression", "bartlett"}
    reliability : mapping, "alpha" or None
        Reliability per score for the SEM. With a key, the key's reliabilities are
        used. Otherwise a mapping ``{score: value}``, or ``"alpha"`` (default):
        coefficient alpha of these data (:func:`coefficient_alpha`), or None (no SEM).
    group : str or Series, optional
        Grouping column (or values): selects group norms and, with a key, warns
        (:class:`~psychometrics.exceptions.InvarianceWarning`) for groups the key's
        invariance testing did not cover.
    response_range : (min, max), optional
        Response range for a keys mapping.
    total : bool
        For a keys mapping: also score a total over all items.
    stanine_from : {"percentile", "z"}
        How stanines are derived when norms are applied (see :func:`apply_norms`).
    columns : mapping, optional
        Data column -> item id, for data whose columns are not named by item id
        (e.g. ``{"q3": "MSS03"}``).
    read_options : mapping, optional
        For a data file read with a scale or key: further arguments of
        :func:`psychometrics.data.load_responses` (``out_of_range``, ``missing_group``,
        ``sheet``, ``sep``) — the same data-reading options as ``check`` and ``validate``.
        With ``missing_group``, a ``group`` column name is checked for rows without a label.

    Returns
    -------
    ScoreResult

    Raises
    ------
    ScoringKeyError
        Scoring with a key and the data lack key items, hold values outside the key's
        response range, or were loaded with a different scale version / content.
    DataError
        The same problems when scoring with a scale, or an unusable id/group column.

    Notes
    -----
    Mean scores with ``min_answered=0`` equal ``psych::scoreItems(keys, items,
    impute = "none", min = <response min>, max = <response max>)``; validated to 1e-10
    on bfi (``tests/reference/scoring/bfi_scoreitems_none.csv``).
    """
    if isinstance(scale_or_key, (str, Path)):
        scale_or_key = _load_scale_or_key(Path(scale_or_key))
    if isinstance(scale_or_key, ScoringKey):
        source = ScoringSource(scale_or_key.rules, key=scale_or_key, error=ScoringKeyError)
    else:
        source = scoring_source(scale_or_key, response_range=response_range, total=total)
    return run_scoring(
        source, data, min_answered=min_answered, method=method, id_column=id_column,
        factor_scores=factor_scores, norms=norms, factor_method=factor_method,
        reliability=reliability, group=group, stanine_from=stanine_from, columns=columns,
        read_options=read_options)


def _load_scale_or_key(path: Path) -> Any:
    if not path.exists():
        raise ScoringKeyError(f"file {quote(str(path))} does not exist")
    if path.name.startswith("scoring_key"):
        return ScoringKey.from_file(path)
    from psychometrics.scale import Scale

    return Scale.from_yaml(path)
