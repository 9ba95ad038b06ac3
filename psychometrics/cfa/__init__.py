"""Confirmatory factor analysis: one ML engine for single- and multi-group models.

>>> from psychometrics.cfa import fit_cfa
>>> from psychometrics.datasets import holzinger_swineford
>>> hs = holzinger_swineford()
>>> fit = fit_cfa("visual =~ x1 + x2 + x3\\n textual =~ x4 + x5 + x6\\n speed =~ x7 + x8 + x9", hs)
>>> round(fit.fit["chisq"], 3)
85.306

Modules: :mod:`~psychometrics.cfa.syntax` (lavaan syntax parser),
:mod:`~psychometrics.cfa.specification` (parameter table),
:mod:`~psychometrics.cfa.estimation` (ML discrepancy and Fisher scoring),
:mod:`~psychometrics.cfa.sample_stats` (ML sample statistics from data or moments),
:mod:`~psychometrics.cfa.start_values` (starting values of both engines),
:mod:`~psychometrics.cfa.engine` (the fitted ML model: inference, tables, fit, score tests),
:mod:`~psychometrics.cfa.checks` (identification and Heywood checks),
:mod:`~psychometrics.cfa.fit` (``fit_cfa``),
:mod:`~psychometrics.cfa.fit_indices` (lavaan's fit measures),
:mod:`~psychometrics.cfa.models` (model builders from a Scale),
:mod:`~psychometrics.cfa.compare` (nested-model comparison, ML and WLSMV),
:mod:`~psychometrics.cfa.results` (result objects).
Ordinal items (DWLS / WLSMV): :mod:`~psychometrics.cfa.categorical_spec` (parameter table),
:mod:`~psychometrics.cfa.categorical_model` (implied statistics, Gauss–Newton),
:mod:`~psychometrics.cfa.categorical_engine` (the fitted model and its tables),
:mod:`~psychometrics.cfa.wls` (WLSMV inference), :mod:`~psychometrics.cfa.categorical`
(``fit_categorical``); their sample statistics come from :mod:`psychometrics.ordinal`.
"""

from __future__ import annotations

from psychometrics.cfa import models
from psychometrics.cfa.categorical import fit_categorical
from psychometrics.cfa.compare import compare, scaled_difference_test
from psychometrics.cfa.fit import fit_cfa
from psychometrics.cfa.results import CFAResult, ComparisonResult
from psychometrics.cfa.specification import GROUP_EQUAL_NAMES, ModelSpec, Parameter, build_spec
from psychometrics.cfa.syntax import parse_model
from psychometrics.ordinal.sample_stats import OrdinalSampleStats

__all__ = [
    "fit_cfa", "compare", "models", "CFAResult", "ComparisonResult",
    "build_spec", "ModelSpec", "Parameter", "parse_model", "GROUP_EQUAL_NAMES",
    "fit_categorical", "OrdinalSampleStats", "scaled_difference_test",
]
