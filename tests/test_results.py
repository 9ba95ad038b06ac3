"""The shared result mixin: dictionaries, text and escaped HTML."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics.exceptions import Diagnostic


@dataclass(frozen=True, eq=False)
class _Demo(ResultMixin):
    value: float
    ci: tuple[float, float]
    table: pd.DataFrame
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Demo result"


def _demo() -> _Demo:
    table = pd.DataFrame({"loading": [0.712345, np.nan]}, index=["<script>alert(1)</script>", "b"])
    return _Demo(0.5, (0.1, 0.9), table, (Diagnostic("HeywoodCaseWarning", "item <b> has variance < 0"),))


def test_to_dict_is_json_serialisable_and_unrounded():
    d = _demo().to_dict()
    text = json.dumps(d)
    assert "0.712345" in text
    assert d["table"]["data"][1] == [None]  # NaN becomes null, never a bare NaN token
    assert d["diagnostics"][0]["category"] == "HeywoodCaseWarning"


def test_html_escapes_user_text():
    html = _demo()._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "0.712" in html and "—" in html


def test_summary_text():
    s = _demo().summary()
    assert "Demo result" in s and "0.500" in s and "HeywoodCaseWarning" in s


def test_to_jsonable_handles_numpy_and_inf():
    assert to_jsonable({"a": np.float64(np.inf), "b": np.int64(3), "c": np.array([1.0, 2.0])}) == {
        "a": None, "b": 3, "c": [1.0, 2.0]}


def test_to_jsonable_frame_column_at_a_time_equals_value_by_value():
    # issue 16: DataFrames (and text row labels) are converted a column at a time; the result equals
    # the value-by-value conversion (independent implementation written out here)
    import json as _json

    import numpy as _np
    import pandas as _pd

    from psychometrics._results import to_jsonable as tj

    def by_value(frame):
        return {"index": [tj(i) for i in frame.index], "columns": [tj(c) for c in frame.columns],
                "data": [[tj(v) for v in row] for row in frame.itertuples(index=False)]}

    df = _pd.DataFrame({"a": [1.0, _np.nan, _np.inf], "b": [1, 2, 3], "c": ["x", None, "z"], "d": [True, False, True],
                        "e": _pd.array([1, None, 3], dtype="Int64"), "f": _np.array([1.5, 2, 3], dtype=_np.float32),
                        "g": [(1, 2), "s", 3.0], "h": _pd.to_datetime(["2020-01-01"] * 3)}, index=["r1", "r2", "r3"])
    floats = _pd.DataFrame({"a": [1.0, _np.nan, -_np.inf], "b": _np.array([0.1, 2, _np.nan], dtype=_np.float32),
                            "c": [1e-300, -0.0, 1 / 3]})  # all-float tables: one float64 array
    dup = _pd.DataFrame([[1.0, 2, "x"], [_np.nan, 4, "y"]], columns=["a", "a", "b"])
    frames = [df, df.iloc[:0], _pd.DataFrame(_np.zeros((3, 0))),
              _pd.DataFrame({"x": [1.0]}, index=_pd.MultiIndex.from_tuples([("a", 1)])),
              floats, floats.iloc[:0], floats[["a", "a"]], dup]
    for frame in frames:
        assert _json.dumps(tj(frame)) == _json.dumps(by_value(frame))


def test_to_jsonable_plain_lists_unchanged_and_floats_still_cleaned():
    from psychometrics._results import to_jsonable as tj

    ids = ["a", "b", 3, True, None]
    out = tj(ids)
    assert out == ids and out is not ids
    assert tj([1.0, float("nan"), "x"]) == [1.0, None, "x"]
    assert tj([["a", 1], ["b", float("inf")]]) == [["a", 1], ["b", None]]


def test_to_jsonable_table_rows_checked_at_once_equal_value_by_value():
    # issue 16: lists of plain rows (a converted table) are copied after one type check; the same values
    from psychometrics._results import to_jsonable as tj

    rows = [[i, float(i) / 3, str(i), i % 2 == 0, None] for i in range(500)]
    out = tj(rows)
    assert out == rows and out is not rows and all(a is not b for a, b in zip(out, rows))
    assert tj([[1, float("nan")], [2, 3.0]]) == [[1, None], [2, 3.0]]
    assert tj([[np.int64(1), 2]]) == [[1, 2]] and type(tj([[np.int64(1), 2]])[0][0]) is int
    assert tj([1.5, 2.5]) == [1.5, 2.5] and tj([1.5, float("inf")]) == [1.5, None]


def test_to_jsonable_mixed_tables_from_one_object_array_equal_the_column_path():
    # issue 16: a table of numbers, booleans and text is read from one object array; the same JSON values
    # (and value types) as the column-by-column path and as value by value
    from psychometrics import _results as r

    def by_column(frame):
        return [r._column_jsonable(col) for _, col in frame.items()]

    mixed = pd.DataFrame({"a": [1.0, np.nan, np.inf], "b": [1, 2, 3], "c": ["x", None, "z"], "d": [True, False, True],
                          "f": np.array([1.5, np.nan, 3], dtype=np.float32), "u": np.array([2**63, 1, 2], np.uint64),
                          "o": pd.Series([(1, 2), "s", np.float64(-np.inf)], dtype=object),
                          "t": pd.Series(["p", "q", None], dtype="string"), "i8": np.array([-1, 0, 1], np.int8)})
    dup = pd.DataFrame([[1.0, 2, "x"], [np.nan, 4, None]], columns=["a", "a", "b"])
    frames = [mixed, mixed.iloc[:0], mixed.iloc[:, [0, 2]], dup, mixed[["c", "t"]], mixed[["b", "d", "i8", "u"]]]
    for frame in frames:
        assert all(r._objects_exact(t) for t in frame.dtypes)
        fast, slow = r._object_columns_jsonable(frame), by_column(frame)
        assert json.dumps(fast) == json.dumps(slow)
        assert [[type(v) for v in col] for col in fast] == [[type(v) for v in col] for col in slow]
        assert r._frame_columns_jsonable(frame) == fast if frame.shape[1] > 1 else True


def test_to_jsonable_builtin_fast_path_equals_the_general_checks():
    """The exact built-in types (dict, list, float, int, str, bool, None) take a fast path: the same values and
    types as the general checks (keys as str, non-finite floats None, plain lists copied, nested values
    converted; numpy values and subclasses still by the checks)."""
    import math

    def reference(v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return float(v) if math.isfinite(float(v)) else None
        if isinstance(v, dict):
            return {str(k): reference(x) for k, x in v.items()}
        return [reference(x) for x in v]

    value = {"a": [1, 2.5, float("nan"), None, True, "x"], 3: {"b": float("inf"), "c": [[1, 2], [3.0, -float("inf")]]},
             "d": [np.float64(1.5), np.int64(2), np.bool_(True)], "e": (1, 2), "f": 7, "g": -0.0, "h": [],
             "i": {"j": [{"k": 1}]}}
    out = to_jsonable(value)
    assert out == reference(value)
    assert json.dumps(out, allow_nan=False)
    assert type(out["d"][0]) is float and type(out["d"][1]) is int and type(out["d"][2]) is bool
    assert out["a"] is not value["a"] and out["i"]["j"][0] is not value["i"]["j"][0]
