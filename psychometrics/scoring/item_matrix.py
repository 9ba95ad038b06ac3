"""The item matrix: checked, reverse-keyed item responses and the raw scores built from them.

:func:`_prepare_items` refuses data that do not fit the rules (absent item columns,
non-numbers, non-integer Likert responses, values outside the response range), naming
the item, rows and values; :func:`_score_matrix` computes mean or prorated-sum scores,
answered counts and the reason a row was not scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._validation import response_numbers
from psychometrics.exceptions import ScoringKeyError
from psychometrics.scoring.rules import ScoringRules
from psychometrics._text import quote

#: Why a score is missing, by the reason code of :func:`_score_matrix` (1, 2).
_REASONS = ("no_items_answered", "too_few_answered")


def _prepare_items(
    data: pd.DataFrame,
    rules: ScoringRules,
    *,
    error: type[Exception],
    already_reversed: bool = False,
    source: str = "data",
) -> tuple[pd.DataFrame, pd.Series]:
    """Check the item columns and return reverse-keyed items (float) and missing-code counts.

    Raises ``error`` naming items, rows and values for missing columns, non-numbers,
    non-integers (Likert) and values outside the response range.
    """
    items = list(rules.items)
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise error(
            f"{source} lacks item column(s) {', '.join(map(repr, absent))} that the "
            f"{'key' if error is ScoringKeyError else 'scale'} scores; columns present: "
            f"{', '.join(map(str, list(data.columns)[:30]))}"
            f"{' ...' if len(data.columns) > 30 else ''}")
    raw = data[items]
    dtypes = list(raw.dtypes)
    if items and all(isinstance(d, np.dtype) and d.kind in "iuf" for d in dtypes):
        # plain NumPy numbers (every item of a Responses object): one conversion of the whole matrix, the
        # same floats as the column-by-column route below (issue 16: two fewer copies of 10⁶ rows)
        x = raw.to_numpy(dtype=float, copy=True)
    else:
        cols: list[np.ndarray] = []
        for item in items:
            col = raw[item]
            if pd.api.types.is_bool_dtype(col.dtype):
                raise error(f"{source}: item {quote(item)} holds true/false values, not responses")
            x, bad = response_numbers(col)
            if bad.any():
                raise error(
                    f"{source}: item {quote(item)} holds non-numeric value(s) {_few(list(col[bad]))} "
                    f"in row(s) {_few(list(data.index[bad]))}; recode them or declare numeric "
                    "missing codes")
            cols.append(x)
        x = np.column_stack(cols) if cols else np.empty((len(data), 0))
    # declared missing codes -> NaN, counted per item
    if rules.missing_codes:
        code_mask = np.isin(x, np.asarray(rules.missing_codes, dtype=float))
        x[code_mask] = np.nan
        n_codes = code_mask.sum(axis=0)
    else:
        n_codes = np.zeros(len(items), dtype=np.int64)
    ok = ~np.isnan(x)
    problems = np.isinf(x)
    if problems.any():
        j = int(np.flatnonzero(problems.any(axis=0))[0])
        raise error(f"{source}: item {quote(items[j])} holds infinite value(s) in row(s) "
                    f"{_few(list(data.index[problems[:, j]]))}")
    if rules.likert and not already_reversed:
        frac = ok & (x != np.round(np.where(ok, x, 0.0)))
        if frac.any():
            j = int(np.flatnonzero(frac.any(axis=0))[0])
            rows = frac[:, j]
            raise error(
                f"{source}: item {quote(items[j])} holds non-integer response(s) "
                f"{_few(x[rows, j].tolist())} in row(s) {_few(list(data.index[rows]))}; a Likert "
                "item takes integer categories")
    lo, hi = rules.response_min, rules.response_max
    if lo is not None and hi is not None:
        with np.errstate(invalid="ignore"):
            out_r = ok & ((x < lo) | (x > hi))
        if out_r.any():
            j = int(np.flatnonzero(out_r.any(axis=0))[0])
            rows = out_r[:, j]
            others = [items[k] for k in np.flatnonzero(out_r.any(axis=0))[1:]]
            raise error(
                f"{source}: item {quote(items[j])} holds value(s) {_few(x[rows, j].tolist())} outside "
                f"the response range {_num(lo)}..{_num(hi)} in row(s) {_few(list(data.index[rows]))}"
                + (f" (also items {', '.join(map(repr, others))})" if others else "")
                + (f"; declared missing codes: {[_num(c) for c in rules.missing_codes]}"
                   if rules.missing_codes else
                   "; if these are missing-value codes, declare them in "
                   "response_format.missing_codes"))
    if not already_reversed and rules.reverse_items:
        rev = [items.index(i) for i in rules.reverse_items]
        x[:, rev] = rules.response_min + rules.response_max - x[:, rev]
    frame = pd.DataFrame(x, index=data.index, columns=items, copy=False)  # x is this function's own array
    return frame, pd.Series(np.asarray(n_codes, dtype=np.int64), index=items, name="missing_codes")


def _few(values: Sequence[Any], k: int = 5) -> str:
    vals = [_num(v) if isinstance(v, (float, np.floating)) else v for v in list(values)]
    shown = ", ".join(map(str, vals[:k]))
    return shown + (f" ... ({len(vals)} in all)" if len(vals) > k else "")


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _score_matrix(
    items: pd.DataFrame, rules: ScoringRules, min_answered: float, method: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scores, answered counts and per-row reason codes (0 ok, 1 none, 2 too few)."""
    scores, answered, reasons = {}, {}, {}
    xall = items.to_numpy()
    pos = {c: j for j, c in enumerate(items.columns)}
    okall = ~np.isnan(xall)
    zall = np.where(okall, xall, 0.0)
    for d in rules.scores:
        cols = [pos[i] for i in d.items]
        k = len(cols)
        n = okall[:, cols].sum(axis=1)
        total = zall[:, cols].sum(axis=1)
        need = max(1, math.ceil(min_answered * k - 1e-9))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
            if method == "mean":
                val = mean
            else:  # prorated sum; exact plain sum when every item is answered
                val = np.where(n == k, total, mean * k)
        reason = np.where(n == 0, 1, np.where(n < need, 2, 0))
        scores[d.name] = np.where(reason == 0, val, np.nan)
        answered[d.name] = n
        reasons[d.name] = reason
    idx = items.index
    return (pd.DataFrame(scores, index=idx), pd.DataFrame(answered, index=idx),
            pd.DataFrame(reasons, index=idx))
