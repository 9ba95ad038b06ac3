"""The validated responses to one scale (:class:`Responses`) and :func:`load_responses`, which builds them.

:func:`load_responses` reads the source (:mod:`~psychometrics.data.readers`) and hands
the table to :func:`_load_frame`, which runs the checks of
:mod:`~psychometrics.data.checks` and the careless-responding screens
(:mod:`~psychometrics.data.careless`). :meth:`Responses.load_companion` runs
:func:`_load_frame` again on the stored table for another scale, which is why the
result and its builder live in one module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.data.careless import careless_screens
from psychometrics.data.checks import (
    _careless_flag_counts,
    _check_range,
    _check_role_columns,
    _data_quality,
    _map_item_columns,
    _numeric_values,
    _respondent_ids,
    _rows_with_group,
    strip_labels,
)
from psychometrics.data.quality import DataQuality
from psychometrics.data.readers import _read
from psychometrics.exceptions import DataError, Diagnostic
from psychometrics.scale import Scale
from psychometrics._text import quote


@dataclass(frozen=True, eq=False)
class Responses(ResultMixin):
    """Validated responses to one scale.

    Attributes
    ----------
    items : pandas.DataFrame
        Scored item responses (reverse-keyed items reversed as ``min + max - x``),
        columns = item ids in scale order, index = data row numbers (files) or the
        original index (DataFrame input). Missing values are NaN.
    raw : pandas.DataFrame
        The same responses before reverse keying (missing codes already NaN). For Likert items
        it is not stored but rebuilt from ``items`` on access (reversing the reverse-keyed
        columns again, exact for whole numbers), so that only one copy of the item matrix is
        held; each access returns a new frame.
    group : pandas.Series or None
        Group label per row.
    ids : pandas.Series or None
        Respondent id per row.
    extra : pandas.DataFrame
        All other columns of the source (e.g. companion measures' items), unchanged.
    quality : DataQuality
    careless : pandas.DataFrame
        Careless-responding screens per row (see :func:`careless_screens`); flags,
        never deletions.
    scale : Scale
    source : str
        File path, or ``"<DataFrame>"``.
    sha256 : str
        SHA-256 of the file bytes (DataFrame input: of its CSV rendering).
    diagnostics : tuple of Diagnostic
    frame : pandas.DataFrame
        The source table as read (all columns, before any change); used by
        :meth:`load_companion`.
    screens_pending : bool
        Read-only: True while the careless-responding screens and the data-quality record
        are still to compute (loaded inside :func:`deferred_screens`; ``careless`` and
        ``quality`` are None until :func:`screened` completes them).
    """

    items: pd.DataFrame
    group: pd.Series | None
    ids: pd.Series | None
    extra: pd.DataFrame
    quality: DataQuality
    careless: pd.DataFrame
    scale: Scale
    source: str
    sha256: str
    diagnostics: tuple[Diagnostic, ...] = ()
    frame: pd.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]
    _options: dict = field(default_factory=dict, repr=False)
    _raw: pd.DataFrame | None = field(default=None, repr=False)  # None: rebuilt from items (Likert)
    #: the careless screens and quality record still to compute (:func:`deferred_screens`; then ``careless``
    #: and ``quality`` are None until :func:`screened`)
    _pending: dict | None = field(default=None, repr=False)
    _title = "Responses"

    @property
    def raw(self) -> pd.DataFrame:
        """The responses before reverse keying (see the class docstring)."""
        if self._raw is not None:
            return self._raw
        out = self.items.copy()
        rev = [c for c in self.scale.reverse_items if c in out.columns]
        if rev:
            rf = self.scale.response_format
            out[rev] = rf.min + rf.max - out[rev]  # x = min + max − (min + max − x), exact for whole numbers
        return out

    @property
    def screens_pending(self) -> bool:
        """Whether the careless screens and the quality record are still to compute (see the class docstring)."""
        return self._pending is not None

    @property
    def n(self) -> int:
        """Number of rows used."""
        return len(self.items)

    def subscale(self, subscale_id: str) -> pd.DataFrame:
        """Scored responses to the items of one subscale (``"total"``: all items)."""
        return self.items.loc[:, list(self.scale.items_of(subscale_id))]

    def load_companion(self, scale: Scale, *, columns: Mapping[str, str] | None = None, **options: Any) -> Responses:
        """Load another scale's items (e.g. a companion measure) from the same source.

        Uses the same grouping and id columns and row policies unless ``options``
        override them; the result shares ``source`` and ``sha256``.
        """
        kwargs = {**self._options, **options, "columns": columns}
        # the same table and row options select the same rows: their checked ids are reused, not re-checked
        known = self.ids if not options else None
        # every row of the table kept: its (stripped) group labels and group sizes hold for the companion too
        group = None
        if not options and self.group is not None and self.quality.group_sizes is not None \
                and not len(self.quality.excluded) and len(self.frame) == len(self.items):
            group = (self.group, self.quality.group_sizes)
        return _load_frame(self.frame, scale, origin=(self.source, self.sha256, self._options["_kind"]),
                           declared_missing=self._options.get("_declared", {}), known_ids=known, known_group=group,
                           **_public(kwargs))

    def to_dict(self) -> dict[str, Any]:
        """Provenance and data quality (not the response matrices; use the frames directly)."""
        from psychometrics._results import to_jsonable

        return {
            "source": self.source,
            "sha256": self.sha256,
            "scale": {"id": self.scale.id, "version": self.scale.version, "content_hash": self.scale.content_hash},
            "n": self.n,
            "items": list(self.items.columns),
            "group": None if self.group is None else self.group.name,
            "quality": self.quality.to_dict(),
            "careless": to_jsonable(self.careless.sum(numeric_only=False)[[c for c in self.careless if c.endswith("flag")]]),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def to_frame(self) -> pd.DataFrame:
        """The scored item responses."""
        return self.items

    def _scalars(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "rows": self.n, "items": int(self.items.shape[1])}

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"data quality per item": self.quality.to_frame()}

    def summary(self) -> str:
        head = (f"Responses to {self.scale.name} ({self.scale.id} v{self.scale.version}) from {self.source}\n"
                f"sha256 {self.sha256[:16]}…  {self.n} rows × {self.items.shape[1]} items")
        return head + "\n\n" + self.quality.summary()


def _public(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if not k.startswith("_")}


def load_responses(
    source: str | Path | pd.DataFrame,
    scale: Scale | str | Path,
    group: str | None = None,
    *,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    out_of_range: Literal["error", "missing"] = "error",
    missing_group: Literal["error", "exclude"] = "error",
    sheet: str | int | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    longstring_max: int | None = None,
    mahalanobis_alpha: float = 0.001,
    evenodd_min: float = 0.30,
    evenodd_min_pairs: int = 6,
) -> Responses:
    """Read response data and validate it against a scale.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A ``.csv``, ``.tsv``/``.tab``, ``.txt`` (delimiter detected), ``.xlsx``/``.xlsm``,
        ``.sav``/``.zsav`` (SPSS), ``.dta`` (Stata), ``.parquet`` file, or a DataFrame.
    scale : Scale or path
        The scale (or the path of its YAML spec).
    group : str, optional
        Column holding group labels (e.g. career stage) for multi-group analyses.
    id_column : str, optional
        Column holding respondent ids (read as text; must be unique and complete).
    columns : mapping, optional
        Data column → item id, for columns not named by item id, e.g.
        ``{"q3": "MSS03"}``. Columns not mapped keep their names.
    out_of_range : {"error", "missing"}
        What to do with values outside ``[min, max]`` (and non-integer values of a
        Likert item): raise :class:`DataError` (default) or set them missing,
        counted in ``quality.missing_by_reason`` and warned about.
    missing_group : {"error", "exclude"}
        Rows without a group label: raise (default) or exclude them (listed in
        ``quality.excluded``).
    sheet : str or int, optional
        Excel sheet name or 0-based position (default: the first sheet).
    sep : str, optional
        Delimiter for text files (default ``","`` for .csv, tab for .tsv/.tab,
        detected for .txt).
    encoding : str
        Text encoding of CSV/TSV files.
    longstring_max, mahalanobis_alpha, evenodd_min, evenodd_min_pairs
        Thresholds of the careless-responding screens; see :func:`careless_screens`.

    Returns
    -------
    Responses

    Raises
    ------
    DataError
        Unreadable file, missing item columns, non-numeric cells, out-of-range
        values, missing group labels or respondent ids; the message names the items
        or rows, the count and example data row numbers, and what to do.

    Notes
    -----
    Missing-value codes (``response_format.missing_codes``) and SPSS user-defined
    missing values become NaN and are counted. Reverse keying is applied to
    :attr:`Responses.items`; :attr:`Responses.raw` keeps the answers as given.
    To load companion measures stored in the same file, call
    :meth:`Responses.load_companion` (or ``load_responses`` again with the
    companion scale); columns of other scales are kept in ``extra``, not rejected.
    """
    if not isinstance(scale, Scale):
        scale = Scale.from_yaml(scale)
    if out_of_range not in ("error", "missing"):
        raise ValueError(f"out_of_range must be 'error' or 'missing', not {quote(out_of_range)}")
    if missing_group not in ("error", "exclude"):
        raise ValueError(f"missing_group must be 'error' or 'exclude', not {quote(missing_group)}")
    frame, kind, where, sha, declared = _read(source, sheet=sheet, sep=sep, encoding=encoding, id_column=id_column)
    return _load_frame(
        frame, scale, origin=(where, sha, kind), declared_missing=declared, group=group, id_column=id_column,
        columns=columns, out_of_range=out_of_range, missing_group=missing_group, longstring_max=longstring_max,
        mahalanobis_alpha=mahalanobis_alpha, evenodd_min=evenodd_min, evenodd_min_pairs=evenodd_min_pairs,
    )



#: the items × rows scratch of :func:`shared_values_buffer` (None outside it): one per context, so per thread
_VALUES_BUFFER: ContextVar[list | None] = ContextVar("psychometrics_values_buffer", default=None)


@contextmanager
def shared_values_buffer() -> Iterator[None]:
    """Measures loaded inside the block (:func:`load_responses`, :meth:`Responses.load_companion`) read
    their answers into one items × rows scratch matrix, grown to the largest measure and reused.

    Each Likert measure's answers are read item by item into an items × rows matrix, checked, screened
    and summarised, and then dropped (its scored rows are kept; its raw answers are rebuilt from them):
    a new matrix per measure means writing into memory new to the process for each, which costs far
    more than the writes themselves (page faults and the kernel's huge-page compaction: at 10⁶ rows
    0.33 GB for the four companions of the demo study). The data step loads the companions inside
    the block (``pipeline/steps/data.py::finish_data``). Inside the block the matrix is
    reused; nothing refers to it after a measure is loaded (a measure whose raw answers are kept —
    not Likert — gets its own matrix). The numbers are the same: every entry is written before it is
    read. Context-local, so two threads loading data do not share it.
    """
    token = _VALUES_BUFFER.set([None])
    try:
        yield
    finally:
        _VALUES_BUFFER.reset(token)


def _values_out(k: int, n: int, likert: bool) -> np.ndarray | None:
    """The scratch of :func:`shared_values_buffer` as a k × n matrix (grown when too small), or None."""
    holder = _VALUES_BUFFER.get()
    if holder is None or not likert:
        return None
    if holder[0] is None or holder[0].size < k * n:
        holder[0] = None  # the smaller one freed before the larger one is allocated
        holder[0] = np.empty(k * n)
    return holder[0][:k * n].reshape(k, n)


#: inside :func:`deferred_screens`: below how many rows a measure's screens wait (None: outside the block)
_DEFER_SCREENS: ContextVar[int | None] = ContextVar("psychometrics_defer_screens", default=None)


@contextmanager
def deferred_screens(max_rows: int) -> Iterator[None]:
    """A measure loaded inside the block (:func:`load_responses`) from fewer than ``max_rows`` rows leaves its
    careless-responding screens and its data-quality record for :func:`screened`: its ``careless`` and
    ``quality`` are None until then (its items, groups, ids and the checks' results are final).

    The pipeline's data step reads the scale's rows in its first part, which every later step waits for, and
    completes the screens in its second part (``pipeline/steps/data.py::finish_data``), which may run beside
    the model steps — none of which read the screens (the step does not defer them when careless rows are to
    be excluded). The same functions on the same answers: the same numbers. Not with the
    :func:`shared_values_buffer` scratch (the answers are kept until the screens run: a view of the measure's
    own items × rows matrix). Context-local.
    """
    token = _DEFER_SCREENS.set(max_rows)
    try:
        yield
    finally:
        _DEFER_SCREENS.reset(token)


def screened(resp: Responses) -> Responses:
    """``resp`` with the careless screens and data-quality record that :func:`deferred_screens` left to
    compute (``resp`` itself when none are pending); its diagnostics in the order a direct load gives."""
    p = resp._pending
    if p is None:
        return resp
    careless, quality = _screens_and_quality(**p)
    return replace(resp, careless=careless, quality=quality, diagnostics=tuple(p["diagnostics"]), _pending=None)


def _screens_and_quality(raw: pd.DataFrame, scored: pd.DataFrame, scale: Scale, counts: Any, *, rows_read: int,
                         excluded: pd.DataFrame, group_sizes: pd.Series | None, kind: str, where: str,
                         diagnostics: list[Diagnostic], screens: dict[str, Any]) -> tuple[pd.DataFrame, DataQuality]:
    """The careless-responding screens and the data-quality record of one measure (``diagnostics`` appended to)."""
    careless = careless_screens(raw, scored, scale, diagnostics=diagnostics, where=where, **screens)
    quality = _data_quality(raw, scale, counts, rows_read=rows_read, excluded=excluded,
                            flags=_careless_flag_counts(careless), group_sizes=group_sizes, kind=kind,
                            where=where, diagnostics=diagnostics)
    return careless, quality


def _scored_rows(values: np.ndarray, rev: list[int], total: float) -> np.ndarray:
    """The scored answers, rows × items (C order, as ``Responses.items`` has always been built), from the
    items × rows ``values``: reverse-keyed items as ``total − x`` (``total`` = min + max).

    Transposed in blocks of rows that fit in cache (one ``np.ascontiguousarray(values.T)`` is ten times
    slower at 10⁶ rows); the same numbers as reversing a copy of the rows × items matrix.
    """
    k, n = values.shape
    out = np.empty((n, k))
    for s in range(0, n, 8_192):
        blk = out[s:s + 8_192]
        blk[...] = values[:, s:s + 8_192].T
        if rev:
            blk[:, rev] = total - blk[:, rev]
    return out


def _load_frame(
    frame: pd.DataFrame,
    scale: Scale,
    *,
    origin: tuple[str, str, str],
    declared_missing: Mapping[str, list[tuple[float, float]]],
    group: str | None = None,
    id_column: str | None = None,
    columns: Mapping[str, str] | None = None,
    out_of_range: str = "error",
    missing_group: str = "error",
    longstring_max: int | None = None,
    mahalanobis_alpha: float = 0.001,
    evenodd_min: float = 0.30,
    evenodd_min_pairs: int = 6,
    known_ids: pd.Series | None = None,
    known_group: tuple[pd.Series, pd.Series] | None = None,
) -> Responses:
    """Validate a table read from ``origin`` = (description, sha256, kind) against ``scale``.

    The steps of :mod:`~psychometrics.data.checks` in order (the first problem found
    raises), then reverse keying, the careless-responding screens and the data-quality
    record. Options as in :func:`load_responses`; ``known_ids``: the respondent ids of these
    rows, already checked (a companion measure read from the same table with the same options);
    ``known_group``: the group labels (stripped, every row labelled) and group sizes of every row of
    ``frame``, from the same table and options — nothing to strip, exclude or count again.
    """
    where, sha, kind = origin
    diagnostics: list[Diagnostic] = []
    item_ids = list(scale.item_ids)
    label = f"{where} (scale {quote(scale.id)})"

    item_col = _map_item_columns(frame, scale, columns, where=where, label=label)
    _check_role_columns(frame, scale, item_col, group, id_column, where=where)
    reuse_group = (known_group is not None and group is not None and group in frame.columns
                   and known_group[0].index.equals(frame.index))
    # reuse_group: the labels as checked for the scale (stripping is idempotent; no row lacked a label)
    if not reuse_group and group is not None and group in frame.columns:
        labels = frame[group]  # one object: ``frame[group]`` builds a new Series at each access
        stripped = strip_labels(labels, what=f"group column {quote(group)}", where=where, diagnostics=diagnostics)
        if stripped is not labels:
            frame = frame.copy(deep=False)  # the other columns are shared, not copied; the group column replaced
            frame[group] = stripped
    keep, excluded = _rows_with_group(frame, None if reuse_group else group, missing_group, where=where, kind=kind,
                                      diagnostics=diagnostics)
    work = frame if bool(keep.all()) else frame.loc[keep]  # no copy of the whole table when every row is kept
    rows_read = len(frame)
    if known_ids is not None and id_column is not None and known_ids.index.equals(work.index):
        ids = known_ids  # checked already for these rows (Responses.load_companion)
    else:
        ids = _respondent_ids(work, id_column, where=where, kind=kind)

    rf = scale.response_format
    n = len(work)
    scratch = _values_out(len(item_ids), n, rf.type == "likert")
    values, counts = _numeric_values(work, item_ids, item_col, rf, declared_missing, kind=kind, label=label,
                                     out=scratch)
    values = _check_range(values, work.index, item_ids, rf, out_of_range, counts, kind=kind, label=label,
                          where=where, diagnostics=diagnostics)

    # ``values`` is items × rows: the frame's block as it is (no copy); ``values`` is not used again
    raw = pd.DataFrame(values.T, index=work.index, columns=item_ids, copy=False)
    rev = [item_ids.index(i) for i in scale.reverse_items]
    scored_values = _scored_rows(values, rev, rf.min + rf.max)
    scored = pd.DataFrame(scored_values, index=work.index, columns=item_ids, copy=False)  # one block: no copy on to_numpy

    group_series = None
    group_sizes = None
    if reuse_group:
        group_series, group_sizes = known_group
    elif group is not None:
        group_series = work[group].rename(group)
        group_sizes = group_series.value_counts(sort=False).sort_index().rename("n")

    used_cols = {item_col[i] for i in item_ids} | {c for c in (group, id_column) if c is not None}
    extra = work.loc[:, [c for c in work.columns if c not in used_cols]]

    if n == 0:
        raise DataError(f"{label}: no rows to analyse ({rows_read} read, {rows_read - n} excluded).")

    screens = {"longstring_max": longstring_max, "mahalanobis_alpha": mahalanobis_alpha, "evenodd_min": evenodd_min,
               "evenodd_min_pairs": evenodd_min_pairs}
    later = dict(raw=raw, scored=scored, scale=scale, counts=counts, rows_read=rows_read, excluded=excluded,
                 group_sizes=group_sizes, kind=kind, where=where, diagnostics=diagnostics, screens=screens)
    defer = _DEFER_SCREENS.get()
    pending = later if defer is not None and n < defer and scratch is None else None  # (deferred_screens)
    careless, quality = (None, None) if pending is not None else _screens_and_quality(**later)
    options = {"group": group, "id_column": id_column, "out_of_range": out_of_range, "missing_group": missing_group,
               "longstring_max": longstring_max, "mahalanobis_alpha": mahalanobis_alpha, "evenodd_min": evenodd_min,
               "evenodd_min_pairs": evenodd_min_pairs, "_kind": kind, "_declared": dict(declared_missing)}
    # Likert answers are whole numbers, so raw is rebuilt exactly from the scored items: not stored
    return Responses(items=scored, _raw=None if rf.type == "likert" else raw, group=group_series, ids=ids, extra=extra, quality=quality,
                     careless=careless, scale=scale, source=where, sha256=sha, diagnostics=tuple(diagnostics),
                     frame=frame, _options=options, _pending=pending)
