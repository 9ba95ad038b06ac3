"""psychometrics.plan.runner: the batch size from a measured cost, kept in the folder's manifest;
the workers writing their batches; the run window and the CPU accounting by role.

The determinism of the numbers across workers, batching and resume is tested in
tests/test_plan.py; here: the batching chosen by measurement changes no number (plan.json
equal to a run with a given batch size), a resumed run reuses the folder's batches, and the
client only renames what the workers wrote.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from psychometrics.exceptions import SpecError
from psychometrics.plan import from_syntax, monte_carlo
from psychometrics.plan.runner import (PlanConfig, _finish_batch, _probe_token, auto_batch_size, execute,
                                       store_batch, timed_batch_size)

ONE_FACTOR = "f =~ 0.7*x1 + 0.7*x2 + 0.6*x3 + 0.6*x4 + 0.5*x5 + 0.5*x6"
KW = dict(n=[120, 240], reps=24, analyses="cfa,reliability", show_progress=False)


def test_timed_batch_size_rule():
    # about two seconds per task, at least ten batches per condition, at least 0.05 s of work when possible
    assert timed_batch_size(1000, 0.0025) == 100      # 800 per 2 s, capped by ten batches
    assert timed_batch_size(10_000, 0.0025) == 800    # a two-second task
    assert timed_batch_size(1000, 0.12) == 17         # the ladder: 17 replications ≈ 2 s
    assert timed_batch_size(60, 0.12) == 6            # ten batches of a short run
    assert timed_batch_size(200, 0.0025) == 20        # ten batches (50 ms each: at the 0.05 s floor)
    assert timed_batch_size(100, 0.0025) == 20        # tasks of ≥ 0.05 s rather than ten of 25 ms
    assert timed_batch_size(5, 0.0025) == 5           # a tiny run is one task
    assert timed_batch_size(1000, 3.0) == 1           # an expensive replication is a task of its own
    assert timed_batch_size(400, None) == auto_batch_size(400)  # nothing measured: the old default


@pytest.mark.parametrize("reps, size, conditions", [(5000, 340, 1), (1000, 100, 4), (60, 6, 2), (5, 5, 1), (7, 10, 3)])
def test_batches_cover_each_replication_once_with_a_finer_tail(reps, size, conditions):
    pop = from_syntax(ONE_FACTOR)
    cfg = PlanConfig(pop, ("cfa",), tuple((100 + c, 1.0, (1.0,)) for c in range(conditions)), reps, 0,
                     batch_size=size)
    batches = cfg.batches()
    for c in range(conditions):
        reps_c = sorted(r for cc, s, e in batches if cc == c for r in range(s, e))
        assert reps_c == list(range(reps))  # every replication of every condition exactly once
    assert all(e - s <= size for _, s, e in batches)
    last = conditions - 1
    # the earlier conditions: whole batches; the last condition's last two batches in quarters
    assert [(s, e) for c, s, e in batches if c < last] == [(s, min(s + size, reps)) for _ in range(last)
                                                         for s in range(0, reps, size)]
    tail = [e - s for c, s, e in batches if c == last][-4:]
    assert max(tail) <= -(-size // 4)
    assert [b[0] for b in batches] == sorted(b[0] for b in batches)  # submission order: by condition
    assert cfg.batches() == batches  # a rule of the settings only (resume finds the same files)


def test_measured_batch_size_changes_no_number_and_is_kept_for_resume(tmp_path):
    given = monte_carlo(ONE_FACTOR, out=tmp_path / "given", workers=1, batch_size=5, **KW)
    auto = monte_carlo(ONE_FACTOR, out=tmp_path / "auto", workers=2, **KW)
    run = auto.run
    assert run["batch_size_from"] == "measured" and run["measured_cpu_s_per_replication"] > 0
    assert run["batch_size"] == timed_batch_size(24, run["measured_cpu_s_per_replication"])
    manifest = json.loads((tmp_path / "auto" / "replications" / "settings.json").read_text())
    assert manifest["batch_size"] == run["batch_size"] and manifest["batch_size_from"] == "measured"
    # plan.json holds no batching: identical to the run with a given batch size
    assert (tmp_path / "auto" / "plan.json").read_bytes() == (tmp_path / "given" / "plan.json").read_bytes()
    assert "batch_size" not in json.loads((tmp_path / "auto" / "plan.json").read_text())["settings"]
    assert auto.settings["batch_size"] == run["batch_size"]
    # the workers wrote every batch; the client renamed them; nothing temporary is left
    assert run["batches_written_by_workers"] == run["batches"]
    rep_dir = tmp_path / "auto" / "replications"
    assert not list(rep_dir.glob("*.part")) and not list(rep_dir.glob(".probe-*"))
    # the run window, the CPU by role and the overhead shares
    assert 0 < run["run_s"] <= run["elapsed_s"] and run["teardown_s"] >= 0
    roles = run["cpu_s"]
    assert roles["all"] == pytest.approx(roles["client"] + roles["scheduler"] + roles["workers"])
    assert roles["workers_computing"] == pytest.approx(run["compute_cpu_s"])
    assert 0 <= run["scheduling_overhead"] < 1 and 0 <= run["scheduling_overhead_cpu"] < 1


def test_resumed_run_reuses_the_folders_batches(tmp_path, monkeypatch):
    pop = from_syntax(ONE_FACTOR)
    cfg = PlanConfig(pop, ("cfa", "reliability"), tuple((n, 1.0, (1.0,)) for n in (120, 240)), 24, 0, batch_size=5)
    done = []

    def interrupt(k):
        done.append(k)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(cfg, tmp_path, workers=1, show_progress=False, on_batch=interrupt)
    assert len(list((tmp_path / "replications").glob("*.parquet"))) == 2
    # another batch size for this folder is refused with what to do
    with pytest.raises(SpecError, match="holds batches of 5 replications"):
        monte_carlo(ONE_FACTOR, out=tmp_path, workers=1, batch_size=6, **KW)
    # left out: the folder's size is used (nothing is measured), the two batches are resumed
    res = monte_carlo(ONE_FACTOR, out=tmp_path, workers=1, **KW)
    assert res.run["batch_size"] == 5 and res.run["batch_size_from"] == "folder"
    assert res.run["replications_resumed"] == 10 and res.run["replications_computed"] == 38
    fresh = monte_carlo(ONE_FACTOR, out=tmp_path / "fresh", workers=1, batch_size=5, **KW)
    assert res.criteria.equals(fresh.criteria)


class _Done:
    """A finished future holding ``value`` (what ``_finish_batch`` fetches when no file is there)."""

    def __init__(self, value):
        self.value, self.fetched = value, False

    def result(self):
        self.fetched = True
        return self.value


def test_store_batch_writes_only_where_the_folder_is_shared(tmp_path):
    pop = from_syntax(ONE_FACTOR)
    cfg = PlanConfig(pop, ("cfa",), ((120, 1.0, (1.0,)),), 4, 0, batch_size=2)
    token = _probe_token(tmp_path)
    # no probe file for this token (another machine's file system): the frame goes back to the client
    frame = store_batch(cfg, 0, 0, 2, str(tmp_path), "0" * 32)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    fut = _Done(frame)
    _finish_batch(tmp_path, token, (0, 0, 2), fut)
    assert fut.fetched
    # the probe reads back: the worker writes <batch>.<token>.part, returns nothing, the client only renames
    assert store_batch(cfg, 0, 2, 4, str(tmp_path), token) is None
    assert len(list(tmp_path.glob(f"*.{token}.part"))) == 1
    fut = _Done(None)
    _finish_batch(tmp_path, token, (0, 2, 4), fut)
    assert not fut.fetched
    names = sorted(p.name for p in tmp_path.glob("*.parquet"))
    assert names == ["c000-r000000-000001.parquet", "c000-r000002-000003.parquet"]
    back = pd.read_parquet(tmp_path / names[1])
    assert back["rep"].tolist() == [2, 3] and not list(tmp_path.glob("*.part"))
    # a failed task has no file: its error is raised by result()
    with pytest.raises(RuntimeError, match="boom"):
        _finish_batch(tmp_path, token, (0, 4, 6), type("F", (), {"result": lambda self: (_ for _ in ()).throw(
            RuntimeError("boom"))})())
