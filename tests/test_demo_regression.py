"""Regression guard for refactors: the demo's ``results.json`` (seed 0, n = 400) equals a
stored, normalized copy.

Normalization drops what legitimately differs between runs and machines (the clock, the
command line, paths, platform and dependency versions) and rounds every number to 6
significant digits: iterative fits (the bifactor CFA, WLSMV) differ across BLAS builds by up
to ~1e-8, far below that. A change meant to alter the demo's numbers regenerates the copy with
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


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in {'fresh' if k in a else 'stored'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: fresh {str(a)[:120]!s} != stored {str(b)[:120]!s}"]


def test_demo_results_unchanged(tmp_path):
    fresh = normalized_demo(tmp_path / "demo")
    stored = json.loads(REFERENCE.read_text(encoding="utf-8"))
    differences = _diff(fresh, stored)
    assert not differences, f"{len(differences)} differences, first ones:\n" + "\n".join(differences[:30])
