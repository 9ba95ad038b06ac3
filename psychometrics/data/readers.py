"""Reading response data: a file (CSV/TSV/text, Excel, SPSS, Stata, Parquet) or a DataFrame → one frame.

:func:`_read` returns the frame with its provenance (kind, description, SHA-256) and,
for SPSS files, the user-defined missing-value ranges. Rows of files are numbered
from 1 (the first respondent); a DataFrame keeps its index. Every failure becomes a
:class:`~psychometrics.exceptions.DataError` naming the file and what to do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics.data._messages import _EXAMPLES
from psychometrics.exceptions import DataError
from psychometrics._text import quote

SUPPORTED_FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".tab": "TSV", ".txt": "delimited text",
    ".xlsx": "Excel", ".xlsm": "Excel", ".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata",
    ".parquet": "Parquet", ".pq": "Parquet",
}


Declared = dict[str, list[tuple[float, float]]]  # column → user-missing ranges (SPSS)


def _read(source, *, sheet, sep, encoding, id_column):
    """Return (frame, kind, description, sha256, declared_missing)."""
    if isinstance(source, pd.DataFrame):
        return _read_dataframe(source)
    if not isinstance(source, (str, Path)):
        raise DataError(f"Cannot read responses from a {type(source).__name__}; give a file path or a pandas DataFrame.")
    if is_parquet_dataset(source):
        return _read_parquet_dataset(str(source))
    return _read_file(Path(source), sheet=sheet, sep=sep, encoding=encoding, id_column=id_column)


def is_parquet_dataset(source: object) -> bool:
    """A folder holding Parquet files, or a glob pattern (``*``, ``?``, ``[``) naming them."""
    if not isinstance(source, (str, Path)):
        return False
    s = str(source)
    if Path(s).is_file():
        return False  # a file whose name has glob characters is still a file
    return any(ch in s for ch in "*?[") or Path(s).is_dir() and any(
        f.suffix.lower() in (".parquet", ".pq") for f in Path(s).rglob("*"))


def _read_parquet_dataset(source: str) -> tuple[pd.DataFrame, str, str, str, Declared]:
    """A partitioned Parquet dataset (folder or glob) as one frame, files in sorted path order.

    The SHA-256 is that of the files' bytes, concatenated in that order. Rows are numbered
    1.. across the files.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from psychometrics.data.sufficient import parquet_files

    files = parquet_files(source)
    digest = hashlib.sha256()
    tables = []
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                digest.update(block)
        try:
            tables.append(pq.read_table(f))
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
            raise DataError(f"Cannot read {str(f)[:200]} as a Parquet file: {str(exc).splitlines()[0][:200]}. "
                            "Check that every file of the dataset is a valid Parquet file.") from None
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"The Parquet files at {quote(source)} do not share one schema "
                        f"({str(exc).splitlines()[0][:200]}); give files with the same columns.") from None
    del tables
    frame = table.to_pandas()
    del table
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame = compact_float_columns(frame)
    release_freed_memory()
    return frame, "file", f"{source} ({len(files)} Parquet files)", digest.hexdigest(), {}


def _read_dataframe(source: pd.DataFrame) -> tuple[pd.DataFrame, str, str, str, Declared]:
    """A copy of the DataFrame (its index kept; labels must be unique), hashed by its CSV rendering."""
    frame = source.copy()
    _refuse_duplicate_columns(list(frame.columns), "The DataFrame")
    if frame.index.has_duplicates:
        dupes = frame.index[frame.index.duplicated()].unique()[:_EXAMPLES]
        raise DataError(
            f"The DataFrame index has duplicate labels ({', '.join(map(str, dupes))}); rows must be "
            "identifiable. Call .reset_index(drop=True) first or pass unique labels."
        )
    sha = hashlib.sha256(frame.to_csv().encode("utf-8")).hexdigest()
    return frame, "frame", "<DataFrame>", sha, {}


def _read_file(path: Path, *, sheet, sep, encoding, id_column) -> tuple[pd.DataFrame, str, str, str, Declared]:
    """Check the path and type, hash the bytes, parse; rows are numbered 1.. (index ``row``)."""
    if not path.exists():
        raise DataError(f"Data file not found: {path}. Check the path.")
    if path.is_dir():
        raise DataError(f"Data path {path} is a directory; give a data file.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise DataError(
            f"Cannot read {path}: unsupported file type {quote(suffix or '(none)')}. Supported: "
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
    fmt = SUPPORTED_FORMATS[suffix]
    try:
        frame, declared = _parse(path, suffix, sheet=sheet, sep=sep, encoding=encoding, id_column=id_column)
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
    _refuse_duplicate_columns(list(frame.columns), str(path))
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame = compact_float_columns(frame)
    if len(frame) >= TRIM_AFTER_PARSE_ROWS:
        release_freed_memory()  # the parser's buffers, freed but still held by the allocator
    return frame, "file", str(path), sha, declared


#: from this many rows on the parser's freed buffers are handed back to the operating system right after the
#: parse (:func:`release_freed_memory`: ≈ 0.6 GB resident at 10⁶ rows). Below, they stay with the allocator,
#: and the measure's items × rows answers and scored rows allocated next reuse them: handed back, that memory
#: is new to the process again, and its first writes cost more than the copies themselves (10⁵ rows: the
#: scale's values and scored rows 0.05–0.11 s CPU in a fresh process with the trim, 0.01 s without it;
#: ≈ 80 MB stays resident a little longer)
TRIM_AFTER_PARSE_ROWS = 200_000


#: from this many rows on, float64 columns that float32 holds exactly are stored as float32
COMPACT_ROWS = 10_000


def compact_float_columns(frame: pd.DataFrame, min_rows: int = COMPACT_ROWS) -> pd.DataFrame:
    """The table with every float64 column whose values float32 holds exactly (e.g. Likert answers: small
    whole numbers, with NaN for blanks) stored as float32 — half the memory, the same numbers.

    A column is converted only when converting it back gives every value bit for bit (NaN stays
    NaN), so reading it as float64 later (``to_numpy(dtype=float)``) returns exactly what was
    parsed. Below ``min_rows`` rows the table is returned unchanged (nothing to gain). From
    :data:`SIDE_ROWS` rows half the columns are checked on a second thread (``_linalg.side_thread``).
    """
    if len(frame) < min_rows:
        return frame
    import numpy as np

    from psychometrics._linalg import side_thread

    floats = [(c, col.to_numpy()) for c, col in frame.items() if col.dtype == np.float64]
    with side_thread(len(frame), SIDE_ROWS) as submit:
        half = len(floats) // 2 if submit is not None else 0
        later = submit(_exact_columns, floats[:half]) if half else None
        exact = _exact_columns(floats[half:])
        if later is not None:
            exact.update(later.result())
    if not exact:
        return frame
    return pd.DataFrame({c: exact.get(c, frame[c]) for c in frame.columns}, index=frame.index, copy=False)


#: from this many rows on, outside a pipeline lane, :func:`compact_float_columns` uses a second thread
SIDE_ROWS = 200_000


def _exact_columns(columns: list) -> dict:
    """{name: float32 values} of the (name, float64 values) that float32 holds exactly."""
    out = {}
    for c, x in columns:
        y = _float32_if_exact(x)
        if y is not None:
            out[c] = y
    return out


def _float32_if_exact(x, block: int = 65_536):
    """``x`` (float64) as float32 when that holds every value exactly (NaN stays NaN), else ``None``.

    Cast and compared in blocks that stay in cache, stopping at the first value float32 does not
    hold: the same test as ``(y == x) | (isnan(x) & isnan(y))`` over the whole column (a NaN casts
    to NaN; a finite value either casts exactly or compares unequal).
    """
    import numpy as np

    y = np.empty(len(x), dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        for s in range(0, len(x), block):
            xb, yb = x[s:s + block], y[s:s + block]
            np.copyto(yb, xb, casting="unsafe")
            if not ((yb == xb) | np.isnan(xb)).all():
                return None
    return y


def release_freed_memory() -> None:
    """Hand memory that Python and numpy have freed back to the operating system (glibc's
    ``malloc_trim``; elsewhere nothing). After a large parse the allocator keeps the parser's freed
    buffers mapped — at 10⁶ rows × 71 columns about 0.6 GB of resident memory no object uses; a
    step's temporaries of a few MB each (one column at 10⁶ rows) likewise stay resident until trimmed."""
    global _TRIM
    if _TRIM is None:
        import ctypes
        import sys

        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim if sys.platform.startswith("linux") else False
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to do
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None  # glibc's malloc_trim once looked up (False: not available)


def _parse(path: Path, suffix: str, *, sheet, sep, encoding, id_column) -> tuple[pd.DataFrame, Declared]:
    """The file's table by its format, and the SPSS user-missing ranges (empty for other formats)."""
    declared: Declared = {}
    dtype = {id_column: str} if id_column else None
    if suffix in (".csv", ".tsv", ".tab", ".txt"):
        if sep is None:
            sep = {".csv": ",", ".txt": None}.get(suffix, "\t")
        engine = "python" if sep is None else "c"
        # pandas renames a repeated header (MSS01, MSS01.1): check the header as written first
        header = pd.read_csv(path, sep=sep, encoding=encoding, header=None, nrows=1, dtype=str, engine=engine)
        _refuse_duplicate_columns(list(header.iloc[0]) if len(header) else [], str(path))
        frame = pd.read_csv(path, sep=sep, encoding=encoding, dtype=dtype, engine=engine)
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
        import pyarrow.parquet as pq

        _refuse_duplicate_columns(list(pq.read_schema(path).names), str(path))
        frame = pd.read_parquet(path, engine="pyarrow")
    return frame, declared


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
        raise DataError(f"{path} has no sheet {quote(sheet)}; its sheets are: {', '.join(names)}.")
    header = pd.read_excel(path, sheet_name=sheet, engine="openpyxl", header=None, nrows=1, dtype=str)
    _refuse_duplicate_columns(list(header.iloc[0]) if len(header) else [], f"{path} (sheet {quote(sheet)})")
    return pd.read_excel(path, sheet_name=sheet, engine="openpyxl", dtype=dtype)


def _refuse_duplicate_columns(names: list, where: str) -> None:
    """Refuse column names that repeat (also when they differ only by surrounding white space).

    The message names each repeated name and its column positions (1 = first column).
    """
    seen: dict[str, list[int]] = {}
    for pos, name in enumerate(names, start=1):
        if name is None or (isinstance(name, float) and name != name):
            continue  # unnamed columns: pandas names them, and no item can match them
        seen.setdefault(str(name).strip(), []).append(pos)
    dupes = {k: v for k, v in seen.items() if len(v) > 1}
    if dupes:
        shown = "; ".join(f"{quote(k, 40)} in columns {', '.join(map(str, v))}"
                          for k, v in list(dupes.items())[:_EXAMPLES])
        more = f"; and {len(dupes) - _EXAMPLES} more" if len(dupes) > _EXAMPLES else ""
        raise DataError(f"{where} has duplicate column names: {shown}{more}. Each column name must be unique (white "
                        "space around a name does not count); rename or remove the repeated columns.")

