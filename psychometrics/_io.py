"""Writing output files: never onto an input, never over existing outputs unasked, always atomically.

The rules every command follows (docs/quickstart.md, "Output files"):

* an output path that is one of the run's input files (the spec, data, config, key,
  companion specs — compared after resolving links) is refused, even with ``--overwrite``;
* outputs that already exist are refused unless ``overwrite`` is given; with it, the files
  replaced are listed (:func:`announce_replaced`, on stderr, also with ``--quiet``);
* each file is written to a temporary file in the same folder and renamed over the target
  (:func:`atomic_write`), so an interrupted run leaves either the old file or the new
  one, never half a report, key or data file.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from psychometrics._text import plain_safe
from psychometrics.exceptions import OutputError


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_outputs(outputs: Sequence[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str] | None],
                  overwrite: bool = False, option: str = "--out") -> list[Path]:
    """Check the planned ``outputs`` before anything is computed or written.

    Returns the outputs that exist and will be replaced (only possible with ``overwrite``).

    Raises
    ------
    OutputError
        An output is an input file; two outputs are the same file; an output is a folder;
        or outputs exist and ``overwrite`` is false. The message names the files.
    """
    outs = [Path(o) for o in outputs]
    ins = [Path(i) for i in inputs if i is not None and isinstance(i, (str, os.PathLike))]
    for o in outs:
        for i in ins:
            if _same_file(o, i):
                raise OutputError(f"{option}: the output {o} is the input file {i} of this run; refusing to "
                                  "overwrite it (also with --overwrite). Write the output somewhere else.")
    for j, o in enumerate(outs):
        for o2 in outs[:j]:
            if _same_file(o, o2):
                raise OutputError(f"{option}: two outputs would both be written to {o}; give different names.")
        if o.is_dir():
            raise OutputError(f"{option}: {o} is a folder; the output file cannot replace it.")
    existing = [o for o in outs if o.exists()]
    if existing and not overwrite:
        folder = existing[0].parent
        names = ", ".join(o.name for o in existing)
        raise OutputError(f"{option}: {folder} already holds {names}; refusing to replace "
                          f"{'them' if len(existing) > 1 else 'it'}. Give --overwrite to replace "
                          "existing outputs, or choose another output path. Nothing was written.")
    return existing


def announce_replaced(replaced: Sequence[Path]) -> None:
    """Say on stderr which existing files were replaced (printed also under ``--quiet``); file
    names are user text: control characters are shown visibly, never sent to the terminal."""
    if replaced:
        names = ", ".join(str(p) for p in replaced)
        sys.stderr.write("Replaced existing file(s) (--overwrite): " + plain_safe(names) + "\n")
        sys.stderr.flush()


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` to a temporary file beside ``path`` (same suffix), then rename it to ``path``.

    The rename is atomic on POSIX and Windows (:func:`os.replace`); on any failure the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))
