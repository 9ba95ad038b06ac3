"""The analysed rows' ordinal items coded once and tabulated once, shared by the steps (private; issue 16).

Reliability (all analysed rows), the EFA (calibration half), the CFA (validation half) and the
invariance ladder (per group of the analysed rows or of the validation half) each estimated their
polychoric input from the rows: a float copy of their rows in column order, the per-item category
codes, and the bivariate category tables of all item pairs (a one-hot product over the rows).
:class:`OrdinalRows` does the coding once — ``int8`` codes of every analysed row, the slot of each
answer (its value minus the item's smallest value, −1 where missing) — and the tables once per
cell of the partition of the rows into (calibration / validation / other) × group. A step's tables
are the sum of its cells' tables (integer counts: exact in any order), restricted to the
categories its rows use; its per-row codes, where Γ needs them, are a gather of the ``int8`` codes.
Every number equals the one computed from the step's own rows (``tests/test_ordinal_shared.py``).

Created once per run and used by several steps, possibly from different threads: the lazy parts
are computed under a lock (no module-level state).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["OrdinalRows", "MIN_ROWS", "shared_polychoric"]

#: from this many rows of a step on, its polychoric input comes from the shared codes and tables (below it
#: — the demo — every step codes and tabulates its own rows as before; the numbers are the same either way)
MIN_ROWS = 10_000
#: the most slots (largest − smallest value + 1) an item may have to be coded in int8
_MAX_SLOTS = 100
_BLOCK = 8_192


class OrdinalRows:
    """Codes and per-cell bivariate tables of the items of ``items`` (the analysed rows), computed on first use.

    ``parts``: named row sets (the calibration and validation halves) — a step's rows are matched
    against them, and against all rows, by index equality; ``group``: the group labels of the rows (or
    None). A step whose rows are none of these, or whose items cannot be coded here (answers that are
    not whole numbers, more than :data:`_MAX_SLOTS` slots, infinite values), gets None and computes
    its input itself, as before.
    """

    def __init__(self, items: pd.DataFrame, parts: Sequence[pd.Index] = (), group: pd.Series | None = None):
        self._items = items
        self._parts = tuple(parts)
        self._group = group
        self._lock = threading.Lock()
        self._coded: tuple | None = None  # (codes, lo, slots, empty rows) or () when not codeable
        self._cells: tuple | None = None  # (cell of each row, cell tables, rows per cell, empty rows per cell)

    # ------------------------------------------------------------------ coding
    @property
    def names(self) -> list[str]:
        return [str(c) for c in self._items.columns]

    def coded(self):
        """(codes: n × p int8 in column order, lo: smallest value per item, slots per item, empty: rows
        with no answer) or None when the items cannot be coded here."""
        with self._lock:
            if self._coded is None:
                self._coded = (_code(self._items) if self._items.index.is_unique else None) or ()
            return self._coded or None

    def _cell_tables(self):
        """(cell of each row, the cells' tables (upper triangles, slots order), rows and empty rows per cell)."""
        coded = self.coded()
        if coded is None:
            return None
        with self._lock:
            if self._cells is None:
                try:
                    self._cells = _cells(coded, self._items.index, self._parts, self._group)
                except (KeyError, ValueError, TypeError, IndexError):  # e.g. group labels not aligned to the rows:
                    self._cells = ()  # nothing is shared, every step computes from its rows as before
            return self._cells or None

    # ------------------------------------------------------------------ requests
    def _part(self, rows: pd.Index) -> int | None:
        """Which row set ``rows`` is, by index equality: −1 all rows, k the part ``parts[k]``, None neither."""
        index = self._items.index
        if rows is index or (len(rows) == len(index) and rows.equals(index)):
            return -1
        for k, part in enumerate(self._parts):
            if rows is part or (len(rows) == len(part) and rows.equals(part)):
                return k
        return None

    def positions(self, rows: pd.Index) -> np.ndarray | None:
        """Row positions of ``rows`` (all rows, or one of the parts) in the items, in ``rows``' order; else None."""
        index = self._items.index
        k = self._part(rows) if index.is_unique else None
        if k is None:
            return None
        return np.arange(len(index)) if k < 0 else index.get_indexer(self._parts[k])

    def tables(self, rows: pd.Index, groups: Sequence | None = None):
        """The summed cell tables of ``rows`` (all rows or a part; with ``groups``: one table per listed group
        label, in that order): ``(tables, rows, empty rows)`` per requested group, or None."""
        k = self._part(rows)
        if k is None:
            return None
        which = list(range(len(self._parts) + 1)) if k < 0 else [k]  # all rows: every part's cells and the rest
        cells = self._cell_tables()
        if cells is None:
            return None
        _, T, n_cell, e_cell, part_of, group_of, labels = cells
        if groups is None:
            sel = [np.isin(part_of, which)]
        else:
            where = {lab: g for g, lab in enumerate(labels)}
            if any(lab not in where for lab in groups):
                return None
            sel = [np.isin(part_of, which) & (group_of == where[lab]) for lab in groups]
        return [(T[s].sum(axis=0), int(n_cell[s].sum()), int(e_cell[s].sum())) for s in sel]

    def polychoric(self, frame: pd.DataFrame, *, missing: str = "pairwise", acov: bool | str = False):
        """``polychoric(frame, missing=missing, acov=acov)`` from the shared tables when ``frame`` holds items of
        these rows (all rows or a part) with at least :data:`MIN_ROWS` rows, pairwise deletion and no full Γ;
        else None (the caller runs :func:`~psychometrics.ordinal.polychoric` on ``frame``)."""
        from psychometrics.ordinal.correlations import polychoric_from_tables

        if missing != "pairwise" or acov is True or acov is None or len(frame) < MIN_ROWS:
            return None
        sub = self.subset(frame.index, list(frame.columns))
        if sub is None:
            return None
        T, levels, n, n_excluded = sub
        return polychoric_from_tables(T, [str(c) for c in frame.columns], levels, n, n_excluded, missing=missing,
                                      acov=acov)

    def subset(self, rows: pd.Index, columns: Sequence[str]):
        """What :func:`psychometrics.ordinal.correlations.polychoric_from_tables` needs for the items ``columns``
        of ``rows`` (pairwise deletion): ``(T, levels, n, n_excluded)`` — the tables over the categories the
        rows use (T's upper triangle plus a zero last row and column), each item's observed values, the rows
        with an answer and the rows without —, or None (then the caller computes its input itself)."""
        got = self.tables(rows)
        coded = self.coded()
        if got is None or coded is None:
            return None
        T, n_rows, n_empty = got[0]
        names = self.names
        if len(set(map(str, columns))) != len(columns) or not set(map(str, columns)) <= set(names):
            return None  # duplicate or unknown columns: the caller's own check and message
        cols = [names.index(str(c)) for c in columns]
        codes, lo, slots, _ = coded
        if len(cols) < len(names):  # rows without an answer among these columns (not only among all of them)
            pos = self.positions(rows)
            seen = np.zeros(pos.size, dtype=bool)
            for j in cols:
                seen |= codes[pos, j] >= 0
            n_empty = int(pos.size - seen.sum())
        offs = np.concatenate([[0], np.cumsum(slots)])
        diag = np.diag(T)
        sl, levels = [], []
        for j in cols:
            used = np.flatnonzero(diag[offs[j]: offs[j + 1]] > 0)
            if used.size == 0:
                return None  # an item without answers in these rows: the caller's own error
            sl.append(offs[j] + used)
            levels.append((used + lo[j]).astype(np.int64))
        sl = np.concatenate(sl)
        full = np.triu(T) + np.triu(T, 1).T
        out = np.zeros((sl.size + 1, sl.size + 1))
        out[:-1, :-1] = full[np.ix_(sl, sl)]
        return out, levels, n_rows - n_empty, n_empty


def _code(items: pd.DataFrame):
    """(codes, lo, slots, empty) of the item frame, or None when an item is not whole numbers in a small range."""
    try:
        X = items.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return None
    n, p = X.shape
    if n == 0 or p < 2:
        return None
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or (hi - lo + 1 > _MAX_SLOTS).any():
        return None
    codes = np.empty((n, p), dtype=np.int8, order="F")
    empty = np.zeros(n, dtype=bool)
    for r0 in range(0, n, _BLOCK):
        B = X[r0:r0 + _BLOCK]
        nan = np.isnan(B)
        v = np.where(nan, lo - 1.0, B) - lo  # −1 where missing
        if (v != np.round(v)).any() or np.isinf(B).any():
            return None
        codes[r0:r0 + _BLOCK] = v.astype(np.int8)
        empty[r0:r0 + _BLOCK] = nan.all(axis=1)
    return codes, lo.astype(np.int64), (hi - lo + 1).astype(np.int64), empty


def _cells(coded, index: pd.Index, parts: Sequence[pd.Index], group: pd.Series | None):
    """The partition of the rows into (part × group) cells and each cell's tables (one one-hot product per cell)."""
    from psychometrics.ordinal.correlations import _tables

    codes, lo, slots, empty = coded
    n, p = codes.shape
    part = np.full(n, len(parts), dtype=np.int64)  # the last part: rows in none of the parts
    for k, rows in enumerate(parts):
        pos = index.get_indexer(rows)
        if (pos < 0).any():
            pos = pos[pos >= 0]
        part[pos] = k
    if group is None:
        gcode, labels = np.zeros(n, dtype=np.int64), ["all"]
    else:
        gcode, uniques = pd.factorize(group.reindex(index).astype(str))
        labels = [str(u) for u in uniques]
        gcode = np.where(gcode < 0, len(labels), gcode)  # a missing label: a cell of its own
        labels.append(None)
    G = len(labels)
    cell = part * G + gcode
    ncell = (len(parts) + 1) * G
    K = {j: int(slots[j]) for j in range(p)}
    tot = int(slots.sum())
    T = np.zeros((ncell, tot + 1, tot + 1))
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(ncell + 1))
    for c in range(ncell):
        if bounds[c + 1] > bounds[c]:
            rows = order[bounds[c]:bounds[c + 1]]
            sub = np.empty((rows.size, p), dtype=np.int8, order="F")  # column order: _tables reads columns
            for j in range(p):  # (a row gather codes[rows] is row-major: the one-hot build ≈ 2× slower)
                sub[:, j] = codes[rows, j]
            T[c] = _tables(sub, np.arange(p), K)
    n_cell = np.diff(bounds)
    e_cell = np.bincount(cell[empty], minlength=ncell)
    part_of = np.repeat(np.arange(len(parts) + 1), G)
    group_of = np.tile(np.arange(G), len(parts) + 1)
    return cell, T, n_cell, e_cell, part_of, group_of, labels


def shared_polychoric(rows: OrdinalRows | None, frame: pd.DataFrame, *, missing: str = "pairwise",
                      acov: bool | str = False):
    """``polychoric(frame, missing=missing, acov=acov)`` — from ``rows``' shared tables where they serve
    (:meth:`OrdinalRows.polychoric`), else from ``frame`` itself: the same numbers either way."""
    from psychometrics.ordinal.correlations import polychoric

    poly = rows.polychoric(frame, missing=missing, acov=acov) if rows is not None else None
    return poly if poly is not None else polychoric(frame, missing=missing, acov=acov)
