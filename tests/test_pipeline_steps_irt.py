"""The IRT step's large-n path (issue 16): above ``_PATTERNS_ABOVE`` rows S-X², M2/C2, LD and the
ordinal DIF run on each subscale's distinct (pattern[, group]) rows with counts. Here the threshold is
lowered to 0 on the demo study at n = 1,500 and every table is compared with the row path:
identical, except Q3 and the M2 moments (weighted sums: 1e-10 relative)."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from psychometrics.pipeline.options import merge_options
from psychometrics.pipeline.steps import irt as step
from psychometrics.scale import Scale
from psychometrics.simulate import default_study_path, load_study, simulate_study

ROOT = Path(__file__).resolve().parents[1]
_RUN_TASKS = step._run_tasks  # the step's own, for wrappers that count its calls


def _run(monkeypatch, above: int, lr: bool = False):
    monkeypatch.setattr(step, "_PATTERNS_ABOVE", above)
    monkeypatch.setattr(step, "_DISTINCT_SHARE", 1.0)  # (n = 1,500: about 1,000 distinct (pattern, group) rows)
    # the row path as it runs at large n: EAP θ̂ once per distinct pattern (scores._DISTINCT_ABOVE), then per row
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.scores"), "_DISTINCT_ABOVE", 0)
    if not lr:
        monkeypatch.setattr(step, "_lr_dif_tasks", lambda *args, **kwargs: [])  # (multi-group LR DIF: not on this path)
    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    df = simulate_study(load_study(default_study_path()), n=1500, seed=3)
    ids = [i for s in scale.subscales for i in scale.items_of(s.id)]
    work = SimpleNamespace(items=df[ids].astype(float), group=df["career_stage"])
    opts = merge_options(None, {"group": "career_stage"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return step.irt_step(work, scale, opts, SimpleNamespace(non_invariant_items=(), result=None))


def test_pattern_path_equals_row_path(monkeypatch):
    rows, fast = _run(monkeypatch, 10**9), _run(monkeypatch, 0)
    pd.testing.assert_frame_equal(fast.dif, rows.dif, check_exact=True)
    assert fast.item_fit.keys() == rows.item_fit.keys() and fast.local_dependence.keys() == rows.local_dependence.keys()
    for sid in rows.item_fit:
        pd.testing.assert_frame_equal(fast.item_fit[sid], rows.item_fit[sid], check_exact=True)
        a, b = fast.local_dependence[sid], rows.local_dependence[sid]
        pd.testing.assert_frame_equal(a.drop(columns=["q3", "q3_star"]), b.drop(columns=["q3", "q3_star"]),
                                      check_exact=True)
        np.testing.assert_allclose(a[["q3", "q3_star"]], b[["q3", "q3_star"]], rtol=1e-10, atol=1e-13)
        for key, value in rows.global_fit[sid].items():
            if isinstance(value, float):
                assert fast.global_fit[sid][key] == pytest.approx(value, rel=1e-10)


def test_global_and_local_fit_look_up_the_patterns_once_per_calibration(monkeypatch):
    """issue 16 (seventh session): M2/C2 and LD of a subscale take its rows or distinct patterns from one
    lookup (the total is skipped); when they cannot be had, both statistics are notes."""
    from psychometrics.exceptions import DataError

    looked = []

    def fails(cal, items, pats):  # noqa: ANN001, ANN202
        looked.append(cal)
        raise DataError("no patterns")

    monkeypatch.setattr(step, "_distinct", fails)
    notes: list[str] = []
    m2, ld = step._global_and_local_fit(pd.DataFrame(), {"a": "cal a", "total": "cal total"}, notes, {})
    assert looked == ["cal a"] and m2 == {} and ld == {}
    assert notes == ["a: M2/C2 not computed (no patterns).", "a: local dependence not computed (no patterns)."]


def test_sampled_se_information_is_a_note_of_the_step(monkeypatch):
    """issue 16: the method change above calibrate.SE_ROWS distinct patterns (the SEs' missing information
    from a subsample of respondents) is shown in the report through the step's notes."""
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.calibrate"), "SE_ROWS", 500)
    res = _run(monkeypatch, 10**9)
    notes = [n for n in res.notes if "standard errors:" in n]
    assert notes and all("fixed random 500 of the 1,500 respondents" in n for n in notes)
    assert any(n.startswith("total: ") for n in notes)


def test_dif_on_two_threads_equals_the_sequential_run(monkeypatch):
    """issue 16: above _PATTERNS_ABOVE rows the subscales' ordinal and LR DIF fits run on worker_threads()
    threads — every table, note and diagnostic identical to the sequential run (bit for bit)."""
    engine_mod = importlib.import_module("psychometrics.irt._engine")
    monkeypatch.setattr(engine_mod, "MAX_THREADS", 1)
    seq = _run(monkeypatch, 0, lr=True)
    monkeypatch.setattr(engine_mod, "MAX_THREADS", 2)
    calls = []
    run_tasks = step._run_tasks
    monkeypatch.setattr(step, "_run_tasks", lambda tasks, workers, **kw: (  # the DIF block (it reports progress)
        calls.append(workers) if "on_done" in kw else None) or run_tasks(tasks, workers, **kw))
    par = _run(monkeypatch, 0, lr=True)
    assert calls == [min(2, __import__("os").cpu_count() or 1)]
    pd.testing.assert_frame_equal(par.dif, seq.dif, check_exact=True)
    assert par.lr_dif.keys() == seq.lr_dif.keys() and par.lr_dif
    for sid in seq.lr_dif:
        pd.testing.assert_frame_equal(par.lr_dif[sid].to_frame(), seq.lr_dif[sid].to_frame(), check_exact=True)
        pd.testing.assert_frame_equal(par.lr_dif[sid].latent, seq.lr_dif[sid].latent, check_exact=True)
    assert par.notes == seq.notes and par.diagnostics == seq.diagnostics


def test_task_warnings_are_recorded_per_task_on_threads():
    """Each task's warnings are recorded apart even when the tasks run on two threads at once; a
    PsychometricsError is the task's outcome, not raised."""
    import threading

    from psychometrics.exceptions import DataError, DataQualityWarning

    barrier = threading.Barrier(2)

    def task(i):
        def fn():
            barrier.wait(timeout=10)
            for k in range(3):
                warnings.warn(f"task {i} warning {k}", DataQualityWarning, stacklevel=1)
            if i == 1:
                raise DataError("bad")
            return i
        return fn

    out = step._run_tasks([task(0), task(1)], 2)
    assert out[0][0] == 0 and out[0][1] is None and out[1][0] is None and isinstance(out[1][1], DataError)
    for i in (0, 1):
        assert [str(w.message) for w in out[i][2]] == [f"task {i} warning {k}" for k in range(3)]


def _calibrations_only(monkeypatch, threads: int, df: pd.DataFrame, scale: Scale, calls: list):
    """The step's calibration loop (the later parts stubbed out) with ``threads`` subscale threads."""
    monkeypatch.setattr(step, "_threads", lambda: threads)
    monkeypatch.setattr(step, "_CONCURRENT_ROWS", 0)
    monkeypatch.setattr(step, "_dif_and_lr_dif", lambda *args, **kwargs: (None, {}))
    monkeypatch.setattr(step, "_global_and_local_fit", lambda *args, **kwargs: ({}, {}))
    monkeypatch.setattr(importlib.import_module("psychometrics.irt.fit"), "item_fit", lambda *a, **k: pd.DataFrame())
    monkeypatch.setattr(step, "_run_tasks", lambda tasks, workers, **kw: (  # the calibrations (no progress callback)
        calls.append(workers) if "on_done" not in kw else None) or _RUN_TASKS(tasks, workers, **kw))
    work = SimpleNamespace(items=df, group=None)
    opts = merge_options(None, {}, None)
    return step.irt_step(work, scale, opts, SimpleNamespace(non_invariant_items=(), result=None))


def test_concurrent_calibrations_equal_sequential(monkeypatch, recwarn):
    """issue 16: at large n the subscale calibrations run on two threads, each recording its own warnings
    (the step's _run_tasks, not a warnings.catch_warnings per calibration). Notes, diagnostics
    (extreme patterns, a redundant item), a failed calibration's note and every number are bit-identical to
    the one-thread run, and no PsychometricsWarning escapes the step."""
    from psychometrics.exceptions import PsychometricsWarning

    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    df = simulate_study(load_study(default_study_path()), n=600, seed=5)
    subs = [list(scale.items_of(s.id)) for s in scale.subscales]
    df = df[[i for ids in subs for i in ids]].astype(float)
    df[subs[1][1]] = 6 - df[subs[1][0]]  # a reversed copy: the redundancy warning (a diagnostic)
    df[subs[2][0]] = 3.0  # one answer only: that subscale and the total cannot be calibrated (notes)
    calls = [[], []]
    one, two = (_calibrations_only(monkeypatch, t, df, scale, calls[t - 1]) for t in (1, 2))
    assert calls == [[1, 1], [2, 1]]  # the subscales on two threads, then the total alone
    assert one.notes == two.notes and one.diagnostics == two.diagnostics
    assert any("could not be calibrated" in n for n in one.notes)
    assert any("linearly dependent" in d.message for d in one.diagnostics)
    assert any("extreme response patterns" in d.message for d in one.diagnostics)
    assert one.calibrations.keys() == two.calibrations.keys() and len(one.calibrations) >= 3
    for sid, a in one.calibrations.items():
        b = two.calibrations[sid]
        pd.testing.assert_frame_equal(a.parameters, b.parameters, check_exact=True)
        pd.testing.assert_frame_equal(a.covariance, b.covariance, check_exact=True)
        assert (a.loglik, a.diagnostics, a.em_cycles, a.newton_steps) == (b.loglik, b.diagnostics, b.em_cycles,
                                                                          b.newton_steps)
        pd.testing.assert_frame_equal(one.sum_scores[sid], two.sum_scores[sid], check_exact=True)
    assert not [w for w in recwarn if issubclass(w.category, PsychometricsWarning)]


def test_quiet_warnings_in_a_threaded_task_silences_only_its_block():
    """A task that silences a block (``exceptions.quiet_warnings``, as LR DIF's pooled recalibration)
    while the other thread warns: the block's warnings are dropped, the other task's are all recorded,
    and the process-wide filters are unchanged afterwards (catch_warnings would swap them across threads)."""
    import threading

    from psychometrics.exceptions import DataQualityWarning, quiet_warnings

    barrier = threading.Barrier(2)
    filters = list(warnings.filters)

    def quiet():
        with quiet_warnings():
            barrier.wait(timeout=10)
            for k in range(50):
                warnings.warn(f"silenced {k}", DataQualityWarning, stacklevel=1)
            barrier.wait(timeout=10)
        warnings.warn("after the block", DataQualityWarning, stacklevel=1)

    def loud():
        barrier.wait(timeout=10)
        for k in range(50):
            warnings.warn(f"loud {k}", DataQualityWarning, stacklevel=1)
        barrier.wait(timeout=10)

    out = step._run_tasks([quiet, loud], 2)
    assert [str(w.message) for w in out[0][2]] == ["after the block"]
    assert [str(w.message) for w in out[1][2]] == [f"loud {k}" for k in range(50)]
    assert list(warnings.filters) == filters
    with warnings.catch_warnings(record=True) as caught:  # outside a router: catch_warnings + ignore
        warnings.simplefilter("always")
        with quiet_warnings():
            warnings.warn("dropped", DataQualityWarning, stacklevel=1)
        warnings.warn("kept", DataQualityWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["kept"]


@pytest.mark.skipif(not importlib.import_module("psychometrics.pipeline._fork").fork_supported(),
                    reason="the total's process needs fork (Linux)")
@pytest.mark.filterwarnings("ignore::psychometrics.exceptions.DataQualityWarning")  # (S-X² at n = 500: the step's own)
def test_total_apart_gives_the_step_in_one_process_also_when_its_process_is_lost(monkeypatch):
    """``total_apart`` (the pipeline's IRT worker: the total score's calibration in a forked process while the
    subscales' work runs): calibrations, tables, DIF, notes and diagnostics in the order of the step in one
    process, bit for bit — also when that process dies (the total is then calibrated here)."""
    import os

    scale = Scale.from_yaml(ROOT / "scales" / "mentorship_supportiveness.yaml")
    df = simulate_study(load_study(default_study_path()), n=500, seed=3)
    items = df[list(scale.item_ids)].astype(float)
    work = SimpleNamespace(items=items, group=df["career_stage"].astype(str).rename("career_stage"))
    opts = merge_options(None, {"group": "career_stage"}, None)
    one = step.irt_step(work, scale, opts)
    apart = step.irt_step(work, scale, opts, total_apart=True)
    here, alone = os.getpid(), step._total_alone

    def dies_apart(*args):  # (in the forked process only: there it ends without a result)
        if os.getpid() != here:
            os._exit(3)
        return alone(*args)

    monkeypatch.setattr(step, "_total_alone", dies_apart)
    lost = step.irt_step(work, scale, opts, total_apart=True)
    assert list(one.calibrations) == [s.id for s in scale.subscales] + ["total"]
    for other in (apart, lost):
        assert other.notes == one.notes and other.diagnostics == one.diagnostics
        assert list(other.calibrations) == list(one.calibrations)
        for sid, cal in one.calibrations.items():
            pd.testing.assert_frame_equal(other.calibrations[sid].parameters, cal.parameters, check_exact=True)
            pd.testing.assert_frame_equal(other.sum_scores[sid], one.sum_scores[sid], check_exact=True)
            assert other.marginal_reliability[sid] == one.marginal_reliability[sid]
        pd.testing.assert_frame_equal(other.dif, one.dif, check_exact=True)
