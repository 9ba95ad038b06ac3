"""Regenerate ``demo_seed0_n400.json``: the normalized ``results.json`` of the demo.

Run from the project root after a change that is *meant* to change the demo's numbers, and
say why in the commit message::

    python tests/reference/demo/make_reference.py

``tests/test_demo_regression.py`` compares a fresh demo with this file; refactors must leave
it unchanged.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE.parents[1]))

from test_demo_regression import N, SEED, normalized_demo  # noqa: E402

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        results = normalized_demo(Path(tmp) / "demo")
    path = HERE / f"demo_seed{SEED}_n{N}.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")
