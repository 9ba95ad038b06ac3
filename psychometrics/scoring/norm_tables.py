"""Norm tables: the reference distribution of each score (overall and by group).

A :class:`NormTable` keeps the frequency table of the distinct reference values (enough
for exact mid-rank percentile ranks), n, mean and SD; :class:`Norms` holds one table per
score and group and reads/writes the form stored in a scoring key. Building norms from a
reference sample and applying them to new scores is :mod:`psychometrics.scoring.norms`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import DataError, ScoringKeyError
from psychometrics.scoring.rules import _get
from psychometrics._text import quote

__all__ = ["NormTable", "Norms", "STANINE_PERCENTILE_BOUNDS"]


#: Cumulative percentages at which stanines 2..9 start (4-7-12-17-20-17-12-7-4 %).
STANINE_PERCENTILE_BOUNDS = (4.0, 11.0, 23.0, 40.0, 60.0, 77.0, 89.0, 96.0)


# Reference and new scores are equal for percentile ranks when they differ by less
# than this (absolute) -- the same mean computed along another route may differ in
# the last bit.
_EQ_TOL = 1e-9


@dataclass(frozen=True)
class NormTable:
    """Reference distribution of one score (in one group).

    The frequency table of the distinct reference values is kept (not the raw
    scores), which is enough for exact mid-rank percentile ranks.

    Attributes
    ----------
    score, group : str
        ``group`` is ``"all"`` for the whole reference sample.
    n : int
    mean, sd : float
        ``sd`` with denominator n - 1.
    values : tuple of float
        Distinct reference values, ascending.
    counts : tuple of int
        Their frequencies.
    """

    score: str
    group: str
    n: int
    mean: float
    sd: float
    values: tuple[float, ...]
    counts: tuple[int, ...]

    def percentile_rank(self, x: Any) -> np.ndarray:
        """Mid-rank percentile ``PR(x) = 100 * (#{ref < x} + #{ref == x} / 2) / n``."""
        x = np.asarray(x, dtype=float)
        v = np.asarray(self.values, dtype=float)
        cum = np.concatenate([[0], np.cumsum(self.counts)])
        tol = _EQ_TOL * np.maximum(1.0, np.abs(x))
        below = cum[np.searchsorted(v, x - tol, side="left")]
        upto = cum[np.searchsorted(v, x + tol, side="right")]
        pr = 100.0 * (below + (upto - below) / 2.0) / self.n
        return np.where(np.isnan(x), np.nan, pr)

    def percentile_table(self) -> pd.DataFrame:
        """Value, frequency, cumulative frequency and percentile rank of each value."""
        cum = np.cumsum(self.counts)
        return pd.DataFrame({
            "value": self.values, "frequency": self.counts, "cumulative": cum,
            "percentile_rank": self.percentile_rank(self.values)})

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd,
                "values": list(self.values), "counts": list(self.counts)}


@dataclass(frozen=True, eq=False)
class Norms(ResultMixin):
    """Norms of several scores, overall (``"all"``) and optionally by group.

    Attributes
    ----------
    tables : dict
        ``tables[score][group]`` -> :class:`NormTable`; ``group == "all"`` always.
    group_variable : str or None
        Name of the grouping variable when norms were built by group.
    description : str
        Free text describing the reference sample.
    """

    tables: dict[str, dict[str, NormTable]]
    group_variable: str | None = None
    description: str = ""

    _title = "Norms"

    @property
    def scores(self) -> tuple[str, ...]:
        return tuple(self.tables)

    @property
    def groups(self) -> tuple[str, ...]:
        first = next(iter(self.tables.values()), {})
        return tuple(g for g in first if g != "all")

    def table(self, score: str, group: str = "all") -> NormTable:
        try:
            return self.tables[score][group]
        except KeyError:
            raise DataError(f"no norms for score {quote(score)} in group {quote(group)}") from None

    def to_frame(self) -> pd.DataFrame:
        rows = [{"score": s, "group": g, "n": t.n, "mean": t.mean, "sd": t.sd}
                for s, by in self.tables.items() for g, t in by.items()]
        return pd.DataFrame(rows).set_index(["score", "group"])

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"norms": self.to_frame()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_variable": self.group_variable,
            "description": self.description,
            "percentile_rank": "mid-rank: 100 * (#below + #equal / 2) / n",
            "tables": {s: {g: t.to_dict() for g, t in by.items()} for s, by in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "norms") -> Norms:
        tables_in = _get(d, "tables", Mapping, where)
        tables: dict[str, dict[str, NormTable]] = {}
        for s, by in tables_in.items():
            if not isinstance(by, Mapping) or "all" not in by:
                raise ScoringKeyError(f"{where}.tables.{s} must map groups (with 'all') to tables")
            tables[str(s)] = {}
            for g, t in by.items():
                w = f"{where}.tables.{s}.{g}"
                n = _get(t, "n", int, w)
                vals = _get(t, "values", list, w)
                counts = _get(t, "counts", list, w)
                if len(vals) != len(counts) or \
                        any(not isinstance(c, int) or isinstance(c, bool) or c <= 0 for c in counts) or \
                        sum(counts) != n:
                    raise ScoringKeyError(f"{w}: values/counts do not form a frequency table of n={n}")
                if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in vals) or \
                        list(vals) != sorted(vals):
                    raise ScoringKeyError(f"{w}.values must be ascending numbers")
                sd = t.get("sd")
                tables[str(s)][str(g)] = NormTable(
                    str(s), str(g), n, float(_get(t, "mean", float, w)),
                    float("nan") if sd is None else float(sd),
                    tuple(float(v) for v in vals), tuple(int(c) for c in counts))
        gv = d.get("group_variable")
        return cls(tables, None if gv is None else str(gv), str(d.get("description") or ""))
