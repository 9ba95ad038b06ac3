"""_linalg's BLAS thread helpers: :func:`one_blas_thread_per_lane` holds one BLAS thread while the
pipeline's lanes run, the per-region helpers leave it alone inside, and the limits come back."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from psychometrics import _linalg
from psychometrics.exceptions import recorded_warnings

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads(info: list[dict] | None = None) -> list[int]:
    """BLAS threads of every BLAS library (not OpenMP's, which scikit-learn may have loaded)."""
    info = threadpoolctl.threadpool_info() if info is None else info
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


def test_one_blas_thread_per_lane_pins_and_restores():
    """As the pipeline uses it: the main thread holds the limit around the lanes' threads, which run
    products inside ``single_thread_blas`` and ``all_core_blas`` (no-ops there: leaving them does not
    lift the limit); afterwards the limits are those before. The limits are read inside through the
    cached controller — no new controller is created while the lanes run (a new one created on one
    thread while another restores a limit could leave OpenBLAS at the limit, threadpoolctl 3)."""
    controller = _linalg.blas_controller()  # (loads scipy's own BLAS too, as the helpers do)
    before = _blas_threads()
    seen: list[list[int]] = []
    x = np.random.default_rng(0).random((300, 300))

    def lane() -> None:
        for _ in range(3):
            with _linalg.all_core_blas():
                x @ x
            with _linalg.single_thread_blas():
                x @ x

    with _linalg.one_blas_thread_per_lane():
        seen.append(_blas_threads(controller.info()))
        threads = [threading.Thread(target=lane) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen.append(_blas_threads(controller.info()))
    assert seen and all(set(x) == {1} for x in seen)
    assert _linalg._pinned == 0
    assert _blas_threads() == before


def test_blas_controller_sees_scipys_blas_without_scipy_optimize():
    """``blas_controller`` loads scipy's own BLAS through scipy.linalg (not the heavier scipy.optimize): in a
    fresh process its libraries are all that threadpoolctl finds once scipy.optimize is imported too."""
    import subprocess
    import sys

    code = ("import sys, numpy\n"
            "from psychometrics._linalg import blas_controller\n"
            "from threadpoolctl import ThreadpoolController\n"
            "c = blas_controller()\n"
            "seen = sorted(i['filepath'] for i in c.info() if i['user_api'] == 'blas')\n"
            "assert 'scipy.optimize' not in sys.modules\n"
            "import scipy.optimize\n"
            "after = sorted(i['filepath'] for i in ThreadpoolController().info() if i['user_api'] == 'blas')\n"
            "print(seen == after, len(seen))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    same, count = out.stdout.split()
    assert same == "True" and int(count) >= 1


def test_side_thread_only_with_a_core_to_spare_in_a_copy_of_the_context(monkeypatch):
    """``side_thread``: None below its rows, inside a lane or with one core (the caller computes in line);
    otherwise a second thread running each task in a copy of the caller's context, BLAS held at one thread
    meanwhile (and restored), an exception raised where the result is asked for."""
    import contextvars

    var = contextvars.ContextVar("side_test", default="unset")
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    with _linalg.side_thread(10, 100) as submit:
        assert submit is None
    with _linalg.one_blas_thread_per_lane(), _linalg.side_thread(100, 10) as submit:
        assert submit is None
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 1)
    with _linalg.side_thread(100, 10) as submit:
        assert submit is None
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    before = _blas_threads()
    token = var.set("caller's")
    try:
        with _linalg.side_thread(100, 10) as submit:
            assert submit is not None and _linalg.in_lane()
            got = submit(lambda a, b=0: (threading.current_thread().name, var.get(), a + b), 1, b=2).result()
            failed = submit(lambda: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                failed.result()
            warned = submit(lambda: warnings.warn("from the side", UserWarning) or "done")
            with recorded_warnings() as caught:
                warnings.warn("in line first", UserWarning)
                assert warned.result() == "done"
    finally:
        var.reset(token)
    assert got[0].startswith("psychometrics-side") and got[1:] == ("caller's", 3)
    assert [str(w.message) for w in caught] == ["in line first", "from the side"]  # issued where asked for
    assert not _linalg.in_lane() and _blas_threads() == before
