"""One pass over the responses into compact per-group sufficient statistics.

:func:`sufficient_stats` reads a response matrix once, in row chunks, and keeps per group
only what the later analyses need from the rows:

* ``n`` (rows), ``n_obs`` (answers per item) and ``complete`` (rows answering every item);
* pairwise moments: ``pair_n[i, j]`` (rows answering i and j), ``pair_sum[i, j]`` (Σ x_i over
  those rows), ``pair_sq[i, j]`` (Σ x_i² over them) and ``cross[i, j]`` (Σ x_i x_j over them),
  from which the pairwise-complete means, covariances and correlations follow
  (R's ``cov/cor(use = "pairwise")``);
* complete-case moments: ``cc_sum`` and ``cc_cross`` (Σ x, Σ x xᵀ over rows answering every
  item) — listwise covariance, and the mean and covariance of the Mahalanobis screen;
* ``cat_counts[i, k]``: answers of item i in category k (the scale's response categories);
* ``tables[i, j, k, l]``: rows answering i in category k and j in category l (the bivariate
  tables of the polychoric correlations), pairwise, and ``cc_tables`` over complete rows;
* ``out_of_range`` / ``not_category``: answers outside the categories (counted, never dropped,
  so the caller can raise :class:`~psychometrics.exceptions.DataError` naming the item);
* ``patterns`` (with ``patterns=True``): per missing-data pattern (key: the packed observed mask) its rows, Σ x and
  Σ x xᵀ over the observed items (:class:`PatternSums`; :meth:`GroupStats.pattern_moments`
  gives mean and ML covariance, most frequent first) — everything FIML's likelihood, EM and
  Little's MCAR test need from the rows.

Exactness
---------
Likert answers are small integers, so every entry is an integer sum. They are accumulated as
float64 matrix products of small-integer codes (one-hot indicators for the tables); each
partial sum is an integer below 2⁵³ and is therefore exact, so the statistics do not depend on
the chunking, the partitioning or the order of summation: the Dask path
(:func:`sufficient_stats_dask`) and the in-memory path give the same numbers (tested to
1e-10 relative; in practice bit for bit). Codes are held as ``int8`` while counting (one byte
per answer), and a chunk is at most ``chunk_rows`` rows, so the extra memory is bounded and
independent of n.

More moments are added by extending :func:`_accumulate` and :class:`GroupStats`; the merge
(:meth:`GroupStats.__add__`) is element-wise addition of every array field, and of the
pattern sums by pattern.

Which steps still need the raw rows: the careless-responding screens (per-row indices),
scoring (a score per respondent) and the exact row-resampling bootstrap at the demo's n; see
``docs/large-samples.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics._results import ResultMixin
from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["GroupStats", "PatternSums", "SufficientStats", "sufficient_stats", "sufficient_stats_dask", "parquet_files"]

ALL = "(all)"  # the group label when there is no grouping column
_ARRAYS = ("n_obs", "pair_n", "pair_sum", "pair_sq", "cross", "cc_sum", "cc_cross", "cat_counts", "tables",
           "cc_tables", "out_of_range", "not_category")


@dataclass(frozen=True, eq=False)
class PatternSums:
    """One missing-data pattern of one group: ``observed`` (bool mask over the items), ``n`` rows,
    ``total`` = Σ x (length p, 0 at missing items) and ``cross`` = Σ x xᵀ (p × p, 0 outside the
    observed block) over its rows. Integer sums for Likert answers: exact in any order."""

    observed: np.ndarray
    n: int
    total: np.ndarray
    cross: np.ndarray

    def __add__(self, other: PatternSums) -> PatternSums:
        return PatternSums(self.observed, self.n + other.n, self.total + other.total, self.cross + other.cross)

    @property
    def mean(self) -> np.ndarray:
        """Mean of the observed items (length ``observed.sum()``)."""
        return self.total[self.observed] / self.n

    @property
    def cov(self) -> np.ndarray:
        """ML covariance (divisor n) of the observed items."""
        o = self.observed
        m = self.mean
        return self.cross[np.ix_(o, o)] / self.n - np.outer(m, m)


def _merge_patterns(a: Mapping[bytes, PatternSums], b: Mapping[bytes, PatternSums]) -> dict[bytes, PatternSums]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Sufficient statistics of one group (see the module docstring for each field)."""

    n: int
    complete: int
    n_obs: np.ndarray  # (p,)
    pair_n: np.ndarray  # (p, p)
    pair_sum: np.ndarray  # (p, p): [i, j] = Σ x_i over rows with i and j answered
    pair_sq: np.ndarray  # (p, p): [i, j] = Σ x_i² over those rows
    cross: np.ndarray  # (p, p): Σ x_i x_j over rows with both answered
    cc_sum: np.ndarray  # (p,) over complete rows
    cc_cross: np.ndarray  # (p, p) over complete rows
    cat_counts: np.ndarray  # (p, K)
    tables: np.ndarray  # (p, p, K, K) pairwise
    cc_tables: np.ndarray  # (p, p, K, K) complete rows
    out_of_range: np.ndarray  # (p,) answers outside [min, max]
    not_category: np.ndarray  # (p,) answers inside the range but not a category (e.g. 2.5)
    patterns: Mapping[bytes, PatternSums] = field(default_factory=dict)  # packed observed mask → sums

    def __add__(self, other: GroupStats) -> GroupStats:
        return GroupStats(n=self.n + other.n, complete=self.complete + other.complete,
                          patterns=_merge_patterns(self.patterns, other.patterns),
                          **{f: getattr(self, f) + getattr(other, f) for f in _ARRAYS})

    def pattern_moments(self, include_empty: bool = False) -> list[tuple[np.ndarray, int, np.ndarray, np.ndarray]]:
        """``(observed, n, mean, ML covariance)`` per missing-data pattern, most frequent first (ties: by
        pattern), the input of FIML and EM; rows answering no item are left out unless ``include_empty``."""
        pats = [v for v in self.patterns.values() if include_empty or v.observed.any()]
        pats.sort(key=lambda v: (-v.n, tuple(~v.observed)))
        return [(v.observed, v.n, v.mean, v.cov) for v in pats]

    def pairwise_cov(self, kind: str = "cov") -> np.ndarray:
        """Pairwise-complete covariance (n − 1 divisor) or correlation, as R's ``use = "pairwise"``."""
        m = self.pair_n
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = (self.cross - self.pair_sum * self.pair_sum.T / m) / (m - 1.0)
            if kind == "cor":
                var = (self.pair_sq - self.pair_sum ** 2 / m) / (m - 1.0)
                cov = cov / np.sqrt(var * var.T)
                np.fill_diagonal(cov, 1.0)
        cov[m < 2] = np.nan
        return cov

    def listwise_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance (n − 1 divisor) of the complete rows."""
        c = self.complete
        mean = self.cc_sum / c
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = (self.cc_cross - np.outer(self.cc_sum, self.cc_sum) / c) / (c - 1.0)
        return mean, cov


@dataclass(frozen=True, eq=False)
class SufficientStats(ResultMixin):
    """Per-group sufficient statistics of a response matrix (one pass over the rows).

    Attributes
    ----------
    items : tuple of str
    categories : ndarray
        The response categories (codes ``0 … K−1`` index them).
    groups : dict
        Group label → :class:`GroupStats` (label ``"(all)"`` without a grouping column).
    """

    items: tuple[str, ...]
    categories: np.ndarray
    groups: Mapping[str, GroupStats]

    @property
    def total(self) -> GroupStats:
        """The statistics of all rows (the sum over groups)."""
        gs = list(self.groups.values())
        out = gs[0]
        for g in gs[1:]:
            out = out + g
        return out

    @property
    def n(self) -> int:
        return sum(g.n for g in self.groups.values())

    def merge(self, other: SufficientStats) -> SufficientStats:
        """Statistics of the union of two disjoint sets of rows."""
        if self.items != other.items or not np.array_equal(self.categories, other.categories):
            raise ValueError("cannot merge statistics of different items or categories")
        out = dict(self.groups)
        for k, g in other.groups.items():
            out[k] = out[k] + g if k in out else g
        return SufficientStats(self.items, self.categories, dict(sorted(out.items())))

    def covariance(self, group: str | None = None, kind: str = "cov") -> pd.DataFrame:
        """Pairwise-complete covariance (or ``kind="cor"``) matrix of a group (default: all rows)."""
        g = self.total if group is None else self.groups[group]
        return pd.DataFrame(g.pairwise_cov(kind), index=list(self.items), columns=list(self.items))

    def to_frame(self) -> pd.DataFrame:
        """Per group and item: answers, mean (pairwise diagonal) and category counts."""
        rows = []
        for label, g in self.groups.items():
            for a, item in enumerate(self.items):
                row = {"group": label, "item": item, "n": g.n_obs[a],
                       "mean": g.pair_sum[a, a] / g.n_obs[a] if g.n_obs[a] else np.nan}
                row.update({f"n_{c:g}": g.cat_counts[a, k] for k, c in enumerate(self.categories)})
                rows.append(row)
        return pd.DataFrame(rows).set_index(["group", "item"])


def _accumulate(x: np.ndarray, categories: np.ndarray, patterns: bool = False) -> GroupStats:
    """Statistics of one block of rows ``x`` (rows × items, NaN = missing); per-pattern sums if ``patterns``."""
    n, p = x.shape
    K = len(categories)
    obs = ~np.isnan(x)
    m = obs.astype(np.float64)
    x0 = np.where(obs, x, 0.0)
    # category codes: index of the category, −1 missing or not a category
    lo, hi = categories[0], categories[-1]
    with np.errstate(invalid="ignore"):
        outside = obs & ((x < lo) | (x > hi))
    pos = np.searchsorted(categories, x0)
    pos_c = np.minimum(pos, K - 1)
    is_cat = obs & ~outside & (categories[pos_c] == x0)
    codes = np.where(is_cat, pos_c, -1).astype(np.int8)
    not_cat = obs & ~outside & ~is_cat
    # float32 one-hot: counts within a chunk (≤ chunk_rows < 2²⁴) are exact; summed across chunks in float64
    onehot = np.zeros((n, p * K), dtype=np.float32)
    r, c = np.nonzero(codes >= 0)
    onehot[r, c * K + codes[r, c]] = 1.0
    complete = obs.all(axis=1)
    pattern_sums = _pattern_sums(obs, x0) if patterns else {}
    oc = onehot[complete]
    xc = x0[complete]
    tab = (onehot.T @ onehot).astype(np.float64).reshape(p, K, p, K).transpose(0, 2, 1, 3)
    cc_tab = (oc.T @ oc).astype(np.float64).reshape(p, K, p, K).transpose(0, 2, 1, 3)
    return GroupStats(
        n=n, complete=int(complete.sum()), n_obs=obs.sum(axis=0).astype(np.float64),
        pair_n=m.T @ m, pair_sum=x0.T @ m, pair_sq=(x0 * x0).T @ m,
        cross=x0.T @ x0, cc_sum=xc.sum(axis=0), cc_cross=xc.T @ xc,
        cat_counts=onehot.sum(axis=0, dtype=np.float64).reshape(p, K), tables=np.ascontiguousarray(tab),
        cc_tables=np.ascontiguousarray(cc_tab), out_of_range=outside.sum(axis=0).astype(np.float64),
        not_category=not_cat.sum(axis=0).astype(np.float64), patterns=pattern_sums,
    )


def _pattern_sums(obs: np.ndarray, x0: np.ndarray) -> dict[bytes, PatternSums]:
    """Per missing-data pattern of a block: rows, Σ x and Σ x xᵀ (``x0``: answers with 0 for missing)."""
    from psychometrics.data.patterns import pattern_groups

    pg = pattern_groups(obs)
    out = {}
    for j, pat in enumerate(pg.patterns):
        y = x0[pg.rows(j)]
        out[np.packbits(pat).tobytes()] = PatternSums(pat.copy(), int(pg.counts[j]), y.sum(axis=0), y.T @ y)
    return out


def _empty(p: int, K: int) -> GroupStats:
    z = np.zeros
    return GroupStats(n=0, complete=0, n_obs=z(p), pair_n=z((p, p)), pair_sum=z((p, p)), pair_sq=z((p, p)),
                      cross=z((p, p)), cc_sum=z(p), cc_cross=z((p, p)), cat_counts=z((p, K)),
                      tables=z((p, p, K, K)), cc_tables=z((p, p, K, K)), out_of_range=z(p), not_category=z(p))


@single_thread_blas  # one product per chunk; threaded BLAS on a busy machine is many times slower
def _block_stats(values: np.ndarray, labels: np.ndarray | None, categories: np.ndarray,
                 chunk_rows: int, patterns: bool = False) -> dict[str, GroupStats]:
    """Per-group statistics of ``values`` (float array), chunk by chunk."""
    n, p = values.shape
    K = len(categories)
    if labels is None:
        keys, inv = np.array([ALL], dtype=object), np.zeros(n, dtype=np.intp)
    else:
        keys, inv = np.unique(labels.astype(str), return_inverse=True)
    out = {str(k): _empty(p, K) for k in keys}
    for g, key in enumerate(keys):
        rows = np.flatnonzero(inv == g) if len(keys) > 1 else None
        m = n if rows is None else rows.size
        for s in range(0, m, chunk_rows):
            blk = values[s:s + chunk_rows] if rows is None else values[rows[s:s + chunk_rows]]
            out[str(key)] = out[str(key)] + _accumulate(np.asarray(blk, dtype=np.float64), categories, patterns)
    return out


def sufficient_stats(data: pd.DataFrame, items: Sequence[str], categories: Sequence[float], *,
                     group: str | None = None, chunk_rows: int = 65_536, patterns: bool = False) -> SufficientStats:
    """One pass over an in-memory table into per-group sufficient statistics.

    Parameters
    ----------
    data : DataFrame
        Item columns (numbers; NaN = missing) and, if given, the group column.
    items : sequence of str
        The item columns, in order.
    categories : sequence of float
        The response categories in increasing order (e.g. ``range(1, 6)`` for a 1–5 Likert item).
    group : str, optional
        Grouping column; rows are summarised per label (as text).
    chunk_rows : int
        Rows per block (bounds the temporary one-hot matrix to chunk_rows × items × K).
    patterns : bool
        Also the per-missing-pattern sums (``GroupStats.patterns``; off by default: one p × p
        sum per distinct pattern and group, which the merge of many partitions holds at once).

    Returns
    -------
    SufficientStats
        Validated against the direct computations (``numpy.cov``, pandas ``cov``/``corr``,
        ``pd.crosstab``) in ``tests/test_sufficient.py``.
    """
    cats = np.asarray(sorted(float(c) for c in categories))
    missing = [c for c in list(items) + ([group] if group else []) if c not in data.columns]
    if missing:
        raise DataError(f"sufficient statistics: columns not in the data: {', '.join(map(str, missing[:10]))}")
    values = data[list(items)].to_numpy(dtype=np.float64)
    labels = None if group is None else data[group].to_numpy()
    stats = _block_stats(values, labels, cats, chunk_rows, patterns)
    return SufficientStats(tuple(map(str, items)), cats, dict(sorted(stats.items())))


def parquet_files(source: str | Path) -> list[Path]:
    """The Parquet files of a dataset given as a file, a folder (searched recursively) or a glob.

    Raises
    ------
    DataError
        Nothing matches, naming the path and what to give instead.
    """
    import glob

    s = str(source)
    if any(ch in s for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(s, recursive=True) if f.lower().endswith((".parquet", ".pq")))
    elif Path(s).is_dir():
        files = sorted(f for f in Path(s).rglob("*") if f.suffix.lower() in (".parquet", ".pq"))
    else:
        files = [Path(s)] if Path(s).exists() else []
    if not files:
        raise DataError(f"No Parquet files found at {quote(s)}; give a .parquet file, a folder of them or a "
                        "glob such as 'data/part-*.parquet'.")
    return files


def _file_stats(path: str, items: list[str], categories: np.ndarray, group: str | None,
                chunk_rows: int, patterns: bool = False) -> dict[str, GroupStats]:
    """Statistics of one Parquet file, read batch by batch (runs on a Dask worker)."""
    import pyarrow.parquet as pq

    cols = items + ([group] if group else [])
    out: dict[str, GroupStats] = {}
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=cols):
        frame = batch.to_pandas()
        values = frame[items].to_numpy(dtype=np.float64)
        labels = None if group is None else frame[group].to_numpy()
        for k, g in _block_stats(values, labels, categories, chunk_rows, patterns).items():
            out[k] = out[k] + g if k in out else g
    return out


def _merge_dicts(parts: Sequence[Mapping[str, GroupStats]]) -> dict[str, GroupStats]:
    out: dict[str, GroupStats] = {}
    for part in parts:
        for k, g in part.items():
            out[k] = out[k] + g if k in out else g
    return out


def sufficient_stats_dask(source: str | Path, items: Sequence[str], categories: Sequence[float], *,
                          group: str | None = None, scheduler: str | None = None, chunk_rows: int = 65_536,
                          retries: int = 3, patterns: bool = False) -> SufficientStats:
    """:func:`sufficient_stats` of a partitioned Parquet dataset, computed with Dask.

    One task per Parquet file computes its per-group statistics (reading only the item and
    group columns, ``chunk_rows`` at a time); the partial statistics are merged by a tree
    of additions. ``scheduler`` (or the environment variable ``DASK_SCHEDULER_ADDRESS``) is
    the address of an existing Dask cluster, e.g. ``tcp://10.0.0.5:8786``; without one, the
    tasks run on Dask's local threaded scheduler in this process. A worker lost mid-run is
    handled by the cluster (its tasks are recomputed elsewhere; ``retries`` per task).

    The numbers are those of :func:`sufficient_stats` on the concatenated files (integer
    sums, exact in any order).
    """
    import dask

    files = parquet_files(source)
    cats = np.asarray(sorted(float(c) for c in categories))
    item_list = [str(i) for i in items]
    _check_columns(files[0], item_list + ([group] if group else []))
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    tasks = [dask.delayed(_file_stats, pure=True)(str(f), item_list, cats, group, chunk_rows, patterns)
             for f in files]
    while len(tasks) > 1:  # tree reduction: partial sums stay small, no single task holds all files
        tasks = [dask.delayed(_merge_dicts, pure=True)(tasks[i:i + 8]) for i in range(0, len(tasks), 8)]
    if address:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            merged = client.compute(tasks[0], retries=retries).result()
    else:
        merged = tasks[0].compute(scheduler="threads")
    return SufficientStats(tuple(item_list), cats, dict(sorted(merged.items())))


def _check_columns(path: Path, cols: list[str]) -> None:
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    absent = [c for c in cols if c not in names]
    if absent:
        raise DataError(f"{str(path)[:200]}: columns not in the Parquet schema: {', '.join(absent[:10])}"
                        f"{' …' if len(absent) > 10 else ''}. Check the item ids and --group.")
