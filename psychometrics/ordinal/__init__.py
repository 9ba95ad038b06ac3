"""Ordinal items: polychoric/polyserial correlations, their asymptotic covariance, the sample
statistics of WLSMV, ordinal α and categorical ω.

Everything here reproduces lavaan 0.6-14 (``lavCor``, ``lavInspect(fit, "gamma")``) and
semTools 0.5-6 (``compRelSEM``); see ``docs/ordinal.md`` and the fixtures in
``tests/reference/ordinal/``. This package sits below the factor engines: it imports
neither :mod:`psychometrics.efa` nor :mod:`psychometrics.cfa`.

Modules: :mod:`~psychometrics.ordinal.bivariate` (bivariate normal),
:mod:`~psychometrics.ordinal.correlations` (the two-step estimator, :class:`PolychoricResult`),
:mod:`~psychometrics.ordinal.twostep` (the pairwise ML solvers),
:mod:`~psychometrics.ordinal.nacov` (asymptotic covariance, lavaan's NACOV),
:mod:`~psychometrics.ordinal.sample_stats` (:class:`OrdinalSampleStats`),
:mod:`~psychometrics.ordinal.group_stats` (per-group statistics from data),
:mod:`~psychometrics.ordinal.shared` (the pipeline's items coded and tabulated once, private),
:mod:`~psychometrics.ordinal.reliability` (ordinal α, categorical ω).
"""

from __future__ import annotations

from psychometrics.ordinal.bivariate import bivariate_normal_cdf
from psychometrics.ordinal.group_stats import ordinal_sample_stats
from psychometrics.ordinal.correlations import PolychoricResult, polychoric
from psychometrics.ordinal.reliability import categorical_omega, categorical_omega_from_cfa, ordinal_alpha
from psychometrics.ordinal.sample_stats import OrdinalSampleStats

__all__ = [
    "PolychoricResult",
    "polychoric",
    "bivariate_normal_cdf",
    "ordinal_alpha",
    "categorical_omega",
    "categorical_omega_from_cfa",
    "OrdinalSampleStats",
    "ordinal_sample_stats",
]
