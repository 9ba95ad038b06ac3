"""_linalg's BLAS thread helpers: :func:`one_blas_thread_per_lane` holds one BLAS thread for the block
(entered by several threads), the per-region helpers leave it alone inside, and the limits come back."""

from __future__ import annotations

import threading

import pytest

from psychometrics import _linalg

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_per_lane_pins_and_restores():
    _linalg.blas_controller()  # (loads scipy's own BLAS too, as the helpers do)
    before = _blas_threads()
    inside: list[list[int]] = []
    entered = threading.Barrier(2)

    def lane() -> None:
        with _linalg.one_blas_thread_per_lane():
            entered.wait(timeout=10)
            with _linalg.all_core_blas():  # no cores to give inside the lanes
                inside.append(_blas_threads())
            with _linalg.single_thread_blas():
                pass
            inside.append(_blas_threads())  # leaving single_thread_blas did not lift the limit
            entered.wait(timeout=10)

    threads = [threading.Thread(target=lane) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert inside and all(set(x) == {1} for x in inside)
    assert _linalg._pinned == 0
    assert _blas_threads() == before
