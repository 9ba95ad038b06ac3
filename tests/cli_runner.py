"""Run the console script in-process for tests (shared by the CLI test modules)."""

from __future__ import annotations

from psychometrics.cli import main


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """``psychometrics ARGS`` in this process; return (exit code, stdout, stderr)."""
    try:
        main(list(map(str, args)))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err
