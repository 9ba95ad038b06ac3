"""Scoring: subscale and total scores, factor scores, norms and versioned scoring keys.

A validated scale is reused by later studies through a *scoring key*: a file that
holds the scale spec (and its content hash), the item keys, the scoring rules, the
norms and what a later user must know about the validation (reliability per score,
the level of measurement invariance reached and across which groups, the
calibration sample). :func:`score` computes scores exactly as validated and refuses
data that do not fit the key.

Public API
----------
score(scale_or_key, data, ...) -> ScoreResult
    Subscale / total scores (mean or prorated sum), standard errors of measurement,
    optional norms and factor scores.
factor_scores(data, Lambda, Theta, Psi, nu=None, alpha=None, method=...) -> DataFrame
    Regression (Thurstone) or Bartlett factor scores from labelled model matrices.
build_norms(scores, group=None) -> Norms;  apply_norms(scores, norms, group=None)
ScoringKey.build(...), ScoringKey.from_file(path), ScoringKey.to_file(path)
write_scores(result, path), data_dictionary(result), write_data_dictionary(result, path)

Definitions (see ``docs/scoring.md``)
-------------------------------------
* Reverse keying: ``x' = min + max - x`` with the *response range* of the spec
  (``response_format.min``/``max``), not the observed range. ``psych::scoreItems``
  uses the observed minimum and maximum of all items by default; passing
  ``min``/``max`` makes it identical.
* Mean score: mean of the answered (reverse-keyed) items of the score.
* Prorating: a score is computed when at least ``ceil(min_answered * k)`` of its
  ``k`` items are answered (``min_answered`` is a share in [0, 1]); otherwise it is
  missing and counted under ``"too_few_answered"``. A row with no answered item is
  always missing (``"no_items_answered"``). ``min_answered=0`` scores whatever is
  answered (== ``psych::scoreItems(impute = "none")``).
* Sum score: the *prorated* sum ``mean * k``; with every item answered this is the
  plain sum.
* Standard error of measurement: ``SEM = SD * sqrt(1 - reliability)``.

Modules (low to high; each imports only those above it)
-------------------------------------------------------
rules           ScoreDefinition, ScoringRules (from a scale, a keys list or a key file)
result          ScoreResult
_input          what the data are scored with, and the data (files, Responses, ids, groups)
item_matrix     checked, reverse-keyed items; mean / prorated-sum scores
norm_tables     NormTable, Norms (reference distributions)
norms           build_norms, apply_norms (z, T, percentile rank, stanine)
sem             coefficient alpha and the standard error of measurement
factor_scoring  FactorScoreModel, factor_scores (regression / Bartlett)
stages          the stages of score(), run in order
key             ScoringKey: versioned key files, refusals and warnings
scores          score(), the public entry
writers         write_scores, data_dictionary, write_data_dictionary
"""

from __future__ import annotations

from psychometrics.scoring.factor_scoring import FactorScoreModel, factor_scores
from psychometrics.scoring.key import KEY_FORMAT_VERSION, ScoringKey
from psychometrics.scoring.norm_tables import STANINE_PERCENTILE_BOUNDS, NormTable, Norms
from psychometrics.scoring.norms import apply_norms, build_norms
from psychometrics.scoring.result import ScoreResult
from psychometrics.scoring.rules import ScoreDefinition, ScoringRules
from psychometrics.scoring.scores import score
from psychometrics.scoring.sem import coefficient_alpha
from psychometrics.scoring.writers import data_dictionary, write_data_dictionary, write_scores

__all__ = [
    "ScoreDefinition",
    "ScoringRules",
    "ScoreResult",
    "score",
    "coefficient_alpha",
    "factor_scores",
    "FactorScoreModel",
    "NormTable",
    "Norms",
    "build_norms",
    "apply_norms",
    "STANINE_PERCENTILE_BOUNDS",
    "ScoringKey",
    "KEY_FORMAT_VERSION",
    "write_scores",
    "data_dictionary",
    "write_data_dictionary",
]
