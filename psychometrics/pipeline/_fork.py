"""A pipeline step in a forked worker process (private).

Steps running beside each other on threads share the interpreter: the GIL lets the two lanes use
about 1.3 of two cores (docs/large-samples.md). A step whose inputs are already in memory and whose
result is small — the IRT step, the invariance ladder — can instead run in a child process made by
``fork``: the child sees
the parent's data copy-on-write (nothing is serialised on the way in), runs the step on its own core,
and sends only its result back through a pipe (pickled by this package's own code, never read from
a user's file). The numbers are those of the same function in this process, bit for bit: the same
code on the same arrays, with the same one BLAS thread (``_linalg.one_blas_thread_per_lane`` is in
force when the child is made, and a forked process keeps the parent's BLAS settings).

Only where ``fork`` is the safe and cheap start (Linux): :func:`fork_available`. Made while no other
thread of this package runs — the caller forks before starting its other lanes, and
:func:`psychometrics.pipeline._prewarm.wait` finishes the background imports first — so that no lock
of the parent is held in the child. The child never returns into the caller's code: it leaves with
``os._exit`` (no atexit handlers, no flushing of the parent's buffered output a second time).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = ["fork_supported", "fork_available", "ForkedCall", "WorkerLost", "SentWarning", "sendable"]


class SentWarning(NamedTuple):
    """A warning recorded in a worker process as it is sent back: its class and its text (what the pipeline
    keeps of a recorded warning; ``warnings.WarningMessage`` itself may hold objects that do not pickle)."""

    category: type[Warning]
    message: str


def sendable(caught: Iterable[Any]) -> list[SentWarning]:
    """Recorded warnings (``warnings.WarningMessage``) as :class:`SentWarning` tuples, to return from a worker."""
    return [SentWarning(w.category, str(w.message)) for w in caught]


class WorkerLost(RuntimeError):
    """The worker process ended without sending its result (killed, out of memory, crashed)."""


def fork_supported() -> bool:
    """Linux with ``os.fork`` (elsewhere ``fork`` is unsafe with system libraries, or missing)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def fork_available() -> bool:
    """Whether steps may run in forked worker processes now: Linux with ``os.fork``, and no Python thread
    running but the main thread and this package's import thread (which the fork waits for). Another
    library's thread (e.g. a Dask client's event loop) could hold a lock a worker would then wait for
    forever."""
    import threading

    if not fork_supported():
        return False
    main = threading.main_thread()
    return all(t is main or t.name == "psychometrics-prewarm" for t in threading.enumerate())


class ForkedCall:
    """``fn(*args, **kwargs)`` in a forked child process; :meth:`result` waits for it.

    The result (or the exception the call raised) comes back pickled through a pipe. A result or
    exception that cannot be pickled is a lost result (:class:`WorkerLost`, naming it).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        read, write = os.pipe()
        parent = os.getpid()
        # The parent's objects into the collector's permanent generation for the fork: a collection in the
        # child would otherwise write to every tracked object's header and copy all their pages. (Left
        # there in the parent too if it had frozen objects already: one thaw, by whoever froze first.)
        thaw = gc.get_freeze_count() == 0
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            if thaw:
                gc.unfreeze()
            os.close(read)
            os.close(write)
            raise
        if pid == 0:  # the child: run, send, leave — never return into the caller's code
            code = 1
            try:
                os.close(read)
                _end_with(parent)
                _send(write, _call(fn, args, kwargs))
                code = 0
            finally:
                os._exit(code)
        if thaw:
            gc.unfreeze()
        os.close(write)
        self.pid: int | None = pid
        self._fd = read

    def result(self) -> Any:
        """The call's return value (its exception re-raised here); :class:`WorkerLost` when the child
        ended without a result."""
        if self.pid is None:
            raise WorkerLost("the worker process was stopped")
        with os.fdopen(self._fd, "rb", buffering=0) as pipe:
            parts = _receive(pipe)
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if parts is None:
            how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit status {os.WEXITSTATUS(status)}")
            raise WorkerLost(f"the worker process ended with {how} before sending its result")
        kind, value = pickle.loads(parts[0], buffers=parts[1])  # (our own child's bytes, not a user's file)
        if kind == "error":
            raise value
        if kind == "unsent":
            raise WorkerLost(value)
        return value

    def cancel(self) -> None:
        """Stop the worker (SIGKILL) and reap it; its result is dropped."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # (ended already: still to be reaped)
            pass
        os.waitpid(self.pid, 0)
        os.close(self._fd)
        self.pid = None


def _end_with(parent: int) -> None:
    """In the child: be killed when the process that forked it ends (Linux ``prctl(PR_SET_PDEATHSIG,
    SIGKILL)``) — a main process killed, or a worker stopped while its own worker runs — instead of
    computing on as an orphan; leave at once if it has ended already. Without ``prctl`` nothing changes."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc / no prctl
        return
    if os.getppid() != parent:  # (the parent ended before the call: no signal will come)
        os._exit(1)


#: Linux prctl option: the signal the calling process gets when its parent ends
_PR_SET_PDEATHSIG = 1


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - re-raised in the parent, with the worker's traceback as a note
        exc.add_note("in the worker process:\n" + traceback.format_exc(limit=-20))
        return "error", exc


#: the message's head: the pickle's length and the number of out-of-band buffers, then each buffer's length
_HEAD = struct.Struct("<QQ")
_SIZE = struct.Struct("<Q")


def _send(fd: int, payload: tuple[str, Any]) -> None:
    """``payload`` pickled (protocol 5) with its large buffers — NumPy arrays' data — out of band: written
    to the pipe as they are, and read on the other side each into a buffer of its own that the unpickled
    arrays then use (one copy on each side instead of three: 0.3 s for the invariance ladder's 64 MB at
    10⁵ rows)."""
    try:
        buffers: list[Any] = []
        data = pickle.dumps(payload, protocol=5, buffer_callback=buffers.append)
        try:
            raws = [b.raw() for b in buffers]
        except BufferError:  # (a buffer that is not contiguous: then everything in band)
            data, raws = pickle.dumps(payload, protocol=5), []
    except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception: say which
        what = type(payload[1]).__name__
        data, raws = pickle.dumps(("unsent", f"the worker process could not send its {what} back "
                                             f"({type(exc).__name__}: {str(exc)[:200]})")), []
    head = _HEAD.pack(len(data), len(raws)) + b"".join(_SIZE.pack(r.nbytes) for r in raws)
    for part in (memoryview(head), memoryview(data), *raws):
        while part:
            part = part[os.write(fd, part):]
    os.close(fd)


def _receive(pipe: Any) -> tuple[bytearray, list[bytearray]] | None:
    """The pickle and its out-of-band buffers from :func:`_send`; None when the pipe ends first (the worker
    ended without sending it all)."""
    head = _read_exact(pipe, _HEAD.size)
    if head is None:
        return None
    n_data, n_buffers = _HEAD.unpack(head)
    sizes = _read_exact(pipe, _SIZE.size * n_buffers)
    data = _read_exact(pipe, n_data)
    if sizes is None or data is None:
        return None
    buffers = []
    for (size,) in _SIZE.iter_unpack(sizes):
        buf = _read_exact(pipe, size)
        if buf is None:
            return None
        buffers.append(buf)
    return data, buffers


def _read_exact(pipe: Any, size: int) -> bytearray | None:
    """``size`` bytes from the pipe into a new buffer (blocking reads release the GIL); None at its end."""
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = pipe.readinto(view[got:])
        if not n:
            return None
        got += n
    return buf
