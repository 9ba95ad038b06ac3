"""Step 7, item response theory: a graded response model per subscale and for the total, S-X² item
fit, information, the sum-score → EAP tables, a bifactor GRM of the whole scale where the spec
declares a total (as for the CFA bifactor ω), and DIF across the invariance grouping by ordinal
logistic regression and by multi-group likelihood ratios with purified anchors (shown beside the
CFA-based non-invariance). Failures are notes, never errors. Nothing here is random (no seed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import (Diagnostic, PsychometricsError, PsychometricsWarning, recorded_call,
                                      recorded_warnings)
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import InvarianceStep, IRTStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.scale import Scale

__all__ = ["irt_step", "with_cfa_flags"]

@single_thread_blas  # many small matrix products: one BLAS thread (threaded hand-off cost up to 8×)
def irt_step(work: Responses, scale: Scale, opts: ValidationOptions,
             invariance: InvarianceStep | None = None, total_apart: bool = False) -> IRTStep:
    """GRM calibrations (21-point Gauss–Hermite quadrature) of the analysed rows.

    The DIF table's last column, ``cfa_non_invariant``, comes from the CFA-based invariance step:
    without ``invariance`` (the step running beside it) it is added later by :func:`with_cfa_flags`.
    ``total_apart``: the total score's calibration — the step's largest single part — in a process of its
    own (forked: :mod:`~psychometrics.pipeline._fork`) while this one does the subscales' work; for the
    step in a worker process of its own (``pipeline.run``). The same numbers, notes and diagnostics.
    """
    from psychometrics.irt._data import shared_category_codes

    with shared_category_codes():  # each item's answers coded once for the whole step
        out = _irt_step(work, scale, opts, total_apart)
    return out if invariance is None else with_cfa_flags(out, invariance)


def with_cfa_flags(step: IRTStep, invariance: InvarianceStep) -> IRTStep:
    """The step with its DIF table's last column ``cfa_non_invariant``: the item is flagged by the
    CFA-based invariance ladder (NaN when the ladder was not assessed)."""
    if step.dif is None:
        return step
    import dataclasses

    dif = step.dif.copy()
    flags = set(invariance.non_invariant_items)
    dif["cfa_non_invariant"] = [i in flags for i in dif.index] if invariance.result is not None else np.nan
    return dataclasses.replace(step, dif=dif)


# long: the step's parts in the order of their notes (subscales, the total, then DIF, bifactor and fit)
def _irt_step(work: Responses, scale: Scale, opts: ValidationOptions, total_apart: bool = False) -> IRTStep:
    from psychometrics.irt import calibrate, eap_scores, information, marginal_reliability, sum_score_table
    from psychometrics.irt.fit import item_fit
    from psychometrics.irt.scores import THETA_GRID

    items = work.items
    scores: list[tuple[str, list[str]]] = [(s.id, list(scale.items_of(s.id))) for s in scale.subscales]
    total = ("total", list(items.columns)) if len(scores) > 1 else None
    # the total's calibration apart (it reads only its own rows) while the subscales' work runs here
    total_call = _total_apart(calibrate, items, total) if total_apart and total is not None else None
    cals: dict[str, Any] = {}
    pats: dict[str, Any] = {}  # large n: the distinct patterns of each subscale with their counts
    fits: dict[str, pd.DataFrame] = {}
    tables: dict[str, pd.DataFrame] = {}
    infos: dict[str, pd.DataFrame] = {}
    rel: dict[str, float] = {}
    notes: list[str] = []  # the calibrations' (the subscales' in order, then the total's) ...
    diags: list[Diagnostic] = []
    later: list[str] = []  # ... then DIF's, bifactor's and fit's
    later_diags: list[Diagnostic] = []

    def take(sid: str, ids: list[str], done: dict[str, tuple]) -> None:
        """A score's calibration (or why there is none) with its tables, information and S-X² fit."""
        if len(ids) < 3:
            notes.append(f"{sid}: {len(ids)} item(s); an IRT calibration needs at least three.")
            return
        cal, caught = done[sid]
        if isinstance(cal, PsychometricsError):
            notes.append(f"{sid}: the GRM could not be calibrated ({why(cal)}).")
            return
        _record(caught, diags, sid)
        cals[sid] = cal
        # a method change above a size threshold (the SEs' information from a subsample) is shown in the report
        notes.extend(f"{sid}: {d}" for d in cal.diagnostics if d.startswith("standard errors:"))
        tables[sid] = sum_score_table(cal)
        infos[sid] = information(cal, THETA_GRID)
        rel[sid] = marginal_reliability(cal)
        if sid != "total":
            try:
                data, weights = _rows(_distinct(cal, items, pats), items)
                fits[sid] = item_fit(cal, data, weights=weights)
            except PsychometricsError as exc:
                notes.append(f"{sid}: S-X² item fit not computed ({why(exc)}).")

    done = _calibrations(calibrate, items, [(sid, ids) for sid, ids in scores if len(ids) >= 3])
    # in this process the total's calibration right after the subscales', before their statistics' caches
    # (distinct patterns, codes) exist: its working memory is the step's largest (+0.6 GB at 10⁶ rows)
    total_done = _total_alone(calibrate, items, total) if total is not None and total_call is None else None
    for sid, ids in scores:
        take(sid, ids, done)
    from psychometrics._progress import progress

    n_lr = len(scale.subscales) if opts.group is not None and work.group is not None else 0
    with progress("item response theory: LR DIF and bifactor", n_lr + 1) as advance:
        # (the subscales' only: neither reads the total's calibration)
        dif, lr = _dif_and_lr_dif(work, scale, opts, cals, later, later_diags, eap_scores, pats, advance)
        if dif is not None and lr:
            dif = _merge_lr(dif, lr)
        bifactor = _bifactor(items, scale, later, later_diags) if opts.irt_bifactor else None
        advance(1)
    m2, ld = _global_and_local_fit(items, cals, later, pats)
    if total is not None:  # (its notes and diagnostics after the subscales' calibrations', as in one pass)
        take(*total, total_done if total_call is None else _total_result(total_call, calibrate, items, total))
    return IRTStep(calibrations=cals, item_fit=fits, sum_scores=tables, information=infos, marginal_reliability=rel,
                   dif=dif, lr_dif=lr, bifactor=bifactor, notes=tuple(notes + later),
                   diagnostics=tuple(diags + later_diags), global_fit=m2, local_dependence=ld)


def _total_alone(calibrate: Any, items: pd.DataFrame, total: tuple[str, list[str]]) -> dict[str, tuple]:
    """:func:`_calibrations` of the total only, its warnings as ``pipeline._fork.SentWarning`` tuples (what
    :func:`_record` reads; sent back from a process)."""
    from psychometrics.pipeline._fork import sendable

    return {sid: (cal, sendable(caught)) for sid, (cal, caught) in _calibrations(calibrate, items, [total]).items()}


def _total_apart(calibrate: Any, items: pd.DataFrame, total: tuple[str, list[str]]) -> Any:
    """The total's calibration started in a forked process (``pipeline._fork.ForkedCall``), or None where
    no process can be forked now (another library's thread running, not Linux, no process to be had)."""
    from psychometrics.pipeline._fork import ForkedCall, fork_available

    if not fork_available():
        return None
    try:
        return ForkedCall(_total_alone, calibrate, items, total)
    except OSError:
        return None


def _total_result(call: Any, calibrate: Any, items: pd.DataFrame, total: tuple[str, list[str]]) -> dict[str, tuple]:
    """The total's calibration from its process (``call``); computed here if that process was lost (killed,
    out of memory: the same numbers)."""
    from psychometrics.pipeline._fork import WorkerLost

    try:
        return call.result()
    except WorkerLost:
        return _total_alone(calibrate, items, total)


#: from this many analysed rows the subscale calibrations run on ``irt._engine.worker_threads()`` threads
#: (1 inside a pipeline lane, ``_linalg.in_lane``). The numbers, notes and diagnostics do not depend on it,
#: bit for bit (tests/test_pipeline_steps_irt.py::test_concurrent_calibrations_equal_sequential)
_CONCURRENT_ROWS = 20_000


def _threads() -> int:
    """The IRT code's one thread-count rule (:func:`psychometrics.irt._engine.worker_threads`)."""
    from psychometrics.irt._engine import worker_threads

    return worker_threads()


def _calibrations(calibrate: Any, items: pd.DataFrame, todo: list[tuple[str, list[str]]]) -> dict[str, tuple]:
    """sid → (calibration or its PsychometricsError, its recorded warnings).

    Each calibration's warnings are recorded apart (:func:`_run_tasks`: each in its own context), so from ``_CONCURRENT_ROWS`` rows the subscales run on :func:`_threads` threads
    (disjoint items: each codes its own into the step's shared codes; each in a copy of this context), then
    the total — the largest, with its own threaded E-steps — alone. Bit for bit the one-thread run."""
    subs = [(sid, ids) for sid, ids in todo if sid != "total"]
    rest = [(sid, ids) for sid, ids in todo if sid == "total"]
    workers = _threads() if len(subs) > 1 and len(items) >= _CONCURRENT_ROWS else 1
    out: dict[str, tuple] = {}
    for part, threads in ((subs, workers), (rest, 1)):
        if not part:
            continue
        tasks = [lambda ids=ids: calibrate(items, ids, "grm") for _, ids in part]
        for (sid, _), (cal, exc, caught) in zip(part, _run_tasks(tasks, threads)):
            out[sid] = (cal if exc is None else exc, caught)
    return out


def _record(caught: list, diags: list[Diagnostic], prefix: str) -> None:
    for w in caught:
        if issubclass(w.category, PsychometricsWarning):
            diags.append(Diagnostic(w.category.__name__, f"{prefix}: {w.message}"))


def _lr_dif_tasks(work: Responses, scale: Scale, opts: ValidationOptions, cals: dict[str, Any]
                  ) -> list[tuple[str, Any]]:
    """Per subscale (sid, task or None) of multi-group LR DIF (GRM; reference group = the first level in
    sorted order): the task prepares the groups and fits the models (``lr_dif``)."""
    if opts.group is None or work.group is None:
        return []
    from functools import partial

    from psychometrics.irt.lrdif import lr_dif

    return [(s.id, partial(lr_dif, work.items, work.group, list(scale.items_of(s.id)), pooled_calibration=cals[s.id])
             if s.id in cals else None) for s in scale.subscales]


def _dif_and_lr_dif(work: Responses, scale: Scale, opts: ValidationOptions, cals: dict[str, Any], notes: list[str], diags: list[Diagnostic], eap_scores: Any,
                    pats: dict[str, Any], advance: Any) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Ordinal-logistic DIF and multi-group LR DIF of every subscale as tasks (matching scores or groups
    prepared, then the fits; above ``_PATTERNS_ABOVE`` rows on :func:`_threads` threads — independent and
    deterministic, one BLAS thread each: the numbers identical to the sequential run —, each in a copy of
    this thread's context), results, notes and diagnostics collected in the sequential order (ordinal DIF of every
    subscale, then LR DIF)."""
    dif_tasks = _dif_tasks(work, scale, opts, cals, eap_scores, pats)
    lr_tasks = _lr_dif_tasks(work, scale, opts, cals)
    lr_fns = [fn for _, fn in lr_tasks if fn is not None]
    tasks = lr_fns + [fn for _, fn in dif_tasks]  # the longer LR fits first
    workers = _threads() if work.items.shape[0] > _PATTERNS_ABOVE else 1
    done = _run_tasks(tasks, workers, on_done=lambda i: advance(1) if i < len(lr_fns) else None)
    parts = []
    for (sid, _), (tab, exc, caught) in zip(dif_tasks, done[len(lr_fns):]):
        if exc is not None:
            notes.append(f"{sid}: DIF not computed ({why(exc)}).")
            continue
        _record(caught, diags, f"DIF {sid}")
        tab.insert(0, "score", sid)
        parts.append(tab)
    lr: dict[str, Any] = {}
    it = iter(done[:len(lr_fns)])
    for sid, fn in lr_tasks:  # notes and diagnostics in the sequential step's order
        if fn is None:
            advance(1)
            continue
        res, exc, caught = next(it)
        if exc is not None:
            notes.append(f"{sid}: likelihood-ratio DIF not computed ({why(exc)}).")
            continue
        _record(caught, diags, f"LR DIF {sid}")
        lr[sid] = res
    return (pd.concat(parts) if parts else None), lr


def _run_tasks(tasks: list[Any], workers: int, on_done: Any = None) -> list[tuple[Any, BaseException | None, list]]:
    """(result, PsychometricsError or None, recorded warnings) per task, in task order; each task runs in
    its own copy of the calling thread's context (the step's shared item codes) and records its own
    warnings there (:func:`~psychometrics.exceptions.recorded_call`: thread-safe, so also on
    ``workers`` > 1 threads and beside another pipeline step)."""
    import contextvars

    keep = (PsychometricsError,)
    contexts = [contextvars.copy_context() for _ in tasks]
    outs = []
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(ctx.run, recorded_call, task, keep=keep) for ctx, task in zip(contexts, tasks)]
            for i, fut in enumerate(futures):
                outs.append(fut.result())
                if on_done is not None:
                    on_done(i)
    else:
        for i, (ctx, task) in enumerate(zip(contexts, tasks)):
            outs.append(ctx.run(recorded_call, task, keep=keep))
            if on_done is not None:
                on_done(i)
    return outs


def _merge_lr(dif: pd.DataFrame, lr: dict[str, Any]) -> pd.DataFrame:
    """The LR-DIF columns beside the ordinal-logistic ones (final stage per item)."""
    parts = []
    for res in lr.values():
        t = res.to_frame()
        parts.append(pd.DataFrame({"lr_stage": t["stage"], "lr_chi2": t["chi2"], "lr_df": t["df"], "lr_p": t["p"],
                                   "lr_q": t["q"], "lr_flag": t["flag"].astype(bool), "lr_uids": t["uids"],
                                   "lr_anchor": t["anchor"].astype(bool)}, index=t.index))
    return dif.join(pd.concat(parts), how="left")


def _bifactor(items: pd.DataFrame, scale: Scale, notes: list[str], diags: list[Diagnostic]) -> Any:
    """Bifactor GRM of all items (specific factor = subscale; option ``irt_bifactor``) when the spec declares a total score and
    has at least two subscales of two or more items; 15 Gauss–Hermite points per dimension, SEs from
    the score cross-product (the numerical Hessian would cost 2 × parameters likelihood evaluations)."""
    if not scale.has_total or len(scale.subscales) < 2:
        return None
    from psychometrics.irt.bifactor import calibrate_bifactor

    specific = {i: s.id for s in scale.subscales for i in scale.items_of(s.id)}
    specific = {i: (sid if sum(v == sid for v in specific.values()) >= 2 else None) for i, sid in specific.items()}
    try:
        with recorded_warnings() as caught:
            res = calibrate_bifactor(items, specific, quadrature_points=15, se="crossprod")
        _record(caught, diags, "bifactor IRT")
        return res
    except PsychometricsError as exc:
        notes.append(f"bifactor IRT not computed ({why(exc)}).")
        return None


#: above this many rows the statistics after a subscale's calibration (EAP, S-X², LD, M2/C2, ordinal DIF)
#: work on its distinct response patterns (and groups) with their counts (irt/patterns.py). 10,000 since the
#: ninth session (was 50,000, which made the step at 50,000 rows slower than at 100,000: 5.8 against 3.7 s in
#: a lane at 50,000 rows); the same numbers to summation order (tests/test_pipeline_steps_irt.py)
_PATTERNS_ABOVE = 10_000
#: ordinal DIF on distinct (pattern, group) rows only when they are at most this share of the rows: the fits
#: aggregate repeated (answer, θ̂, group) rows, and with so many repeats they do so for every item as on the rows
_DISTINCT_SHARE = 0.5


def _rows(distinct: Any, items: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """(data, weights) for a subscale statistic: the rows themselves (``distinct`` None), or above
    ``_PATTERNS_ABOVE`` rows the distinct patterns with their counts (``distinct``: :func:`_distinct`)."""
    return (items, None) if distinct is None else (distinct.frame, distinct.counts)


def _distinct(cal: Any, items: pd.DataFrame, pats: dict[str, Any]) -> Any:
    """Above ``_PATTERNS_ABOVE`` rows the calibration's distinct patterns (``irt.patterns.DistinctPatterns``:
    counts and EAP θ̂), computed once per calibration and kept in ``pats``; else None (the rows themselves)."""
    if items.shape[0] <= _PATTERNS_ABOVE:
        return None
    from psychometrics.irt.patterns import distinct_patterns

    key = "/".join(cal.items)
    if key not in pats:
        pats[key] = distinct_patterns(cal, items, codes=_codes(cal, items, pats))
    return pats[key]


def _codes(cal: Any, items: pd.DataFrame, pats: dict[str, Any]) -> Any:
    """The calibration's category codes of the rows, computed once per subscale (kept in ``pats`` as
    int8 when they fit: 1 byte per answer) for its distinct patterns with and without the groups — the
    kept array itself (``distinct_patterns`` counts int8 codes as it counts int64 ones; on a hit of the
    step's shared patterns it reads only their number of rows)."""
    from psychometrics.irt.scores import recode

    key = "codes:" + "/".join(cal.items)
    if key not in pats:
        from psychometrics.irt._data import shared_codes_of

        codes = shared_codes_of(items, cal.items, cal.category_values)  # coded once in the step (int8)
        codes = recode(cal, items) if codes is None else codes
        pats[key] = codes.astype(np.int8) if codes.size and codes.max() < 127 else codes
    return pats[key]


def _global_and_local_fit(items: pd.DataFrame, cals: dict[str, Any], notes: list[str], pats: dict[str, Any]
                          ) -> tuple[dict[str, dict[str, float]], dict[str, pd.DataFrame]]:
    """M2 / C2 with RMSEA2 and the pairwise LD χ² / Q3 per subscale (not the total: Ξ grows with J⁴), both from
    the subscale's rows or distinct patterns (:func:`_distinct`, looked up once per calibration)."""
    from psychometrics.irt.fit import local_dependence
    from psychometrics.irt.m2 import limited_information_fit

    m2: dict[str, dict[str, float]] = {}
    ld: dict[str, pd.DataFrame] = {}
    for sid, cal in cals.items():
        if sid == "total":
            continue
        try:
            distinct = _distinct(cal, items, pats)
        except PsychometricsError as exc:  # (not expected: the calibration's own rows) neither statistic
            notes.append(f"{sid}: M2/C2 not computed ({why(exc)}).")
            notes.append(f"{sid}: local dependence not computed ({why(exc)}).")
            continue
        try:
            data, weights = _rows(distinct, items)
            m2[sid] = limited_information_fit(cal, data, weights=weights)
        except (PsychometricsError, np.linalg.LinAlgError) as exc:
            notes.append(f"{sid}: M2/C2 not computed ({why(exc)}).")
        try:
            if distinct is None:
                ld[sid] = local_dependence(cal, items)
            else:  # (the patterns' EAP θ̂ with them)
                ld[sid] = local_dependence(cal, distinct.frame, weights=distinct.counts, theta=distinct.theta.to_numpy())
        except PsychometricsError as exc:
            notes.append(f"{sid}: local dependence not computed ({why(exc)}).")
    return m2, ld


def _dif_tasks(work: Responses, scale: Scale, opts: ValidationOptions, cals: dict[str, Any], eap_scores: Any,
               pats: dict[str, Any] | None = None) -> list[tuple[str, Any]]:
    """Per subscale (sid, task) of ordinal logistic regression DIF (its EAP θ as matching variable): the
    task computes the matching scores (at large n the distinct (pattern, group) rows) and the fits."""
    if opts.group is None or work.group is None:
        return []
    group = work.group.astype(str)
    return [(s.id, _ordinal_dif_task(work, group, cals[s.id], list(scale.items_of(s.id)), eap_scores, pats))
            for s in scale.subscales if s.id in cals]


def _ordinal_dif_task(work: Responses, group: pd.Series, cal: Any, items: list[str], eap_scores: Any,
                      pats: dict[str, Any] | None) -> Any:
    def task() -> pd.DataFrame:
        from psychometrics.irt.dif import ordinal_logistic_dif

        data, grp, weights = work.items, group, None
        distinct = None
        if work.items.shape[0] > _PATTERNS_ABOVE:  # the fits depend on a row only through (pattern, group)
            from psychometrics.irt.patterns import distinct_patterns

            try:
                codes = _codes(cal, work.items, pats) if pats is not None else None
                distinct = distinct_patterns(cal, work.items, group, codes=codes)
            except PsychometricsError:  # (not expected: the calibration's own rows) the rows as before
                distinct = None
            if distinct is not None and distinct.frame.shape[0] > _DISTINCT_SHARE * distinct.n_rows:
                distinct = None  # rows rarely repeat: keep them (the fits then see the rows in row order)
        if distinct is not None:
            data, grp, theta, weights = distinct.frame, distinct.group, distinct.theta, distinct.counts
        else:
            theta = eap_scores(cal, work.items)["theta"]
        return ordinal_logistic_dif(data, grp, theta, items, weights=weights)
    return task
