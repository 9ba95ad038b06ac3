"""Output writing (``psychometrics._io``): never onto an input, never over existing outputs
unasked, atomic (issue 14, class 2). On main before issue 14, ``score KEY DATA -o DATA``
overwrote the data, ``demo --out DIR`` replaced the user's ``DIR/responses.csv`` and
``validate --out DIR`` an existing report, silently."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from psychometrics._io import atomic_write, atomic_write_text, check_outputs
from psychometrics.exceptions import OutputError

sys.path.insert(0, str(Path(__file__).parent))
from test_pipeline import FAST, MSS, _mini, _simulate  # noqa: E402
from cli_runner import run_cli as _run

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"




def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ------------------------------------------------------------------ the helpers
def test_atomic_write_keeps_the_old_file_on_a_crash(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def crash(tmp: Path) -> None:
        tmp.write_text("half a rep")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left behind
    atomic_write_text(target, "new report")
    assert target.read_text() == "new report" and len(list(tmp_path.iterdir())) == 1


def test_check_outputs(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    with pytest.raises(OutputError, match="is the input file"):
        check_outputs([tmp_path / "sub" / ".." / "data.csv"], [data], overwrite=True)
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    with pytest.raises(OutputError, match="is the input file"):
        check_outputs([link], [data], overwrite=True)
    with pytest.raises(OutputError, match="already holds data.csv.*--overwrite"):
        check_outputs([data], [], overwrite=False)
    assert check_outputs([data, tmp_path / "new.csv"], [], overwrite=True) == [data]
    with pytest.raises(OutputError, match="both"):
        check_outputs([tmp_path / "a.csv", tmp_path / "a.csv"], [])
    with pytest.raises(OutputError, match="folder"):
        check_outputs([tmp_path], [], overwrite=True)


# ------------------------------------------------------------------------ score
def test_score_never_overwrites_its_input(tmp_path, capsys):
    data = _simulate(tmp_path, n=120)
    before = _sha(data)
    code, _, err = _run(capsys, "score", MSS, data, "-o", data)
    assert code == 2 and "input file" in err and "Traceback" not in err
    code, _, err = _run(capsys, "score", MSS, data, "-o", data, "--overwrite")
    assert code == 2 and "input file" in err
    code, _, err = _run(capsys, "score", MSS, data, "-o", tmp_path / "s.csv", "--dictionary", data)
    assert code == 2 and "input file" in err
    assert _sha(data) == before


def test_score_existing_output_needs_overwrite(tmp_path, capsys):
    data = _simulate(tmp_path, n=120)
    out = tmp_path / "scores.csv"
    out.write_text("my own file\n")
    code, _, err = _run(capsys, "score", MSS, data, "-o", out)
    assert code == 2 and "already holds scores.csv" in err and "--overwrite" in err
    assert out.read_text() == "my own file\n" and not (tmp_path / "scores_dictionary.csv").exists()
    code, _, err = _run(capsys, "score", MSS, data, "-o", out, "--overwrite")
    assert code == 0, err
    assert "Replaced existing file(s)" in err and "scores.csv" in err
    assert out.read_text().startswith("encouragement") or "total" in out.read_text().splitlines()[0]


# ------------------------------------------------------------------ demo/validate
def test_demo_refuses_a_folder_with_responses(tmp_path, capsys):
    mine = tmp_path / "responses.csv"
    mine.write_text("my,data\n1,2\n")
    code, _, err = _run(capsys, "demo", "--out", tmp_path, "-q")
    assert code == 2 and "responses.csv" in err and "--overwrite" in err
    assert mine.read_text() == "my,data\n1,2\n" and len(list(tmp_path.iterdir())) == 1


def test_validate_refuses_existing_report_and_input_paths(tmp_path, capsys):
    spec, data = _mini(tmp_path, 240, evil=False)
    out = tmp_path / "out [red]x\x1b]0;pwned\x07"  # user text in a path: printed literally, never obeyed
    out.mkdir()
    (out / "report.html").write_text("my report")
    code, _, err = _run(capsys, "validate", spec, data, "--out", out, "-q")
    assert code == 2 and "already holds report.html" in err
    assert (out / "report.html").read_text() == "my report"
    # an input inside the output folder under an output's name: refused even with --overwrite
    shutil.copy(spec, out / "results.json")
    code, _, err = _run(capsys, "validate", out / "results.json", data, "--out", out, "-q", "--overwrite")
    assert code == 2 and "input file" in err
    # with --overwrite (and --quiet) the run replaces the report and says so on stderr
    (out / "results.json").unlink()
    code, _, err = _run(capsys, "validate", spec, data, "--group", "grp", "--out", out, "-q", "--overwrite",
                        "--config", _fast_config(tmp_path))
    assert code == 0, err
    assert "Replaced existing file(s) (--overwrite)" in err and "report.html" in err
    assert "results.json" not in err  # it did not exist before: created, not replaced
    assert (out / "report.html").read_text() != "my report"
    assert "\x1b" not in err and "\x07" not in err and "[red]x" in err


@pytest.mark.parametrize("command", ["validate", "demo"])
def test_tables_docx_is_an_output_like_the_others(tmp_path, capsys, command):
    """--tables docx: an existing tables.docx is not replaced without --overwrite (nothing is
    computed or written), and it is never written onto an input."""
    spec, data = _mini(tmp_path, 240, evil=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tables.docx").write_text("mine")
    args = ["validate", spec, data] if command == "validate" else ["demo"]
    code, _, err = _run(capsys, *args, "--out", out, "--tables", "docx", "-q")
    assert code == 2 and "tables.docx" in err and "--overwrite" in err
    assert (out / "tables.docx").read_text() == "mine" and len(list(out.iterdir())) == 1
    if command == "validate":  # a data file named tables.docx inside --out: refused also with --overwrite
        (out / "tables.docx").unlink()
        shutil.copy(data, out / "tables.docx")
        code, _, err = _run(capsys, "validate", spec, out / "tables.docx", "--out", out, "--tables", "docx",
                            "-q", "--overwrite")
        assert code == 2 and "input file" in err


def _fast_config(tmp_path: Path) -> Path:
    import yaml

    cfg = tmp_path / "fast.yaml"
    cfg.write_text(yaml.safe_dump(FAST))
    return cfg
