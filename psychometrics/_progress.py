"""Progress display for long computations (bootstrap, parallel analysis, simulation).

Progress bars go to stderr through rich and only when the work is long enough
to be worth watching and stderr is a terminal; ``show=False`` silences them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable

__all__ = ["progress", "hide_progress"]

#: no bars in this context: a pipeline step running beside another (rich shows one live display at a time)
_hidden: ContextVar[bool] = ContextVar("psychometrics_progress_hidden", default=False)


def hide_progress() -> None:
    """No progress bars from now on in the current context (run it in a copied context)."""
    _hidden.set(True)


@contextmanager
def progress(description: str, total: int, show: bool | None = None) -> Iterator[Callable[[int], None]]:
    """Context manager yielding ``advance(n)`` to report ``n`` finished units of work.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"bootstrap (B = 2000)"``.
    total : int
        Number of units of work.
    show : bool, optional
        Force the bar on or off; by default it shows when stderr is a terminal.
    """
    if show is None:
        show = sys.stderr.isatty() and not _hidden.get()
    if not show or total <= 0:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
