"""Response preparation for IRT: recode to 0..K-1, collapse unused categories, compress patterns."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics._text import quote

__all__ = ["IRTData", "prepare_responses", "quadrature"]

_MAX_QUOTE = 40
_DENSE_MAX = 1 << 24  # entries of a dense one-hot pattern matrix (128 MB in float64)


def _q(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


@dataclass(frozen=True)
class IRTData:
    """Recoded responses: ``codes`` (N, J) with -1 for missing, categories per item, patterns."""

    items: tuple[str, ...]
    codes: np.ndarray
    n_categories: tuple[int, ...]
    category_values: tuple[tuple[float, ...], ...]
    collapsed: tuple[tuple[str, float], ...]
    n_dropped_rows: int
    patterns: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    inverse: np.ndarray = field(repr=False)

    def onehot(self) -> tuple[Any, np.ndarray]:
        """One-hot matrix of the patterns (U, Σ K_j) and each column's (item, category).

        Dense up to ``_DENSE_MAX`` entries; above (e.g. a long total score at 10⁶ respondents,
        whose patterns are nearly all distinct) a ``scipy.sparse`` CSR matrix with the same
        entries, which keeps the memory at one value per answer instead of one per category."""
        offs = np.concatenate([[0], np.cumsum(self.n_categories)])
        return _onehot(self.patterns, offs, self.patterns.shape[0] * int(offs[-1]) > _DENSE_MAX), offs


def _onehot(patterns: np.ndarray, offs: np.ndarray, sparse: bool) -> Any:
    if sparse:
        from scipy import sparse as sp

        # built as CSR directly (row-major answers, columns ascending within a row): the matrix
        # a COO → CSR conversion of the same entries gives, without its sort
        answered = patterns >= 0
        cols = (offs[:-1][None, :] + patterns)[answered]
        indptr = np.concatenate([[0], np.cumsum(answered.sum(axis=1))])
        # float32 ones (exact): scipy upcasts a product with a float64 operand to float64 before the
        # sums, so the products are those of float64 ones; 4 bytes per answer saved (0.11 GB at 10⁶ × 28)
        return sp.csr_matrix((np.ones(cols.size, dtype=np.float32), cols, indptr),
                             shape=(patterns.shape[0], int(offs[-1])))
    y = np.zeros((patterns.shape[0], int(offs[-1])))
    for j in range(patterns.shape[1]):
        x = patterns[:, j]
        ok = x >= 0
        y[np.flatnonzero(ok), offs[j] + x[ok]] = 1.0
    return y


def prepare_responses(
    data: pd.DataFrame,
    items: list[str] | None = None,
    categories: dict[str, list[float]] | None = None,
) -> IRTData:
    """Recode item responses to 0..K_j-1 in the order of their values.

    A declared category (``categories``) that nobody chose is collapsed into its neighbour
    (the codes stay consecutive) and reported with a :class:`DataQualityWarning` naming
    the item and the value; rows with no response at all are dropped and counted.
    """
    items = list(items if items is not None else data.columns)
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise DataError(f"IRT: items not in the data: {', '.join(_q(m) for m in missing[:10])}")
    shared = _shared_codes(data)
    if shared is not None and items:  # code the new numeric items into the scope first: the rows without an
        _code_into(shared, data, items)  # answer then come from the codes (no second read of a column)
    # per item what this scope (shared_category_codes) knows: (values, int8 codes of every row) — no conversion,
    # no coding —, (values, None) for a numeric item it could not code as int8 (read, no search for its values),
    # or None; only the items without codes are read below, each coded once
    known = [shared.get(i) for i in items] if shared is not None else [None] * len(items)
    uncoded = [i for i, k in zip(items, known) if k is None or k[1] is None]
    src = data
    dtypes = dict(zip(data.columns, data.dtypes))
    if not all(pd.api.types.is_numeric_dtype(dtypes[i]) and not pd.api.types.is_bool_dtype(dtypes[i])
               for i in uncoded):
        src = data[uncoded].apply(pd.to_numeric, errors="coerce")
    # numeric columns are read one at a time as float64 (not data[items]: a copy of all of them, 0.22 GB at
    # 10⁶ × 28, plus their float copies while they are coded)
    empty = np.ones(len(data), dtype=bool) if items else np.zeros(len(data), dtype=bool)
    for item, k in zip(items, known):
        empty &= k[1] < 0 if k is not None and k[1] is not None else np.isnan(_float_column(src, item))
    n_rows = int(len(data) - np.count_nonzero(empty))
    if n_rows < 2:
        raise DataError("IRT: fewer than two respondents with at least one response; nothing to calibrate")
    # one byte per code (−1…126; widened below if an item has more categories): at 10⁶ × 28 the
    # codes and the distinct patterns (same dtype) take 28 MB each instead of 0.22 GB; every use
    # upcasts (offsets are int64, moments are float)
    codes = np.full((n_rows, len(items)), -1, dtype=np.int8)
    ncat: list[int] = []
    values: list[tuple[float, ...]] = []
    collapsed: list[tuple[str, float]] = []
    for j, (item, k) in enumerate(zip(items, known)):
        # values and codes of the whole column (its empty rows are NaN: the same values, and codes −1 there),
        # then the analysed rows: the codes when there are any, else the column (coded from the values below)
        col = _float_column(src, item) if k is None or k[1] is None else None
        if k is not None:
            obs, coded = k
        else:
            obs, coded = _category_codes(col)
            if shared is not None:
                _store(shared, item, obs, coded)
        if empty.any():
            if coded is not None:
                coded = coded[~empty]
            else:
                col = col[~empty]
        if obs.size < 2:
            raise DataError(
                f"IRT: item {_q(item)} has {obs.size} distinct response value(s); an item needs at least two "
                "used categories — drop it from the calibration"
            )
        declared = categories.get(item) if categories else None
        if declared is not None:
            unused = [v for v in declared if v not in set(obs.tolist())]
            for v in unused:
                collapsed.append((item, float(v)))
        if obs.size > 127 and codes.dtype == np.int8:  # codes beyond int8
            codes = codes.astype(np.int64)
        if coded is not None:
            codes[:, j] = coded
        else:
            ok = ~np.isnan(col)
            codes[ok, j] = np.searchsorted(obs, col[ok])
        ncat.append(int(obs.size))
        values.append(tuple(float(v) for v in obs))
    if collapsed:
        shown = "; ".join(f"{_q(i)}={v:g}" for i, v in collapsed[:10])
        warnings.warn(
            f"IRT: {len(collapsed)} declared categor{'y' if len(collapsed) == 1 else 'ies'} chosen by nobody "
            f"({shown}); collapsed into the neighbouring category for the calibration",
            DataQualityWarning,
            stacklevel=3,
        )
    patterns, inverse, counts = _unique_patterns(codes)
    return IRTData(
        items=tuple(items),
        codes=codes,
        n_categories=tuple(ncat),
        category_values=tuple(values),
        collapsed=tuple(collapsed),
        n_dropped_rows=int(np.count_nonzero(empty)),
        patterns=patterns,
        counts=counts.astype(float),
        inverse=inverse.ravel(),
    )


#: the scope of shared_category_codes: key → (the objects held, value) (:func:`shared_memo`; per frame its
#: {item: (values, int8 codes of every row)}); a context variable, so another thread (which starts with a fresh
#: context) never sees this scope's values
_SHARED: ContextVar[dict[tuple, tuple[tuple, Any]] | None] = ContextVar("irt_shared_codes", default=None)


@contextmanager
def shared_category_codes() -> Iterator[None]:
    """Within this scope each item column of a data frame is coded once: :func:`prepare_responses` of the
    same frame (the same object) reuses the values and codes of an item coded before (whole-number
    answers; the codes a fresh coding gives — they depend on the column only). The IRT step codes 10⁶
    rows per item once instead of once per calibration, per DIF analysis and per pattern count."""
    token = _SHARED.set({} if _SHARED.get() is None else _SHARED.get())
    try:
        yield
    finally:
        _SHARED.reset(token)


def shared_memo(key: tuple, held: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per ``key`` within the scope of :func:`shared_category_codes` (outside it: every
    call). ``held``: the objects whose ids are part of the key — kept with the value, so that their ids are not
    reused in the scope, and compared by identity on a hit. The scope's dict is shared by the step's tasks
    (each runs in a copy of the step's context): two threads missing the same key at once both compute it
    (the same value; the last one is kept)."""
    shared = _SHARED.get()
    if shared is None:
        return compute()
    hit = shared.get(key)
    if hit is not None and len(hit[0]) == len(held) and all(a is b for a, b in zip(hit[0], held)):
        return hit[1]
    out = compute()
    shared[key] = (held, out)
    return out


def factorized_labels(group: Any, labels: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of group labels — codes in order of first appearance, −1 for a missing label, and the distinct
    labels as an array — of ``labels`` when given (``group`` as the caller aligned it with its data), else of
    ``group``. Within the IRT step's shared coding scope (:func:`shared_memo`) once per grouping object: every
    subscale's (pattern, group) counts (``irt.patterns``) and LR DIF groups (``irt.multigroup``) factorize the same
    labels (10⁶ string labels: ≈ 0.2 s each time); ``labels`` on another index than ``group``'s (realigned: other
    rows) are factorized every time."""
    values = group if labels is None else labels

    def compute() -> tuple[np.ndarray, np.ndarray]:
        return pd.factorize(pd.Series(values).to_numpy(), use_na_sentinel=True)

    if labels is not None and not (isinstance(group, pd.Series) and group.index.equals(labels.index)):
        return compute()
    return shared_memo(("group labels", id(group)), (group,), compute)


def _shared_codes(data: pd.DataFrame) -> dict | None:
    """The scope's {item: (values, int8 codes of every row)} of this frame (None outside the scope)."""
    return None if _SHARED.get() is None else shared_memo(("item codes", id(data)), (data,), dict)


def shared_codes_of(data: pd.DataFrame, items: Sequence[str], values: dict[str, Sequence[float]]) -> np.ndarray | None:
    """The shared codes (N × J, int8) of these items of ``data`` when each was coded in the scope with
    exactly these category ``values`` (then they are :func:`~psychometrics.irt.scores.recode`'s); else None."""
    shared = _shared_codes(data)
    if shared is None or not items:
        return None
    cols = []
    for item in items:
        obs, coded = shared.get(item, (None, None))
        if coded is None or not np.array_equal(obs, np.asarray(values[item], dtype=float)):
            return None
        cols.append(coded)
    return np.column_stack(cols)


def _code_into(shared: dict, data: pd.DataFrame, items: list[str]) -> None:
    """Each numeric item of ``data`` not yet in the scope's ``shared`` codes coded once (whole-number answers
    with at most 126 categories; of the others only their sorted values are kept, ``(values, None)``: they are
    searched once, and :func:`prepare_responses` codes them from the values)."""
    todo = [i for i in dict.fromkeys(items) if i not in shared and pd.api.types.is_numeric_dtype(data[i].dtype)
            and not pd.api.types.is_bool_dtype(data[i].dtype)]
    for lo in range(0, len(todo), _CODE_COLUMNS):
        part = todo[lo: lo + _CODE_COLUMNS]
        cols = _contiguous_columns(data, part)
        for j, item in enumerate(part):
            _store(shared, item, *_category_codes(_float_column(data, item) if cols is None else cols[j]))


def _store(shared: dict, item: str, obs: np.ndarray, coded: np.ndarray | None) -> None:
    """The one rule of what the scope keeps of a coded item: its sorted values and, for whole-number answers with at
    most 126 categories, the int8 codes of every row (1 byte per answer); else ``(values, None)``."""
    shared[item] = (obs, coded.astype(np.int8, copy=False) if coded is not None and obs.size < 127 else None)


#: columns copied at once by _contiguous_columns (64 MB at 10⁶ rows)
_CODE_COLUMNS = 8
_ROW_BLOCK = 8192


def _contiguous_columns(data: pd.DataFrame, items: list[str]) -> np.ndarray | None:
    """These float64 columns as one items × rows array, copied in row blocks from the frame's single
    float64 block (rows contiguous, as ``Responses.items`` is built: reading a column alone strides over
    every row — ≈ 40 ms per column at 10⁶ rows instead of ≈ 15 ms for this copy and the coding). None when
    the frame is not one float64 block (then the columns are read one at a time)."""
    mgr = getattr(data, "_mgr", None)
    if len(items) < 2 or getattr(mgr, "nblocks", 0) != 1 or not all(t == np.float64 for t in data.dtypes):
        return None
    x = data.to_numpy()  # (one float64 block: a view, no copy)
    if not x.flags.c_contiguous:
        return None
    idx = [data.columns.get_loc(i) for i in items]
    if not all(isinstance(i, int) for i in idx):  # (duplicate column names)
        return None
    out = np.empty((len(idx), x.shape[0]))
    for lo in range(0, x.shape[0], _ROW_BLOCK):
        out[:, lo: lo + _ROW_BLOCK] = x[lo: lo + _ROW_BLOCK, idx].T
    return out


def _float_column(frame: pd.DataFrame, item: str) -> np.ndarray:
    """One item column as float64 with NaN for missing values."""
    return frame[item].to_numpy(dtype=float, na_value=np.nan)


def _category_codes(col: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The sorted distinct values of ``col`` (NaN missing) and, for whole numbers in a range of at most
    1,000 (Likert answers), every row's code 0..K−1 (−1 missing) by one ``bincount`` and a lookup —
    the same codes as ``np.searchsorted(np.unique(values), values)`` (int8 below 127 categories, else
    int64); otherwise (values, None). No copy of the answered values: a missing answer is read as the
    lowest value and counted out of its bin, then set to −1."""
    nan = np.isnan(col)
    n_nan = int(np.count_nonzero(nan))
    if n_nan < col.size:
        lo, hi = float(np.fmin.reduce(col)), float(np.fmax.reduce(col))  # (NaN ignored)
        if hi - lo <= 1000 and max(abs(lo), abs(hi)) < 2**52:
            filled = np.where(nan, lo, col) if n_nan else col
            off = filled.astype(np.int64)
            if np.array_equal(off, filled):  # whole numbers
                off -= int(lo)
                counts = np.bincount(off)
                counts[0] -= n_nan
                present = counts > 0
                lookup = np.cumsum(present) - 1
                lookup = lookup.astype(np.int8) if lookup[-1] < 127 else lookup
                codes = lookup[off]
                if n_nan:
                    codes[nan] = -1
                return (np.flatnonzero(present) + int(lo)).astype(float), codes
    return np.sort(pd.unique(col[~nan])), None  # hash, then sort the few values (= np.unique)


def _unique_patterns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(codes, axis=0, return_inverse=True, return_counts=True)``, fast for codes −1…254.

    Each row is shifted by one (missing = 0) and read as the digits of one number in base
    B = max + 2, first column most significant, so the numbers sort in the same lexicographic
    order as ``np.unique(axis=0)`` and everything computed from the patterns is unchanged. A short
    pattern (B^J ≤ 2²² possible patterns: a subscale) is counted by ``np.bincount`` in one pass
    (no sort); longer rows are numbered level by level (:func:`_unique_by_levels`: one int64 sort up to
    B^J < 2⁶², a long total score's prefix rank times B^m plus the next digits — two int64 sorts for 28 items).
    """
    if codes.size == 0 or codes.max() > 254:
        return np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    n_cols = codes.shape[1]
    base = int(codes.max()) + 2
    if base**n_cols <= 1 << 22:  # at most 2²² possible patterns: counted without a sort
        key = np.zeros(codes.shape[0], dtype=np.int64)
        for j in range(n_cols):
            key *= base
            key += codes[:, j] + 1
        size = base**n_cols
        all_counts = np.bincount(key, minlength=size)
        present = np.flatnonzero(all_counts)
        lookup = np.zeros(size, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        uniq, inverse, counts = present.astype(np.int64), lookup[key], all_counts[present]
        patterns = np.empty((uniq.size, n_cols), dtype=codes.dtype)
        for j in range(n_cols - 1, -1, -1):
            patterns[:, j] = uniq % base - 1
            uniq = uniq // base
        return patterns, inverse, counts
    return _unique_by_levels(codes, base)


def _unique_by_levels(codes: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_unique_patterns` of long rows (a 28-item total) by sorting int64 numbers level by level: the
    first columns as one base-B number, its rank among their distinct values (which keeps their
    lexicographic order) times B^m plus the next m columns' digits as the next number (while below 2⁶²),
    and so on — the lexicographic order of the whole rows, as ``np.unique(axis=0)``; two int64 sorts at 10⁶
    rows × 28 items (0.23 s against 0.5 s for the rows packed into bytes). The patterns are decoded from the
    numbers. Every level takes at least one column: it numbers at most n distinct prefixes, and n·B < 2⁶²
    for any n below 2⁵⁴ rows (B ≤ 256)."""
    n, n_cols = codes.shape
    levels: list[tuple[np.ndarray, int]] = []
    rank = counts = None
    j = 0
    while j < n_cols:
        cap, m = (1 if rank is None else levels[-1][0].size), 0
        while j + m < n_cols and (m == 0 or cap * base < 1 << 62):
            cap, m = cap * base, m + 1
        key = np.zeros(n, dtype=np.int64) if rank is None else rank.astype(np.int64).ravel()
        for c in range(j, j + m):
            key *= base
            key += codes[:, c] + 1
        j += m
        if j == n_cols:
            uniq, rank, counts = np.unique(key, return_inverse=True, return_counts=True)
        else:
            uniq, rank = np.unique(key, return_inverse=True)
        levels.append((uniq, m))
    patterns = np.empty((levels[-1][0].size, n_cols), dtype=codes.dtype)
    keys, col = levels[-1][0], n_cols
    for lvl in range(len(levels) - 1, -1, -1):
        for c in range(col - 1, col - levels[lvl][1] - 1, -1):
            patterns[:, c] = keys % base - 1
            keys = keys // base
        col -= levels[lvl][1]
        if lvl:
            keys = levels[lvl - 1][0][keys]  # the prefix's rank → its number at the level before
    return patterns, rank, counts


def quadrature(rule: str = "gauss-hermite", n_points: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (Σ w = 1) for θ ~ N(0, 1).

    ``gauss-hermite``: θ_q = √2 x_q, w_q = ω_q / √π (the rule of Python ``mirt`` and lavaan);
    ``equal``: ``n_points`` equally spaced nodes on [-6, 6] with w ∝ φ(θ) (R ``mirt``).
    """
    if n_points < 5:
        raise ValueError("IRT quadrature needs at least 5 points")
    if rule == "gauss-hermite":
        from scipy.special import roots_hermite

        x, w = roots_hermite(n_points)
        return np.sqrt(2.0) * x, w / np.sqrt(np.pi)
    if rule == "equal":
        t = np.linspace(-6.0, 6.0, n_points)
        w = np.exp(-0.5 * t**2)
        return t, w / w.sum()
    raise ValueError(f"unknown quadrature rule {quote(rule)}; use 'gauss-hermite' or 'equal'")
