"""Timing helpers shared by the benchmark scripts (private; run the scripts as
``python benchmarks/bench_<x>.py``, which puts this folder on ``sys.path``).

* :func:`median_time` — median wall time of a Python call after one warm-up run;
* :func:`wall_and_cpu_times` — wall and CPU time of each of several calls;
* :func:`rscript_times` — run an R timing script on a JSON list of cases and read back
  its ``{case name: seconds}`` JSON, or None when R is not installed or the script fails.
  The script is run after :data:`R_PRELUDE`, which reads ``cases`` and ``reps`` and defines
  ``time_cases(make_run)``: the R twin of :func:`median_time` over all cases.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


#: R code run before every timing script: ``args`` (1: cases JSON, 2: repeats, 3...: the
#: script's own), ``cases``, ``reps`` and ``time_cases(make_run)``, where ``make_run(cs)``
#: prepares case ``cs`` (untimed) and returns the function to time.
R_PRELUDE = r"""
args <- commandArgs(trailingOnly = TRUE)
cases <- jsonlite::fromJSON(args[1], simplifyVector = FALSE)
reps <- as.integer(args[2])
time_cases <- function(make_run) {
  out <- list()
  for (cs in cases) {
    one <- make_run(cs)
    one()  # warm-up
    t <- numeric(reps)
    for (i in seq_len(reps)) { t0 <- proc.time()[["elapsed"]]; one(); t[i] <- proc.time()[["elapsed"]] - t0 }
    out[[cs$name]] <- median(t)
  }
  cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
}
"""


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time (seconds) of ``repeat`` calls of ``fn`` after one warm-up call
    (imports, caches)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wall_and_cpu_times(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU times (seconds) of ``repeats`` calls of ``fn`` (no warm-up): CPU time
    shows the cost when the machine is shared."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def rscript_times(script: str, cases: list[dict[str, Any]], *args: str) -> dict[str, float] | None:
    """Run ``Rscript`` on :data:`R_PRELUDE` + ``script`` with arguments ``<cases.json> <args...>``
    and parse the last line of its output as JSON (the script ends with ``time_cases(...)``).

    Returns None, with a message on stderr, when ``Rscript`` is not on the PATH or fails.
    """
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        rpath = Path(tmp) / "bench.R"
        rpath.write_text(R_PRELUDE + script, encoding="utf-8")
        cpath = Path(tmp) / "cases.json"
        cpath.write_text(json.dumps(cases), encoding="utf-8")
        proc = subprocess.run(["Rscript", str(rpath), str(cpath), *map(str, args)],
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print("lavaan timing failed:", proc.stderr.strip()[-500:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])
