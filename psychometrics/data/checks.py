"""The checks of a response table against a scale, one step per function, in the order they run.

:func:`~psychometrics.data.responses._load_frame` calls them in turn: map item columns,
check the group and id columns, drop (or refuse) rows without a group label, check the
respondent ids, read the item values as numbers (missing codes and declared missing
values → NaN, counted), check the response range, and summarise the data quality.
Each problem raises one :class:`~psychometrics.exceptions.DataError` naming the items,
the count and example rows; each value set missing or row excluded is recorded as a
:class:`~psychometrics.exceptions.DataQualityWarning`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from psychometrics._validation import response_numbers
from psychometrics.data._messages import _EXAMPLES, _note_prefix, _row_note, _rows, _suggest_columns
from psychometrics.data.quality import (
    BLANK,
    CODE,
    DECLARED,
    NOT_CATEGORY,
    OUT_OF_RANGE,
    REASONS,
    DataQuality,
)
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics.scale import ResponseFormat, Scale
from psychometrics._text import quote

# Warnings point at the user's call: warn ← record ← a step here ← _load_frame ←
# load_responses (or Responses.load_companion) ← the user.
_USER = 5

Counts = dict[str, np.ndarray]  # reason → missing values per item


# ------------------------------------------------------------------ columns
def _map_item_columns(frame: pd.DataFrame, scale: Scale, columns: Mapping[str, str] | None,
                      *, where: str, label: str) -> dict[str, str]:
    """Item id → data column: the item id itself unless ``columns`` maps another column to it.

    Raises when a mapped column is absent, names an unknown item, two columns map to
    one item or clash with a column named by the item id, or an item column is missing.
    """
    available = [str(c) for c in frame.columns]
    item_ids = list(scale.item_ids)
    item_col: dict[str, str] = {}
    if columns:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise DataError(f"{where}: columns to map are not in the data: {', '.join(map(repr, absent))}."
                            f"{_suggest_columns(absent, available)} Columns present: {', '.join(available)}.")
        unknown = [v for v in columns.values() if v not in item_ids]
        if unknown:
            raise DataError(f"{where}: the column map names unknown item ids of scale {quote(scale.id)}: "
                            f"{', '.join(map(repr, unknown))}. Item ids: {', '.join(item_ids)}.")
        targets = pd.Series(list(columns.keys()), index=list(columns.values()))
        twice = targets.index[targets.index.duplicated()].unique()
        if len(twice):
            raise DataError(f"{where}: several columns are mapped to the same item: "
                            + "; ".join(f"{t}: {', '.join(targets[t])}" for t in twice) + ".")
        for col, item in columns.items():
            if item in frame.columns and item not in columns:
                raise DataError(f"{where}: column {quote(col)} is mapped to item {quote(item)}, but the data also has a "
                                f"column named {quote(item)}. Drop or rename one of them.")
            item_col[item] = col
    for item in item_ids:
        item_col.setdefault(item, item)

    missing_cols = [i for i in item_ids if item_col[i] not in frame.columns]
    if missing_cols:
        hint = _suggest_columns(missing_cols, available)
        if len(available) == 1 and any(ch in available[0] for ch in ";\t|"):
            hint += (" The file has a single column whose name contains a delimiter: pass the right separator "
                     "(sep=';'; on the command line --sep ';').")
        raise DataError(
            f"{label}: {len(missing_cols)} item column{'s are' if len(missing_cols) != 1 else ' is'} missing: "
            f"{', '.join(missing_cols)}.{hint} Columns present: {', '.join(available[:40])}"
            f"{', …' if len(available) > 40 else ''}. Name the columns by item id or map them "
            "(columns={'data_column': 'ITEM_ID'}; on the command line --map data_column=ITEM_ID)."
        )
    return item_col


def _check_role_columns(frame: pd.DataFrame, scale: Scale, item_col: Mapping[str, str],
                        group: str | None, id_column: str | None, *, where: str) -> None:
    """The group and id columns exist, are not item columns and are not the same column."""
    available = [str(c) for c in frame.columns]
    for what, col in (("group", group), ("id", id_column)):
        if col is not None:
            if col not in frame.columns:
                raise DataError(f"{where}: {what} column {quote(col)} not found.{_suggest_columns([col], available)} "
                                f"Columns present: {', '.join(available[:40])}.")
            if col in item_col.values():
                raise DataError(f"{where}: {what} column {quote(col)} is also an item column of scale {quote(scale.id)}.")
    if group is not None and group == id_column:
        raise DataError(f"{where}: the group and id columns are the same column {quote(group)}.")


# ------------------------------------------------------------------- labels
def strip_labels(values: pd.Series, *, what: str, where: str,
                 diagnostics: list[Diagnostic] | None = None) -> pd.Series:
    """Text labels with surrounding white space removed; a warning names each changed label.

    ``"graduate "``, ``" graduate"`` and ``"graduate"`` are one group, not three: every
    label that had surrounding blanks is listed with its row count and the label it became
    (recorded in ``diagnostics`` when given, else warned). Non-text values are unchanged.
    """
    if isinstance(values.dtype, pd.StringDtype):  # a text column: every non-missing value is text (no per-row call)
        is_text = values.notna()
    else:
        is_text = values.map(lambda v: isinstance(v, str))
    if not is_text.any():
        return values
    text = values[is_text]
    stripped = text.str.strip()
    changed = text != stripped
    if not changed.any():
        return values
    counts = text[changed].value_counts(sort=False)
    shown = ", ".join(f"{quote(lab, 40)} ({int(n)} row{'s' * (int(n) != 1)}) → {quote(lab.strip(), 40)}"
                      for lab, n in list(counts.items())[:_EXAMPLES])
    more = f" and {len(counts) - _EXAMPLES} more" if len(counts) > _EXAMPLES else ""
    message = (f"{where}: {int(changed.sum())} value(s) of the {what} had white space around them and were stripped, so "
               f"labels that differ only by it count as one: {shown}{more}. Clean the column to silence this.")
    if diagnostics is not None:
        record(diagnostics, DataQualityWarning, message, stacklevel=_USER)
    else:
        import warnings

        warnings.warn(message, DataQualityWarning, stacklevel=3)
    out = values.copy()
    out[stripped.index[changed.to_numpy()]] = stripped[changed]
    return out


# --------------------------------------------------------------------- rows
def _rows_with_group(frame: pd.DataFrame, group: str | None, missing_group: str, *, where: str, kind: str,
                     diagnostics: list[Diagnostic]) -> tuple[pd.Series, pd.DataFrame]:
    """Rows to keep and the excluded rows with their reason (rows without a group label).

    ``missing_group="error"`` raises on such rows; ``"exclude"`` drops them and records it.
    """
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
                    f"{quote(group)}: {_rows(rows, kind)}.{_row_note(kind)} Fill in the group, or exclude these rows "
                    "explicitly (missing_group='exclude'; on the command line --missing-group exclude)."
                )
            keep &= ~blank
            excluded = pd.DataFrame({"reason": f"no group label in column {quote(group)}"}, index=rows)
            record(diagnostics, DataQualityWarning,
                   f"{where}: excluded {len(rows)} row(s) without a group label in {quote(group)}: {_rows(rows, kind)}",
                   stacklevel=_USER)
    return keep, excluded


def _respondent_ids(work: pd.DataFrame, id_column: str | None, *, where: str, kind: str) -> pd.Series | None:
    """Respondent ids as stripped text; every row needs one and they must be unique."""
    if id_column is None:
        return None
    ids_raw = work[id_column]
    na = ids_raw.isna()
    stripped = ids_raw.astype(str).str.strip()
    # a text column with no id missing: every value the stripped one, the same text dtype (others: where's dtype)
    plain = isinstance(ids_raw.dtype, pd.StringDtype) and stripped.dtype == ids_raw.dtype and not na.any()
    ids = stripped if plain else ids_raw.where(na, stripped)
    blank = ids.isna() | ids.eq("")
    if blank.any():
        raise DataError(f"{where}: {int(blank.sum())} row(s) have no respondent id in column {quote(id_column)}: "
                        f"{_rows(work.index[blank], kind)}.{_row_note(kind)} Fill them in or drop --id-column.")
    if not ids.is_unique:  # (one hash pass; the rows of the repeated ids only for the message)
        dup = ids.duplicated(keep=False)
        values = ids[dup].unique()
        raise DataError(f"{where}: respondent ids in column {quote(id_column)} are not unique: "
                        + "; ".join(f"{quote(v)} in {_rows(work.index[ids == v], kind)}" for v in values[:_EXAMPLES])
                        + f"{' …' if len(values) > _EXAMPLES else ''}.{_row_note(kind)}")
    return ids.rename(id_column)


# ------------------------------------------------------------------- values
def _numeric_values(work: pd.DataFrame, item_ids: list[str], item_col: Mapping[str, str], rf: ResponseFormat,
                    declared_missing: Mapping[str, list[tuple[float, float]]], *, kind: str,
                    label: str, out: np.ndarray | None = None) -> tuple[np.ndarray, Counts]:
    """Item values as floats, **items × rows** (each item's answers contiguous, as they are read column by
    column), with missing codes and declared missing values set to NaN.

    Also returns the missing values counted per reason and item. Raises, listing every
    item, when a column holds text or true/false values. ``out``: a float64 items × rows array to
    write them into (every entry is written), else a new one.
    """
    n = len(work)
    values = np.empty((len(item_ids), n), dtype=float) if out is None else out
    counts = {r: np.zeros(len(item_ids), dtype=np.int64) for r in REASONS}
    non_numeric: list[str] = []
    for j, item in enumerate(item_ids):
        col = work[item_col[item]]
        name = item if item_col[item] == item else f"{item} (column {quote(item_col[item])})"
        if pd.api.types.is_bool_dtype(col):
            non_numeric.append(f"{name}: the column holds true/false values, not numbers")
            continue
        x = values[j]  # set in place: no column-long temporaries (the same values as response_numbers)
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "fiu":
            x[...] = col.to_numpy()  # numpy's cast, as to_numpy(dtype=float)
        else:
            y, bad = response_numbers(col)
            if bad.any():
                examples = ", ".join(f"{quote(v.strip() if isinstance(v, str) else v)} in {_rows([r], kind)}"
                                     for r, v in list(col[bad].items())[:3])
                non_numeric.append(f"{name}: {int(bad.sum())} cell{'s' if bad.sum() != 1 else ''}, e.g. {examples}")
                continue
            x[...] = y
        counts[BLANK][j] = int(np.isnan(x).sum())
        if rf.missing_codes:
            is_code = np.isin(x, np.asarray(rf.missing_codes, dtype=float))
            counts[CODE][j] = int(is_code.sum())
            if counts[CODE][j]:
                x[is_code] = np.nan
        for lo, hi in declared_missing.get(item_col[item], ()):
            is_declared = (x >= lo) & (x <= hi)
            counts[DECLARED][j] += int(is_declared.sum())
            x[is_declared] = np.nan
    if non_numeric:
        raise DataError(
            f"{label}: non-numeric values in {len(non_numeric)} item{'s' if len(non_numeric) != 1 else ''}:\n  "
            + "\n  ".join(non_numeric) + f"\n{_note_prefix(kind)}Recode answers as numbers "
            f"({rf.min}–{rf.max}); leave unanswered cells blank or use a missing code"
            + (f" ({', '.join(map(str, rf.missing_codes))})" if rf.missing_codes else
               " (declare codes in response_format.missing_codes)") + "."
        )
    return values, counts


def _check_range(values: np.ndarray, index: pd.Index, item_ids: list[str], rf: ResponseFormat,
                 out_of_range: str, counts: Counts, *, kind: str, label: str, where: str,
                 diagnostics: list[Diagnostic]) -> np.ndarray:
    """Values (items × rows) outside ``[min, max]`` (or not whole numbers for Likert items): raise, or set
    them missing.

    With ``out_of_range="missing"`` they become NaN, are added to ``counts`` (in place)
    and recorded; the returned array is the (possibly) changed values. Checked item by item
    (each a contiguous row of ``values``): a whole number is one that survives a cast to an integer.
    """
    bad_items = []
    with np.errstate(invalid="ignore"):
        for j in range(values.shape[0]):
            x = values[j]
            if _clean_quick(x, rf):
                continue  # nothing outside the range, every answer whole: nothing to mark
            outside = (x < rf.min) | (x > rf.max)
            if rf.type == "likert":
                # in range and not NaN: |x| is small, so the cast is exact for whole numbers only
                inside = ~outside & ~np.isnan(x)
                noncat = inside & (x.astype(np.int64) != x)
            else:
                noncat = np.zeros_like(outside)
            if outside.any() or noncat.any():
                bad_items.append((j, outside, noncat))
    if not bad_items:
        return values
    lines = []
    total = 0
    any_noncat = False
    for j, outside, noncat in bad_items:
        bad = outside | noncat
        r_idx = np.flatnonzero(bad)
        total += len(r_idx)
        any_noncat |= bool(noncat.any())
        examples = ", ".join(f"{values[j, r]:g} in {_rows([index[r]], kind)}" for r in r_idx[:3])
        lines.append(f"{item_ids[j]}: {len(r_idx)} value{'s' if len(r_idx) != 1 else ''}, e.g. {examples}")
    what = f"outside {rf.min}–{rf.max}" + (" or not whole numbers" if any_noncat else "")
    if out_of_range == "error":
        raise DataError(
            f"{label}: {total} value{'s' if total != 1 else ''} {what} in "
            f"{len(lines)} item{'s' if len(lines) != 1 else ''}:\n  " + "\n  ".join(lines)
            + f"\n{_note_prefix(kind)}Correct the data, declare missing codes in the scale's "
            "response_format.missing_codes, or set such values missing (out_of_range='missing'; on the "
            "command line --out-of-range missing), which counts them."
        )
    values = values.copy()
    for j, outside, noncat in bad_items:
        counts[OUT_OF_RANGE][j] += int(outside.sum())
        counts[NOT_CATEGORY][j] += int(noncat.sum())
        values[j, outside | noncat] = np.nan
    record(diagnostics, DataQualityWarning,
           f"{where}: set {total} value(s) {what} to missing: " + "; ".join(lines), stacklevel=_USER)
    return values


def _clean_quick(x: np.ndarray, rf: ResponseFormat) -> bool:
    """True when no value of ``x`` is outside ``[min, max]`` and (Likert) every answer is a whole number —
    the case where :func:`_check_range` marks nothing — from the smallest and largest answer (NaN
    ignored) and the largest fractional part, fewer passes than the masks; False when unsure (all
    NaN, ±inf), and the masks decide."""
    lo, hi = np.fmin.reduce(x) if len(x) else np.nan, np.fmax.reduce(x) if len(x) else np.nan
    if not (lo >= rf.min and hi <= rf.max):
        return False
    if rf.type != "likert":
        return True
    return bool(np.fmax.reduce(np.abs(x - np.trunc(x))) == 0)  # in range: x − trunc(x) is exact


# ------------------------------------------------------------------ quality
def _careless_flag_counts(careless: pd.DataFrame) -> pd.Series:
    """Rows flagged by each careless-responding screen and by any of them."""
    flag_cols = [c for c in careless.columns if c.endswith("_flag")]
    cols = [careless[c].to_numpy() for c in flag_cols]
    if cols and all(c.dtype == bool for c in cols):  # (the screens' flags): counted on the arrays, no frame copies
        flags = pd.Series([np.count_nonzero(c) for c in cols], index=[c.removesuffix("_flag") for c in flag_cols],
                          dtype=int)
        flags["any"] = int(np.count_nonzero(np.logical_or.reduce(cols)))
        return flags
    flags = careless[flag_cols].sum().astype(int)
    flags.index = [c.removesuffix("_flag") for c in flag_cols]
    flags["any"] = int(careless[flag_cols].any(axis=1).sum())
    return flags


def _data_quality(raw: pd.DataFrame, scale: Scale, counts: Counts, *, rows_read: int, excluded: pd.DataFrame,
                  flags: pd.Series, group_sizes: pd.Series | None, kind: str, where: str,
                  diagnostics: list[Diagnostic]) -> DataQuality:
    """The :class:`DataQuality` record of the rows used; rows answering no item are recorded."""
    item_ids = list(raw.columns)
    n = len(raw)
    missing_by_reason = pd.DataFrame({r: counts[r] for r in REASONS}, index=pd.Index(item_ids, name="item"))
    na = np.isnan(raw.to_numpy(dtype=float))  # one pass (a view of the loaded values, in their layout)
    missing = pd.Series(na.sum(axis=0), index=raw.columns).astype(int).rename("missing")
    missing_share = (missing / n if n else missing * np.nan).rename("missing_share")
    na_row = na.sum(axis=1)
    del na
    empty_rows = int((na_row == len(item_ids)).sum()) if item_ids else n
    complete = int((na_row == 0).sum())
    if empty_rows:
        rows = raw.index[na_row == len(item_ids)] if item_ids else raw.index
        record(diagnostics, DataQualityWarning,
               f"{where}: {empty_rows} row(s) answer none of the {len(item_ids)} items of {quote(scale.id)}: "
               f"{_rows(rows, kind)} (kept; they carry no information)", stacklevel=_USER)
    return DataQuality(
        rows_read=rows_read, rows_used=n, excluded=excluded, missing_by_reason=missing_by_reason,
        missing=missing, missing_share=missing_share,
        values_set_missing=int(missing_by_reason.drop(columns=[BLANK]).to_numpy().sum()),
        complete_cases=complete, empty_rows=empty_rows, careless_flags=flags.rename("flagged"),
        group_sizes=group_sizes, diagnostics=tuple(diagnostics),
    )
