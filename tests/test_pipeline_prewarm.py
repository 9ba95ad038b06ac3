"""The background imports of ``validate`` (``psychometrics/pipeline/_prewarm.py``): imports only, no warnings,
the same results.

Both tests run a fresh interpreter: in this test process the modules are imported already, so the
thread would have nothing to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from psychometrics.pipeline._prewarm import modules, prewarm

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *flags, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_prewarm_modules_import_without_a_warning():
    """A warning issued by an import on the thread would be recorded by the step running meanwhile: none is.
    Imported in a fresh process with every warning an error (after what ``validate``'s callers import)."""
    code = ("import importlib, psychometrics.pipeline.run\n"
            "from psychometrics.pipeline._prewarm import modules\n"
            "for name in modules(irt=True):\n"
            "    importlib.import_module(name)\n"
            "print('imported', len(modules(irt=True)))\n")
    proc = _python(code, "-W", "error")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"imported {len(modules(irt=True))}" in proc.stdout


def test_prewarm_starts_no_thread_once_everything_is_imported():
    from psychometrics.pipeline._prewarm import _import_all

    _import_all(modules(irt=True))
    assert prewarm(irt=True) is None
    assert set(modules(irt=False)) < set(modules(irt=True))


def test_demo_with_the_import_thread_equals_the_stored_demo(tmp_path):
    """The demo in a fresh process, where the thread does import the later steps' modules while the data step
    runs: its results.json equals the stored demo results (``tests/test_demo_regression.py``'s comparison)."""
    out = tmp_path / "demo"
    code = ("import psychometrics.pipeline._prewarm as pw, psychometrics.pipeline.run as run\n"
            "started = []\n"
            "original = pw.prewarm\n"
            "def spy(**kw):\n"
            "    thread = original(**kw)\n"
            "    started.append(thread is not None)\n"
            "    return thread\n"
            "pw.prewarm = spy\n"
            "pw.PREWARM_BYTES = 0\n"  # (the demo's small file: the thread forced on)
            f"run.demo({str(out)!r}, seed=0, n=400, quiet=True)\n"
            "print('started', started)\n")
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "started [True]" in proc.stdout
    from test_demo_regression import REFERENCE, _diff, normalize

    fresh = normalize(json.loads((out / "results.json").read_text(encoding="utf-8")))
    differences = _diff(fresh, json.loads(REFERENCE.read_text(encoding="utf-8")))
    assert not differences, "\n".join(differences[:30])


def test_the_thread_runs_for_large_files_only(tmp_path, monkeypatch):
    from psychometrics.pipeline import _prewarm

    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    assert not _prewarm.pays_to_prewarm(small) and not _prewarm.pays_to_prewarm(tmp_path / "missing.csv")
    assert not _prewarm.pays_to_prewarm(object())  # (a DataFrame: no parse)
    monkeypatch.setattr(_prewarm, "PREWARM_BYTES", 8)
    assert _prewarm.pays_to_prewarm(small) and _prewarm.pays_to_prewarm(str(small)) and _prewarm.pays_to_prewarm(tmp_path)


def test_import_later_imports_the_report_side():
    from psychometrics.pipeline import _prewarm

    _prewarm.import_later()
    assert all(name in sys.modules for name in _prewarm._LATER)
