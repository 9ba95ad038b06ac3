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
