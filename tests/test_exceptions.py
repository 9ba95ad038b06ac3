"""exceptions.py's thread-safe warnings: :func:`recorded_warnings` and :func:`quiet_warnings` keep each
thread's (context's) warnings apart, where ``warnings.catch_warnings`` would swap process-wide state."""

from __future__ import annotations

import threading
import warnings

from psychometrics.exceptions import DataError, DataQualityWarning, quiet_warnings, recorded_call, recorded_warnings


def test_two_threads_record_only_their_own_warnings():
    barrier = threading.Barrier(2)
    got: dict[str, list[str]] = {}
    filters = list(warnings.filters)

    def worker(name: str, quiet: bool) -> None:
        with recorded_warnings() as caught:
            barrier.wait(timeout=10)
            for k in range(200):
                warnings.warn(f"{name} {k}", DataQualityWarning, stacklevel=1)
                if quiet:
                    with quiet_warnings(DataQualityWarning):
                        warnings.warn(f"{name} silenced {k}", DataQualityWarning, stacklevel=1)
                        warnings.warn(f"{name} other {k}", RuntimeWarning, stacklevel=1)
            barrier.wait(timeout=10)
        got[name] = [str(w.message) for w in caught]

    threads = [threading.Thread(target=worker, args=(name, name == "b")) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got["a"] == [f"a {k}" for k in range(200)]
    assert got["b"] == [m for k in range(200) for m in (f"b {k}", f"b other {k}")]  # only the category silenced
    assert list(warnings.filters) == filters  # the router restored the filters when its last user left


def test_nested_blocks_behave_as_catch_warnings():
    """An inner recorder gets the inner warnings; a recorder inside a quiet block records (as
    ``catch_warnings(record=True)`` + "always" would); a repeated warning is recorded every time."""
    with recorded_warnings() as outer:
        warnings.warn("outer", UserWarning, stacklevel=1)
        with recorded_warnings() as inner:
            warnings.warn("inner", UserWarning, stacklevel=1)
            warnings.warn("inner", UserWarning, stacklevel=1)
        with quiet_warnings():
            warnings.warn("dropped", UserWarning, stacklevel=1)
            with recorded_warnings() as again:
                warnings.warn("kept inside", UserWarning, stacklevel=1)
    assert [str(w.message) for w in outer] == ["outer"]
    assert [str(w.message) for w in inner] == ["inner", "inner"]
    assert [str(w.message) for w in again] == ["kept inside"]


def test_outside_every_recorder_warnings_show_as_usual(recwarn):
    """Without a recorder the filters are Python's own (pytest's ``recwarn`` here sees the warning)."""
    warnings.warn("plain", UserWarning, stacklevel=1)
    with quiet_warnings():
        warnings.warn("silenced", UserWarning, stacklevel=1)
    assert [str(w.message) for w in recwarn] == ["plain"]


def test_recorded_call_returns_the_value_or_a_kept_exception_with_the_warnings():
    """``recorded_call``: the value and the call's own warnings; an exception of ``keep`` is handed back with the
    warnings issued before it; any other exception propagates."""
    import pytest

    def task(fail: type[BaseException] | None = None) -> int:
        warnings.warn("first", DataQualityWarning, stacklevel=1)
        if fail is not None:
            raise fail("no")
        return 7

    value, exc, caught = recorded_call(task)
    assert value == 7 and exc is None and [str(w.message) for w in caught] == ["first"]
    value, exc, caught = recorded_call(task, DataError, keep=(DataError,))
    assert value is None and isinstance(exc, DataError) and [str(w.message) for w in caught] == ["first"]
    with pytest.raises(ValueError):
        recorded_call(task, ValueError, keep=(DataError,))
