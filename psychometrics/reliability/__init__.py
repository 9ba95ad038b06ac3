"""Reliability: Cronbach's α, McDonald's ω, Guttman's λ2/λ6, split-half, SEM.

Every function takes a :class:`pandas.DataFrame` of numeric item responses
(columns = item ids, rows = respondents) that is **already reverse-keyed**, and
returns a frozen result object (see :mod:`psychometrics._results`). Formulas,
references and the R functions each statistic is validated against are listed
in ``docs/reliability.md``.

Modules
-------
prepare
    Validated input, covariance and the two correlation matrices under a
    missing-data policy; checks of the shared options.
alpha
    Cronbach's α (Feldt or bootstrap interval), item–rest r, α if deleted, SEM.
efa_omega
    ω total / hierarchical from minres + oblimin + Schmid–Leiman (``psych::omega``),
    its bootstrap.
cfa_omega
    ω from a one-factor ML model and from a bifactor CFA (``semTools::compRelSEM``).
splits, guttman_lambdas, split_halves
    Splits into halves; Guttman's λ1–λ6; split-half reliability.
scale
    :func:`reliability` (everything for one item set) and :func:`scale_reliability`
    (per subscale and total).

Missing data
------------
``missing="listwise"`` (default) uses the rows with every item observed;
``missing="pairwise"`` computes each covariance from the rows where both items
are observed (R's ``cov(use = "pairwise")``, the default of ``psych::alpha``).
Results report ``n`` (rows used; for pairwise, rows with at least one observed
item), ``n_excluded`` and, for pairwise, the smallest pairwise ``n``.

Bootstrap
---------
Confidence intervals by the nonparametric bootstrap are seeded (``seed``: int or
:class:`numpy.random.Generator`), vectorised over replicates (see
:mod:`psychometrics._bootstrap`) and show progress on a terminal. ``interval``
is ``"bca"`` (bias-corrected and accelerated, default) or ``"percentile"``.
"""

from __future__ import annotations

from psychometrics.reliability.alpha import AlphaResult, cronbach_alpha, standard_error_of_measurement
from psychometrics.reliability.cfa_omega import OmegaBifactorResult, OmegaCFAResult, omega_bifactor, omega_cfa
from psychometrics.reliability.efa_omega import OmegaResult, omega
from psychometrics.reliability.guttman_lambdas import GuttmanResult, guttman
from psychometrics.reliability.scale import (
    ReliabilityResult,
    ScaleReliabilityResult,
    reliability,
    scale_reliability,
)
from psychometrics.reliability.split_halves import SplitHalfResult, split_half


__all__ = [
    "AlphaResult",
    "OmegaResult",
    "OmegaCFAResult",
    "OmegaBifactorResult",
    "omega_bifactor",
    "GuttmanResult",
    "SplitHalfResult",
    "ReliabilityResult",
    "ScaleReliabilityResult",
    "cronbach_alpha",
    "omega",
    "omega_cfa",
    "guttman",
    "split_half",
    "standard_error_of_measurement",
    "reliability",
    "scale_reliability",
]
