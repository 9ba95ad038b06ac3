"""The step runner of ``pipeline/run.py``: the IRT step beside the model steps (two lanes) gives the
numbers, diagnostics and outputs of the steps one after the other; a failing lane is reported."""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path

import pytest

from psychometrics.pipeline import run as run_mod
from psychometrics.pipeline import validate

ROOT = Path(__file__).resolve().parent.parent
MSS = ROOT / "scales" / "mentorship_supportiveness.yaml"
FAST = {"n_boot": 0, "parallel_iter": 20, "irt_bifactor": True, "short_form": 3, "exclude_careless": True}


def _results(path: Path) -> dict:
    d = json.loads(path.read_text(encoding="utf-8"))
    d["provenance"].pop("generated_at")
    shown = d["report"]["provenance"]
    shown.pop("generated_at")
    shown["rows"] = [row for row in shown["rows"] if row[0] != "Generated"]
    return d


def _where(path: Path, tag: str, fn):
    """``fn`` that first appends "tag pid in_lane thread" to ``path`` (from worker processes too)."""
    from psychometrics import _linalg

    def wrapped(*args, **kwargs):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{tag} {os.getpid()} {_linalg.in_lane()} {threading.current_thread().name}\n")
        return fn(*args, **kwargs)
    return wrapped


def test_lanes_give_the_sequential_results(tmp_path, monkeypatch):
    """Lanes forced on at n = 400 (threshold 0) against lanes off: results.json (every statistic, the
    diagnostics, the report's context), the step order of the timings and the scoring key are equal, bit
    for bit — with the IRT step on a thread, and with the IRT and invariance steps in worker processes;
    the steps did run where planned, and so did the data step's second part (companion measures, missing
    data). With careless respondents excluded (the analysed rows are a subset)."""
    from psychometrics.pipeline.steps import data as data_step_mod
    from psychometrics.pipeline.steps import invariance as inv_step_mod
    from psychometrics.pipeline.steps import irt as irt_step_mod
    from psychometrics.simulate import simulate_study, write_table

    data = write_table(simulate_study(None, n=400, seed=5), tmp_path / "responses.csv")
    where = tmp_path / "where.txt"  # (appended to by worker processes too)
    rest: list[str] = []
    original, finish, ladder = irt_step_mod._irt_step, data_step_mod._missing_data, inv_step_mod.invariance_step

    def spy_rest(*args, **kwargs):
        rest.append(threading.current_thread().name)
        return finish(*args, **kwargs)

    monkeypatch.setattr(irt_step_mod, "_irt_step", _where(where, "irt", original))
    monkeypatch.setattr(run_mod, "invariance_step", _where(where, "invariance", ladder))
    monkeypatch.setattr(data_step_mod, "_missing_data", spy_rest)
    outs = {}
    modes = {"sequential": (False, False, False), "data beside": (True, False, False),  # (≥ 500,000 rows: the data
             "irt thread": (True, True, False), "workers": (True, True, True)}          # step's second part only)
    for name, lanes in modes.items():
        monkeypatch.setattr(run_mod, "_beside", lambda opts, n, lanes=lanes: lanes)
        outs[name] = validate(MSS, data, group="career_stage", id_column="id", out=tmp_path / name, quiet=True,
                              options=FAST)
    me = str(os.getpid())
    ran = [line.split(" ", 3) for line in where.read_text(encoding="utf-8").splitlines()]
    seen = [sorted((tag, pid == me, pinned, thread) for tag, pid, pinned, thread in ran[i:i + 2]) for i in (0, 2, 4)]
    assert seen == [[("invariance", True, "False", "MainThread"), ("irt", True, "False", "MainThread")]] * 2 + [
        [("invariance", True, "True", "MainThread"), ("irt", True, "True", "psychometrics: item response theory")]]
    # (with only the data step's second part beside, the steps after it have the cores again: not pinned)
    assert {pinned for _, _, pinned, _ in ran[6:]} == {"True"}  # (the workers: one BLAS thread each)
    workers = sorted((tag, pid) for tag, pid, _, _ in ran[6:])
    assert [tag for tag, _ in workers] == ["invariance", "irt"]
    assert len({pid for _, pid in workers} | {me}) == 3  # two worker processes
    assert rest == ["MainThread"] + ["psychometrics: data quality"] * 3
    a = _results(tmp_path / "sequential" / "results.json")
    assert a["irt"]  # (the IRT step's results are part of the comparison)
    assert a["data_quality"]["careless"]["rows_excluded"]  # (a subset of the rows analysed)
    key = json.loads((tmp_path / "sequential" / "scoring_key.json").read_text(encoding="utf-8"))
    key.pop("created")  # (the clock)
    for name in ("data beside", "irt thread", "workers"):
        assert _results(tmp_path / name / "results.json") == a, name
        other = json.loads((tmp_path / name / "scoring_key.json").read_text(encoding="utf-8"))
        other.pop("created")
        assert other == key, name
        assert outs[name].diagnostics == outs["sequential"].diagnostics, name
        assert list(outs[name].timings) == list(outs["sequential"].timings)  # planned places, whichever ran first


def test_side_threads_give_the_same_run(tmp_path, monkeypatch):
    """The serial stretches' second thread (``_linalg.side_thread``: the screens' D² beside longstring and
    even–odd, half the float32 checks, half the scores' item sums) forced on at n = 400 against off, one step
    after the other: results.json, the diagnostics (their order too) and the scoring key equal, bit for bit."""
    from psychometrics import _linalg
    from psychometrics.data import careless, readers
    from psychometrics.scoring import _arrays
    from psychometrics.simulate import simulate_study, write_table

    data = write_table(simulate_study(None, n=400, seed=5), tmp_path / "responses.csv")
    monkeypatch.setattr(run_mod, "_beside", lambda opts, n: (False, False, False))
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    tasks: list[str] = []
    real = _linalg.side_thread

    def counted(rows, min_rows):
        tasks.append("side" if rows >= min_rows else "in line")
        return real(rows, min_rows)

    outs = {}
    for name, at in (("in line", 10**9), ("side", 0)):
        for mod in (careless, readers, _arrays):
            monkeypatch.setattr(mod, "SIDE_ROWS", at)
        monkeypatch.setattr(_arrays, "_BLOCK", 64 if at == 0 else 1 << 15)  # (several blocks at n = 400)
        monkeypatch.setattr(careless, "side_thread", counted)
        outs[name] = validate(MSS, data, group="career_stage", id_column="id", out=tmp_path / name, quiet=True,
                              options={**FAST, "irt": False, "short_form": None})  # (no side thread there)
    assert "side" in tasks and tasks.count("side") == tasks.count("in line")
    assert _results(tmp_path / "side" / "results.json") == _results(tmp_path / "in line" / "results.json")
    keys = [json.loads((tmp_path / name / "scoring_key.json").read_text(encoding="utf-8")) for name in outs]
    assert [k.pop("created") and k for k in keys][0] == keys[1]
    assert outs["side"].diagnostics == outs["in line"].diagnostics


def test_a_small_study_runs_in_lanes(monkeypatch):
    """With two or more cores the lanes run at every n (since the tenth session; from 10,000 rows before:
    a small study's run is fixed cost the lanes share), the IRT step beside below
    ``CONCURRENT_STEPS_MAX_ROWS`` only, in worker processes where ``fork`` is available; one core: none."""
    from psychometrics import _linalg
    from psychometrics.pipeline import _fork
    from psychometrics.pipeline.options import merge_options

    opts = merge_options(None, {"group": "career_stage"}, None)
    monkeypatch.setattr(_fork, "fork_available", lambda: True)
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    assert run_mod._beside(opts, 50) == (True, True, True)
    assert run_mod._beside(opts, run_mod.CONCURRENT_STEPS_MAX_ROWS) == (True, False, False)
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 1)
    assert run_mod._beside(opts, 400) == (False, False, False)


def test_freed_memory_goes_back_after_each_step_only_at_large_n(tmp_path, monkeypatch):
    """Below ``TRIM_STEPS_ROWS`` analysed rows no step hands its freed memory back to the operating system
    (the allocator keeps it for the next step's arrays); from there on, after the data step's first part, its
    second part and every step. The numbers do not depend on it (results.json equal, bit for bit)."""
    from psychometrics.data import readers
    from psychometrics.pipeline.steps import data as data_step_mod
    from psychometrics.simulate import simulate_study, write_table

    data = write_table(simulate_study(None, n=400, seed=5), tmp_path / "responses.csv")
    monkeypatch.setattr(run_mod, "_beside", lambda opts, n: (False, False, False))
    calls: list[int] = []
    monkeypatch.setattr(readers, "release_freed_memory", lambda: calls.append(1))
    counts = {}
    for name, at in (("small", data_step_mod.TRIM_STEPS_ROWS), ("large", 0)):
        monkeypatch.setattr(data_step_mod, "TRIM_STEPS_ROWS", at)
        calls.clear()
        out = validate(MSS, data, group="career_stage", id_column="id", out=tmp_path / name, quiet=True,
                       options={**FAST, "short_form": None})
        counts[name] = len(calls)
    assert counts["small"] == 0
    assert counts["large"] == 1 + 1 + len(out.timings)  # the first part's, the second part's own, each step's
    assert _results(tmp_path / "small" / "results.json") == _results(tmp_path / "large" / "results.json")


def test_runner_beside_join_records_in_start_order_and_reraises(capsys):
    """A lane's warnings land in its own step's diagnostics (in the order the steps started, not finished),
    the other lane's stay in theirs; an exception in a lane is raised by ``join``."""
    runner = run_mod.Runner(quiet=True, total=3)
    gate = threading.Event()

    def slow():
        gate.wait(timeout=10)
        warnings.warn("from the lane", RuntimeWarning, stacklevel=1)
        return 7

    def quick():
        warnings.warn("from the main thread", UserWarning, stacklevel=1)
        gate.set()
        return 1

    lane = runner.beside("slow step", slow)
    assert runner.run("quick step", quick) == 1
    assert runner.join(lane) == 7
    assert [d.message for d in runner.diagnostics] == ["slow step: from the lane", "quick step: from the main thread"]

    def broken():
        raise ZeroDivisionError("lane failed")

    with pytest.raises(ZeroDivisionError, match="lane failed"):
        runner.join(runner.beside("broken step", broken))


def test_a_failing_main_lane_waits_for_the_irt_lane(monkeypatch, tmp_path):
    """An error in the model steps (here a deliberate one in the CFA step) is raised only after the IRT
    lane has finished, so the process-wide BLAS limit and warning router are restored."""
    from psychometrics import _linalg
    from psychometrics.simulate import simulate_study, write_table

    data = write_table(simulate_study(None, n=200, seed=2), tmp_path / "responses.csv")
    done = threading.Event()
    irt = run_mod.irt_step

    def slow_irt(*args, **kwargs):
        out = irt(*args, **kwargs)
        done.set()
        return out

    def boom(*args, **kwargs):
        raise ZeroDivisionError("cfa failed")

    monkeypatch.setattr(run_mod, "irt_step", slow_irt)
    monkeypatch.setattr(run_mod, "cfa_step", boom)
    monkeypatch.setattr(run_mod, "_beside", lambda opts, n: (True, True, False))
    filters = list(warnings.filters)
    with pytest.raises(ZeroDivisionError, match="cfa failed"):
        validate(MSS, data, group="career_stage", id_column="id", quiet=True, options={"n_boot": 0,
                                                                                     "parallel_iter": 10})
    assert done.is_set()
    assert _linalg._pinned == 0
    assert list(warnings.filters) == filters


@pytest.mark.parametrize("failing", ["cfa_step", "analyse_items"])
def test_a_failing_main_lane_stops_the_worker_processes(monkeypatch, tmp_path, failing):
    """With the IRT and invariance steps in worker processes, an error in the main lane (the CFA step) or in
    a lane joined before the IRT worker (item analysis, on a thread) stops and reaps the workers before it
    is raised (no process left behind), and restores the BLAS limit."""
    from psychometrics import _linalg
    from psychometrics.pipeline import _fork
    from psychometrics.simulate import simulate_study, write_table

    if not _fork.fork_supported():
        pytest.skip("worker processes need fork (Linux)")
    data = write_table(simulate_study(None, n=200, seed=2), tmp_path / "responses.csv")
    pids = tmp_path / "pids.txt"
    irt, ladder = run_mod.irt_step, run_mod.invariance_step

    def boom(*args, **kwargs):
        raise ZeroDivisionError("cfa failed")

    monkeypatch.setattr(run_mod, "irt_step", _where(pids, "irt", irt))
    monkeypatch.setattr(run_mod, "invariance_step", _where(pids, "invariance", ladder))
    monkeypatch.setattr(run_mod, failing, boom)
    monkeypatch.setattr(run_mod, "_beside", lambda opts, n: (True, True, True))
    with pytest.raises(ZeroDivisionError, match="cfa failed"):
        validate(MSS, data, group="career_stage", id_column="id", quiet=True, options={"n_boot": 0,
                                                                                     "parallel_iter": 10})
    assert _linalg._pinned == 0
    for pid in {int(line.split()[1]) for line in pids.read_text().splitlines()} if pids.exists() else ():
        assert pid != os.getpid()
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped


def test_the_run_thaws_what_it_froze(tmp_path, monkeypatch):
    """``validate`` keeps the objects alive at its start out of the collector's full passes while the
    steps run, and leaves the collector as it found it — also when worker processes were forked."""
    import gc

    from psychometrics.pipeline import _fork
    from psychometrics.simulate import simulate_study, write_table

    data = write_table(simulate_study(None, n=200, seed=3), tmp_path / "responses.csv")
    seen = []
    original = run_mod._run_steps

    def spy(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return original(*args, **kwargs)

    monkeypatch.setattr(run_mod, "_run_steps", spy)
    monkeypatch.setattr(run_mod, "_beside", lambda opts, n: (True, True, _fork.fork_supported()))
    before = gc.get_freeze_count()
    validate(MSS, data, group="career_stage", id_column="id", quiet=True, options={"n_boot": 0, "parallel_iter": 10})
    assert before == 0 and seen[0] > 0 and gc.get_freeze_count() == 0
