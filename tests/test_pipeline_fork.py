"""``pipeline/_fork.py``: a call in a forked worker process — its result, its exception (with the
worker's traceback as a note), a worker that dies, a stopped worker — and ``Runner.in_process`` on it."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

from psychometrics.pipeline import _fork
from psychometrics.pipeline import run as run_mod

pytestmark = pytest.mark.skipif(not _fork.fork_supported(), reason="worker processes need fork (Linux)")


def test_result_comes_back_from_the_worker():
    x = np.arange(300_000, dtype=float)  # (bigger than a pipe's buffer: read while the worker writes)
    call = _fork.ForkedCall(lambda a: (os.getpid(), a * 2), x)
    pid, y = call.result()
    assert pid != os.getpid()
    np.testing.assert_array_equal(y, x * 2)


def test_arrays_come_back_out_of_band_equal_aligned_and_writable():
    """Large arrays travel beside the pickle (protocol 5, out of band): C- and Fortran-ordered, a strided
    view (pickled in band), several dtypes and an empty one — equal, in their order, aligned and writable."""
    rng = np.random.default_rng(1)
    sent = {"c": rng.random((700, 300)), "f": np.asfortranarray(rng.random((300, 200))),
            "view": rng.random((400, 400))[::3, 1::2], "ints": np.arange(100_001, dtype=np.int8),
            "empty": np.zeros((0, 4)), "text": "x" * 10}
    got = _fork.ForkedCall(lambda: sent).result()
    assert got.keys() == sent.keys() and got["text"] == sent["text"]
    for name in ("c", "f", "view", "ints", "empty"):
        np.testing.assert_array_equal(got[name], sent[name])
        assert got[name].dtype == sent[name].dtype
        assert got[name].flags.aligned and got[name].flags.writeable, name
    assert got["f"].flags.f_contiguous and got["c"].flags.c_contiguous


def test_exception_is_raised_here_with_the_workers_traceback():
    def broken():
        raise KeyError("no such item")

    with pytest.raises(KeyError, match="no such item") as info:
        _fork.ForkedCall(broken).result()
    assert "in the worker process" in info.value.__notes__[0]
    assert "broken" in info.value.__notes__[0]


def test_an_unpicklable_result_is_a_lost_result_naming_it():
    with pytest.raises(_fork.WorkerLost, match="could not send its generator back .*cannot pickle"):
        _fork.ForkedCall(lambda: (i for i in range(3))).result()


def test_a_dead_worker_is_reported():
    with pytest.raises(_fork.WorkerLost, match="signal 9"):
        _fork.ForkedCall(lambda: os.kill(os.getpid(), 9)).result()
    with pytest.raises(_fork.WorkerLost, match="exit status 3"):
        _fork.ForkedCall(lambda: os._exit(3)).result()


def test_cancel_stops_and_reaps_the_worker():
    call = _fork.ForkedCall(time.sleep, 60)
    pid = call.pid
    t = time.perf_counter()
    call.cancel()
    assert time.perf_counter() - t < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left
    with pytest.raises(_fork.WorkerLost, match="stopped"):
        call.result()
    call.cancel()  # (twice: nothing)


def test_runner_in_process_records_the_workers_warnings_and_its_place():
    runner = run_mod.Runner(quiet=True, total=2)
    runner.plan(["first", "second"])

    def step(x):
        warnings.warn("from the worker", RuntimeWarning, stacklevel=1)
        return os.getpid(), x + 1

    lane = runner.in_process("second", step, 41)
    assert runner.run("first", lambda: 0) == 0
    pid, value = runner.join(lane)
    assert pid != os.getpid() and value == 42
    assert [d.message for d in runner.diagnostics] == ["second: from the worker"]
    assert list(runner.timings) == ["first", "second"] and runner.timings["second"] > 0


def test_runner_in_process_runs_a_lost_step_here_and_says_so(monkeypatch):
    runner = run_mod.Runner(quiet=True, total=1)
    parent = os.getpid()

    def step():
        if os.getpid() != parent:
            os._exit(9)  # the worker dies
        return "ran here"

    assert runner.join(runner.in_process("step", step)) == "ran here"
    [d] = runner.diagnostics
    assert d.category == "WorkerLost" and "exit status 9" in d.message and "ran again in the main process" in d.message

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    runner = run_mod.Runner(quiet=True, total=1)
    assert runner.join(runner.in_process("step", step)) == "ran here"
    assert "no worker process could be started (Resource temporarily unavailable)" in runner.diagnostics[0].message


def test_no_fork_while_another_thread_runs():
    import threading

    gate = threading.Event()
    other = threading.Thread(target=gate.wait, name="someone else's loop", daemon=True)
    other.start()
    try:
        assert not _fork.fork_available()
    finally:
        gate.set()
        other.join()


def test_a_step_whose_result_cannot_be_sent_runs_here():
    runner = run_mod.Runner(quiet=True, total=1)
    parent = os.getpid()

    def step():
        return (i for i in range(2)) if os.getpid() != parent else "ran here"

    assert runner.join(runner.in_process("step", step)) == "ran here"
    assert "could not send its tuple back (TypeError: cannot pickle 'generator'" in runner.diagnostics[0].message


def test_a_worker_ends_with_the_process_that_forked_it(tmp_path):
    """A process that forked a worker and is then gone (killed, or a worker stopped while its own worker
    runs — the IRT worker's total-score process): the worker is killed with it, not left computing."""
    import subprocess
    import sys

    script = ("import os, sys, time\nfrom psychometrics.pipeline import _fork\n"
              "call = _fork.ForkedCall(time.sleep, 60)\nprint(call.pid, flush=True)\nos._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    pid = int(out.stdout.split()[0])

    def running() -> bool:
        try:  # (a killed orphan may linger as a zombie until its new parent reaps it)
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    t = time.perf_counter()
    while running() and time.perf_counter() - t < 10:
        time.sleep(0.05)
    assert not running()
