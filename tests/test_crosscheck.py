"""Cross-checks with independent engines (semopy, factor_analyzer): agreement, the missing-extra
message, the pipeline option and its report section, and that nothing else needs the extra.

The engines are installed by the ``test`` extra (which includes ``crosscheck``), so CI runs
every test here; a broken install fails, it does not skip.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from psychometrics.crosscheck import INSTALL_HINT, crosscheck_cfa, crosscheck_efa
from psychometrics.crosscheck.cfa import CHISQ_RTOL, ESTIMATE_TOLERANCE
from psychometrics.crosscheck.efa import LOADING_TOLERANCE
from psychometrics.exceptions import DataError, MissingDependencyError

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
PACKAGE = Path(__file__).resolve().parents[1] / "psychometrics"


def test_cfa_agrees_with_semopy(hs):
    r = crosscheck_cfa(HS3, hs)
    assert r.engine == "semopy" and r.engine_version == "2.3.11" and r.n == 301
    assert len(r.estimates) == 24  # 9 loadings (3 fixed), 3 + 3 factor (co)variances, 9 residual variances
    assert r.agrees and r.max_abs_difference <= ESTIMATE_TOLERANCE
    # the same tolerances as tests/test_cfa_semopy.py: semopy's optimiser stops early
    assert r.statistics.loc["chisq", "ours"] == pytest.approx(85.3055, abs=1e-3)  # lavaan's χ²
    assert abs(r.statistics.loc["chisq", "difference"]) <= CHISQ_RTOL * 85.3
    assert r.statistics.loc["df", "theirs"] == 24
    assert r.to_frame() is r.estimates and "semopy" in r._repr_html_()


def test_efa_agrees_with_factor_analyzer(bfi):
    r = crosscheck_efa(bfi.iloc[:, :25], 5, "minres", "oblimin")
    assert r.engine == "factor_analyzer" and r.n == len(bfi.iloc[:, :25].dropna())
    assert len(r.estimates) == 25 * 5
    # measured 1.6e-6 (factor_analyzer 0.5.1): both minimise the same objective
    assert r.agrees and r.max_abs_difference <= LOADING_TOLERANCE


@pytest.mark.parametrize("rotation", ["varimax", "promax", None])
def test_efa_agrees_for_other_rotations(hs, rotation):
    r = crosscheck_efa(hs[[f"x{i}" for i in range(1, 10)]], 3, "minres", rotation)
    assert r.max_abs_difference <= LOADING_TOLERANCE  # measured ≤ 5.5e-6


def test_bad_input_is_a_data_error(hs):
    with pytest.raises(DataError, match="no column"):
        crosscheck_cfa("f =~ a + b + c", hs)
    with pytest.raises(DataError, match="no method"):
        crosscheck_efa(hs[["x1", "x2", "x3"]], 1, "pa")


def test_missing_engine_says_what_to_install(hs, monkeypatch):
    monkeypatch.setitem(sys.modules, "semopy", None)  # import semopy now raises ImportError
    with pytest.raises(MissingDependencyError) as err:
        crosscheck_cfa(HS3, hs)
    assert INSTALL_HINT in str(err.value) and "semopy" in str(err.value)


def test_only_the_crosscheck_package_imports_the_engines():
    """The default install has no semopy / factor_analyzer / scikit-learn: nothing else may import them."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "crosscheck" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"semopy", "factor_analyzer",
                                                                                     "sklearn"}]
    assert not offenders


def test_pipeline_crosscheck_section(tmp_path):
    from psychometrics.pipeline import demo

    res = demo(tmp_path / "d", seed=1, n=300, quiet=True, options={"crosscheck": True, "n_boot": 0,
                                                                     "parallel_iter": 20})
    results = json.loads((tmp_path / "d" / "results.json").read_text(encoding="utf-8"))
    checks = results["crosscheck"]["results"]
    assert [c["engine"] for c in checks] == ["semopy", "factor_analyzer"]
    assert all(c["agrees"] for c in checks)
    assert "Independent Cross-Check" in res.html and "Agreement With Independent Implementations" in res.html
    assert results["provenance"]["options"]["crosscheck"] is True


def test_pipeline_refuses_crosscheck_without_engines(tmp_path, monkeypatch):
    from psychometrics.crosscheck import result as cc_result
    from psychometrics.pipeline import demo

    def missing(module, purpose):
        raise MissingDependencyError(f"{purpose} needs '{module}'. Install with: {INSTALL_HINT}")

    monkeypatch.setattr(cc_result, "require", missing)
    with pytest.raises(MissingDependencyError, match="scalevalid\\[crosscheck\\]"):
        demo(tmp_path / "d", seed=1, n=300, quiet=True, options={"crosscheck": True})
