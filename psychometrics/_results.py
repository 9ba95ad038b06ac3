"""Shared behaviour of result objects: dictionaries, tables, text and HTML display.

Every analysis returns a frozen dataclass that mixes in :class:`ResultMixin`.
Fields hold labelled pandas objects (index = item ids) and unrounded numbers;
rounding happens only when a result is displayed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ResultMixin", "to_jsonable"]


#: types ``to_jsonable`` returns unchanged (a float is not: NaN and infinities become None)
_PLAIN = frozenset({str, int, bool, type(None)})


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types (dict, list, str, float, int, bool, None).

    DataFrames become ``{"index": [...], "columns": [...], "data": [[...]]}`` so
    labels survive; NaN and infinities become ``None``; dataclasses and objects
    with ``to_dict`` are converted recursively.
    """
    t = type(value)  # the plain built-in types first (most values): what the checks below give them
    if t in _PLAIN:
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if t is dict:
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if t is list:
        plain = _plain_list(value)
        return plain if plain is not None else [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.DataFrame):
        cols = _frame_columns_jsonable(value)
        return {
            "index": _column_jsonable(value.index),
            "columns": [to_jsonable(c) for c in value.columns],
            "data": list(map(list, zip(*cols))) if cols else [[] for _ in range(len(value))],
        }
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        if isinstance(value, list):
            plain = _plain_list(value)
            if plain is not None:
                return plain
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _plain_list(value: list) -> list | None:
    """A copy of ``value`` when it is already plain JSON — str/int/bool/None and finite floats, or a list
    of such lists (the rows of a converted table) — checked at C speed (10⁶ row labels, 10⁵ table rows
    value by value took seconds: issue 16); None otherwise (then :func:`to_jsonable` converts it)."""
    types = set(map(type, value))
    if types <= _PLAIN:
        return list(value)
    if types == {float} or types <= _PLAIN | {float}:
        return list(value) if _finite(value) else None
    if types == {list}:
        flat = list(itertools.chain.from_iterable(value))
        inner = set(map(type, flat))
        if inner <= _PLAIN or (inner <= _PLAIN | {float} and _finite(flat)):
            return list(map(list, value))
    return None


def _finite(values: list) -> bool:
    """Every float of ``values`` finite (the other values are plain)."""
    floats = [v for v in values if type(v) is float]
    return not floats or bool(np.isfinite(np.asarray(floats, dtype=float)).all())


def _frame_columns_jsonable(frame: pd.DataFrame) -> list[list[Any]]:
    """``_column_jsonable`` of every column: a table of float columns (most result tables) read as one
    float64 array (the same values: float32 converts exactly), the others column by column without
    ``iloc`` (its indexing machinery cost ≈ 0.2 ms per column — ≈ 1,200 columns per ``results.json``)."""
    kinds = {getattr(t, "kind", None) if isinstance(t, np.dtype) else None for t in frame.dtypes}
    if kinds == {"f"}:
        arr = frame.to_numpy(dtype=float)
        return [_finite_list(arr[:, j]) for j in range(arr.shape[1])]
    if frame.shape[1] > 1 and all(_objects_exact(t) for t in frame.dtypes):
        return _object_columns_jsonable(frame)
    return [_column_jsonable(col) for _, col in frame.items()]


def _objects_exact(dtype: Any) -> bool:
    """A column of this dtype reads as the same Python values from ``to_numpy(dtype=object)`` as from the
    column itself: NumPy numbers and booleans (``tolist``'s float/int/bool), object and string columns."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fiubO"
    return isinstance(dtype, pd.StringDtype)


def _object_columns_jsonable(frame: pd.DataFrame) -> list[list[Any]]:
    """``_column_jsonable`` of every column of a mixed table (numbers, booleans, text) from one object
    array: the same values, without building a Series per column (``DataFrame.items``: ≈ 50–90 µs a
    column, ≈ 1,500 columns of mixed tables per ``results.json``; ``tests/test_results.py``)."""
    arr = frame.to_numpy(dtype=object)
    return [_values_jsonable(dtype, arr[:, j]) for j, dtype in enumerate(frame.dtypes)]


def _finite_list(arr: np.ndarray) -> list:
    """A float array as a list of Python floats, None where it is not finite."""
    out = arr.tolist()
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = None
    return out


def _column_jsonable(col: pd.Series | pd.Index) -> list[Any]:
    """``[to_jsonable(v) for v in col]``, a whole column at a time for NumPy numbers and text.

    The same values (``tolist`` gives the Python float/int/bool that ``to_jsonable`` returns; a
    non-finite float becomes None); a table of 10⁵ rows (the careless screens' flagged rows at 10⁶
    respondents) or 10⁶ row labels took seconds value by value (issue 16).
    """
    vals = _values_jsonable(col.dtype, col)
    return [to_jsonable(v) for v in col] if vals is None else vals


def _values_jsonable(dtype: Any, values: Any) -> list[Any] | None:
    """The JSON values of a column of ``dtype`` given as a Series, Index or object array of its values,
    a whole column at a time: floats (None where not finite), integers and booleans, text (each other
    object through :func:`to_jsonable`); None for a dtype without such a path."""
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _finite_list(np.asarray(values, dtype=float))
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return np.asarray(values).tolist()
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        vals = values.tolist()
        return vals if all(type(v) is str for v in vals) else [to_jsonable(v) for v in vals]
    return None


def _fmt(value: Any, digits: int) -> str:
    if isinstance(value, (float, np.floating)):
        return "NaN" if not math.isfinite(value) else f"{value:.{digits}f}"
    if isinstance(value, tuple) and all(isinstance(v, (float, np.floating)) for v in value):
        return "(" + ", ".join(_fmt(v, digits) for v in value) + ")"
    return str(value)


class ResultMixin:
    """Mixin for result dataclasses: ``to_dict``, ``to_frame``, ``summary`` and HTML.

    Subclasses are frozen dataclasses. They may override :meth:`to_frame` (the
    main table of the result) and ``_title``.
    """

    _title: str = ""
    _digits: int = 3

    # ---------------------------------------------------------------- data
    def to_dict(self) -> dict[str, Any]:
        """All public fields as plain JSON-serialisable values (unrounded; a field whose name starts with
        ``_`` is a result's private state, e.g. a fitted engine, and is left out)."""
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.name.startswith("_")}

    def to_frame(self) -> pd.DataFrame:
        """The main table of the result; by default the scalar fields as one column."""
        scalars = self._scalars()
        return pd.DataFrame({"value": pd.Series(scalars, dtype=object)})

    # ------------------------------------------------------------- helpers
    def _scalars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float, str, bool, np.number)) or (
                isinstance(v, tuple) and v and all(isinstance(x, (int, float, np.number)) for x in v)
            ):
                out[f.name] = v
        return out

    def _tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, pd.DataFrame):
                out[f.name] = v
            elif isinstance(v, pd.Series):
                out[f.name] = v.to_frame(name=f.name)
        return out

    def _diagnostics(self) -> list[str]:
        diags = getattr(self, "diagnostics", ()) or ()
        return [str(d) for d in diags]

    @property
    def _display_title(self) -> str:
        return self._title or type(self).__name__

    # ------------------------------------------------------------- display
    def summary(self) -> str:
        """A plain-text summary (numbers rounded for display only)."""
        lines = [self._display_title, "=" * len(self._display_title)]
        for k, v in self._scalars().items():
            lines.append(f"{k:<28}{_fmt(v, self._digits)}")
        for name, table in self._tables().items():
            lines += ["", name, "-" * len(name), table.to_string(float_format=lambda x: f"{x:.{self._digits}f}")]
        diags = self._diagnostics()
        if diags:
            lines += ["", "Diagnostics", "-----------", *diags]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from psychometrics._display import render_result

        return render_result(self)
