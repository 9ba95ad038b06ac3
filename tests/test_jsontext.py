"""psychometrics._jsontext: dumps_indented writes the text of json.dumps(indent=n) (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from psychometrics._jsontext import dumps_indented

ROOT = Path(__file__).resolve().parents[1]


def _ref(obj, indent=1):
    return json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)


def test_demo_results_text_equals_json_dumps():
    # the reference is the standard library's own text of the demo's results.json
    results = json.loads((ROOT / "reports" / "demo" / "results.json").read_text(encoding="utf-8"))
    assert dumps_indented(results) == _ref(results)


@pytest.mark.parametrize("indent", [1, 2, 4])
@pytest.mark.parametrize("obj", [
    {}, [], [[]], {"a": []}, [1, [2, [3, []]], {}], 3, "x", None, 1.5, True,
    {"ü": "ß\n\"x", "k": [1.5, -0.0, 1e300, True, None, "é", 10**30]},
    {1: 2, 2.5: 3, True: 4, None: 5},
    [[1, 2], [3, None]], [[1], [2]], [[1, 2], []], [[], [1]],
    {"rows": [["x]", "[y"], ["a\nb", 1.5], ["],\n [", False]]}, [[[1]], [2]],
    ({"a": (1, 2)},), {"t": [(1, 2), (3, 4)]},
    {"labels": list(range(1000)), "flagged": {"index": [1, 2], "columns": ["a", "b"], "data": [[1, 0.5], [2, None]]}},
    # dicts of scalars (one C call each) and scalars written without json.dumps (str, int, float, bool, None)
    {"a": 1, "b": "x\n}", "c": None, "d": -0.0, "e": 1e-320, "f": 2**70, "g": False, "h": "\u2028é\x00"},
    {"k": {"x": 0.1, "y": {"z": True}}, "ü": {}, "v": [{"p": 1}, {"q": "r"}]},
    [0.1, 1 / 3, 5e-324, -1.7976931348623157e308, 12345678901234567890, "\ud800"],
    {"a": 1, 2: "b"}, {True: 1.5, "s": 2},
])
def test_text_equals_json_dumps(obj, indent):
    assert dumps_indented(obj, indent) == _ref(obj, indent)


@pytest.mark.parametrize("bad", [float("nan"), [float("inf")], {"a": [1, float("-inf")]}, [[1, float("nan")]],
                                 {"a": {1, 2}}, object(), {"a": float("nan")}, {"a": {"b": float("-inf")}},
                                 {"a": 1, "b": object()}, -float("inf")])
def test_what_json_refuses_is_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        dumps_indented(bad)
    with pytest.raises((ValueError, TypeError)):
        _ref(bad)
