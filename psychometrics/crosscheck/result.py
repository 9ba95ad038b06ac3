"""The result of a cross-check: our estimates and another library's, side by side."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic, MissingDependencyError

__all__ = ["CrosscheckResult", "require", "side_by_side"]

#: what to install for each engine
_EXTRA = 'pip install "scalevalid[crosscheck]"'


def require(module: str, purpose: str) -> Any:
    """Import an optional engine, or raise :class:`MissingDependencyError` saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # not installed, or installed but broken (e.g. a scikit-learn it does not support)
        raise MissingDependencyError(
            f"{purpose} needs the optional library '{module}', which could not be imported ({type(exc).__name__}: "
            f"{str(exc)[:120]}). Install the cross-check engines with: {_EXTRA}") from exc


def side_by_side(ours: pd.Series, theirs: pd.Series, name: str) -> pd.DataFrame:
    """``ours``, ``theirs`` and ``difference`` (ours − theirs) on the union of the labels."""
    out = pd.DataFrame({"ours": ours.astype(float), "theirs": theirs.astype(float)})
    out["difference"] = out["ours"] - out["theirs"]
    out.index.name = name
    return out


@dataclass(frozen=True, eq=False)
class CrosscheckResult(ResultMixin):
    """One analysis fitted by this package and by an independent library.

    Attributes
    ----------
    analysis : str
        What was fitted (``"CFA"`` or ``"EFA"``) and how, in words.
    engine : str
        The other library (``"semopy"``, ``"factor_analyzer"``).
    engine_version : str
    package_version : str
        This package's version.
    n : int
        Rows both fits used (complete cases of the analysed items).
    estimates : DataFrame
        Parameters (CFA: lavaan-style ``lhs op rhs``; EFA: ``item / factor`` loadings) with
        columns ``ours``, ``theirs``, ``difference``.
    statistics : DataFrame
        χ², df and fit indices (CFA) side by side; empty for EFA.
    max_abs_difference : float
        Largest absolute difference of the estimates.
    tolerance : float
        Agreement expected given the other library's optimiser (see :attr:`note`).
    agrees : bool
        ``max_abs_difference <= tolerance`` and every statistic within its tolerance.
    note : str
        How the comparison was made and why the tolerance.
    """

    analysis: str
    engine: str
    engine_version: str
    package_version: str
    n: int
    estimates: pd.DataFrame
    statistics: pd.DataFrame
    max_abs_difference: float
    tolerance: float
    agrees: bool
    note: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The estimates side by side."""
        return self.estimates

    def _scalars(self) -> dict[str, Any]:
        return {"analysis": self.analysis, "engine": f"{self.engine} {self.engine_version}", "n": self.n,
                "max_abs_difference": self.max_abs_difference, "tolerance": self.tolerance, "agrees": self.agrees}

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"estimates": self.estimates, "statistics": self.statistics}


def max_abs(frame: pd.DataFrame) -> float:
    """Largest absolute ``difference`` (NaN if none is finite)."""
    d = np.abs(frame["difference"].to_numpy(dtype=float))
    d = d[np.isfinite(d)]
    return float(d.max()) if d.size else float("nan")
