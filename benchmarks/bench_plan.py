"""Benchmark: Monte Carlo planning throughput on Dask vs a plain R loop of lavaan ``cfa()``.

    python benchmarks/bench_plan.py [--reps-hs 400] [--reps-ladder 40] [--r-reps 20]

Cases
  (a) Holzinger–Swineford 3 factors × 9 items, continuous, n = 300: per replication draw
      the data, fit the CFA (χ², fit indices, standardized loadings) — ``--analysis cfa``.
  (b) The demo study's 28-item, 5-factor, 3-group invariance ladder at n = 1,200 (Likert
      items): configural → metric → scalar → strict with the decision rule and partial
      releases — ``--analysis invariance``.

Printed per case: replications per second with 1 and 2 local Dask workers (wall time
after the cluster is up, and including start-up), the scaling ratio 2 workers / 1 worker,
the scheduling overhead (share of the workers' time after start-up not spent computing
replications), and — when ``Rscript`` is installed — replications per second of a plain
R loop doing the same per replication (``simulateData``/``MASS::mvrnorm`` + ``cfa()`` +
``fitMeasures``; for (b) the four ``cfa(group.equal = …)`` fits + ``lavTestLRT``, *without*
partial releases, i.e. less work than ours), timed in the same run, and the ratio.

Peak memory of the client process is printed too (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _rtiming import rscript_times  # noqa: E402  (runs R_PRELUDE: args, cases, reps)

HS_POP = ("visual =~ 0.77*x1 + 0.42*x2 + 0.58*x3\ntextual =~ 0.85*x4 + 0.86*x5 + 0.84*x6\n"
          "speed =~ 0.57*x7 + 0.72*x8 + 0.67*x9\n"
          "visual ~~ 0.46*textual\nvisual ~~ 0.47*speed\ntextual ~~ 0.28*speed")

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
make_run <- function(cs) {
  if (cs$kind == "hs") {
    function() {
      for (r in seq_len(cs$reps)) {
        d <- simulateData(cs$pop, sample.nobs = cs$n)
        fitMeasures(cfa(cs$model, data = d))
      }
    }
  } else {
    d0 <- read.csv(cs$data)
    eqs <- list("", "loadings", c("loadings", "intercepts"), c("loadings", "intercepts", "residuals"))
    function() {
      for (r in seq_len(cs$reps)) {
        fits <- lapply(eqs, function(eq) cfa(cs$model, data = d0, group = "group", group.equal = eq))
        lapply(fits, fitMeasures)
        lavTestLRT(fits[[1]], fits[[2]], fits[[3]], fits[[4]])
      }
    }
  }
}
# per case, after a warm-up loop: wall seconds (median of `reps` loops) and CPU seconds
# (user + system; independent of how loaded the machine is) of one loop
out <- list()
for (cs in cases) {
  one <- make_run(cs)
  one()
  wall <- numeric(reps); cpu <- numeric(reps)
  for (i in seq_len(reps)) {
    p0 <- proc.time(); one(); p1 <- proc.time() - p0
    wall[i] <- p1[["elapsed"]]; cpu[i] <- p1[["user.self"]] + p1[["sys.self"]]
  }
  out[[cs$name]] <- median(wall)
  out[[paste0(cs$name, "_cpu")]] <- median(cpu)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def _ours(population, n: int, reps: int, analysis: str, workers: int) -> dict:
    from psychometrics.plan import monte_carlo

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = monte_carlo(population, n=[n], reps=reps, out=out, analyses=analysis, workers=workers,
                          batch_size=max(5, min(25, reps // (4 * workers))), show_progress=False)
        wall = time.perf_counter() - t0
    run = res.run
    failed = int((res.replications["error"] != "").sum())
    return {"rate": reps / (run["elapsed_s"] - run["startup_s"]), "rate_total": reps / wall,
            "overhead": run["scheduling_overhead"], "startup": run["startup_s"], "failed": failed,
            "cpu": run["cpu_s_per_replication"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps-hs", type=int, default=400)
    ap.add_argument("--reps-ladder", type=int, default=40)
    ap.add_argument("--r-reps", type=int, default=20, help="replications per R timing (median of 3)")
    args = ap.parse_args()

    from psychometrics.plan import from_syntax, load_population

    hs = from_syntax(HS_POP)
    demo = load_population("default")
    cases = [("(a) HS 3 factors, n = 300, CFA", hs, 300, args.reps_hs, "cfa"),
             ("(b) demo 28 items, 5 factors, 3 groups, n = 1200, invariance ladder", demo, 1200, args.reps_ladder,
              "invariance")]

    # R: the same replications in a plain loop, timed in this run
    import numpy as np
    import pandas as pd

    # R times its loop by wall clock (median of 3); its CPU share on a loaded machine is the
    # same as a single Python worker's, so compare it with the 1-worker rate too
    with tempfile.TemporaryDirectory() as tmp:
        x, g = demo.draw(1200, np.random.default_rng(0))
        frame = pd.DataFrame(x, columns=list(demo.items))
        frame.insert(0, "group", np.asarray(demo.groups, dtype=object)[g])
        frame.to_csv(Path(tmp) / "demo.csv", index=False)
        r_cases = [{"name": "hs", "kind": "hs", "pop": HS_POP, "model": hs.model, "n": 300, "reps": args.r_reps},
                   {"name": "ladder", "kind": "ladder", "model": demo.model, "data": str(Path(tmp) / "demo.csv"),
                    "reps": max(2, args.r_reps // 4)}]
        rt = rscript_times(R_SCRIPT, r_cases, 2)
    r_n = {"hs": args.r_reps, "ladder": max(2, args.r_reps // 4)}
    r_rate = None if rt is None else {k: r_n[k] / rt[k] for k in r_n}
    r_cpu = None if rt is None else {k: rt[f"{k}_cpu"] / r_n[k] for k in r_n}

    for (label, pop, n, reps, analysis), key in zip(cases, ("hs", "ladder")):
        one = _ours(pop, n, reps, analysis, 1)
        two = _ours(pop, n, reps, analysis, 2)
        print(label)
        print(f"  ours, 1 worker : {one['rate']:8.2f} reps/s after start-up ({one['rate_total']:.2f} incl. "
              f"{one['startup']:.1f} s start-up), scheduling overhead {one['overhead']:.1%}, failed {one['failed']}, "
              f"CPU {one['cpu'] * 1000:.0f} ms/replication")
        print(f"  ours, 2 workers: {two['rate']:8.2f} reps/s after start-up ({two['rate_total']:.2f} incl. "
              f"{two['startup']:.1f} s start-up), scheduling overhead {two['overhead']:.1%}, failed {two['failed']}")
        print(f"  scaling 2 / 1 workers: {two['rate'] / one['rate']:.2f}x (machine load average now "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        if r_rate:
            print(f"  lavaan R loop  : {r_rate[key]:8.2f} reps/s (1 process)  -> ours (2 workers) / lavaan = "
                  f"{two['rate'] / r_rate[key]:.1f}x, ours (1 worker) / lavaan = {one['rate'] / r_rate[key]:.1f}x")
            print(f"  CPU per replication: lavaan {r_cpu[key] * 1000:.0f} ms, ours {one['cpu'] * 1000:.0f} ms -> "
                  f"{r_cpu[key] / one['cpu']:.1f}x replications per CPU-second")
        else:
            print("  lavaan: Rscript not available")
    print(f"peak RSS of the client: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
