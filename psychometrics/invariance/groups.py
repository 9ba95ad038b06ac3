"""The grouping column of an invariance analysis: checks before any fitting, and the reference
group moved first (its latent means are the ones fixed to 0)."""

from __future__ import annotations

import pandas as pd

from psychometrics._groups import group_label
from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["check_groups", "reference_first"]


def check_groups(data: pd.DataFrame, group: str) -> None:
    """Clear errors for the group column before any fitting (names group and item)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(group, str) or group not in data.columns:
        raise DataError(f"grouping variable {quote(group)} is not a column of the data")
    labels = pd.unique(data[group].dropna())
    if len(labels) < 2:
        only = f" (only {quote(labels[0])})" if len(labels) else ""
        raise DataError(
            f"grouping variable {quote(group)} has a single group{only}; measurement invariance compares two or more "
            "groups")


def reference_first(data: pd.DataFrame, group: str, reference: str | None) -> pd.DataFrame:
    """``data`` with the rows of group ``reference`` first, so that it is the first (reference)
    group in model order; ``reference`` is matched against the group labels as the results show
    them (:func:`psychometrics._groups.group_label`: an integral float 1.0 is "1")."""
    if reference is None:
        return data
    lab = data[group].map(lambda v: group_label(v) if pd.notna(v) else v)
    if not (lab == reference).any():
        raise DataError(f"reference group {quote(reference)} is not a value of {quote(group)}")
    return pd.concat([data[lab == reference], data[lab != reference]])

