r"""Measurement invariance across groups: configural → metric → scalar → strict, partial invariance.

>>> from psychometrics.invariance import measurement_invariance
>>> from psychometrics.datasets import holzinger_swineford
>>> mi = measurement_invariance(
...     "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9",
...     holzinger_swineford(), group="school")
>>> round(mi.table.loc["scalar", "chisq"], 3)
164.103

Modules: :mod:`~psychometrics.invariance.continuous` (the ML ladder,
:func:`measurement_invariance`), :mod:`~psychometrics.invariance.categorical` (ordinal items,
WLSMV, Wu & Estabrook 2016), :mod:`~psychometrics.invariance.rules` (decision rules and
their cut-offs), :mod:`~psychometrics.invariance.partial` (which constraint to release),
:mod:`~psychometrics.invariance.effect_size` (dMACS, latent mean and variance differences),
:mod:`~psychometrics.invariance.groups` (group column checks, reference group),
:mod:`~psychometrics.invariance.results` (result objects and table rows).

Validated against lavaan 0.6-14 and semTools 0.5-6 (``tests/reference/invariance/``,
``tests/reference/wlsmv/inv_*``).
"""

from __future__ import annotations

from psychometrics.invariance.categorical import CATEGORICAL_LEVELS, CategoricalInvarianceResult, categorical_invariance
from psychometrics.invariance.continuous import GROUP_EQUAL, LEVELS, measurement_invariance
from psychometrics.invariance.effect_size import dmacs
from psychometrics.invariance.results import InvarianceResult
from psychometrics.invariance.rules import RULES, DecisionRule

__all__ = [
    "measurement_invariance",
    "InvarianceResult",
    "DecisionRule",
    "RULES",
    "LEVELS",
    "GROUP_EQUAL",
    "dmacs",
    "categorical_invariance",
    "CategoricalInvarianceResult",
    "CATEGORICAL_LEVELS",
]
