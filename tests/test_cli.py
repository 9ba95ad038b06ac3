"""The command line: fast --help, `check` on good and bad specs and data, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cli_runner import run_cli as _run

ROOT = Path(__file__).resolve().parents[1]
MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
ITEMS = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2"]
HEAVY = ("numpy", "pandas", "scipy", "semopy", "factor_analyzer", "matplotlib", "sklearn", "rich", "jinja2",
         "pydantic", "yaml")


def _data(tmp_path: Path, changes: dict | None = None, n: int = 50) -> Path:
    rng = np.random.default_rng(5)
    f = rng.normal(size=(n, 1))
    df = pd.DataFrame(np.clip(np.round(3 + f + rng.normal(size=(n, 8))), 1, 5).astype(int), columns=ITEMS)
    df["stage"] = np.where(np.arange(n) < n // 2, "early", "late")
    df["pid"] = [f"P{i:03d}" for i in range(n)]
    for (row, col), value in (changes or {}).items():
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path




def _subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "psychometrics", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------ start-up
def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from psychometrics.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "main(['check', '--help'])\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout
    assert "check" in proc.stdout


def test_version(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and "psychometrics" in out


# ------------------------------------------------------------------- success
def test_check_spec_only(capsys):
    code, out, err = _run(capsys, "check", MINI)
    assert code == 0, err
    assert "Mini Test Scale" in out and "v1.0.0" in out
    from psychometrics.scale import Scale

    assert Scale.from_yaml(MINI).content_hash in out
    assert "alpha" in out and "OK: spec is valid." in out
    assert "companion (not found)" in out


def test_check_with_data_subprocess(tmp_path):
    data = _data(tmp_path, {(3, "A2"): -9})
    proc = _subprocess("check", MINI, data, "--group", "stage", "--id-column", "pid")
    assert proc.returncode == 0, proc.stderr
    assert "50 read, 50 used" in proc.stdout and "missing code 1" in proc.stdout
    assert "early: 25, late: 25" in proc.stdout and "careless-responding flags" in proc.stdout
    assert "OK: spec and data are valid." in proc.stdout
    assert "Traceback" not in proc.stderr


def test_check_with_companion(tmp_path, capsys):
    spec = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    companion = {
        "id": "companion", "name": "Companion", "version": "1.0.0", "construct": "Another construct.",
        "response_format": {"type": "likert", "min": 1, "max": 5},
        "subscales": [{"id": "other", "name": "Other"}],
        "items": [{"id": "O1", "text": "Other one.", "subscale": "other"},
                  {"id": "O2", "text": "Other two.", "subscale": "other"}],
    }
    (tmp_path / "scale.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (tmp_path / "companion_measure.yaml").write_text(yaml.safe_dump(companion), encoding="utf-8")
    (tmp_path / "unrelated.yaml").write_text("just: [a, list", encoding="utf-8")  # broken, not a companion
    data = _data(tmp_path)
    df = pd.read_csv(data)
    df["O1"], df["O2"] = 2, 3
    df.to_csv(data, index=False)
    code, out, err = _run(capsys, "check", tmp_path / "scale.yaml", data)
    assert code == 0, err
    assert "companion ✓" in out and "companion" in out and "OK: spec and data are valid." in out
    # A hypothesis naming a score the companion lacks is reported.
    spec["validity"][1]["measure_score"] = "othr"
    (tmp_path / "scale.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, out, err = _run(capsys, "check", tmp_path / "scale.yaml")
    assert code == 2 and "validity[1].measure_score" in err and "did you mean 'other'" in err


def test_map_option(tmp_path, capsys):
    data = _data(tmp_path)
    df = pd.read_csv(data).rename(columns={"A1": "q1"})
    df.to_csv(data, index=False)
    code, out, err = _run(capsys, "check", MINI, data, "--map", "q1=A1")
    assert code == 0, err
    assert "50 read, 50 used" in out and "OK: spec and data are valid." in out  # q1 read as item A1
    code, out, err = _run(capsys, "check", MINI, data, "--map", "q1")
    assert code == 2 and "DATA_COLUMN=ITEM_ID" in err


def test_out_of_range_missing_option(tmp_path, capsys):
    data = _data(tmp_path, {(4, "B3"): 9})
    code, out, err = _run(capsys, "check", MINI, data, "--out-of-range", "missing")
    assert code == 0, err
    assert "out of range 1" in out and "warning" in out and "data row 5" in out


# ------------------------------------------------------------------ failures
def test_out_of_range_fails_naming_item_without_traceback(tmp_path):
    data = _data(tmp_path, {(4, "B3"): 9})
    proc = _subprocess("check", MINI, data)
    assert proc.returncode == 2
    assert "B3: 1 value, e.g. 9 in data row 5" in proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_missing_item_column_fails_naming_item(tmp_path, capsys):
    data = _data(tmp_path)
    pd.read_csv(data).drop(columns=["C1"]).to_csv(data, index=False)
    code, _, err = _run(capsys, "check", MINI, data)
    assert code == 2 and "1 item column is missing: C1" in err


def test_non_numeric_and_group_errors(tmp_path, capsys):
    data = _data(tmp_path, {(0, "A1"): "often"})
    code, _, err = _run(capsys, "check", MINI, data)
    assert code == 2 and "A1: 1 cell, e.g. 'often' in data row 1" in err
    data = _data(tmp_path, {(2, "stage"): np.nan})
    code, _, err = _run(capsys, "check", MINI, data, "--group", "stage")
    assert code == 2 and "no group label in column 'stage': data row 3" in err
    code, out, err = _run(capsys, "check", MINI, data, "--group", "stage", "--missing-group", "exclude")
    assert code == 0 and "49 used, 1 excluded" in out


def test_bad_spec_fails_naming_field_without_traceback(tmp_path):
    text = MINI.read_text(encoding="utf-8").replace("subscale: beta}", "subscale: betta}", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    proc = _subprocess("check", path)
    assert proc.returncode == 2
    assert str(path) in proc.stderr and "items[3].subscale" in proc.stderr and "did you mean 'beta'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("check", "missing.yaml"), "Scale spec file not found: missing.yaml"),
        (("check", MINI, "missing.csv"), "Data file not found: missing.csv"),
        (("check", MINI, MINI.parent), "is a directory"),
        (("check",), "Missing argument 'SCALE'"),
        (("nonsense",), "No such command"),
    ],
)
def test_unusable_input_exits_nonzero(capsys, args, message):
    code, _, err = _run(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_unreadable_files(tmp_path, capsys):
    bad = tmp_path / "data.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    code, _, err = _run(capsys, "check", MINI, bad)
    assert code == 2 and "Cannot read" in err and "Excel" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n  name: y\n", encoding="utf-8")
    code, _, err = _run(capsys, "check", broken)
    assert code == 2 and "line 2" in err and "not valid YAML" in err


# ------------------------------------------------------- the shipped scale
MSS = ROOT / "scales" / "mentorship_supportiveness.yaml"


@pytest.mark.skipif(not MSS.exists(), reason="the mentorship item pool is not in this checkout")
def test_check_mentorship_scale_and_simulated_data(tmp_path, capsys):
    from psychometrics.simulate import simulate_study

    code, out, err = _run(capsys, "check", MSS)
    assert code == 0, err
    assert "Mentorship Supportiveness Scale" in out and "(not found)" not in out
    data = tmp_path / "sim.csv"
    simulate_study(None, n=300, seed=3).to_csv(data, index=False)
    code, out, err = _run(capsys, "check", MSS, data, "--group", "career_stage", "--id-column", "id")
    assert code == 0, err
    assert "300 read, 300 used" in out and "self_efficacy" in out and "OK: spec and data are valid." in out
    # A value out of range or a missing item column makes check fail, naming the item.
    df = pd.read_csv(data)
    df.loc[9, "MSS07"] = 6
    df.to_csv(data, index=False)
    code, _, err = _run(capsys, "check", MSS, data)
    assert code == 2 and "MSS07: 1 value, e.g. 6 in data row 10" in err
    df.drop(columns=["MSS07"]).to_csv(data, index=False)
    code, _, err = _run(capsys, "check", MSS, data)
    assert code == 2 and "1 item column is missing: MSS07" in err
