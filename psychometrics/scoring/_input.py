"""The inputs of scoring: what the data are scored with, and the data themselves.

:func:`scoring_source` resolves a scale, a ``ScoringRules`` or a ``psych``-style keys list
into the rules to score with (a scoring key is resolved by :func:`~psychometrics.scoring.score`,
which sits above the key). :func:`read_input` turns a DataFrame, a ``Responses`` object or a
data file into the frame to score, with its id column and group values.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics.exceptions import DataError, ScoringKeyError, recorded_warnings
from psychometrics.scoring.result import KeyView
from psychometrics.scoring.rules import ScoringRules, _as_scale, _scale_hash
from psychometrics._text import quote


@dataclass(frozen=True)
class ScoringSource:
    """What the data are scored with, resolved.

    Attributes
    ----------
    rules : ScoringRules
    key : ScoringKey or None
        The key scored with (then data are checked against it).
    scale : Scale or None
        The scale scored with (reads data files; its content hash is compared with that of
        ``Responses``); None for rules, a keys list or a key.
    scale_hash : str or None
        Content hash of ``scale``.
    error : type
        The error raised for data that do not fit: ``ScoringKeyError`` with a key,
        ``DataError`` otherwise.
    """

    rules: ScoringRules
    key: KeyView | None = None
    scale: Any = None
    scale_hash: str | None = None
    error: type[Exception] = DataError


def scoring_source(scale_or_key: Any, *, response_range: tuple[float, float] | None = None,
                   total: bool = False) -> ScoringSource:
    """Rules from ``ScoringRules``, a keys mapping ``{"score": ["item", "-item"]}`` or a scale."""
    if isinstance(scale_or_key, ScoringRules):
        return ScoringSource(scale_or_key)
    if isinstance(scale_or_key, Mapping) and "items" not in scale_or_key:
        return ScoringSource(ScoringRules.from_keys(scale_or_key, response_range=response_range,
                                                    total=total))
    scale = _as_scale(scale_or_key)
    return ScoringSource(ScoringRules.from_scale(scale), scale=scale, scale_hash=_scale_hash(scale))


@dataclass(frozen=True)
class ScoringInput:
    """The data to score: a frame with the item columns, row ids and group values."""

    data: pd.DataFrame
    ids: pd.Series | None
    groups: pd.Series | None
    already_reversed: bool  # Responses.items are reverse-keyed already
    source: str  # how the data are named in messages


def read_input(source: ScoringSource, data: Any, *, id_column: str | None, group: Any,
               columns: Mapping[str, str] | None, read_options: Mapping[str, Any] | None = None) -> ScoringInput:
    """The frame to score from a DataFrame, a ``Responses`` object or a file path.

    Raises ``DataError`` (``ScoringKeyError`` for a key whose scale does not match) for an
    unusable id or group column, a column rename that clashes, or a scale mismatch.
    """
    key = source.key
    already_reversed = False
    ids: pd.Series | None = None
    name = "data"
    if isinstance(data, (str, Path)):
        scale_obj = key.scale() if key is not None else source.scale
        data = _load_file(Path(data), scale_obj, id_column, key is not None, columns,
                          read_options=read_options, group=group if isinstance(group, str) else None)
    elif columns and isinstance(data, pd.DataFrame):
        data = _rename_columns(data, columns)
    if _is_responses(data):
        data, ids, group, name = _unpack_responses(data, source, id_column, group)
        already_reversed = True
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, a Responses object or a file path, not "
                        f"{type(data).__name__}")
    if id_column is not None and ids is None:
        if id_column not in data.columns:
            raise DataError(f"id column {quote(id_column)} is not in the data; columns: "
                            f"{', '.join(map(str, list(data.columns)[:30]))}")
        ids = data[id_column]
    if ids is not None and ids.name in [d.name for d in source.rules.scores]:
        raise DataError(f"id column {quote(ids.name)} has the name of a score; rename it")
    if group is None and key is not None and key.invariance:
        gv = key.invariance.get("group_variable")
        if isinstance(gv, str) and gv in data.columns and gv not in source.rules.items:
            group = gv  # check the groups against the invariance testing of the key
    return ScoringInput(data, ids, _group_values(group, data), already_reversed, name)


def _rename_columns(data: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    clash = [c for c, i in columns.items() if i in data.columns and i != c]
    if clash:
        raise DataError(f"cannot rename {', '.join(clash)}: the data already have columns "
                        f"named {', '.join(str(columns[c]) for c in clash)}")
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise DataError(f"columns to rename not in the data: {', '.join(map(str, absent))}")
    return data.rename(columns=dict(columns))


def _unpack_responses(resp: Any, source: ScoringSource, id_column: str | None, group: Any
                      ) -> tuple[pd.DataFrame, pd.Series | None, Any, str]:
    """Items joined with the extra columns, ids, group and name of a ``Responses`` object."""
    key, scale_hash = source.key, source.scale_hash
    ids: pd.Series | None = None
    resp_scale = getattr(resp, "scale", None)
    if key is not None and resp_scale is not None:
        key.check_scale(resp_scale)
    elif resp_scale is not None and scale_hash is not None:
        h = _scale_hash(resp_scale)
        if h is not None and h != scale_hash:
            raise DataError(
                "the responses were loaded with a different version or content of the "
                f"scale (content hash {h[:12]}... vs {scale_hash[:12]}...); load them with "
                "the scale you score with")
    frame = resp.items
    name = str(getattr(resp, "source", "responses"))
    extra = getattr(resp, "extra", None)
    extra = extra if isinstance(extra, pd.DataFrame) else pd.DataFrame(index=frame.index)
    rid = getattr(resp, "ids", None)
    if isinstance(rid, pd.Series) and (id_column is None or rid.name == id_column):
        ids = rid.rename(rid.name or "id")
    elif id_column is not None:
        if id_column not in extra.columns:
            raise DataError(f"id column {quote(id_column)} is not in {name}")
        ids = extra[id_column]
    rgroup = getattr(resp, "group", None)
    if group is None and isinstance(rgroup, pd.Series):
        group = rgroup
    elif isinstance(group, str):
        if isinstance(rgroup, pd.Series) and rgroup.name == group:
            group = rgroup
        elif group in extra.columns:
            group = extra[group]
        else:
            raise DataError(f"group column {quote(group)} is not in {name}")
    data = frame.join(extra.drop(columns=[c for c in extra.columns if c in frame.columns]))
    return data, ids, group, name


def _group_values(group: Any, data: pd.DataFrame | None) -> pd.Series | None:
    if group is None:
        return None
    if isinstance(group, str):
        if data is None or group not in data.columns:
            raise DataError(f"group column {quote(group)} is not in the data")
        from psychometrics.data.checks import strip_labels

        return strip_labels(data[group], what=f"group column {quote(group)}", where="data")
    g = pd.Series(group)
    if data is not None:
        if len(g) != len(data):
            raise DataError(f"group has {len(g)} values but the data have {len(data)} rows")
        g.index = data.index
    return g


def _is_responses(obj: Any) -> bool:
    # ``raw`` is looked up, not read: Responses.raw rebuilds the whole item matrix on access
    return (not isinstance(obj, pd.DataFrame) and isinstance(getattr(obj, "items", None),
            pd.DataFrame) and (hasattr(type(obj), "raw") or "raw" in getattr(obj, "__dict__", {})))


def _load_file(path: Path, scale: Any, id_column: str | None, with_key: bool,
               columns: Mapping[str, str] | None = None, *, read_options: Mapping[str, Any] | None = None,
               group: str | None = None) -> Any:
    """Read a data file: through :func:`psychometrics.data.load_responses` when a scale is
    known (all its formats, SPSS user-missing values, row numbers in messages), else as a
    plain table. With a key, a mismatch is reported as a :class:`ScoringKeyError`."""
    opts = dict(read_options or {})
    if scale is None:
        frame = _read_table(path, sep=opts.get("sep"), sheet=opts.get("sheet"))
        return frame.rename(columns=dict(columns)) if columns else frame
    from psychometrics.data import load_responses

    try:
        with recorded_warnings() as caught:  # (thread-safe, unlike catch_warnings)
            # the group column is checked by load_responses only when asked what to do with rows without
            # a label (missing_group); otherwise such rows are scored (no group norms)
            resp = load_responses(path, scale, id_column=id_column, columns=columns,
                                  group=group if "missing_group" in opts else None, **opts)
    except DataError as exc:
        if with_key:
            raise ScoringKeyError(f"the data do not match the scoring key: {exc}") from None
        raise
    for w in caught:  # re-issue data-quality warnings from here
        # _load_file <- read_input <- run_scoring <- score: stacklevel 6 names the same frame
        # as the stacklevel 4 this had when score() called it directly
        warnings.warn(w.message, w.category, stacklevel=6)
    return resp


def _read_table(path: Path, *, sep: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a data file (CSV/TSV, Excel, Parquet, SPSS) for scoring."""
    if not path.exists():
        raise DataError(f"data file {quote(str(path))} does not exist")
    from psychometrics.data.readers import _refuse_duplicate_columns

    suffix = path.suffix.lower()
    try:
        # pandas renames a repeated header (MSS01 → MSS01.1): check the header as written first
        if suffix in (".csv", ".txt", ".tsv"):
            delim = sep or ("\t" if suffix == ".tsv" else ",")
            head = pd.read_csv(path, sep=delim, header=None, nrows=1, dtype=str)
            _refuse_duplicate_columns(list(head.iloc[0]) if len(head) else [], str(path))
            return pd.read_csv(path, sep=delim)
        if suffix in (".xlsx", ".xls"):
            which = 0 if sheet is None else sheet
            head = pd.read_excel(path, sheet_name=which, header=None, nrows=1, dtype=str)
            _refuse_duplicate_columns(list(head.iloc[0]) if len(head) else [], str(path))
            return pd.read_excel(path, sheet_name=which)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".sav":
            import pyreadstat

            df, _ = pyreadstat.read_sav(str(path))
            return df
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file {quote(str(path))}: {exc}") from None
    raise DataError(f"data file {quote(str(path))}: unknown format {quote(suffix)}; use .csv, .tsv, "
                    ".xlsx, .parquet or .sav")
