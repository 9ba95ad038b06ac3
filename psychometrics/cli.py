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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from psychometrics import __version__
from psychometrics._text import console_safe as _s
from psychometrics._text import plain_safe, quote

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
            raise click.BadParameter(f"{quote(value)} is not DATA_COLUMN=ITEM_ID", param_hint="--map")
        col, item = (part.strip() for part in value.split("=", 1))
        out[col] = item
    return out or None


#: The data-reading options: every command that reads response data (check, validate, score)
#: takes them through :func:`data_options`, with the same names, values and meaning, so an error's
#: hint ("on the command line --missing-group exclude") works with whichever command printed it.
DATA_OPTIONS = ("group", "id_column", "mapping", "out_of_range", "missing_group", "sheet", "sep")


def data_options(group_help: str = "Column with group labels.") -> Callable[[Callable], Callable]:
    """Decorator adding the shared data-reading options (:data:`DATA_OPTIONS`) to a command.

    Their defaults are None (the command's own default applies: ``error`` for
    ``--out-of-range`` and ``--missing-group``; ``validate`` lets ``--config`` set them).
    """
    opts = [
        click.option("--group", "group", metavar="COL", default=None, help=group_help),
        click.option("--id-column", metavar="COL", default=None, help="Column with respondent ids (must be unique)."),
        click.option("--map", "mapping", multiple=True, metavar="COL=ITEM",
                     help="Map a data column to an item id (repeatable), e.g. --map q3=MSS03."),
        click.option("--out-of-range", type=click.Choice(["error", "missing"]), default=None,
                     help="Values outside the response range: fail, or set them missing (counted)  "
                          "[default: error]"),
        click.option("--missing-group", type=click.Choice(["error", "exclude"]), default=None,
                     help="Rows without a label in the --group column: fail, or exclude them (listed)  "
                          "[default: error]"),
        click.option("--sheet", metavar="NAME", default=None, help="Excel sheet: name or 0-based position "
                                                                    "(default: the first)."),
        click.option("--sep", metavar="CHAR", default=None, help="Delimiter of a text file (default: by extension)."),
    ]

    def decorate(f: Callable) -> Callable:
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def report_options(f: Callable) -> Callable:
    """Decorator adding the report options shared by ``validate`` and ``demo`` (template, Word tables, cross-check)."""
    opts = [
        click.option("--template", "template", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     default=None, help="Folder of report templates overriding the package's blocks (docs/report.md)."),
        click.option("--tables", type=click.Choice(["docx"]), default=None,
                     help='Also write every report table as an APA 7 table to DIR/tables.docx (needs: pip install '
                          '"scalevalid[docx]").'),
        click.option("--crosscheck", is_flag=True, default=None,
                     help="Re-fit the declared CFA with semopy and the EFA with factor_analyzer and report the "
                          'agreement (needs: pip install "scalevalid[crosscheck]").'),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _read_options(out_of_range: str | None, missing_group: str | None, sheet: str | None,
                  sep: str | None) -> dict[str, Any]:
    """The data-reading options given on the command line, as ``load_responses`` arguments."""
    out: dict[str, Any] = {"out_of_range": out_of_range, "missing_group": missing_group,
                           "sheet": int(sheet) if sheet and sheet.isdigit() else sheet, "sep": sep}
    return {k: v for k, v in out.items() if v is not None}


_COMPANION_HELP = ("Companion measure spec (YAML; repeatable). By default, specs beside SCALE whose id a "
                   "validity hypothesis names are used.")


@cli.command()
@click.argument("scale", type=click.Path(dir_okay=True, path_type=Path))
@click.argument("data", required=False, type=click.Path(dir_okay=True, path_type=Path))
@data_options(group_help="Column with group labels (e.g. career stage).")
@click.option("--companion", "--measures", "companions", multiple=True, type=click.Path(path_type=Path),
              metavar="YAML", help=_COMPANION_HELP)
def check(scale: Path, data: Path | None, group: str | None, id_column: str | None, mapping: tuple[str, ...],
          out_of_range: str | None, missing_group: str | None, sheet: str | None, sep: str | None,
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
    notes: list[str] = []
    found, missing = find_companions(spec, companions, notes)
    if not missing:
        spec.check_companions(found)
    _print_scale(console, spec, found, missing)
    for note in notes:
        console.print(f"  [yellow]note[/]: {_s(note)}")

    if data is not None:
        from psychometrics.data import load_responses

        with warnings.catch_warnings():
            # Diagnostics are printed below from the result; no raw Python warnings.
            warnings.simplefilter("ignore", PsychometricsWarning)
            responses = load_responses(data, spec, group=group, id_column=id_column, columns=columns,
                                       **_read_options(out_of_range, missing_group, sheet, sep))
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
    # every user-supplied text goes through _s: Rich markup escaped, control characters visible
    console.print(f"[bold]{_s(spec.name)}[/] ({_s(spec.id)}) v{_s(spec.version)}")
    console.print(f"  spec     {_s(spec.source)}")
    console.print(f"  sha256   {spec.content_hash}")
    fmt = f"{rf.type} {rf.min}–{rf.max}"
    if rf.labels:
        fmt += f", {len(rf.labels)} labels"
    if rf.missing_codes:
        fmt += f", missing codes {', '.join(map(str, rf.missing_codes))}"
    console.print(f"  format   {_s(fmt)}")
    sc = spec.scoring
    console.print(f"  scoring  {sc.method}, min share answered {sc.min_answered:g}" + (", total score" if spec.has_total else ""))
    table = Table(title=None, box=None, pad_edge=False, header_style="bold")
    table.add_column("subscale")
    table.add_column("name")
    table.add_column("items", justify="right")
    table.add_column("reversed", justify="right")
    for s in spec.subscales:
        ids = spec.items_of(s.id)
        table.add_row(_s(s.id), _s(s.name), str(len(ids)), str(sum(spec.item(i).reverse for i in ids)))
    table.add_row("[bold]total[/]" if spec.has_total else "[bold]all items[/] (no total score)", "",
                  str(len(spec.items)), str(len(spec.reverse_items)))
    console.print(table)
    if spec.hierarchy is not None:
        console.print(f"  hierarchy  {_s(spec.hierarchy.id)} over {_s(', '.join(spec.hierarchy.subscales))}")
    if spec.validity:
        console.print(f"  validity   {len(spec.validity)} hypotheses; companion measures: "
                      + ", ".join([f"{_s(k)} ✓" for k in found] + [f"{_s(m)} (not found)" for m in missing]))
        if missing:
            console.print(f"  [yellow]note[/]: no spec found for {_s(', '.join(missing))} beside {_s(spec.source)}; "
                          "pass --companion FILE to check those hypotheses' measure scores.")


def _label(value) -> str:
    """A label as printed: itself if short and without surrounding blanks, else bounded and quoted."""
    text = str(value)
    return text if len(text) <= 60 and text == text.strip() else quote(value, 60)


def _print_data(console, responses, extra) -> None:
    from rich.table import Table

    q = responses.quality
    console.print()
    console.print(f"[bold]Data[/] {_s(responses.source)}")
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
        console.print("  most missing  " + ", ".join(f"{_s(k)} {int(v)} ({q.missing_share[k]:.1%})"
                                                     for k, v in worst.items()))
    if q.group_sizes is not None:
        console.print("  groups   " + ", ".join(f"{_s(_label(k))}: {int(v)}" for k, v in q.group_sizes.items()))
    flags = q.careless_flags
    console.print("  careless-responding flags (not removed): "
                  + ", ".join(f"{k} {int(v)}" for k, v in flags.items()))
    companions = [r for r in extra if not isinstance(r, str)]
    if companions:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("companion measure", "items", "rows", "missing", "set missing"):
            table.add_column(col, justify="left" if col == "companion measure" else "right")
        for r in companions:
            table.add_row(_s(r.scale.id), str(r.items.shape[1]), str(r.n), str(int(r.quality.missing.sum())),
                          str(r.quality.values_set_missing))
        console.print(table)
    for cid in (r for r in extra if isinstance(r, str)):
        console.print(f"  [yellow]note[/]: the data have no items of companion measure {_s(cid)}")
    diagnostics = list(responses.diagnostics) + [d for r in companions for d in r.diagnostics]
    for d in diagnostics:
        console.print("  [yellow]warning[/]: " + _s(d.message))


# ================================================================== validate
#: --treat-as on the command line → the ``ordinal`` option of the pipeline
_TREAT_AS = {"auto": "auto", "ordinal": "yes", "continuous": "no"}

def _command_line() -> str:
    import shlex

    return "psychometrics " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@cli.command()
@click.argument("scale", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@data_options(group_help="Column with group labels (measurement invariance).")
@click.option("--measures", "--companion", "measures", multiple=True, metavar="YAML", type=click.Path(path_type=Path),
              help=_COMPANION_HELP)
@click.option("--split", type=float, default=None, help="Share of rows in the calibration (EFA) sample  [default: 0.5]")
@click.option("--seed", type=int, default=None, help="Seed of the split, bootstrap and parallel analysis  [default: 0]")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="YAML file with any of the options (flags given here override it).")
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
@click.option("--short-form", "short_form", type=click.IntRange(min=1), default=None, metavar="N",
              help="Also choose a short form with N items per subscale (calibration sample) and re-validate it on "
                   "the validation sample: α/ω, CFA, invariance across --group, short–full correlation.")
@click.option("--irt-bifactor", "irt_bifactor", is_flag=True, default=None,
              help="Also calibrate a bifactor graded response model of the whole scale (when the spec declares a "
                   "total score; several seconds more).")
@report_options
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for report.html, results.json and scoring_key.json.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Dask scheduler (e.g. tcp://host:8786; default $DASK_SCHEDULER_ADDRESS, else local) for the "
                   "one-pass statistics when DATA is a folder or glob of Parquet files.")
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (they are listed). "
              "An input file is never overwritten.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (for scripts).")
def validate(scale: Path, data: Path, group: str | None, id_column: str | None, mapping: tuple[str, ...],
             out_of_range: str | None, missing_group: str | None, sheet: str | None, sep: str | None,
             measures: tuple[Path, ...], split: float | None, seed: int | None, config: Path | None,
             treat_as: str | None, exclude_careless: bool | None, template: Path | None, tables: str | None,
             crosscheck: bool | None, missing: str | None, estimator: str | None, out: Path, overwrite: bool, scheduler: str | None,
             quiet: bool, short_form: int | None = None, irt_bifactor: bool | None = None) -> None:
    """Validate scale SCALE (YAML spec) on response DATA and write a report to --out DIR.

    DATA is a file, or a folder or glob of Parquet files (a partitioned dataset).

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
                       ("exclude_careless", exclude_careless), ("crosscheck", crosscheck), ("missing", missing),
                       ("estimator", estimator), ("scheduler", scheduler), ("short_form", short_form),
                       ("irt_bifactor", irt_bifactor)):
        if value is not None:
            options[key] = value
    options.update(_read_options(out_of_range, missing_group, sheet, sep))
    columns = _parse_map(mapping)
    if columns:
        options["columns"] = columns
    if treat_as is not None:
        options["ordinal"] = _TREAT_AS[treat_as]
    if measures:
        options["measures"] = [str(m) for m in measures]
    run_validate(scale, data, out=out, quiet=quiet, options=options, command=_command_line(), config=config,
                 overwrite=overwrite, tables=tables, template=template)


@cli.command()
@click.argument("scale", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--per-subscale", type=click.IntRange(min=1), default=3, show_default=True,
              help="Items to keep per subscale.")
@click.option("--min-reliability", type=click.FloatRange(0, 1), default=None,
              help="Keep adding items until the IRT marginal reliability of each subscale reaches this.")
@click.option("--group", metavar="COL", default=None, help="Column with group labels (items with DIF are excluded).")
@click.option("--split", type=float, default=0.5, show_default=True, help="Share of rows in the calibration sample.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the calibration/validation split.")
@click.option("--id-column", metavar="COL", default=None, help="Column with respondent ids (must be unique).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for the short form's scale YAML, shortform.json and report.html.")
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (they are listed). "
              "An input file is never overwritten.")
def shorten(scale: Path, data: Path, per_subscale: int, min_reliability: float | None, group: str | None,
            split: float, seed: int, id_column: str | None, out: Path, overwrite: bool) -> None:
    """Choose a short form of SCALE on DATA and re-validate it; write its spec and a report to --out DIR.

    Items are chosen per subscale on the calibration sample by greedy IRT information (GRM),
    excluding misfitting (S-X²) and DIF items, and re-validated on the validation sample
    (α, ω, CFA, invariance across --group, short–full correlation corrected for overlap).
    """
    from psychometrics.pipeline.shorten import shorten as run_shorten

    sf = run_shorten(scale, data, out, per_subscale=per_subscale, min_reliability=min_reliability, group=group,
                     split=split, seed=seed, id_column=id_column, command=_command_line(), overwrite=overwrite)
    n = sum(len(v) for v in sf.items.values())
    click.echo(plain_safe(f"Wrote {out}: short form with {n} items "
                          f"({', '.join(f'{k}: {len(v)}' for k, v in sf.items.items())})"))


@cli.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for responses.csv, report.html, results.json and scoring_key.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulation and the analyses.")
@click.option("--n", "n", type=click.IntRange(min=50), default=None, help="Respondents (default: the study's n, 1200).")
@click.option("--treat-as", "treat_as", type=click.Choice(["auto", "ordinal", "continuous"]), default="auto",
              show_default=True, help="Items as ordinal or continuous (see validate --help).")
@report_options
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (they are listed). "
              "An input file is never overwritten.")
@click.option("--missing", "missing", type=click.Choice(["auto", "listwise", "fiml", "pairwise"]), default="auto",
              show_default=True, help="Missing responses (see validate --help).")
@click.option("--estimator", "estimator", type=click.Choice(["auto", "ML", "MLR", "WLSMV"]), default="auto",
              show_default=True, help="CFA/invariance estimator (see validate --help).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (for scripts).")
def demo(out: Path, seed: int, n: int | None, treat_as: str, template: Path | None, tables: str | None,
         crosscheck: bool | None, missing: str, estimator: str, quiet: bool, overwrite: bool) -> None:
    """Simulate the embedded mentorship study and validate it (writes DIR/responses.csv too).

    The simulated data carry planted problems (a weak item, a cross-loading item,
    an item with differential functioning across career stages, careless
    responders); docs/mentorship-scale.md lists them and what the report shows.
    """
    from psychometrics.pipeline import demo as run_demo

    if seed < 0:
        raise click.BadParameter("must be a non-negative integer", param_hint="--seed")
    options = {"ordinal": _TREAT_AS[treat_as]} if treat_as != "auto" else {}
    if crosscheck:
        options["crosscheck"] = True
    if missing != "auto":
        options["missing"] = missing
    if estimator != "auto":
        options["estimator"] = estimator
    run_demo(out, seed=seed, n=n, quiet=quiet, command=_command_line(), overwrite=overwrite,
             options=options or None, tables=tables, template=template)


# ===================================================================== report
@cli.command("report")
@click.argument("results", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The report to write (HTML).")
@click.option("--template", "template", type=click.Path(file_okay=False, path_type=Path), metavar="DIR", default=None,
              help="Folder of report templates overriding the package's blocks (docs/report.md).")
@click.option("--tables", type=click.Choice(["docx"]), default=None,
              help="Also write tables.docx (APA tables) next to --out.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def report_command(results: Path, out: Path, template: Path | None, tables: str | None, overwrite: bool) -> None:
    """Re-render a report from RESULTS (a results.json of validate) without recomputing anything."""
    from psychometrics.report.serialize import rerender

    written = rerender(results, out, template_dir=template, tables=tables, overwrite=overwrite)
    click.echo(plain_safe(f"Wrote {written}" + (f" and {written.parent / 'tables.docx'}" if tables else "")))


# ===================================================================== plan
@cli.command("plan")
@click.argument("study", metavar="STUDY")
@click.option("--n", "n", default="200,400,800,1600", show_default=True, metavar="N1,N2,...",
              help="Total sample sizes (split over the groups by the study's proportions).")
@click.option("--reps", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Replications per condition.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for plan.html, plan.json and replications/ (the replications of an interrupted run "
              "are resumed; a finished plan is replaced only with --overwrite).")
@click.option("--analysis", "analysis", default="cfa,invariance,reliability,irt", show_default=True,
              metavar="A1,A2", help="Analyses per replication: cfa, invariance, reliability, irt.")
@click.option("--effects", default="1", show_default=True, metavar="E1,E2",
              help="Multipliers of the planted DIF shifts (0 = no DIF: Type I error of the invariance rule).")
@click.option("--groups", "allocations", multiple=True, metavar="P1:P2:...",
              help="Group shares to compare, e.g. --groups 50:50 --groups 80:20 (default: the study's proportions).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler (tcp://host:port; default DASK_SCHEDULER_ADDRESS or a local cluster).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Workers of the local cluster [default: cores].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Replications per Dask task [default: about 1 s of work per task, measured at warm-up, at "
              "least 10 batches per condition; a resumed run keeps its batches].")
@click.option("--target", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.80,
              show_default=True, help="Power the recommended n must reach.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the replications.")
@click.option("--overwrite", is_flag=True, help="Replace the output files of a finished plan (they are listed). "
              "An input file is never overwritten.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (for scripts).")
def plan(study: str, n: str, reps: int, out: Path, analysis: str, effects: str, allocations: tuple[str, ...],
         scheduler: str | None,
         workers: int | None, batch_size: int | None, target: float, seed: int, overwrite: bool, quiet: bool) -> None:
    """Monte Carlo power and sample size for a validation study, run on Dask.

    STUDY is a study file (as for `simulate`; `default` for the demo study), a file with
    lavaan syntax with population values, or that syntax itself ("f =~ 0.7*x1 + ...").
    """
    from psychometrics._io import announce_replaced, check_outputs
    from psychometrics.exceptions import SpecError
    from psychometrics.plan import monte_carlo
    from psychometrics.report.plan import write_plan_report

    study_file = Path(study) if study != "default" and "=~" not in study and Path(study).is_file() else None
    replaced = check_outputs([Path(out) / name for name in ("plan.html", "plan.json", "run.json",
                                                            "replications.parquet")],
                             [study_file], overwrite)

    try:
        eff = [float(e) for e in effects.split(",") if e.strip()]
    except ValueError:
        raise SpecError(f"--effects {quote(effects)}: give numbers separated by commas, e.g. 0,1") from None
    try:
        shares = [[float(v) for v in a.split(":")] for a in allocations]
    except ValueError:
        raise SpecError("--groups: give shares separated by colons, e.g. 50:50 or 80:20") from None
    shares = [[v / sum(a) for v in a] if sum(a) > 0 else a for a in shares]
    res = monte_carlo(study, n, reps, out, analyses=analysis, effects=eff, allocations=shares or None, seed=seed,
                      scheduler=scheduler,
                      workers=workers, batch_size=batch_size, target=target, show_progress=False if quiet else None)
    path = write_plan_report(res, out)
    announce_replaced(replaced)
    if not quiet:
        for name, why in res.skipped.items():
            click.echo(plain_safe(f"{name}: {why}"))
        for r in res.recommendations.to_dict(orient="records"):
            got = "not reached in the grid" if r["n"] is None else f"n = {r['n']}"
            alloc = f", groups {r['allocation']}" if r["allocation"] else ""
            click.echo(plain_safe(f"{r['criterion']} (effect x {r['effect']:g}{alloc}): {got}"))
        click.echo(plain_safe(f"Wrote {path}, {Path(out) / 'plan.json'} and {Path(out) / 'replications'}"))


# ===================================================================== score
@cli.command("score")
@click.argument("key_or_scale", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Scores file: .csv, .parquet or .sav (SPSS, with variable labels).")
@data_options(group_help="Grouping column: group norms, and a warning for groups the key's invariance testing "
                         "did not cover.")
@click.option("--min-answered", type=float, default=None, metavar="SHARE",
              help="Minimum share (0-1) of a score's items answered; default: the spec's/key's.")
@click.option("--method", type=click.Choice(["mean", "sum"]), default=None,
              help="Mean or prorated sum; default: the spec's/key's.")
@click.option("--no-norms", is_flag=True, help="Do not add the key's normed scores.")
@click.option("--stanine-from", type=click.Choice(["percentile", "z"]), default="percentile",
              show_default=True, help="How stanines are derived from the norms.")
@click.option("--dictionary", type=click.Path(dir_okay=False), default=None,
              help="Data dictionary of the score columns (.csv or .md); "
                   "default: <output>_dictionary.csv.")
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (they are listed). "
              "An input file is never overwritten.")
def score_command(key_or_scale, data, output, group, id_column, mapping, out_of_range, missing_group, sheet, sep,
                  min_answered, method, no_norms, stanine_from, dictionary, overwrite) -> None:
    """Score DATA with a scoring key (scoring_key*.json/.yaml) or a scale spec (.yaml).

    Writes one row per input row (same order) with the subscale and total scores
    and, with a key, z, T, percentile rank and stanine; plus a data dictionary.
    """
    out = Path(output)
    if out.suffix.lower() not in (".csv", ".parquet", ".sav"):
        raise click.BadParameter(f"{quote(out.name)}: use .csv, .parquet or .sav", param_hint="-o/--output")
    dic = Path(dictionary) if dictionary else out.with_name(out.stem + "_dictionary.csv")
    if dic.suffix.lower() not in (".csv", ".md"):
        raise click.BadParameter(f"{quote(dic.name)}: use .csv or .md", param_hint="--dictionary")

    import warnings

    from psychometrics._io import announce_replaced, check_outputs
    from psychometrics.scoring import score, write_data_dictionary, write_scores

    # before any work: never onto the key, spec or data; existing outputs only with --overwrite
    replaced = check_outputs([out, dic], [key_or_scale, data], overwrite, option="-o/--output")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score(key_or_scale, data, min_answered=min_answered, method=method,
                       id_column=id_column, group=group, norms=False if no_norms else None,
                       stanine_from=stanine_from, columns=_parse_map(mapping),
                       read_options=_read_options(out_of_range, missing_group or ("error" if group else None),
                                                  sheet, sep))
    write_scores(result, out)
    write_data_dictionary(result, dic)
    announce_replaced(replaced)
    for w in caught:
        click.echo(plain_safe(f"Warning ({w.category.__name__}): {w.message}"), err=True)
    click.echo(plain_safe(f"Scored {result.n_rows} rows ({result.method}, min_answered "
                          f"{result.min_answered:g}) -> {out}"))
    for name, row in result.descriptives.iterrows():
        ns = result.not_scored.loc[name]
        missing = int(ns.sum())
        why = ", ".join(f"{int(v)} {k.replace('_', ' ')}" for k, v in ns.items() if v)
        click.echo(plain_safe(f"  {name}: {int(row['n'])} scored" + (f", {missing} not scored ({why})"
                                                                     if missing else "")))
    click.echo(plain_safe(f"Data dictionary -> {dic}"))


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
@click.option("--overwrite", is_flag=True, help="Replace output files that already exist (they are listed). "
              "An input file is never overwritten.")
def simulate(study: str, n: int | None, seed: int, output: Path | None, overwrite: bool) -> None:
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
            f"unknown format {quote(output.suffix or '(no extension)')}; use one of "
            f"{', '.join(OUTPUT_FORMATS)}", param_hint="'-o' / '--output'",
        )
    from psychometrics._io import announce_replaced, check_outputs

    study_path = default_study_path() if study == "default" else Path(study)
    replaced = [] if output is None else check_outputs([output], [study_path], overwrite, option="-o/--output")
    loaded = load_study(study_path)
    df = simulate_study(loaded, n=n, seed=seed)
    if output is None:
        click.echo(df.to_csv(index=False, float_format="%.10g"), nl=False)
        return
    write_table(df, output)
    announce_replaced(replaced)
    click.echo(plain_safe(f"Wrote {len(df)} respondents x {len(loaded.item_ids)} items of study "
                          f"{quote(loaded.id)} (seed {seed}) to {output}"), err=True)


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
        exc.message = plain_safe(exc.message)  # user values quoted in usage errors: no raw control characters
        exc.show()
        sys.exit(exc.exit_code)
    except PsychometricsError as exc:
        click.echo(plain_safe(f"Error: {exc}"), err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug of ours: say so, without a traceback unless asked
        if os.environ.get("PSYCHOMETRICS_DEBUG"):
            raise
        click.echo(plain_safe(
            f"Error: internal error ({type(exc).__name__}: {quote(str(exc), 300)}). This is a bug in psychometrics; "
            "please report it. Set PSYCHOMETRICS_DEBUG=1 to see the traceback."), err=True)
        sys.exit(EXIT_INTERNAL)
    if isinstance(rv, int) and rv:
        sys.exit(rv)
    if argv is None:  # the console script itself (not a caller's main([...]))
        _leave()


def _leave() -> None:
    """End the process at once after a successful command, without the interpreter's teardown.

    Tearing down a run's objects and modules takes ≈ 0.3 s after ``validate`` on 10⁵ rows, and every
    output is written and closed by then: the standard streams are flushed here, and the process ends
    with ``os._exit(0)``. Not while something may still need the teardown: a thread that is not a
    daemon, a multiprocessing child, or coverage measurement (its data are saved at exit).
    """
    import threading

    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        return
    if "coverage" in sys.modules or ("multiprocessing" in sys.modules
                                     and sys.modules["multiprocessing"].active_children()):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # (a closed pipe: nothing more can be said on it)
            pass
    os._exit(0)
