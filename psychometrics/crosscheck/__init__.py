"""Independent cross-checks: the same model fitted by a second, independent library.

A reviewer who doubts a number can see two implementations agree. The declared CFA
model is re-fitted by ML with semopy and the EFA with factor_analyzer on the same rows,
and the results are set side by side (largest absolute difference, χ² and fit indices,
each library's version) — :class:`CrosscheckResult`.

semopy and factor_analyzer are optional: ``pip install "scalevalid[crosscheck]"``. Without
them the functions raise :class:`~psychometrics.exceptions.MissingDependencyError` saying so.

Modules
-------
result
    :class:`CrosscheckResult` and the comparison tables.
cfa
    :func:`crosscheck_cfa` (semopy).
efa
    :func:`crosscheck_efa` (factor_analyzer).
"""

from __future__ import annotations

from psychometrics.crosscheck.cfa import crosscheck_cfa
from psychometrics.crosscheck.efa import crosscheck_efa
from psychometrics.crosscheck.result import CrosscheckResult

__all__ = ["CrosscheckResult", "crosscheck_cfa", "crosscheck_efa", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "scalevalid[crosscheck]"'
