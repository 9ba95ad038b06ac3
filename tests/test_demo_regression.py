"""Regression guard for refactors: the demo's ``results.json`` (seed 0, n = 400) equals a
stored, normalized copy.

Normalization drops what legitimately differs between runs and machines (the clock, the
command line, paths, platform and dependency versions) and rounds every number to 6
significant digits. The comparison (:func:`_diff`) allows what differs across BLAS builds and
CPUs (OpenBLAS picks its kernels by CPU: the same wheel rounds differently on an AVX2 and an
AVX-512 machine): a number within 1.5e-5 of the stored one relative (one unit in the sixth
significant digit of either rounded copy; iterative fits — the bifactor CFA, WLSMV, score tests —
differ by ~1e-8 relative, which can move that digit) or 1e-8 absolute (differences of nearly equal
numbers — residual correlations near 0, tail probabilities near 0 — differ by up to ~5e-10
absolutely, i.e. in their third digit), and an optimizer's iteration count (``iterations``: the
last step near the convergence threshold can fall on either side of it). A real change to a
statistic moves it far more. A change meant to alter the demo's numbers regenerates the copy with
``python tests/reference/demo/make_reference.py`` and says why in its commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SEED = 0
N = 400
REFERENCE = Path(__file__).parent / "reference" / "demo" / f"demo_seed{SEED}_n{N}.json"
# machine- and run-specific provenance fields
_VOLATILE = ("generated_at", "command", "python", "platform", "data_file", "scale_file", "dependencies")


def _round(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value) or value == 0.0:
            return value
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def normalize(results: dict[str, Any]) -> dict[str, Any]:
    """``results.json`` without volatile provenance, numbers to 6 significant digits."""
    out = json.loads(json.dumps(results))
    out.pop("report", None)  # the rendered report: display strings and SVG derived from the rest
    for key in _VOLATILE:
        out["provenance"].pop(key, None)
    out["provenance"].get("options", {}).pop("measures", None)  # paths of the companion specs
    return _round(out)


def normalized_demo(out: Path) -> dict[str, Any]:
    from psychometrics.pipeline import demo

    demo(out, seed=SEED, n=N, quiet=True)
    return normalize(json.loads((out / "results.json").read_text(encoding="utf-8")))


#: the comparison's tolerances across BLAS builds (module docstring)
RTOL, ATOL = 1.5e-5, 1e-8


def _same(a: Any, b: Any, path: str) -> bool:
    if a == b:
        return True
    if path.endswith("/iterations") and isinstance(a, int) and isinstance(b, int):
        return a > 0 and b > 0  # (the optimizer's count: BLAS-dependent near the threshold)
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool) \
            and isinstance(a, float) | isinstance(b, float):
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)
    return False


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in {'fresh' if k in a else 'stored'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if _same(a, b, path) else [f"{path}: fresh {str(a)[:120]!s} != stored {str(b)[:120]!s}"]


def test_diff_allows_blas_rounding_not_changes():
    """The tolerances: one unit in the sixth digit and 1e-8 absolute pass, a change of 1e-4 relative, a
    changed count and a changed text do not; iteration counts may differ."""
    assert not _diff({"x": 0.444398, "r": 9.2281e-06, "p": 4.60439e-34, "iterations": 9},
                     {"x": 0.444399, "r": 9.22855e-06, "p": 4.6044e-34, "iterations": 10})
    assert _diff({"x": 0.44444}, {"x": 0.4444})
    assert _diff({"n": 400}, {"n": 401}) and _diff({"s": "a"}, {"s": "b"})
    assert _diff({"x": float("nan")}, {"x": 1.0}) and _diff({"x": None}, {"x": 1.0})


def test_demo_results_unchanged(tmp_path):
    fresh = normalized_demo(tmp_path / "demo")
    stored = json.loads(REFERENCE.read_text(encoding="utf-8"))
    differences = _diff(fresh, stored)
    assert not differences, f"{len(differences)} differences, first ones:\n" + "\n".join(differences[:30])
