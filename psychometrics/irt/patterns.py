"""Distinct response patterns of a calibration's items with their counts (issue 16, large samples).

At 10⁵–10⁶ respondents a subscale of five or six Likert items has at most a few thousand distinct
response patterns, and everything the IRT step computes after the calibration depends on a row
only through its pattern (and group): the EAP θ̂, the S-X² and LD tables, the M2/C2 moments and
the ordinal-logistic DIF likelihoods. :func:`distinct_patterns` reduces the rows once to those
patterns (per group, in order of first appearance, when a grouping is given) with their counts;
the statistics take them as frequency-weighted rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychometrics.irt._data import _unique_patterns, factorized_labels, shared_memo
from psychometrics.irt.results import IRTCalibration
from psychometrics.irt.scores import _eap, recode

__all__ = ["DistinctPatterns", "distinct_patterns"]


@dataclass(frozen=True, eq=False)
class DistinctPatterns:
    """``frame``: one row per distinct pattern (or (pattern, group)), the items' values (NaN =
    missing); ``counts``: respondents per row; ``theta``: the EAP θ̂ of the pattern (NaN when no
    item is answered); ``group``: the group of the row (None without a grouping)."""

    frame: pd.DataFrame
    counts: np.ndarray
    theta: pd.Series
    group: pd.Series | None
    n_rows: int


def distinct_patterns(cal: IRTCalibration, data: pd.DataFrame, group: pd.Series | None = None,
                      codes: np.ndarray | None = None) -> DistinctPatterns:
    """The distinct response patterns of ``cal``'s items in ``data`` with their counts.

    Without ``group`` in the order of ``np.unique(axis=0)`` of the category codes (the order in
    which :func:`~psychometrics.irt.eap_scores` scores them at large n, so θ̂ is the same number);
    with ``group`` (aligned with ``data``) one row per distinct (pattern, group) in order of first
    appearance, so that the groups also appear in the order of the rows. One pass over the rows.
    ``codes``: ``recode(cal, data)`` (int64, or as int8) when the caller already has it (the pipeline computes the
    patterns of a subscale with and without its groups from one recoding).
    """
    if codes is None:
        codes = recode(cal, data)
    pats, inverse, counts, eap = _patterns_and_eap(cal, data, codes)
    eap = eap.copy()
    labels = None
    if group is not None:
        gcode, levels = factorized_labels(group)
        width = len(levels) + 1
        kcode, kuniq = pd.factorize(inverse.astype(np.int64) * width + (gcode.astype(np.int64) + 1))
        counts = np.bincount(kcode, minlength=kuniq.size)
        pidx, gidx = kuniq // width, kuniq % width - 1
        pats, eap = pats[pidx], eap[pidx]
        lv = np.asarray(levels, dtype=object)
        labels = pd.Series(np.where(gidx >= 0, lv[np.maximum(gidx, 0)], None), dtype=object)
    cols = {}
    for j, item in enumerate(cal.items):
        vals = np.asarray(cal.category_values[item], dtype=float)
        x = pats[:, j]
        cols[item] = np.where(x >= 0, vals[np.maximum(x, 0)], np.nan)
    frame = pd.DataFrame(cols)
    return DistinctPatterns(frame=frame, counts=np.asarray(counts, dtype=float), theta=pd.Series(eap, index=frame.index),
                            group=labels, n_rows=int(codes.shape[0]))


def _patterns_and_eap(cal: IRTCalibration, data: pd.DataFrame, codes: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct patterns of ``codes`` (``recode(cal, data)``), inverse, counts and their EAP θ̂ (NaN for
    no answer); within the IRT step's shared scope computed once per (calibration, data) — the step counts
    a subscale's patterns with and without its groups from the same codes."""
    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        pats, inverse, counts = _unique_patterns(codes)
        eap, _ = _eap(cal, pats)
        eap[(pats < 0).all(axis=1)] = np.nan
        return pats, inverse.ravel(), counts, eap

    return shared_memo(("patterns", id(cal), id(data)), (cal, data), compute)
