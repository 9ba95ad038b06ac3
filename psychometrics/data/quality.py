"""What happened to the data on the way in: :class:`DataQuality` and the reasons a value is missing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic

# Reasons a value is missing, as columns of DataQuality.missing_by_reason.
BLANK = "blank in source"
CODE = "missing code"
DECLARED = "declared missing in file"
OUT_OF_RANGE = "out of range"
NOT_CATEGORY = "not a category"
REASONS = (BLANK, CODE, DECLARED, OUT_OF_RANGE, NOT_CATEGORY)


@dataclass(frozen=True, eq=False)
class DataQuality(ResultMixin):
    """What happened to the data on the way in.

    Attributes
    ----------
    rows_read : int
        Rows in the source.
    rows_used : int
        Rows kept for analysis (``rows_read`` minus ``excluded``).
    excluded : pandas.DataFrame
        Excluded rows (index: row label) with the ``reason``; empty unless a policy
        such as ``missing_group="exclude"`` asked for it.
    missing_by_reason : pandas.DataFrame
        Per item (rows) and reason (columns) the number of missing values among the
        rows used: ``blank in source``, ``missing code``, ``declared missing in
        file`` (SPSS user-missing), ``out of range`` and ``not a category``
        (the last two only with ``out_of_range="missing"``).
    missing : pandas.Series
        Missing values per item (sum over reasons).
    missing_share : pandas.Series
        ``missing / rows_used`` per item.
    values_set_missing : int
        Values this function turned into NaN (all reasons except blank).
    complete_cases : int
        Rows with every item answered.
    empty_rows : int
        Rows with no item answered (kept, but they carry no information).
    careless_flags : pandas.Series
        Rows flagged by each careless-responding screen and by any of them.
    group_sizes : pandas.Series or None
        Rows per group when a grouping column was given.
    diagnostics : tuple of Diagnostic
    """

    rows_read: int
    rows_used: int
    excluded: pd.DataFrame
    missing_by_reason: pd.DataFrame
    missing: pd.Series
    missing_share: pd.Series
    values_set_missing: int
    complete_cases: int
    empty_rows: int
    careless_flags: pd.Series
    group_sizes: pd.Series | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Data quality"

    @property
    def set_missing(self) -> pd.DataFrame:
        """Values set missing by :func:`load_responses`, per item and reason (blank cells excluded)."""
        return self.missing_by_reason.drop(columns=[BLANK])

    def to_frame(self) -> pd.DataFrame:
        """Per item: missing values by reason, total and share."""
        out = self.missing_by_reason.copy()
        out["missing"] = self.missing
        out["missing_share"] = self.missing_share
        return out

    def summary(self) -> str:
        lines = [
            "Data quality",
            "============",
            f"rows read {self.rows_read}, used {self.rows_used}, excluded {len(self.excluded)}",
            f"complete cases {self.complete_cases}, rows with no item answered {self.empty_rows}",
            f"missing values {int(self.missing.sum())} "
            f"({self.values_set_missing} set missing here: "
            + ", ".join(f"{r} {int(n)}" for r, n in self.set_missing.sum().items() if n)
            + ")",
            "careless-responding flags: " + ", ".join(f"{k} {int(v)}" for k, v in self.careless_flags.items()),
        ]
        if self.group_sizes is not None:
            lines.append("groups: " + ", ".join(f"{k} {int(v)}" for k, v in self.group_sizes.items()))
        worst = self.missing[self.missing > 0].sort_values(ascending=False).head(5)
        if len(worst):
            lines.append("most missing: " + ", ".join(f"{k} {int(v)} ({self.missing_share[k]:.1%})" for k, v in worst.items()))
        if self.diagnostics:
            lines += ["", "Diagnostics", "-----------", *map(str, self.diagnostics)]
        return "\n".join(lines)

