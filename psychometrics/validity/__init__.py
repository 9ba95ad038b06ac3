"""Validity evidence: composite reliability, AVE, Fornell–Larcker, HTMT and hypotheses.

The functions here are *pure*: they take plain labelled inputs (loadings as an
items × factors DataFrame, correlation matrices, score columns) so that they can
be checked against R one formula at a time. Thin adapters build those inputs
from a CFA result, a :class:`~psychometrics.scale.Scale` and its responses.

Score naming
------------
Observed scores are columns named ``"<scale_id>.<score>"`` where ``<score>`` is
``total`` or a subscale id, e.g. ``mentorship_supportiveness.total``,
``self_efficacy.total``, ``coping.avoidance``. A validity hypothesis of scale
``S`` with ``scale_score: x``, ``measure: M``, ``measure_score: y`` compares the
columns ``S.x`` and ``M.y``.

Summary of the statistics (factor *f*, indicators *i ∈ f*)
---------------------------------------------------------
* :func:`composite_reliability` — (Σλ*)² / ((Σλ*)² + Σθ*); lavaan std.all, by hand.
* :func:`composite_reliability_sem` — (Σλ)² ψ_ff / 1'Σ_f 1; ``semTools::compRelSEM``.
* :func:`ave` — Σλ*² / (Σλ*² + Σθ*); lavaan std.all, by hand.
* :func:`ave_sem` — ψ_ff Σλ² / tr Σ_f; ``semTools::AVE``.
* :func:`fornell_larcker` — √AVE against |latent r|.
* :func:`htmt` — mean heterotrait r / √(mean monotrait r_i · r_j); ``semTools::htmt``.
* :func:`latent_correlations` — ψ_ab/√(ψ_aa ψ_bb), delta-method SE; lavaan
  ``standardizedSolution``.
* :func:`construct_validity` — all of the above from a fitted CFA.
* :func:`correlate` — Pearson r, Fisher-z CI, t-test p; ``stats::cor.test``.
* :func:`correlation_table` — every pair, Holm-adjusted p; ``psych::corr.test``.
* :func:`evaluate_hypotheses` — a scale's ``validity:`` hypotheses with verdicts.

(λ* standardized loadings, θ* standardized residual variances, λ unstandardized
loadings, ψ latent covariance matrix, Σ_f the observed or model-implied
covariance matrix of the factor's indicators.)

Modules (low to high; each imports only those above it)
-------------------------------------------------------
_input        input checks (loadings, square matrices, data, confidence levels)
_status       verdict → report status
composite     composite_reliability(_sem), ave, ave_sem
discriminant  Fornell–Larcker, HTMT
correlations  correlate, correlation_table (Fisher-z CI, t-test, Holm)
latent        latent_correlations, construct_validity
hypotheses    score_key, observed_scores, Hypothesis, evaluate_hypotheses
"""

from __future__ import annotations

from psychometrics.validity.composite import ave, ave_sem, composite_reliability, composite_reliability_sem
from psychometrics.validity.correlations import Correlation, CorrelationTable, correlate, correlation_table
from psychometrics.validity.discriminant import HTMT, FornellLarcker, fornell_larcker, htmt
from psychometrics.validity.discriminant import HTMT_THRESHOLDS  # noqa: F401  (public before the split)
from psychometrics.validity.hypotheses import (
    Hypothesis,
    HypothesisEvaluation,
    evaluate_hypotheses,
    observed_scores,
    score_key,
)
from psychometrics.validity.latent import ConstructValidity, construct_validity, latent_correlations

__all__ = [
    "composite_reliability",
    "composite_reliability_sem",
    "ave",
    "ave_sem",
    "fornell_larcker",
    "FornellLarcker",
    "htmt",
    "HTMT",
    "correlate",
    "Correlation",
    "correlation_table",
    "CorrelationTable",
    "evaluate_hypotheses",
    "HypothesisEvaluation",
    "Hypothesis",
    "score_key",
    "observed_scores",
    "latent_correlations",
    "construct_validity",
    "ConstructValidity",
]
