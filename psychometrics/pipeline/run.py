"""Running a validation: :func:`validate` (the steps in order, with progress on stderr),
:func:`demo` (the simulated study), and the progress runner."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from psychometrics._io import announce_replaced, atomic_write_text, check_outputs
from psychometrics._jsontext import dumps_indented
from psychometrics._results import to_jsonable
from psychometrics._text import console_safe, quote
from psychometrics.exceptions import Diagnostic, SpecError
from psychometrics.pipeline.options import (
    ValidationOptions,
    merge_options,
    ordinal_missing,
    resolve_estimation,
    resolve_ordinal,
)
from psychometrics.pipeline.provenance import provenance
from psychometrics.pipeline.result import ValidationResult
from psychometrics.pipeline.results_json import results_json
from psychometrics.pipeline.state import RunState
from psychometrics.pipeline.steps import (
    analyse_items,
    cfa_step,
    efa_step,
    invariance_step,
    finish_data,
    irt_step,
    load_scale_rows,
    reliability_step,
    scoring_step,
    validity_step,
)
from psychometrics.pipeline.verdicts import judge

if TYPE_CHECKING:
    import pandas as pd

    from psychometrics.report.context import Verdict
    from psychometrics.scale import Scale

__all__ = ["validate", "demo", "Runner"]

T = TypeVar("T")

#: the files ``validate(out=...)`` writes
OUTPUT_FILES = ("report.html", "results.json", "scoring_key.json")


class Runner:
    """Runs steps with timing on stderr (rich) and collects warnings as diagnostics.

    A :class:`~psychometrics.exceptions.PsychometricsWarning` is not collected: the result
    that issued it records it (``exceptions.record``). Any other warning (e.g. NumPy's) is
    kept once per message, prefixed with the step. A step started with :meth:`beside` runs
    on a second thread while :meth:`run` goes on with the next ones; :meth:`join` waits for
    it and records it (progress line, timing, warnings) — its diagnostics and timing in the
    place it was started at, so they do not depend on which step finished first.
    """

    def __init__(self, quiet: bool, total: int):
        self.quiet = quiet
        self.total = total
        self.k = 0
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._diagnostics: dict[str, list[Diagnostic]] = {}  # per step, in step order
        #: whether each step's freed memory goes back to the operating system when it ends (``validate`` sets it
        #: from the data's size: ``pipeline.steps.data.TRIM_STEPS_ROWS``)
        self.trim = False
        self.console = None
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """The collected warnings, step by step in the order the steps were started."""
        return [d for step in self._diagnostics.values() for d in step]

    def run(self, name: str, fn: Callable[..., T], *args: Any, rest_of: str | None = None, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` as step ``name``: progress line, timing and warnings collected.
        ``rest_of``: what the rest of step ``name`` (already run) does; its time and warnings are added
        to the step's."""
        if rest_of is None:
            self._reserve(name)
        self._begin(name, rest_of)
        try:
            out, dt, caught = self._execute(name, fn, *args, **kwargs)
        except BaseException:
            self._failed()
            raise
        self._end(name, dt, caught, rest_of=rest_of)
        return out

    def beside(self, name: str, fn: Callable[..., T], *args: Any, rest_of: str | None = None,
               **kwargs: Any) -> _Lane:
        """Start step ``name`` on a second thread (in a copy of this context, without progress bars:
        one live display at a time) and return at once; :meth:`join` it before using its result.
        ``rest_of``: as for :meth:`run`."""
        import contextvars
        import threading

        from psychometrics._progress import hide_progress

        if rest_of is None:
            self._reserve(name)
        lane = _Lane(name, rest_of)
        ctx = contextvars.copy_context()
        ctx.run(hide_progress)

        def work() -> None:
            try:
                lane.out = self._execute(name, fn, *args, **kwargs)
            except BaseException as exc:  # re-raised in the joining thread
                lane.error = exc

        lane.thread = threading.Thread(target=ctx.run, args=(work,), name=f"psychometrics: {name}", daemon=True)
        lane.thread.start()
        return lane

    def in_process(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> _Lane:
        """Start step ``name`` in a forked worker process (:mod:`~psychometrics.pipeline._fork`: a core of
        its own, not the interpreter's lock; call it while no other lane of this run is running) and return
        at once; :meth:`join` it before using its result. A step whose worker cannot be started, or ends
        without its result, runs again in this process when joined (the same numbers; the lost worker is
        recorded in the step's diagnostics)."""
        from psychometrics._progress import hide_progress
        from psychometrics.pipeline._fork import ForkedCall, sendable
        from psychometrics.pipeline._prewarm import wait

        self._reserve(name)
        lane = _Lane(name, None)
        lane.task = (fn, args, kwargs)
        wait()  # (no import under way on another thread when the process forks: its locks would stay taken)

        def work() -> tuple[Any, float, list]:
            hide_progress()
            out, dt, caught = self._execute(name, fn, *args, **kwargs)
            return out, dt, sendable(caught)

        try:
            lane.call = ForkedCall(work)
        except OSError as exc:  # no process to be had (limits): the step runs when joined
            lane.lost = f"no worker process could be started ({exc.strerror or exc}); the step ran in the main process"
        return lane

    def join(self, lane: _Lane) -> Any:
        """Wait for a step started with :meth:`beside`; its progress line, timing and warnings."""
        self._begin(lane.name, lane.rest_of)
        if lane.task is not None:
            self._collect(lane)
        else:
            lane.thread.join()
        if lane.error is not None:
            self._failed()
            raise lane.error
        out, dt, caught = lane.out
        self._end(lane.name, dt, caught, beside=True, rest_of=lane.rest_of)
        return out

    def _collect(self, lane: _Lane) -> None:
        """A worker process's result (or exception) into ``lane``; its step run here if the worker was lost."""
        from psychometrics.pipeline._fork import WorkerLost

        if lane.call is not None:
            try:
                lane.out = lane.call.result()
                return
            except WorkerLost as exc:
                lane.lost = f"{exc}; the step ran again in the main process"
            except BaseException as exc:  # the step's own exception, re-raised by join
                lane.error = exc
                return
        self._diagnostics[lane.name].append(Diagnostic("WorkerLost", f"{lane.name}: {lane.lost}"))
        fn, args, kwargs = lane.task
        try:
            lane.out = self._execute(lane.name, fn, *args, **kwargs)
        except BaseException as exc:
            lane.error = exc

    def abandon(self, lane: _Lane | None) -> None:
        """Stop waiting for a lane (another step failed): a thread is waited for (it restores nothing
        itself), a worker process is stopped."""
        if lane is None:
            return
        if lane.call is not None:
            lane.call.cancel()
        elif lane.thread is not None:
            lane.thread.join()

    def plan(self, names: Sequence[str]) -> None:
        """The steps' places in :attr:`timings` and :attr:`diagnostics`, in this order, whichever runs
        first (steps beside each other)."""
        for name in names:
            self._reserve(name)

    def _reserve(self, name: str) -> None:
        if name not in self._diagnostics:
            self.timings[name] = float("nan")
            self._diagnostics[name] = []

    def _execute(self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float, list]:
        """``fn(*args, **kwargs)``, its wall time and its recorded warnings (this thread's only)."""
        from psychometrics.exceptions import recorded_warnings

        t0 = time.perf_counter()
        with recorded_warnings() as caught:
            out = fn(*args, **kwargs)
        dt = time.perf_counter() - t0
        from psychometrics.data.readers import release_freed_memory

        if self.trim:  # a step's freed temporaries back to the OS (else +0.1 GB RSS per step at 10⁶)
            release_freed_memory()
        return out, dt, caught

    def _begin(self, name: str, rest_of: str | None = None) -> None:
        if rest_of is not None:
            if self.console is not None:
                self.console.print(f"      {name}: {rest_of} …", end="")
            return
        self.k += 1
        if self.console is not None:
            self.console.print(f"[dim][{self.k}/{self.total}][/] {name} …", end="")

    def _failed(self) -> None:
        if self.console is not None:
            self.console.print(" [red]failed[/]")

    def _end(self, name: str, dt: float, caught: list, beside: bool = False, rest_of: str | None = None) -> None:
        from psychometrics.exceptions import PsychometricsWarning

        self.timings[name] = dt if rest_of is None else self.timings[name] + dt
        kept = self._diagnostics[name]
        seen = {(d.category, d.message) for d in kept}
        for w in caught:
            if issubclass(w.category, PsychometricsWarning):
                continue  # recorded on the results as Diagnostic objects
            d = Diagnostic(w.category.__name__, f"{name}: {w.message}")
            if (d.category, d.message) not in seen:  # once per message
                seen.add((d.category, d.message))
                kept.append(d)
        if self.console is not None:
            note = " [dim](beside the other steps)[/]" if beside else ""
            self.console.print(f" [green]done[/] [dim]{dt:.2f} s[/]{note}")


class _Lane:
    """A step running on its own thread (:meth:`Runner.beside`) or in a worker process (:meth:`Runner.in_process`)."""

    def __init__(self, name: str, rest_of: str | None = None):
        self.name = name
        self.rest_of = rest_of
        self.thread: Any = None
        self.task: tuple | None = None  # (fn, args, kwargs) of a step in a worker process (Runner.in_process)
        self.call: Any = None  # its ForkedCall
        self.lost: str | None = None  # why its worker gave no result
        self.out: Any = None
        self.error: BaseException | None = None


def validate(
    scale: Scale | str | Path,
    data: str | Path | pd.DataFrame,
    group: str | None = None,
    measures: Sequence[str | Path] = (),
    split: float = 0.5,
    seed: int = 0,
    config: str | Path | Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    quiet: bool = False,
    *,
    id_column: str | None = None,
    options: Mapping[str, Any] | None = None,
    command: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    extra_provenance: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    tables: str | None = None,
    template: str | Path | None = None,
) -> ValidationResult:
    """Validate a scale on response data: the whole pipeline and its report.

    Parameters
    ----------
    scale : Scale or path
        The scale spec (YAML path or :class:`~psychometrics.scale.Scale`).
    data : path or DataFrame
        Responses (any format :func:`~psychometrics.data.load_responses` reads); companion
        measures' items are read from the same data.
    group : str, optional
        Grouping column for measurement invariance.
    measures : sequence of paths
        Companion measure specs; default: specs beside the scale named by its hypotheses.
    split : float
        Calibration share (EFA); the rest is the validation sample (CFA).
    seed : int
        Seed of everything random.
    config : path or mapping, optional
        Options from a YAML file (:func:`load_config`) or a mapping; explicit arguments
        that differ from their defaults, and ``options``, override it.
    out : path, optional
        Folder to write ``report.html``, ``results.json`` and ``scoring_key.json`` to.
    quiet : bool
        No progress on stderr.
    id_column : str, optional
    options : mapping, optional
        Further :class:`ValidationOptions` fields (e.g. ``{"n_boot": 0}``); they override
        the config.
    command, title, subtitle, extra_provenance
        Recorded in the report (the CLI passes the command line).
    overwrite : bool
        Replace ``report.html``, ``results.json`` and ``scoring_key.json`` if ``out``
        already holds them (the replaced files are listed on stderr). Without it such a
        folder is refused before anything runs. An output is never written onto an input.
    tables : {"docx"}, optional
        Also write every report table as an APA table to ``out/tables.docx`` (needs
        python-docx: ``pip install "scalevalid[docx]"``).
    template : path, optional
        A custom report template folder (``docs/report.md``); the report is rendered with it.

    Returns
    -------
    ValidationResult

    Raises
    ------
    SpecError, DataError
        Bad spec, config or data (from the loading step); later steps never raise for
        estimation problems — they are reported as diagnostics or *not assessed*.
    OutputError
        ``out`` holds outputs already (without ``overwrite``), or an output is an input.
    """
    from psychometrics.scale import Scale

    opts = merge_options(config, {"group": group, "measures": tuple(map(str, measures)), "split": split,
                                  "seed": seed, "id_column": id_column}, options)
    if not isinstance(scale, Scale):
        scale = Scale.from_yaml(scale)
    replaced: list[Path] = []
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise SpecError(f"--out {out}: exists and is not a folder; give a folder for the report files")
        inputs = [scale.source, data if not hasattr(data, "columns") else None,
                  config if isinstance(config, (str, Path)) else None, *opts.measures]
        outputs = [out / name for name in OUTPUT_FILES] + ([out / "tables.docx"] if tables == "docx" else [])
        replaced = check_outputs(outputs, inputs, overwrite)
    if tables not in (None, "docx"):
        raise SpecError(f"tables: must be 'docx' or none, got {quote(tables)}")
    if tables == "docx":
        from psychometrics.report.docx import _docx

        _docx()  # before any work: python-docx must be installed
    if opts.crosscheck:
        from psychometrics.pipeline.steps.crosscheck import require_engines

        require_engines()  # before any work: the optional engines must be installed
    template = template if template is not None else opts.template
    if template is not None:
        from psychometrics.report.render import environment

        environment(str(template))  # a bad folder stops here, before any work
    ordinal, ordinal_why = resolve_ordinal(scale, opts)
    from psychometrics.pipeline._prewarm import pays_to_prewarm, prewarm

    if pays_to_prewarm(data):
        prewarm(irt=bool(opts.irt))  # the later steps' imports on a thread while the data step reads (GIL-free parse)
    run = Runner(quiet, total=9 + bool(opts.irt) + bool(opts.crosscheck) + bool(opts.short_form))
    with _imports_frozen():
        state, early = _run_steps(run, scale, data, opts, ordinal, ordinal_why, command, extra_provenance)

    def assemble() -> tuple[list[Verdict], dict[str, Any], str, dict[str, Any]]:
        from psychometrics.report.build import normalise_report, render_normalised
        from psychometrics.report.serialize import normalised_to_json
        from psychometrics.report.validation import build_context

        verdicts = judge(state)
        results = results_json(state, verdicts, early[0] if early else None)
        normalised = normalise_report(build_context(state, verdicts, title=title, subtitle=subtitle,
                                                    early=early[1] if early else None))
        results["report"] = normalised_to_json(normalised)  # `psychometrics report` re-renders from it
        return verdicts, results, render_normalised(normalised, template), normalised

    with _imports_frozen():  # (again: now also the steps' results, alive through the report)
        verdicts, results, html, context = run.run("report", assemble)
    if out is not None:
        _write(out, html, results, state, run)
        announce_replaced(replaced)
        if tables == "docx":
            from psychometrics.report.docx import write_normalised_docx

            write_normalised_docx(context, out / "tables.docx")
    d, e, v = state.data, state.efa, state.validity
    return ValidationResult(
        scale=scale, responses=d.responses, companions=dict(d.companions), analysed=d.analysed,
        calibration=d.calibration, validation=d.validation, items=state.items, reliability=state.reliability.result,
        kmo=e.kmo, bartlett=e.bartlett, parallel=e.parallel, map=e.map, efa=e.efa, cfa=dict(state.cfa.fits),
        cfa_comparison=state.cfa.table, invariance=state.invariance.result, construct_validity=v.construct_validity,
        hypotheses=v.hypotheses, scores=v.scores, scoring_key=state.scoring_key, verdicts=tuple(verdicts),
        results=results, html=html, timings=dict(run.timings), out=out, diagnostics=tuple(run.diagnostics),
    )


@contextmanager
def _imports_frozen() -> Iterator[None]:
    """The objects alive when the steps start — modules, functions, classes: hundreds of thousands —
    out of the garbage collector's full passes while they run (``gc.freeze``; thawed after). Measured
    at 10⁵ rows: the main process spent 0.22 s in 409 collections, 3 of them full passes of 70–90 ms
    over those objects; frozen, 0.11–0.15 s (cyclic garbage among them waits for the thaw). The same
    around the report step (its JSON and HTML containers set off a full pass: 0.13 s at 10⁵ rows on a
    loaded machine). Left alone when the caller froze objects itself."""
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# With two or more cores the second part of the data step (companion measures, missing data) runs on a thread
# beside the model steps, and — below CONCURRENT_STEPS_MAX_ROWS — item analysis and the IRT step too (neither
# needs the model steps' results), with one BLAS thread per lane, at every n (from 10,000 rows until the tenth
# session: a small study's run is fixed cost — model fits, LR DIF, the bootstrap — which the lanes share
# between the cores as at large n; 400 rows of the demo study 6.9–7.1 → 3.8–4.5 s, 80 rows 14–17 → 8–10 s,
# docs/large-samples.md). The numbers are those of the steps one after the other, bit for bit
# (tests/test_pipeline_run.py::test_lanes_give_the_sequential_results).
#: below this many analysed rows the IRT step beside the model steps: the lanes' working memory adds up (at 10⁶ rows of the
#: demo study the run's peak would be 2.7 GB instead of 1.9 GB: the IRT step's +0.5–0.7 GB beside the
#: model steps' on the 1.1 GB the data step holds), see docs/large-samples.md
CONCURRENT_STEPS_MAX_ROWS = 500_000
#: where ``fork`` is available (Linux, :func:`~psychometrics.pipeline._fork.fork_available`) the IRT step and
#: the invariance step then run in worker processes instead (threads share the interpreter's lock: two
#: threads used ≈ 1.3 of the 2 cores; at 10⁵ rows of the demo study 7.2 s → docs/large-samples.md)
WORKER_PROCESSES = True


_REST_OF_DATA = "companion measures and missing data"


def _beside(opts: ValidationOptions, rows: int) -> tuple[bool, bool, bool]:
    """Whether the rest of the data step (with two or more cores, at any n), whether the IRT step (with item
    analysis; below :data:`CONCURRENT_STEPS_MAX_ROWS`) run beside the model steps, and whether the IRT and
    invariance steps do so in worker processes (:data:`WORKER_PROCESSES`)."""
    from psychometrics._linalg import usable_cores
    from psychometrics.pipeline._fork import fork_available

    rest = usable_cores() > 1
    irt = rest and bool(opts.irt) and rows < CONCURRENT_STEPS_MAX_ROWS
    return rest, irt, irt and WORKER_PROCESSES and fork_available()


def _tables_now(fits: Mapping[str, Any]) -> None:
    """The report's lazily computed tables of results already in, computed while the main thread waits for
    the worker processes: the CFA fits' modification indices (``CFAResult.modification_indices``, a cached
    property: ≈ 20 ms a fit at 10⁵ rows, otherwise in the serial report step). A fit that cannot give them
    is left to the report, which computes them again and records why."""
    for fit in fits.values():
        try:
            fit.modification_indices  # noqa: B018 - computed and cached on the result
        except Exception:  # noqa: BLE001, S112 - the report's own attempt reports the error
            continue


def _invariance_rows(d: Any, opts: ValidationOptions) -> pd.Index:
    return d.analysed if opts.invariance_sample == "full" else d.validation


# long: the steps' order and lanes in one place (which step waits for which is the point of reading it)
def _run_steps(run: Runner, scale: Scale, data: str | Path | pd.DataFrame, opts: ValidationOptions, ordinal: bool,
               ordinal_why: str, command: str | None, extra_provenance: Mapping[str, Any] | None
               ) -> tuple[RunState, tuple[dict[str, Any], dict[str, Any]] | None]:
    """Steps 1–8 in order (with two or more cores the rest of the data step — and below
    :data:`CONCURRENT_STEPS_MAX_ROWS` item analysis and the IRT step, and with worker processes the
    invariance step — beside the others); their results as the run state, and the report's parts built
    while the IRT step finished beside (:func:`_report_draft`; None when it ran in line)."""
    from contextlib import ExitStack

    from psychometrics._linalg import one_blas_thread_per_lane
    from psychometrics.pipeline.steps.irt import with_cfa_flags
    from psychometrics.pipeline.steps.scoring import with_irt

    run.plan(["data quality", "item analysis", "reliability", "exploratory factor analysis",
              "confirmatory factor analysis", "measurement invariance"] + ["item response theory"] * bool(opts.irt)
             + ["short form"] * bool(opts.short_form) + ["validity", "scoring key"])
    first = run.run("data quality", load_scale_rows, data, scale, opts)

    def state(irt: Any, key: Any, check: Any = None, prov: Mapping[str, Any] | None = None) -> RunState:
        """The run state of the steps so far (``irt``: the IRT step's or None; ``key``: the scoring key)."""
        return RunState(scale=scale, options=opts, ordinal=ordinal, ordinal_why=ordinal_why, data=d, items=items,
                        reliability=reliability, efa=efa, cfa=cfa, invariance=invariance, validity=validity,
                        scoring_key=key, provenance={} if prov is None else prov, crosscheck=check, irt=irt,
                        short_form=short, runner_diagnostics=tuple(run.diagnostics))

    from psychometrics.data.readers import release_freed_memory
    from psychometrics.pipeline.steps.data import TRIM_STEPS_ROWS

    rows = first.work.items.shape[0]
    if rows >= TRIM_STEPS_ROWS:  # (set before any lane starts: the lanes' steps read it when they end)
        run.trim = True
        release_freed_memory()  # (the first part's own temporaries)
    rest_beside, irt_beside, processes = _beside(opts, rows)
    rng = np.random.default_rng(opts.seed)  # the bootstrap, then the parallel analysis draw from it, in this order
    d: Any = first  # until the data step's second part is in: its first part (the same samples)
    if not rest_beside:
        d = run.run("data quality", finish_data, first, data, scale, opts, rest_of=_REST_OF_DATA)
    work = d.work  # (before the second part: the same answers, the source table still with the item columns)
    est = resolve_estimation(opts, ordinal)
    pinned = ExitStack()  # one BLAS thread (and none of a step's own) while lanes run beside each other
    if rest_beside:
        pinned.enter_context(one_blas_thread_per_lane())
    with pinned:
        lane = inv_lane = None
        if processes:  # (forked before any other thread of the run starts: no lock of theirs held in a worker)
            # (the step's total-score calibration in a process of its own too: the longest lane, split in two)
            lane = run.in_process("item response theory", irt_step, work, scale, opts, total_apart=True)
            inv_lane = run.in_process("measurement invariance", invariance_step, work, _invariance_rows(d, opts),
                                      scale, opts, ordinal, est, ordinal_rows=d.ordinal_rows() if ordinal else None)
        rest = run.beside("data quality", finish_data, first, data, scale, opts,
                          rest_of=_REST_OF_DATA) if rest_beside else None
        first = None  # (its source table with the item columns: freed once the second part is in)
        item_lane = run.beside("item analysis", analyse_items, work.items, scale) if irt_beside else None
        if irt_beside and not processes:
            lane = run.beside("item response theory", irt_step, work, scale, opts)

        def settle(wait: bool = False) -> None:
            """The data step's second part in, once done (its reduced source table replaces the first's)."""
            nonlocal d, work, rest
            if rest is not None and (wait or not rest.thread.is_alive()):
                d, rest = run.join(rest), None
                work = d.work

        try:
            items = run.run("item analysis", analyse_items, work.items, scale) if item_lane is None else None
            settle()
            shared = d.ordinal_rows() if ordinal else None  # coded and tabulated once for four steps
            reliability = run.run("reliability", reliability_step, work, scale, opts, rng, ordinal, est,
                                  ordinal_rows=shared)
            settle()
            efa = run.run("exploratory factor analysis", efa_step, work.items.loc[d.calibration], scale, opts,
                          rng, ordinal, est.fiml, ordinal_rows=shared)
            settle()
            cfa = run.run("confirmatory factor analysis", cfa_step, work.items.loc[d.validation], scale,
                          ordinal, est, ordinal_missing(opts), ordinal_rows=shared)
            settle(wait=True)  # (the invariance ladder's working memory is the largest: not beside the second part's)
            if item_lane is None and lane is None and inv_lane is None:
                pinned.close()  # no lane beside from here: the later steps' BLAS and threads as one after the other
            invariance = None
            if inv_lane is None:
                invariance = run.run("measurement invariance", invariance_step, work, _invariance_rows(d, opts),
                                     scale, opts, ordinal, est, ordinal_rows=shared)
            shared = None  # (its int8 codes: 28 MB at 10⁶ rows, not kept through the IRT step)
            irt = None
            if opts.irt and lane is None:
                irt = run.run("item response theory", irt_step, work, scale, opts, invariance)
            short = None
            if opts.short_form:
                from psychometrics.pipeline.steps.shortform import short_form_step

                short = run.run("short form", short_form_step, d, scale, opts, ordinal)
            validity = run.run("validity", validity_step, work, d.companions_work, scale, cfa, d.validation, opts,
                               est)
            if processes:
                from psychometrics.pipeline._prewarm import import_later

                import_later()  # (the report's modules while the workers finish: this process would only wait)
                _tables_now(cfa.fits)
            if inv_lane is not None:
                invariance, inv_lane = run.join(inv_lane), None
            if item_lane is not None:
                items, item_lane = run.join(item_lane), None
            key = early = None
            if lane is not None:  # while the IRT step finishes: the scoring key (its calibrations added when in,
                # with_irt) and the report's parts that read no later step (the same as built after it)
                key = run.run("scoring key", scoring_step, work, scale, reliability, invariance, opts, None,
                              validity.scores)
                early = _report_draft(state(None, key))
                irt, lane = with_cfa_flags(run.join(lane), invariance), None
                key = with_irt(key, irt)
        except BaseException:
            for other in (rest, item_lane, lane, inv_lane):
                run.abandon(other)  # (threads before the lanes' BLAS limit is lifted; workers stopped)
            raise
    if key is None:
        key = run.run("scoring key", scoring_step, work, scale, reliability, invariance, opts, irt, validity.scores)
    check = None
    if opts.crosscheck:
        from psychometrics.pipeline.steps.crosscheck import crosscheck_step

        check = run.run("cross-check (semopy, factor_analyzer)", crosscheck_step, work.items, d.calibration,
                        d.validation, efa, cfa, opts)
    return state(irt, key, check, provenance(scale, d.responses, opts, command, extra_provenance)), early


def _report_draft(state: RunState) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """results.json's sections and the report context's parts that read no step after validity
    (``results_json.sections_before_irt``, ``report.validation.parts_before_irt``): built while the main
    thread waits for the IRT step (≈ 0.2 s of the serial report step at 10⁵ rows). None if building them
    fails: the report step builds them again and fails there, as without the draft."""
    from psychometrics.pipeline.results_json import sections_before_irt
    from psychometrics.report.validation import parts_before_irt

    try:
        return sections_before_irt(state), parts_before_irt(state)
    except Exception:  # noqa: BLE001 - the report step's own attempt raises it where the run expects it
        return None


def _write(out: Path, html: str, results: dict[str, Any], state: RunState, run: Runner) -> None:
    """report.html, results.json and scoring_key.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.html", html)
    atomic_write_text(out / "results.json", dumps_indented(results) + "\n")  # = json.dumps(indent=1), faster
    state.scoring_key.to_file(out / "scoring_key.json")  # atomic too
    if run.console is not None:
        run.console.print(f"[bold green]Wrote[/] {console_safe(out / 'report.html')}, results.json, scoring_key.json "
                          f"[dim](total {time.perf_counter() - run.started:.1f} s)[/]")


def demo(out: str | Path, seed: int = 0, n: int | None = None, quiet: bool = False,
         command: str | None = None, options: Mapping[str, Any] | None = None,
         overwrite: bool = False, tables: str | None = None,
         template: str | Path | None = None) -> ValidationResult:
    """Simulate the embedded mentorship study and validate it.

    Writes ``out/responses.csv`` (the simulated data) and the validation outputs. The
    scale, companion measures and group come from the study file; the data SHA-256 in
    the report is that of ``responses.csv``, so ``psychometrics validate`` on those files
    reproduces it. A folder that already holds any of these files is refused unless
    ``overwrite`` (then the replaced files are listed on stderr).
    """
    from psychometrics.simulate import default_study_path, load_study, simulate_study, write_table

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out}: exists and is not a folder; give a folder for the demo files")
    # every output is checked before anything is written; validate() lists its own replaced files
    docx = [out / "tables.docx"] if tables == "docx" else []
    replaced = check_outputs([out / "responses.csv", *(out / name for name in OUTPUT_FILES), *docx], [], overwrite)
    out.mkdir(parents=True, exist_ok=True)
    study = load_study(default_study_path())
    df = simulate_study(study, n=n, seed=seed)
    data_path = write_table(df, out / "responses.csv")
    announce_replaced([p for p in replaced if p.name == "responses.csv"])
    files = study.scale_files
    measures = [str(files[m.id]) for m in study.measures]
    planted = study.planted
    return validate(
        files[study.scale.id], data_path, group=study.group_column, measures=measures, seed=seed, out=out,
        quiet=quiet, id_column="id", options=options, command=command, tables=tables, template=template,
        subtitle=(f"Simulated demo study '{study.id}' (n = {len(df)}, seed {seed}); planted problems: weak items "
                  f"{', '.join(planted['weak_items']) or 'none'}, cross-loading "
                  f"{', '.join(planted['cross_loading_items']) or 'none'}, DIF "
                  f"{', '.join(d['item'] + ' in ' + d['group'] for d in planted['dif']) or 'none'}"),
        extra_provenance={"simulation": {"study": study.id, "n": len(df), "seed": seed,
                                         "planted": to_jsonable(planted)}},
        overwrite=overwrite,
    )
