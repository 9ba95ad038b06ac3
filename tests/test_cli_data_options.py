"""Issue 15 (2): one set of data-reading options for every command that reads data, and error
hints that work with the command that printed them.

The options are defined once (``psychometrics.cli.data_options``); this test checks that
``check``, ``validate`` and ``score`` all take them with the same names and values, then
provokes each data error that carries a command-line hint on each command, parses the hint out
of the message and runs the same command again with it: it must be accepted and fix the error.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
import yaml

from psychometrics.cli import DATA_OPTIONS, check, cli, main, score_command, validate

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
ITEMS = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2"]
COMMANDS = {"check": check, "validate": validate, "score": score_command}


def _params(cmd: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in cmd.params if p.name}


def _flags(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def test_check_data_options_exist_on_every_data_command():
    check_params = _params(check)
    data_opts = [n for n in DATA_OPTIONS]
    assert set(data_opts) <= set(check_params)
    for name, cmd in COMMANDS.items():
        params = _params(cmd)
        for opt in data_opts:
            assert opt in params, f"{name} lacks {check_params[opt].opts}"
            a, b = check_params[opt], params[opt]
            assert a.opts == b.opts and a.multiple == b.multiple, (name, opt)
            assert getattr(a.type, "choices", None) == getattr(b.type, "choices", None), (name, opt)
    # the companion specs too: --companion and --measures on both commands
    assert {"--companion", "--measures"} <= _flags(check) and {"--companion", "--measures"} <= _flags(validate)
    assert "demo" in cli.commands  # demo reads no data file: it simulates its own


def _spec(tmp_path: Path) -> Path:
    spec = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    spec.pop("validity")  # no companion measures needed
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    f = 0.7 * rng.normal(size=(n, 1)) + 0.7 * rng.normal(size=(n, 3))
    cols = {i: np.clip(np.round(3 + 0.8 * f[:, "ABC".index(i[0])] + 0.6 * rng.normal(size=n)), 1, 5).astype(int)
            for i in ITEMS}
    df = pd.DataFrame(cols)
    df["grp"] = np.where(np.arange(n) % 2, "one", "two")
    return df


def _problem(tmp_path: Path, kind: str) -> Path:
    """Data with one problem whose error carries a command-line hint."""
    df = _frame()
    path = tmp_path / f"{kind}.csv"
    if kind == "missing_group":
        df["grp"] = df["grp"].astype(object)
        df.loc[3, "grp"] = None
    elif kind == "out_of_range":
        df.loc[5, "A1"] = 9
    elif kind == "map":
        df = df.rename(columns={"B2": "q5"})
    elif kind == "sep":
        df.to_csv(path, index=False, sep=";")
        return path
    df.to_csv(path, index=False)
    return path


def _run(capsys, args: list[str]) -> tuple[int, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out + out.err


#: a hint "on the command line --option value" in an error message
HINT = re.compile(r"on the command line (--[a-z][a-z-]*)(?: ('[^']*'|[^\s),.]+))?")


def _hint_args(message: str, data: Path) -> list[str]:
    m = HINT.search(message)
    assert m, f"no command-line hint in: {message}"
    opt, value = m.group(1), (m.group(2) or "").strip("'")
    if opt == "--map":  # a template (data_column=ITEM_ID): fill in the column the message names
        assert value == "data_column=ITEM_ID"
        value = "q5=B2"
    return [opt, value] if value else [opt]


def _command(name: str, spec: Path, data: Path, tmp: Path) -> list[str]:
    if name == "check":
        return ["check", spec, data, "--group", "grp"]
    if name == "score":
        return ["score", spec, data, "-o", tmp / "scores.csv", "--group", "grp"]
    cfg = tmp / "fast.yaml"
    cfg.write_text("n_boot: 0\nparallel_iter: 10\nordinal: 'no'\n", encoding="utf-8")
    return ["validate", spec, data, "--group", "grp", "--config", cfg, "--out", tmp / "out", "--quiet"]


@pytest.mark.parametrize("command", ["check", "score", "validate"])
@pytest.mark.parametrize("kind", ["missing_group", "out_of_range", "map", "sep"])
def test_error_hints_are_options_of_the_command_that_printed_them(tmp_path, capsys, command, kind):
    spec = _spec(tmp_path)
    data = _problem(tmp_path, kind)
    args = _command(command, spec, data, tmp_path)
    code, text = _run(capsys, args)
    assert code == 2, text
    assert "Traceback" not in text
    # every option the message names is an option of this command
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", text))
    assert named <= _flags(COMMANDS[command]), (named - _flags(COMMANDS[command]), text)
    # the hint, called: accepted by the command and the error is gone
    code, text2 = _run(capsys, [*args, *_hint_args(text, data)])
    assert "No such option" not in text2
    assert code == 0, text2
