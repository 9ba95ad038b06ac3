"""Hostile and careless input at the command line (issue 14, classes 3 and 6).

Class 3: user text (spec name, subscale names, group labels, file names, values quoted in
errors) is printed as data: Rich markup is escaped and control characters are shown as
escapes. On main before issue 14, a label ``PhD [/] students`` crashed ``check`` (exit 3),
``[red]graduate`` printed as ``graduate`` and terminal escape sequences reached the terminal.
Class 6: a foreign or malformed YAML file beside a spec is skipped with a note (main:
internal TypeError for an ``id`` that is a list).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cli_runner import run_cli as _run

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
ESC_TITLE = "\x1b]0;pwned\x07"
ESC_COLOUR = "\x1b[31m"




def _evil(tmp_path: Path, n: int = 60) -> tuple[Path, Path]:
    spec = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    spec["name"] = f"Evil [/x] scale {ESC_TITLE} [bold]bold"
    spec["subscales"][0]["name"] = "PhD [/] students"
    spec.pop("validity")
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(1, 6, size=(n, 8)), columns=[it["id"] for it in spec["items"]])
    df["grp"] = np.where(np.arange(n) % 2, "PhD [/] students", f"{ESC_COLOUR}[red]graduate")
    df.to_csv(tmp_path / "evil.csv", index=False)
    return path, tmp_path / "evil.csv"


def test_check_prints_markup_and_escapes_literally(tmp_path, capsys):
    spec, data = _evil(tmp_path)
    code, out, err = _run(capsys, "check", spec, data, "--group", "grp")
    assert code == 0, err
    assert "Evil [/x] scale" in out and "[bold]bold" in out
    assert "PhD [/] students" in out and "[red]graduate: 30" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out and "\\x1b[31m" in out


def test_errors_show_control_characters_visibly(tmp_path, capsys):
    spec, data = _evil(tmp_path)
    code, out, err = _run(capsys, "check", spec, data, "--group", f"{ESC_TITLE}[red]col")
    assert code == 2 and "\x1b" not in err and "\x07" not in err and "\\x1b" in err
    code, out, err = _run(capsys, "check", spec, data, "--map", f"{ESC_COLOUR}x")
    assert code == 2 and "\x1b" not in err


def test_score_output_is_terminal_safe(tmp_path, capsys):
    spec, data = _evil(tmp_path)
    out_path = tmp_path / f"scores{ESC_COLOUR}.csv"
    code, out, err = _run(capsys, "score", spec, data, "-o", out_path, "--group", "grp")
    assert code == 0, err
    assert "\x1b" not in out + err and "\\x1b[31m" in out


# ------------------------------------------------------------- companions
def test_foreign_and_broken_yaml_beside_a_spec_are_skipped(tmp_path, capsys):
    shutil.copy(MINI, tmp_path / "mini.yaml")
    (tmp_path / "foreign.yaml").write_text("id: [1, 2]\nitems: 3\n")  # main: TypeError (exit 3)
    (tmp_path / "other.yaml").write_text("id: {a: 1}\nname: x\n")
    (tmp_path / "broken.yaml").write_text("id: companion\nitems: [\n")
    (tmp_path / "binary.yml").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "invalid.yaml").write_text("id: companion\nitems: [{id: X1}]\n")  # wanted id, not a valid spec
    code, out, err = _run(capsys, "check", tmp_path / "mini.yaml")
    assert code == 0, err
    assert "skipped broken.yaml" in out and "not valid YAML" in out
    assert "skipped binary.yml" in out and "UTF-8" in out
    assert "skipped invalid.yaml" in out and "not a valid spec" in out
    assert "foreign.yaml" not in out and "other.yaml" not in out  # not specs: nothing to say
    assert "companion (not found)" in out
