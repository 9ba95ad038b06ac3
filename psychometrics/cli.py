"""The ``psychometrics`` command line.

Only click is imported at start-up; every command imports the analysis modules
it needs inside its body so that ``psychometrics --help`` answers at once
(``tests/test_cli.py`` checks that numpy, pandas, scipy, … are not imported).

Adding a command: define a function decorated with ``@cli.command()`` below,
import what it needs inside its body, and raise
:class:`~psychometrics.exceptions.PsychometricsError` subclasses for bad input;
:func:`main` turns them into a one-paragraph message and a non-zero exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from psychometrics import __version__

# Exit codes: 0 success, 1 aborted, 2 bad input (spec, data, usage), 3 internal error.
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="psychometrics")
def cli() -> None:
    """Develop and validate psychological measurement scales."""


# ===================================================================== check
def _parse_map(values: tuple[str, ...]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for value in values:
        if "=" not in value:
            raise click.BadParameter(f"{value!r} is not DATA_COLUMN=ITEM_ID", param_hint="--map")
        col, item = (part.strip() for part in value.split("=", 1))
        out[col] = item
    return out or None


@cli.command()
@click.argument("scale", type=click.Path(dir_okay=True, path_type=Path))
@click.argument("data", required=False, type=click.Path(dir_okay=True, path_type=Path))
@click.option("--group", "group", metavar="COL", help="Column with group labels (e.g. career stage).")
@click.option("--id-column", metavar="COL", help="Column with respondent ids (must be unique).")
@click.option("--map", "mapping", multiple=True, metavar="COL=ITEM",
              help="Map a data column to an item id (repeatable), e.g. --map q3=MSS03.")
@click.option("--out-of-range", type=click.Choice(["error", "missing"]), default="error", show_default=True,
              help="Values outside the response range: fail, or set them missing (counted).")
@click.option("--missing-group", type=click.Choice(["error", "exclude"]), default="error", show_default=True,
              help="Rows without a group label: fail, or exclude them (listed).")
@click.option("--sheet", metavar="NAME", help="Excel sheet (default: the first).")
@click.option("--sep", metavar="CHAR", help="Delimiter of a text file (default: by extension).")
@click.option("--companion", "companions", multiple=True, type=click.Path(path_type=Path), metavar="YAML",
              help="Companion measure spec (repeatable). By default, specs beside SCALE whose id a "
                   "validity hypothesis names are used.")
def check(scale: Path, data: Path | None, group: str | None, id_column: str | None, mapping: tuple[str, ...],
          out_of_range: str, missing_group: str, sheet: str | None, sep: str | None,
          companions: tuple[Path, ...]) -> None:
    """Validate a scale spec SCALE (YAML) and, if given, response DATA against it.

    DATA may be .csv, .tsv, .txt, .xlsx, .sav, .dta or .parquet. Prints the scale
    summary and the data-quality record; exits with status 2 and a message naming
    the file, field, item or rows on bad input.
    """
    import warnings

    from rich.console import Console

    from psychometrics.exceptions import PsychometricsWarning
    from psychometrics.scale import Scale, find_companions

    console = Console(highlight=False, soft_wrap=True)
    columns = _parse_map(mapping)
    spec = Scale.from_yaml(scale)
    found, missing = find_companions(spec, companions)
    if not missing:
        spec.check_companions(found)
    _print_scale(console, spec, found, missing)

    if data is not None:
        from psychometrics.data import load_responses

        with warnings.catch_warnings():
            # Diagnostics are printed below from the result; no raw Python warnings.
            warnings.simplefilter("ignore", PsychometricsWarning)
            responses = load_responses(
                data, spec, group=group, id_column=id_column, columns=columns, out_of_range=out_of_range,
                missing_group=missing_group, sheet=int(sheet) if sheet and sheet.isdigit() else sheet, sep=sep,
            )
            extra = []
            for cid, companion in found.items():
                present = [i for i in companion.item_ids if i in responses.frame.columns]
                if present:  # all or an error naming the missing ones
                    extra.append(responses.load_companion(companion))
                else:
                    extra.append(cid)
        _print_data(console, responses, extra)
    console.print("[bold green]OK[/]: " + ("spec and data are valid." if data is not None else "spec is valid."))


def _print_scale(console, spec, found, missing) -> None:
    from rich.table import Table

    rf = spec.response_format
    console.print(f"[bold]{spec.name}[/] ({spec.id}) v{spec.version}")
    console.print(f"  spec     {spec.source}")
    console.print(f"  sha256   {spec.content_hash}")
    fmt = f"{rf.type} {rf.min}–{rf.max}"
    if rf.labels:
        fmt += f", {len(rf.labels)} labels"
    if rf.missing_codes:
        fmt += f", missing codes {', '.join(map(str, rf.missing_codes))}"
    console.print(f"  format   {fmt}")
    sc = spec.scoring
    console.print(f"  scoring  {sc.method}, min share answered {sc.min_answered:g}" + (", total score" if sc.total else ""))
    table = Table(title=None, box=None, pad_edge=False, header_style="bold")
    table.add_column("subscale")
    table.add_column("name")
    table.add_column("items", justify="right")
    table.add_column("reversed", justify="right")
    for s in spec.subscales:
        ids = spec.items_of(s.id)
        table.add_row(s.id, s.name, str(len(ids)), str(sum(spec.item(i).reverse for i in ids)))
    table.add_row("[bold]total[/]", "", str(len(spec.items)), str(len(spec.reverse_items)))
    console.print(table)
    if spec.hierarchy is not None:
        console.print(f"  hierarchy  {spec.hierarchy.id} over {', '.join(spec.hierarchy.subscales)}")
    if spec.validity:
        console.print(f"  validity   {len(spec.validity)} hypotheses; companion measures: "
                      + ", ".join([f"{k} ✓" for k in found] + [f"{m} (not found)" for m in missing]))
        if missing:
            console.print(f"  [yellow]note[/]: no spec found for {', '.join(missing)} beside {spec.source}; "
                          "pass --companion FILE to check those hypotheses' measure scores.")


def _print_data(console, responses, extra) -> None:
    from rich.table import Table

    q = responses.quality
    console.print()
    console.print(f"[bold]Data[/] {responses.source}")
    console.print(f"  sha256   {responses.sha256}")
    console.print(f"  rows     {q.rows_read} read, {q.rows_used} used, {len(q.excluded)} excluded; "
                  f"{q.complete_cases} complete, {q.empty_rows} with no item answered")
    total_missing = int(q.missing.sum())
    cells = q.rows_used * len(q.missing)
    by_reason = q.missing_by_reason.sum()
    console.print(f"  missing  {total_missing} of {cells} item responses ({total_missing / cells:.1%})"
                  + ("" if not total_missing else ": " + ", ".join(f"{k} {int(v)}" for k, v in by_reason.items() if v)))
    worst = q.missing[q.missing > 0].sort_values(ascending=False).head(5)
    if len(worst):
        console.print("  most missing  " + ", ".join(f"{k} {int(v)} ({q.missing_share[k]:.1%})" for k, v in worst.items()))
    if q.group_sizes is not None:
        console.print("  groups   " + ", ".join(f"{k}: {int(v)}" for k, v in q.group_sizes.items()))
    flags = q.careless_flags
    console.print("  careless-responding flags (not removed): "
                  + ", ".join(f"{k} {int(v)}" for k, v in flags.items()))
    companions = [r for r in extra if not isinstance(r, str)]
    if companions:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("companion measure", "items", "rows", "missing", "set missing"):
            table.add_column(col, justify="left" if col == "companion measure" else "right")
        for r in companions:
            table.add_row(r.scale.id, str(r.items.shape[1]), str(r.n), str(int(r.quality.missing.sum())),
                          str(r.quality.values_set_missing))
        console.print(table)
    for cid in (r for r in extra if isinstance(r, str)):
        console.print(f"  [yellow]note[/]: the data have no items of companion measure {cid}")
    diagnostics = list(responses.diagnostics) + [d for r in companions for d in r.diagnostics]
    for d in diagnostics:
        console.print("  [yellow]warning[/]: " + _escape(d.message))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# ================================================================== validate
#: --treat-as on the command line → the ``ordinal`` option of the pipeline
_TREAT_AS = {"auto": "auto", "ordinal": "yes", "continuous": "no"}

def _command_line() -> str:
    import shlex

    return "psychometrics " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@cli.command()
@click.argument("scale", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", metavar="COL", default=None, help="Column with group labels (measurement invariance).")
@click.option("--measures", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
              help="Companion measure spec (YAML; repeat for several). By default, "
                   "specs beside SCALE whose id a validity hypothesis names.")
@click.option("--split", type=float, default=None, help="Share of rows in the calibration (EFA) sample  [default: 0.5]")
@click.option("--seed", type=int, default=None, help="Seed of the split, bootstrap and parallel analysis  [default: 0]")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="YAML file with any of the options (flags given here override it).")
@click.option("--id-column", metavar="COL", default=None, help="Column with respondent ids (must be unique).")
@click.option("--treat-as", "treat_as", type=click.Choice(["auto", "ordinal", "continuous"]), default=None,
              help="Items as ordinal (polychoric EFA, ordinal α/categorical ω, WLSMV CFA and invariance) or "
                   "continuous (Pearson, ML). auto: ordinal when every item has ≤ 7 response categories  "
                   "[default: auto]")
@click.option("--missing", "missing", type=click.Choice(["auto", "listwise", "fiml", "pairwise"]), default=None,
              help="Missing responses: FIML (continuous) / pairwise (ordinal) by default; listwise keeps complete "
                   "cases only  [default: auto]")
@click.option("--estimator", "estimator", type=click.Choice(["auto", "ML", "MLR", "WLSMV"]), default=None,
              help="CFA/invariance estimator: MLR for continuous, WLSMV for ordinal items by default  [default: auto]")
@click.option("--exclude-careless", is_flag=True, default=None,
              help="Exclude rows flagged by a careless-responding screen (default: flag only; listed either way).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for report.html, results.json and scoring_key.json.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (for scripts).")
def validate(scale: Path, data: Path, group: str | None, measures: tuple[Path, ...], split: float | None,
             seed: int | None, config: Path | None, id_column: str | None, treat_as: str | None,
             missing: str | None, estimator: str | None, exclude_careless: bool | None, out: Path,
             quiet: bool) -> None:
    """Validate scale SCALE (YAML spec) on response DATA and write a report to --out DIR.

    Steps: data quality, item analysis, reliability, EFA on a random calibration
    sample (parallel analysis, MAP), CFA of the declared structure and its
    alternatives on the validation sample, measurement invariance across --group,
    validity (CR, AVE, Fornell–Larcker, HTMT, hypotheses), scoring key. Every
    option can also be set in a YAML --config file.
    """
    from psychometrics.pipeline import load_config, validate as run_validate

    options = load_config(config) if config is not None else {}
    # command-line flags override the config file
    for key, value in (("group", group), ("split", split), ("seed", seed), ("id_column", id_column),
                       ("exclude_careless", exclude_careless), ("missing", missing), ("estimator", estimator)):
        if value is not None:
            options[key] = value
    if treat_as is not None:
        options["ordinal"] = _TREAT_AS[treat_as]
    if measures:
        options["measures"] = [str(m) for m in measures]
    run_validate(scale, data, out=out, quiet=quiet, options=options, command=_command_line())


@cli.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for responses.csv, report.html, results.json and scoring_key.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulation and the analyses.")
@click.option("--n", "n", type=click.IntRange(min=50), default=None, help="Respondents (default: the study's n, 1200).")
@click.option("--treat-as", "treat_as", type=click.Choice(["auto", "ordinal", "continuous"]), default="auto",
              show_default=True, help="Items as ordinal or continuous (see validate --help).")
@click.option("--missing", "missing", type=click.Choice(["auto", "listwise", "fiml", "pairwise"]), default="auto",
              show_default=True, help="Missing responses (see validate --help).")
@click.option("--estimator", "estimator", type=click.Choice(["auto", "ML", "MLR", "WLSMV"]), default="auto",
              show_default=True, help="CFA/invariance estimator (see validate --help).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (for scripts).")
def demo(out: Path, seed: int, n: int | None, treat_as: str, missing: str, estimator: str, quiet: bool) -> None:
    """Simulate the embedded mentorship study and validate it (writes DIR/responses.csv too).

    The simulated data carry planted problems (a weak item, a cross-loading item,
    an item with differential functioning across career stages, careless
    responders); docs/mentorship-scale.md lists them and what the report shows.
    """
    from psychometrics.pipeline import demo as run_demo

    if seed < 0:
        raise click.BadParameter("must be a non-negative integer", param_hint="--seed")
    options = {"ordinal": _TREAT_AS[treat_as]} if treat_as != "auto" else {}
    if missing != "auto":
        options["missing"] = missing
    if estimator != "auto":
        options["estimator"] = estimator
    run_demo(out, seed=seed, n=n, quiet=quiet, command=_command_line(), options=options or None)
# ===================================================================== score
@cli.command("score")
@click.argument("key_or_scale", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Scores file: .csv, .parquet or .sav (SPSS, with variable labels).")
@click.option("--id-column", metavar="COL", default=None, help="Column passed through as respondent id.")
@click.option("--group", metavar="COL", default=None,
              help="Grouping column: group norms, and a warning for groups the key's "
                   "invariance testing did not cover.")
@click.option("--min-answered", type=float, default=None, metavar="SHARE",
              help="Minimum share (0-1) of a score's items answered; default: the spec's/key's.")
@click.option("--method", type=click.Choice(["mean", "sum"]), default=None,
              help="Mean or prorated sum; default: the spec's/key's.")
@click.option("--map", "mapping", multiple=True, metavar="COL=ITEM",
              help="Map a data column to an item id (repeatable), e.g. --map q3=MSS03.")
@click.option("--no-norms", is_flag=True, help="Do not add the key's normed scores.")
@click.option("--stanine-from", type=click.Choice(["percentile", "z"]), default="percentile",
              show_default=True, help="How stanines are derived from the norms.")
@click.option("--dictionary", type=click.Path(dir_okay=False), default=None,
              help="Data dictionary of the score columns (.csv or .md); "
                   "default: <output>_dictionary.csv.")
def score_command(key_or_scale, data, output, id_column, group, min_answered, method, mapping,
                  no_norms, stanine_from, dictionary) -> None:
    """Score DATA with a scoring key (scoring_key*.json/.yaml) or a scale spec (.yaml).

    Writes one row per input row (same order) with the subscale and total scores
    and, with a key, z, T, percentile rank and stanine; plus a data dictionary.
    """
    out = Path(output)
    if out.suffix.lower() not in (".csv", ".parquet", ".sav"):
        raise click.BadParameter(f"{out.name!r}: use .csv, .parquet or .sav", param_hint="-o/--output")
    dic = Path(dictionary) if dictionary else out.with_name(out.stem + "_dictionary.csv")
    if dic.suffix.lower() not in (".csv", ".md"):
        raise click.BadParameter(f"{dic.name!r}: use .csv or .md", param_hint="--dictionary")

    import warnings

    from psychometrics.scoring import score, write_data_dictionary, write_scores

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score(key_or_scale, data, min_answered=min_answered, method=method,
                       id_column=id_column, group=group, norms=False if no_norms else None,
                       stanine_from=stanine_from, columns=_parse_map(mapping))
    write_scores(result, out)
    write_data_dictionary(result, dic)
    for w in caught:
        click.echo(f"Warning ({w.category.__name__}): {w.message}", err=True)
    click.echo(f"Scored {result.n_rows} rows ({result.method}, min_answered "
               f"{result.min_answered:g}) -> {out}")
    for name, row in result.descriptives.iterrows():
        ns = result.not_scored.loc[name]
        missing = int(ns.sum())
        why = ", ".join(f"{int(v)} {k.replace('_', ' ')}" for k, v in ns.items() if v)
        click.echo(f"  {name}: {int(row['n'])} scored" + (f", {missing} not scored ({why})"
                                                          if missing else ""))
    click.echo(f"Data dictionary -> {dic}")


# ================================================================== simulate
@cli.command()
@click.argument("study", required=False, default="default")
@click.option(
    "-n", "n", type=click.IntRange(min=1), default=None,
    help="Number of respondents (default: the study's n).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True,
    help="Random seed; the same seed gives identical data.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Output file: .csv, .tsv, .xlsx or .parquet (by extension). Default: CSV on stdout.",
)
def simulate(study: str, n: int | None, seed: int, output: Path | None) -> None:
    """Simulate response data from a study's population model.

    STUDY is a study YAML file (see docs/mentorship-scale.md); omit it or say 'default'
    for the embedded Mentorship Supportiveness demo study. Writes one row per respondent: id, the group column and every item of the scale and
    its companion measures in raw coding (reverse-keyed items as answered), with the
    missing values and careless responders the study plants.
    """
    from psychometrics.simulate import (
        OUTPUT_FORMATS, default_study_path, load_study, simulate_study, write_table,
    )

    if output is not None and output.suffix.lower() not in OUTPUT_FORMATS:
        raise click.BadParameter(
            f"unknown format {output.suffix or '(no extension)'!r}; use one of "
            f"{', '.join(OUTPUT_FORMATS)}", param_hint="'-o' / '--output'",
        )
    loaded = load_study(default_study_path() if study == "default" else Path(study))
    df = simulate_study(loaded, n=n, seed=seed)
    if output is None:
        click.echo(df.to_csv(index=False, float_format="%.10g"), nl=False)
        return
    write_table(df, output)
    click.echo(
        f"Wrote {len(df)} respondents x {len(loaded.item_ids)} items of study "
        f"{loaded.id!r} (seed {seed}) to {output}",
        err=True,
    )


# ====================================================================== main
def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: clear messages instead of tracebacks."""
    from psychometrics.exceptions import PsychometricsError

    try:
        rv = cli.main(args=argv, prog_name="psychometrics", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PsychometricsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug of ours: say so, without a traceback unless asked
        if os.environ.get("PSYCHOMETRICS_DEBUG"):
            raise
        click.echo(
            f"Error: internal error ({type(exc).__name__}: {exc}). This is a bug in psychometrics; please report "
            "it. Set PSYCHOMETRICS_DEBUG=1 to see the traceback.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    if isinstance(rv, int) and rv:
        sys.exit(rv)
