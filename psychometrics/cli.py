"""The ``psychometrics`` command line.

Only click is imported at start-up; every command imports the analysis modules
it needs inside its body so that ``psychometrics --help`` answers at once.
"""

from __future__ import annotations

import sys

import click

from psychometrics import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="psychometrics")
def cli() -> None:
    """Develop and validate psychological measurement scales."""


def main() -> None:
    """Entry point of the console script: clear messages instead of tracebacks."""
    from psychometrics.exceptions import PsychometricsError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PsychometricsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except SystemExit:
        raise
