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
from psychometrics.scoring._arrays import ItemArrays
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
) -> tuple[pd.DataFrame, pd.Series, ItemArrays]:
    """Check the item columns and return reverse-keyed items (float), missing-code counts and
    the items' :class:`ItemArrays`.

    Raises ``error`` naming items, rows and values for missing columns, non-numbers,
    non-integers (Likert) and values outside the response range.

    Already reverse-keyed numbers without declared missing codes (a ``Responses`` object's items)
    are not copied: the returned frame and arrays are read-only views of them (issue 16).
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
        # not copied here: copied below only when something is written (issue 16: a Responses object's items
        # are already reverse-keyed and have no missing codes left, so they are read in place)
        x = raw.to_numpy(dtype=float, copy=False)
        owned = False
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
        owned = True
    # the smallest and largest value (NaN-ignoring): the masks below are only built when some value can be
    # a missing code or breaks a rule (two passes instead of several; the same results and errors)
    lowest, highest = _extremes(x)
    # declared missing codes -> NaN, counted per item
    codes = np.asarray(rules.missing_codes or [], dtype=float)
    if ((codes >= lowest) & (codes <= highest)).any():
        code_mask = np.isin(x, codes)
        if code_mask.any():
            x = x if owned else x.copy(order="K")  # the layout of pandas' copy (column sums in its order)
            owned = True
            x[code_mask] = np.nan
            lowest, highest = _extremes(x)
        n_codes = code_mask.sum(axis=0)
    else:  # no value is a code
        n_codes = np.zeros(len(items), dtype=np.int64)
    ok = None if already_reversed else ~np.isnan(x)  # (the answered mask: only where a check needs it)
    if np.isinf(lowest) or np.isinf(highest):
        problems = np.isinf(x)
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
    if lo is not None and hi is not None and (lowest < lo or highest > hi):
        with np.errstate(invalid="ignore"):
            out_r = ~np.isnan(x) & ((x < lo) | (x > hi))
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
        x = x if owned else x.copy(order="K")
        owned = True
        x[:, rev] = rules.response_min + rules.response_max - x[:, rev]
    if not owned:
        x = x.view()
        x.flags.writeable = False  # the caller's numbers, read in place: never written
    frame = pd.DataFrame(x, index=data.index, columns=items, copy=False)  # our own array or a read-only view
    return (frame, pd.Series(np.asarray(n_codes, dtype=np.int64), index=items, name="missing_codes"),
            ItemArrays(x, ok))


def _extremes(x: np.ndarray) -> tuple[float, float]:
    """The smallest and largest non-missing value of ``x`` (NaN when there is none)."""
    if not x.size:
        return np.nan, np.nan
    flat = x.ravel(order="K")  # a view of a contiguous matrix: one fast pass each
    with np.errstate(invalid="ignore"):
        return float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))


def _few(values: Sequence[Any], k: int = 5) -> str:
    vals = [_num(v) if isinstance(v, (float, np.floating)) else v for v in list(values)]
    shown = ", ".join(map(str, vals[:k]))
    return shown + (f" ... ({len(vals)} in all)" if len(vals) > k else "")


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _score_matrix(
    items: pd.DataFrame, rules: ScoringRules, min_answered: float, method: str,
    arrays: ItemArrays | None = None, pairs: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scores, answered counts and per-row reason codes (0 ok, 1 none, 2 too few).

    With whole-number answers the answered counts and item sums of all scores are matrix products
    with the scores × items membership matrix, block by block (:meth:`ItemArrays.sums`; with
    ``pairs`` also the SEM's pairwise sums): integer sums, exact in any order, so every score equals
    the score-by-score sums of :func:`_score_matrix_by_score` bit for bit; other answers are summed
    score by score as before.
    """
    arrays = ItemArrays(items.to_numpy()) if arrays is None else arrays
    pos = {c: j for j, c in enumerate(items.columns)}
    names = [d.name for d in rules.scores]
    member = np.zeros((len(names), len(pos)))  # scores × items
    for s, d in enumerate(rules.scores):
        member[s, [pos[i] for i in d.items]] = 1.0
    sums = arrays.sums(member, pairs=pairs)
    if sums is None:
        return _score_matrix_by_score(items, rules, min_answered, method, arrays)
    # scores × rows, C order: the frames below hold one such block, as the frames built score by score did
    # (pandas then reduces each score's column in the same order: descriptives and SDs bit for bit)
    total, counted = sums  # counted: the answered counts as floats (exact), the divisor as before
    n = counted.astype(np.int64)
    k = member.sum(axis=1)[:, None]
    need = np.array([max(1, math.ceil(min_answered * kk - 1e-9)) for kk in k[:, 0].astype(int)])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        val = total / counted  # = total / n: NumPy divides by the count converted to float
        if method != "mean":
            val = np.where(counted == k, total, val * k)
    few = counted < need  # need ≥ 1: also every row without an answer
    reason = few.astype(np.int64)
    reason *= 2
    reason[counted == 0] = 1
    scores = val  # a new array: rows with too few answers are not scored
    scores[few] = np.nan
    idx = items.index
    return (pd.DataFrame(scores.T, index=idx, columns=names, copy=False),
            pd.DataFrame(n.T, index=idx, columns=names, copy=False),
            pd.DataFrame(reason.T, index=idx, columns=names, copy=False))


def _score_matrix_by_score(
    items: pd.DataFrame, rules: ScoringRules, min_answered: float, method: str,
    arrays: ItemArrays | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`_score_matrix` one score at a time (any answers: sums in NumPy's order)."""
    scores, answered, reasons = {}, {}, {}
    arrays = ItemArrays(items.to_numpy()) if arrays is None else arrays
    pos = {c: j for j, c in enumerate(items.columns)}
    okall, zall = arrays.ok, arrays.z
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
