"""Response data: read a file or DataFrame, validate it against a scale, screen for careless responding.

:func:`load_responses` is the single entry point. It reads CSV/TSV, Excel (.xlsx),
SPSS (.sav/.zsav), Stata (.dta), Parquet or a pandas DataFrame; maps data columns to
item ids; turns missing-value codes into NaN; checks that every item column is
present, numeric and inside the response range; applies reverse keying; and returns
a frozen :class:`Responses` with a :class:`DataQuality` record. Nothing is dropped,
imputed or clamped silently: every value set to missing is counted per item and
reason, every excluded row is listed, and careless-responding screens only *flag*
rows.

Row numbers in messages
-----------------------
For files, rows are *data row numbers*: 1 is the first respondent (the line or
spreadsheet row right below the header; in Excel that is row 2). The returned
frames use these numbers as their index (named ``row``). For DataFrame input the
original index is preserved and messages quote index labels.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics._validation import response_numbers
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics.scale import Scale

__all__ = [
    "load_responses",
    "Responses",
    "DataQuality",
    "careless_screens",
    "longstring",
    "mahalanobis",
    "evenodd",
    "SUPPORTED_FORMATS",
]

SUPPORTED_FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".tab": "TSV", ".txt": "delimited text",
    ".xlsx": "Excel", ".xlsm": "Excel", ".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata",
    ".parquet": "Parquet", ".pq": "Parquet",
}

# Reasons a value is missing, as columns of DataQuality.missing_by_reason.
BLANK = "blank in source"
CODE = "missing code"
DECLARED = "declared missing in file"
OUT_OF_RANGE = "out of range"
NOT_CATEGORY = "not a category"
REASONS = (BLANK, CODE, DECLARED, OUT_OF_RANGE, NOT_CATEGORY)

_EXAMPLES = 5  # example rows quoted per problem


# ===================================================================== results
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
        The same responses before reverse keying (missing codes already NaN).
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
    """

    items: pd.DataFrame
    raw: pd.DataFrame
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
    _title = "Responses"

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
        return _load_frame(self.frame, scale, origin=(self.source, self.sha256, self._options["_kind"]),
                           declared_missing=self._options.get("_declared", {}), **_public(kwargs))

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


# ================================================================ entry point
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
        raise ValueError(f"out_of_range must be 'error' or 'missing', not {out_of_range!r}")
    if missing_group not in ("error", "exclude"):
        raise ValueError(f"missing_group must be 'error' or 'exclude', not {missing_group!r}")
    frame, kind, where, sha, declared = _read(source, sheet=sheet, sep=sep, encoding=encoding, id_column=id_column)
    return _load_frame(
        frame, scale, origin=(where, sha, kind), declared_missing=declared, group=group, id_column=id_column,
        columns=columns, out_of_range=out_of_range, missing_group=missing_group, longstring_max=longstring_max,
        mahalanobis_alpha=mahalanobis_alpha, evenodd_min=evenodd_min, evenodd_min_pairs=evenodd_min_pairs,
    )


# ===================================================================== reading
def _read(source, *, sheet, sep, encoding, id_column):
    """Return (frame, kind, description, sha256, declared_missing)."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if frame.columns.duplicated().any():
            dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise DataError(f"The DataFrame has duplicate column names: {', '.join(dupes)}. Rename them.")
        if frame.index.has_duplicates:
            dupes = frame.index[frame.index.duplicated()].unique()[:_EXAMPLES]
            raise DataError(
                f"The DataFrame index has duplicate labels ({', '.join(map(str, dupes))}); rows must be "
                "identifiable. Call .reset_index(drop=True) first or pass unique labels."
            )
        sha = hashlib.sha256(frame.to_csv().encode("utf-8")).hexdigest()
        return frame, "frame", "<DataFrame>", sha, {}
    if not isinstance(source, (str, Path)):
        raise DataError(f"Cannot read responses from a {type(source).__name__}; give a file path or a pandas DataFrame.")
    path = Path(source)
    if not path.exists():
        raise DataError(f"Data file not found: {path}. Check the path.")
    if path.is_dir():
        raise DataError(f"Data path {path} is a directory; give a data file.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise DataError(
            f"Cannot read {path}: unsupported file type {suffix or '(none)'!r}. Supported: "
            + ", ".join(sorted(SUPPORTED_FORMATS)) + ". Save the data in one of these formats"
            + (" (for .xls: save as .xlsx)" if suffix == ".xls" else "") + "."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read data file {path}: {exc.strerror or exc}.") from None
    if not data:
        raise DataError(f"Data file {path} is empty.")
    sha = hashlib.sha256(data).hexdigest()
    declared: dict[str, list[tuple[float, float]]] = {}
    fmt = SUPPORTED_FORMATS[suffix]
    dtype = {id_column: str} if id_column else None
    try:
        if suffix in (".csv", ".tsv", ".tab", ".txt"):
            if sep is None:
                sep = {".csv": ",", ".txt": None}.get(suffix, "\t")
            frame = pd.read_csv(path, sep=sep, encoding=encoding, dtype=dtype,
                                engine="python" if sep is None else "c")
        elif suffix in (".xlsx", ".xlsm"):
            frame = _read_excel(path, sheet, dtype)
        elif suffix in (".sav", ".zsav"):
            import pyreadstat

            # user_missing=True keeps SPSS user-missing values so that they are counted, not hidden.
            frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
            for col, ranges in (meta.missing_ranges or {}).items():
                declared[col] = [(float(r["lo"]), float(r["hi"])) for r in ranges
                                 if isinstance(r.get("lo"), (int, float)) and isinstance(r.get("hi"), (int, float))]
        elif suffix == ".dta":
            import pyreadstat

            frame, _ = pyreadstat.read_dta(str(path))
        else:
            frame = pd.read_parquet(path, engine="pyarrow")
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Cannot read {path} as {fmt}: it is not {encoding} text (byte {exc.start}). "
            "Pass the right encoding (e.g. encoding='latin-1') or save the file as UTF-8."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"Data file {path} has no columns (is it empty?).") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Cannot read {path} as a {fmt} file: {detail}. Check that the file is a valid {fmt} file.") from None
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise DataError(f"{path} has duplicate column names: {', '.join(dupes)}. Rename them.")
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame, "file", str(path), sha, declared


def _read_excel(path: Path, sheet, dtype) -> pd.DataFrame:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        names = book.sheetnames
    finally:
        book.close()
    if sheet is None:
        sheet = 0
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(f"{path} has {len(names)} sheet(s) ({', '.join(names)}); there is no sheet number {sheet}.")
    elif sheet not in names:
        raise DataError(f"{path} has no sheet {sheet!r}; its sheets are: {', '.join(names)}.")
    return pd.read_excel(path, sheet_name=sheet, engine="openpyxl", dtype=dtype)


# =================================================================== validating
def _rows(labels, kind: str) -> str:
    labels = list(labels)
    shown = ", ".join(str(x) for x in labels[:_EXAMPLES]) + (", …" if len(labels) > _EXAMPLES else "")
    if kind == "file":
        return f"data row{'s' if len(labels) != 1 else ''} {shown}"
    return f"index label{'s' if len(labels) != 1 else ''} {shown}"


def _row_note(kind: str) -> str:
    if kind == "file":
        return " (Data row 1 is the first respondent, right below the header; in a spreadsheet that is row 2.)"
    return ""


def _note_prefix(kind: str) -> str:
    note = _row_note(kind).strip()
    return f"{note} " if note else ""


def _suggest_columns(missing: list[str], available: list[str]) -> str:
    import difflib

    hints = []
    lower = {c.lower(): c for c in available}
    for m in missing:
        match = lower.get(m.lower()) or next(iter(difflib.get_close_matches(m, available, n=1, cutoff=0.8)), None)
        if match:
            hints.append(f"{match!r} → {m!r}")
    return f" Possible matches: {', '.join(hints)}." if hints else ""


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
) -> Responses:
    where, sha, kind = origin
    diagnostics: list[Diagnostic] = []
    available = [str(c) for c in frame.columns]
    item_ids = list(scale.item_ids)
    label = f"{where} (scale {scale.id!r})"

    # ------------------------------------------------------ column mapping
    item_col: dict[str, str] = {}
    if columns:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise DataError(f"{where}: columns to map are not in the data: {', '.join(map(repr, absent))}."
                            f"{_suggest_columns(absent, available)} Columns present: {', '.join(available)}.")
        unknown = [v for v in columns.values() if v not in item_ids]
        if unknown:
            raise DataError(f"{where}: the column map names unknown item ids of scale {scale.id!r}: "
                            f"{', '.join(map(repr, unknown))}. Item ids: {', '.join(item_ids)}.")
        targets = pd.Series(list(columns.keys()), index=list(columns.values()))
        twice = targets.index[targets.index.duplicated()].unique()
        if len(twice):
            raise DataError(f"{where}: several columns are mapped to the same item: "
                            + "; ".join(f"{t}: {', '.join(targets[t])}" for t in twice) + ".")
        for col, item in columns.items():
            if item in frame.columns and item not in columns:
                raise DataError(f"{where}: column {col!r} is mapped to item {item!r}, but the data also has a "
                                f"column named {item!r}. Drop or rename one of them.")
            item_col[item] = col
    for item in item_ids:
        item_col.setdefault(item, item)

    missing_cols = [i for i in item_ids if item_col[i] not in frame.columns]
    if missing_cols:
        hint = _suggest_columns(missing_cols, available)
        if len(available) == 1 and any(ch in available[0] for ch in ";\t|"):
            hint += " The file has a single column whose name contains a delimiter: pass the right separator (sep=';')."
        raise DataError(
            f"{label}: {len(missing_cols)} item column{'s are' if len(missing_cols) != 1 else ' is'} missing: "
            f"{', '.join(missing_cols)}.{hint} Columns present: {', '.join(available[:40])}"
            f"{', …' if len(available) > 40 else ''}. Name the columns by item id or map them "
            "(columns={'data_column': 'ITEM_ID'}; on the command line --map data_column=ITEM_ID)."
        )
    for what, col in (("group", group), ("id", id_column)):
        if col is not None:
            if col not in frame.columns:
                raise DataError(f"{where}: {what} column {col!r} not found.{_suggest_columns([col], available)} "
                                f"Columns present: {', '.join(available[:40])}.")
            if col in item_col.values():
                raise DataError(f"{where}: {what} column {col!r} is also an item column of scale {scale.id!r}.")
    if group is not None and group == id_column:
        raise DataError(f"{where}: the group and id columns are the same column {group!r}.")

    # ------------------------------------------------------- group and ids
    keep = pd.Series(True, index=frame.index)
    excluded = pd.DataFrame({"reason": pd.Series(dtype=str)}, index=frame.index[:0])
    if group is not None:
        g = frame[group]
        blank = g.isna() | g.astype(str).str.strip().eq("")
        if blank.any():
            rows = frame.index[blank]
            if missing_group == "error":
                raise DataError(
                    f"{where}: {len(rows)} row{'s have' if len(rows) != 1 else ' has'} no group label in column "
                    f"{group!r}: {_rows(rows, kind)}.{_row_note(kind)} Fill in the group, or exclude these rows "
                    "explicitly (missing_group='exclude'; on the command line --missing-group exclude)."
                )
            keep &= ~blank
            excluded = pd.DataFrame({"reason": f"no group label in column {group!r}"}, index=rows)
            record(diagnostics, DataQualityWarning,
                   f"{where}: excluded {len(rows)} row(s) without a group label in {group!r}: {_rows(rows, kind)}",
                   stacklevel=4)

    work = frame.loc[keep]
    rows_read = len(frame)

    ids = None
    if id_column is not None:
        ids_raw = work[id_column]
        ids = ids_raw.where(ids_raw.isna(), ids_raw.astype(str).str.strip())
        blank = ids.isna() | ids.eq("")
        if blank.any():
            raise DataError(f"{where}: {int(blank.sum())} row(s) have no respondent id in column {id_column!r}: "
                            f"{_rows(work.index[blank], kind)}.{_row_note(kind)} Fill them in or drop --id-column.")
        dup = ids.duplicated(keep=False)
        if dup.any():
            values = ids[dup].unique()
            raise DataError(f"{where}: respondent ids in column {id_column!r} are not unique: "
                            + "; ".join(f"{v!r} in {_rows(work.index[ids == v], kind)}" for v in values[:_EXAMPLES])
                            + f"{' …' if len(values) > _EXAMPLES else ''}.{_row_note(kind)}")
        ids = ids.rename(id_column)

    # ------------------------------------------------------ numeric values
    rf = scale.response_format
    n = len(work)
    values = np.empty((n, len(item_ids)), dtype=float)
    counts = {r: np.zeros(len(item_ids), dtype=np.int64) for r in REASONS}
    non_numeric: list[str] = []
    for j, item in enumerate(item_ids):
        col = work[item_col[item]]
        name = item if item_col[item] == item else f"{item} (column {item_col[item]!r})"
        if pd.api.types.is_bool_dtype(col):
            non_numeric.append(f"{name}: the column holds true/false values, not numbers")
            continue
        x, bad = response_numbers(col)
        if bad.any():
            examples = ", ".join(f"{v.strip() if isinstance(v, str) else v!r} in {_rows([r], kind)}"
                                 for r, v in list(col[bad].items())[:3])
            non_numeric.append(f"{name}: {int(bad.sum())} cell{'s' if bad.sum() != 1 else ''}, e.g. {examples}")
            continue
        counts[BLANK][j] = int(np.isnan(x).sum())
        if rf.missing_codes:
            is_code = np.isin(x, np.asarray(rf.missing_codes, dtype=float))
            counts[CODE][j] = int(is_code.sum())
            x = np.where(is_code, np.nan, x)
        for lo, hi in declared_missing.get(item_col[item], ()):
            is_declared = (x >= lo) & (x <= hi)
            counts[DECLARED][j] += int(is_declared.sum())
            x = np.where(is_declared, np.nan, x)
        values[:, j] = x
    if non_numeric:
        raise DataError(
            f"{label}: non-numeric values in {len(non_numeric)} item{'s' if len(non_numeric) != 1 else ''}:\n  "
            + "\n  ".join(non_numeric) + f"\n{_note_prefix(kind)}Recode answers as numbers "
            f"({rf.min}–{rf.max}); leave unanswered cells blank or use a missing code"
            + (f" ({', '.join(map(str, rf.missing_codes))})" if rf.missing_codes else
               " (declare codes in response_format.missing_codes)") + "."
        )

    # -------------------------------------------------------- valid range
    with np.errstate(invalid="ignore"):
        outside = (values < rf.min) | (values > rf.max)
        noncat = np.zeros_like(outside)
        if rf.type == "likert":
            noncat = ~outside & ~np.isnan(values) & (values != np.round(values))
    bad_any = outside | noncat
    if bad_any.any():
        lines = []
        for j in np.flatnonzero(bad_any.any(axis=0)):
            r_idx = np.flatnonzero(bad_any[:, j])
            examples = ", ".join(f"{values[r, j]:g} in {_rows([work.index[r]], kind)}" for r in r_idx[:3])
            lines.append(f"{item_ids[j]}: {len(r_idx)} value{'s' if len(r_idx) != 1 else ''}, e.g. {examples}")
        total = int(bad_any.sum())
        what = f"outside {rf.min}–{rf.max}" + (" or not whole numbers" if noncat.any() else "")
        if out_of_range == "error":
            raise DataError(
                f"{label}: {total} value{'s' if total != 1 else ''} {what} in "
                f"{len(lines)} item{'s' if len(lines) != 1 else ''}:\n  " + "\n  ".join(lines)
                + f"\n{_note_prefix(kind)}Correct the data, declare missing codes in the scale's "
                "response_format.missing_codes, or set such values missing (out_of_range='missing'; on the "
                "command line --out-of-range missing), which counts them."
            )
        counts[OUT_OF_RANGE] += outside.sum(axis=0)
        counts[NOT_CATEGORY] += noncat.sum(axis=0)
        values = np.where(bad_any, np.nan, values)
        record(diagnostics, DataQualityWarning,
               f"{where}: set {total} value(s) {what} to missing: " + "; ".join(lines), stacklevel=4)

    raw = pd.DataFrame(values, index=work.index, columns=item_ids)
    scored = raw.copy()
    rev = list(scale.reverse_items)
    if rev:
        scored[rev] = rf.min + rf.max - scored[rev]

    group_series = None
    group_sizes = None
    if group is not None:
        group_series = work[group].rename(group)
        group_sizes = group_series.value_counts(sort=False).sort_index().rename("n")

    used_cols = {item_col[i] for i in item_ids} | {c for c in (group, id_column) if c is not None}
    extra = work.loc[:, [c for c in work.columns if c not in used_cols]]

    if n == 0:
        raise DataError(f"{label}: no rows to analyse ({rows_read} read, {rows_read - n} excluded).")

    # ---------------------------------------------------- careless screens
    careless = careless_screens(raw, scored, scale, longstring_max=longstring_max,
                                mahalanobis_alpha=mahalanobis_alpha, evenodd_min=evenodd_min,
                                evenodd_min_pairs=evenodd_min_pairs, diagnostics=diagnostics, where=where)
    flag_cols = [c for c in careless.columns if c.endswith("_flag")]
    flags = careless[flag_cols].sum().astype(int)
    flags.index = [c.removesuffix("_flag") for c in flag_cols]
    flags["any"] = int(careless[flag_cols].any(axis=1).sum())

    # ----------------------------------------------------------- quality
    missing_by_reason = pd.DataFrame({r: counts[r] for r in REASONS}, index=pd.Index(item_ids, name="item"))
    missing = raw.isna().sum().astype(int).rename("missing")
    missing_share = (missing / n if n else missing * np.nan).rename("missing_share")
    empty_rows = int(raw.isna().all(axis=1).sum())
    complete = int(raw.notna().all(axis=1).sum())
    if empty_rows:
        rows = raw.index[raw.isna().all(axis=1)]
        record(diagnostics, DataQualityWarning,
               f"{where}: {empty_rows} row(s) answer none of the {len(item_ids)} items of {scale.id!r}: "
               f"{_rows(rows, kind)} (kept; they carry no information)", stacklevel=4)
    quality = DataQuality(
        rows_read=rows_read, rows_used=n, excluded=excluded, missing_by_reason=missing_by_reason,
        missing=missing, missing_share=missing_share,
        values_set_missing=int(missing_by_reason.drop(columns=[BLANK]).to_numpy().sum()),
        complete_cases=complete, empty_rows=empty_rows, careless_flags=flags.rename("flagged"),
        group_sizes=group_sizes, diagnostics=tuple(diagnostics),
    )
    options = {"group": group, "id_column": id_column, "out_of_range": out_of_range, "missing_group": missing_group,
               "longstring_max": longstring_max, "mahalanobis_alpha": mahalanobis_alpha, "evenodd_min": evenodd_min,
               "evenodd_min_pairs": evenodd_min_pairs, "_kind": kind, "_declared": dict(declared_missing)}
    return Responses(items=scored, raw=raw, group=group_series, ids=ids, extra=extra, quality=quality,
                     careless=careless, scale=scale, source=where, sha256=sha, diagnostics=tuple(diagnostics),
                     frame=frame, _options=options)


# ============================================================= careless screens
def longstring(raw: pd.DataFrame) -> pd.Series:
    """Longest run of identical consecutive answers per row (Johnson, 2005).

    Items are taken in the order of the columns (the order respondents saw them),
    on the raw answers (before reverse keying), as ``careless::longstring`` does.
    A missing answer ends a run and does not start one; a row with no answers
    has a longest run of 0.

    References
    ----------
    Johnson, J. A. (2005). Ascertaining the validity of individual protocols from
    web-based personality inventories. *Journal of Research in Personality, 39*, 103–129.
    """
    x = raw.to_numpy(dtype=float)
    n, k = x.shape
    best = np.zeros(n, dtype=np.int64)
    run = np.zeros(n, dtype=np.int64)
    for j in range(k):
        present = ~np.isnan(x[:, j])
        same = present & (run > 0) & (x[:, j] == x[:, j - 1]) if j else np.zeros(n, dtype=bool)
        run = np.where(present, np.where(same, run + 1, 1), 0)
        best = np.maximum(best, run)
    return pd.Series(best, index=raw.index, name="longstring")


def mahalanobis(scored: pd.DataFrame, min_share: float = 0.5) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Squared Mahalanobis distance of each row and its χ² upper-tail p-value.

    .. math:: D^2_i = (x_i - \\bar x)^\\top S^{-1} (x_i - \\bar x), \\qquad p_i = P(\\chi^2_{k_i} > D^2_i)

    :math:`\\bar x` and :math:`S` (denominator n − 1) are computed from the complete
    cases. For a complete row, :math:`k_i` is the number of items and the result is
    exactly ``careless::mahad(x, na.rm = TRUE)`` (``psych::outlier`` on the complete
    cases; validated against ``tests/reference/careless``). Unlike careless, rows with
    missing answers are screened too when at least ``min_share`` of the items are
    answered: D² uses the observed items only (the matching sub-vector of
    :math:`\\bar x` and sub-matrix of :math:`S`) and :math:`k_i` is their number;
    rows with fewer answers get NaN. Reverse keying does not change D² (it is affine).

    Returns
    -------
    d2, p, df : pandas.Series
        All NaN when the covariance matrix of the complete cases is singular (too few
        complete rows, or an item without variance).
    """
    from scipy.stats import chi2

    x = scored.to_numpy(dtype=float)
    n, k = x.shape
    observed = ~np.isnan(x)
    n_obs = observed.sum(axis=1)
    complete = n_obs == k
    d2 = np.full(n, np.nan)
    dof = np.where(n_obs >= max(1, math.ceil(min_share * k)), n_obs, 0).astype(float)
    xc = x[complete]
    if len(xc) > k:
        mean = xc.mean(axis=0)
        centred_c = xc - mean
        cov = centred_c.T @ centred_c / (len(xc) - 1)
        eig = np.linalg.eigvalsh(cov)
        if eig[0] > 1e-10 * max(eig[-1], 1e-300):
            d2[complete] = np.einsum("ij,ij->i", centred_c @ np.linalg.inv(cov), centred_c)
            # Incomplete rows, one missingness pattern at a time.
            partial = ~complete & (dof > 0)
            if partial.any():
                patterns, inverse = np.unique(observed[partial], axis=0, return_inverse=True)
                rows = np.flatnonzero(partial)
                for p_idx, pattern in enumerate(patterns):
                    members = rows[inverse.ravel() == p_idx]
                    dev = x[np.ix_(members, pattern)] - mean[pattern]
                    sub_inv = np.linalg.inv(cov[np.ix_(pattern, pattern)])
                    d2[members] = np.einsum("ij,ij->i", dev @ sub_inv, dev)
    dof = np.where(np.isnan(d2), np.nan, dof)
    p = chi2.sf(d2, df=np.where(np.isnan(dof), 1.0, dof))
    p = np.where(np.isnan(d2), np.nan, p)
    return (pd.Series(d2, index=scored.index, name="mahalanobis_d2"),
            pd.Series(p, index=scored.index, name="mahalanobis_p"),
            pd.Series(dof, index=scored.index, name="mahalanobis_df"))


def evenodd(scored: pd.DataFrame, scale: Scale) -> pd.Series:
    """Even–odd consistency per row (Johnson, 2005; ``careless::evenodd``).

    Within each subscale, in specification order, the mean of the odd-numbered items
    (1st, 3rd, …) and the mean of the even-numbered items (2nd, 4th, …) are taken
    (ignoring missing answers, on reverse-keyed scores). Across subscales the
    person's odd means are correlated with the even means (subscales where either
    half is missing are skipped), and the correlation is Spearman–Brown corrected,
    :math:`r_{SB} = 2r / (1 + r)`, bounded below by −1.

    Higher values mean *more* consistent answering (Johnson's orientation);
    ``careless::evenodd`` ≥ 1.2.0 returns the negation, ``-r_SB``. Unlike careless we
    require at least three subscales with both halves answered (with two, r is
    always ±1) and return NaN otherwise, and NaN when either half has no variance
    across subscales (as careless does).
    """
    x = scored.to_numpy(dtype=float)
    cols = {c: j for j, c in enumerate(scored.columns)}
    odd_means, even_means = [], []
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        for s in scale.subscale_ids:
            idx = [cols[i] for i in scale.items_of(s)]
            if len(idx) < 2:
                continue
            odd_means.append(np.nanmean(x[:, idx[0::2]], axis=1))
            even_means.append(np.nanmean(x[:, idx[1::2]], axis=1))
    n = len(x)
    if len(odd_means) < 3:
        return pd.Series(np.full(n, np.nan), index=scored.index, name="evenodd")
    o, e = np.column_stack(odd_means), np.column_stack(even_means)
    mask = ~np.isnan(o) & ~np.isnan(e)
    m = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        om = np.where(mask, o, 0).sum(axis=1) / m
        em = np.where(mask, e, 0).sum(axis=1) / m
        do = np.where(mask, o - om[:, None], 0)
        de = np.where(mask, e - em[:, None], 0)
        sxx, syy, sxy = (do * do).sum(1), (de * de).sum(1), (do * de).sum(1)
        # Zero variance → NaN, as R's cor() gives.
        r = np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
        r = np.clip(r, -1.0, 1.0)
        sb = np.where(r <= -1.0 / 3.0, -1.0, 2 * r / (1 + r))
    sb = np.where(m >= 3, sb, np.nan)
    return pd.Series(sb, index=scored.index, name="evenodd")


def _evenodd_pairs(scored: pd.DataFrame, scale: Scale) -> pd.Series:
    """Number of subscales with both an odd and an even half answered, per row."""
    present = scored.notna()
    count = np.zeros(len(scored), dtype=np.int64)
    for s in scale.subscale_ids:
        ids = list(scale.items_of(s))
        if len(ids) < 2:
            continue
        count += (present[ids[0::2]].any(axis=1) & present[ids[1::2]].any(axis=1)).to_numpy()
    return pd.Series(count, index=scored.index, name="evenodd_pairs")


class _quiet_nanmean:
    """Silence numpy's 'Mean of empty slice' warning: an all-missing half is NaN by design."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def careless_screens(
    raw: pd.DataFrame,
    scored: pd.DataFrame,
    scale: Scale,
    *,
    longstring_max: int | None = None,
    mahalanobis_alpha: float = 0.001,
    evenodd_min: float = 0.30,
    evenodd_min_pairs: int = 6,
    diagnostics: list[Diagnostic] | None = None,
    where: str = "",
) -> pd.DataFrame:
    """Careless-responding indices and flags per row (flags only; nothing is removed).

    Columns
    -------
    longstring, longstring_flag
        :func:`longstring`; flagged when the run is at least ``longstring_max``
        (default: half the items, rounded up).
    mahalanobis_d2, mahalanobis_p, mahalanobis_df, mahalanobis_flag
        :func:`mahalanobis` (df = items used); flagged when ``p < mahalanobis_alpha`` (default .001,
        Tabachnick & Fidell's multivariate-outlier criterion).
    evenodd, evenodd_pairs, evenodd_flag
        :func:`evenodd` and the number of subscales it used; flagged when the
        coefficient is below ``evenodd_min`` (default .30; Johnson, 2005) *and* it rests
        on at least ``evenodd_min_pairs`` subscales (default 6). A correlation over
        three to five points is too noisy to flag anyone — attentive respondents
        often fall below .30 — so with few subscales the index is reported but not
        flagged (Johnson used 30 facet scales).
    flagged
        Any of the three flags.

    References
    ----------
    Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
    survey data. *Journal of Experimental Social Psychology, 66*, 4–19.
    Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    *Psychological Methods, 17*, 437–455.
    """
    diagnostics = [] if diagnostics is None else diagnostics
    k = raw.shape[1]
    limit = longstring_max if longstring_max is not None else max(2, math.ceil(k / 2))
    ls = longstring(raw)
    d2, p, dof = mahalanobis(scored)
    eo = evenodd(scored, scale)
    pairs = _evenodd_pairs(scored, scale)
    if len(raw) and d2.isna().all():
        complete = int(raw.notna().all(axis=1).sum())
        record(diagnostics, DataQualityWarning,
               f"{where}: Mahalanobis D² not computed for scale {scale.id!r}: the covariance matrix of the "
               f"{complete} complete rows is singular (needs more than {k} complete rows and no constant item)",
               stacklevel=5)
    out = pd.DataFrame(
        {
            "longstring": ls,
            "longstring_flag": ls >= limit,
            "mahalanobis_d2": d2,
            "mahalanobis_p": p,
            "mahalanobis_df": dof,
            "mahalanobis_flag": (p < mahalanobis_alpha).fillna(False).astype(bool),
            "evenodd": eo,
            "evenodd_pairs": pairs,
            "evenodd_flag": ((eo < evenodd_min) & (pairs >= evenodd_min_pairs)).fillna(False).astype(bool),
        },
        index=raw.index,
    )
    out["flagged"] = out["longstring_flag"] | out["mahalanobis_flag"] | out["evenodd_flag"]
    return out
