"""Norms: built from the scores of a reference sample, applied as z, T, percentile rank, stanine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.scoring._input import _group_values
from psychometrics.scoring.norm_tables import STANINE_PERCENTILE_BOUNDS, NormTable, Norms
from psychometrics.scoring.result import ScoreResult
from psychometrics._text import quote

__all__ = ["build_norms", "apply_norms"]


def build_norms(
    scores: pd.DataFrame | ScoreResult,
    group: str | pd.Series | None = None,
    *,
    columns: Sequence[str] | None = None,
    description: str = "",
    min_n: int = 2,
) -> Norms:
    """Norms from the scores of a reference sample.

    Parameters
    ----------
    scores : DataFrame or ScoreResult
        Reference scores (one column per score). Missing scores are left out (the n
        of each table counts the scored rows only).
    group : str or Series, optional
        Grouping column in ``scores`` (or values aligned with it): norms are built
        for every group and for the whole sample (``"all"``).
    columns : sequence of str, optional
        Which columns to norm; default the score columns of a ScoreResult, or every
        numeric column.
    description : str
        Text describing the reference sample (kept in the scoring key).
    min_n : int
        Smallest group size accepted (a norm needs an SD).

    Returns
    -------
    Norms
        Per score and group: n, mean, sd (n - 1 denominator) and the frequency table
        of the reference values (for percentile ranks).
    """
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    if columns is None:
        if isinstance(scores, ScoreResult):
            columns = list(scores.score_names)
        else:
            columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                       and not (isinstance(group, str) and c == group)]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"scores lack column(s) {', '.join(map(str, absent))}")
    g = _group_values(group, frame) if group is not None else None
    gname = (group if isinstance(group, str) else (None if g is None else (g.name or "group")))
    tables: dict[str, dict[str, NormTable]] = {}
    for c in columns:
        col = pd.to_numeric(frame[c], errors="coerce")
        tables[str(c)] = {"all": _norm_table(str(c), "all", col, min_n)}
        if g is not None:
            for lvl in sorted(g.dropna().unique(), key=str):
                tables[str(c)][str(lvl)] = _norm_table(str(c), str(lvl), col[g == lvl], min_n)
    return Norms(tables, None if gname is None else str(gname), description)


def _norm_table(score: str, group: str, x: pd.Series, min_n: int) -> NormTable:
    v = x.dropna().to_numpy(float)
    if len(v) < max(2, min_n):
        raise DataError(f"norms for {quote(score)} in group {quote(group)}: only {len(v)} scored row(s); "
                        f"at least {max(2, min_n)} are needed")
    vals, counts = np.unique(v, return_counts=True)
    return NormTable(score, group, int(len(v)), float(v.mean()), float(v.std(ddof=1)),
                     tuple(float(a) for a in vals), tuple(int(b) for b in counts))


def apply_norms(
    scores: pd.DataFrame | ScoreResult,
    norms: Norms,
    group: str | pd.Series | None = None,
    *,
    stanine_from: str = "percentile",
) -> pd.DataFrame:
    """Normed scores: z, T, percentile rank and stanine of each score.

    For each score ``x`` with reference mean ``m``, SD ``s`` (n - 1) and reference
    frequency table:

    * ``z = (x - m) / s``; ``T = 50 + 10 z`` (linear T);
    * percentile rank (mid-rank): ``PR = 100 * (#{ref < x} + #{ref == x} / 2) / n``,
      in (0, 100); values beyond the reference range get 0 or 100;
    * stanine, ``stanine_from="percentile"`` (default, distribution-free): 1 if
      PR < 4, 2 if 4 <= PR < 11, then 23, 40, 60, 77, 89, 96 as the lower bounds of
      stanines 3..9 (the 4-7-12-17-20-17-12-7-4 % split);
      ``stanine_from="z"``: ``clip(floor(2 z + 5.5), 1, 9)`` (stanine 5 is
      -0.25 <= z < 0.25, each stanine half an SD wide).

    Parameters
    ----------
    scores : DataFrame or ScoreResult
    norms : Norms
    group : str or Series, optional
        Use each row's group norms (the norms must have been built by group); rows
        whose group is missing use the overall norms.
    stanine_from : {"percentile", "z"}

    Returns
    -------
    DataFrame
        Columns ``<score>_z``, ``<score>_T``, ``<score>_pr``, ``<score>_stanine``
        (nullable integer) for each score present in both; same index as ``scores``.
    """
    if stanine_from not in ("percentile", "z"):
        raise DataError(f"stanine_from must be 'percentile' or 'z', not {quote(stanine_from)}")
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    g = _group_values(group, frame) if group is not None else None
    if g is not None:
        if not norms.groups:
            raise DataError("these norms were not built by group; apply them without a group")
        unknown = sorted({str(v) for v in g.dropna().unique()} - set(norms.groups))
        if unknown:
            raise DataError(
                f"no norms for group(s) {', '.join(unknown)} of {norms.group_variable or 'group'}; "
                f"norm groups: {', '.join(norms.groups)}")
        gstr = g.map(lambda v: "all" if pd.isna(v) else str(v))
    cols: dict[str, Any] = {}
    for s in norms.scores:
        if s not in frame.columns:
            continue
        x = pd.to_numeric(frame[s], errors="coerce").to_numpy(float)
        z = np.full(len(x), np.nan)
        pr = np.full(len(x), np.nan)
        keys = ["all"] if g is None else list(dict.fromkeys(gstr))
        for k in keys:
            t = norms.table(s, k)
            sel = slice(None) if g is None else (gstr == k).to_numpy()
            z[sel] = (x[sel] - t.mean) / t.sd
            pr[sel] = t.percentile_rank(x[sel])
        if stanine_from == "z":
            st = np.clip(np.floor(2.0 * z + 5.5), 1, 9)
        else:
            st = 1.0 + np.searchsorted(np.asarray(STANINE_PERCENTILE_BOUNDS), pr, side="right")
        st = np.where(np.isnan(x), np.nan, st)
        cols[f"{s}_z"] = z
        cols[f"{s}_T"] = 50.0 + 10.0 * z
        cols[f"{s}_pr"] = pr
        cols[f"{s}_stanine"] = pd.array(np.where(np.isnan(st), pd.NA, st), dtype="Int64") \
            if np.isnan(st).any() else st.astype("int64")
    return pd.DataFrame(cols, index=frame.index)
