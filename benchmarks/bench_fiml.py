"""Benchmark: FIML (missing="ml") single fits with ML and MLR, and the four-level FIML invariance ladder,
ours vs lavaan 0.6-14 timed in the same run.

    python benchmarks/bench_fiml.py [--repeat 3] [--quick]

Cases (bfi, 25 items × 5 factors, 2800 rows with their real missing values):
  * ``fit_cfa(BFI5, bfi, missing="ml", estimator="ML")`` vs ``cfa(BFI5, bfi, missing = "ml")``
    plus ``fitMeasures``;
  * the same with ``estimator = "MLR"``;
  * ``measurement_invariance(BFI5, bfi, "gender", missing="ml", partial=False)`` (ML and MLR) vs the four
    ``cfa(..., group = "gender", group.equal = ..., missing = "ml")`` fits + ``fitMeasures`` + ``lavTestLRT``.

Targets (issue 13): FIML single fit and the four-level FIML ladder each ≥ 20× faster than lavaan.
Printed per case: our median wall and CPU time and peak memory, lavaan's median wall and CPU time
(user + system of the R process, timed in the same run), the wall and the CPU ratio, and whether the
target is met. On a shared machine the CPU ratio is the one to read (wall times include the other
load). ``--quick``: one repetition (after the warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _rtiming import rscript_times, wall_and_cpu_times  # noqa: E402
from psychometrics.cfa import fit_cfa  # noqa: E402
from psychometrics.datasets import load_dataset  # noqa: E402
from psychometrics.invariance import measurement_invariance  # noqa: E402

BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{p}{i}" for i in range(1, 6))
                 for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
bfi <- read.csv(file.path(args[3], "bfi.csv"))
eqs <- list("", "loadings", c("loadings", "intercepts"), c("loadings", "intercepts", "residuals"))
# wall and CPU (user + system) seconds per case, medians over reps after a warm-up
time_cases_cpu <- function(make_run) {
  out <- list()
  for (cs in cases) {
    one <- make_run(cs)
    one()
    w <- numeric(reps); cpu <- numeric(reps)
    for (i in seq_len(reps)) {
      t0 <- proc.time(); one(); d <- proc.time() - t0
      w[i] <- d[["elapsed"]]; cpu[i] <- d[["user.self"]] + d[["sys.self"]]
    }
    out[[cs$name]] <- list(wall = median(w), cpu = median(cpu))
  }
  cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
}
time_cases_cpu(function(cs) {
  if (cs$kind == "single") {
    function() fitMeasures(cfa(cs$model, data = bfi, missing = "ml", estimator = cs$estimator))
  } else {
    function() {
      fits <- lapply(eqs, function(eq) cfa(cs$model, data = bfi, group = "gender", group.equal = eq,
                                           missing = "ml", estimator = cs$estimator))
      lapply(fits, fitMeasures)
      lavTestLRT(fits[[1]], fits[[2]], fits[[3]], fits[[4]])
    }
  }
})
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="skip the lavaan timings")
    ap.add_argument("--quick", action="store_true", help="one repetition after the warm-up")
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
    bfi = load_dataset("bfi")
    warnings.simplefilter("ignore")
    cases = {
        "bfi FIML ML single": lambda: fit_cfa(BFI5, bfi, missing="ml", estimator="ML"),
        "bfi FIML MLR single": lambda: fit_cfa(BFI5, bfi, missing="ml", estimator="MLR"),
        "bfi FIML ML ladder (4 levels)": lambda: measurement_invariance(BFI5, bfi, "gender", missing="ml",
                                                                        partial=False),
        "bfi FIML MLR ladder (4 levels)": lambda: measurement_invariance(BFI5, bfi, "gender", missing="ml",
                                                                         estimator="MLR", partial=False),
    }
    r_cases = [{"name": "bfi FIML ML single", "kind": "single", "estimator": "ML", "model": BFI5},
               {"name": "bfi FIML MLR single", "kind": "single", "estimator": "MLR", "model": BFI5},
               {"name": "bfi FIML ML ladder (4 levels)", "kind": "ladder", "estimator": "ML", "model": BFI5},
               {"name": "bfi FIML MLR ladder (4 levels)", "kind": "ladder", "estimator": "MLR", "model": BFI5}]
    ours = {}
    for name, fn in cases.items():
        fn()  # warm-up (imports)
        wall, cpu = wall_and_cpu_times(fn, args.repeat)
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ours[name] = (statistics.median(wall), statistics.median(cpu), peak / 2 ** 20)
    lav = None if args.no_r else rscript_times(R_SCRIPT, r_cases, args.repeat, ROOT / "psychometrics" / "datasets")
    print(f"{'case':<32}{'wall':>8}{'cpu':>8}{'peak MB':>8}{'lavaan wall':>12}{'lavaan cpu':>11}"
          f"{'ratio wall':>11}{'ratio cpu':>10}  target ≥20×")
    for name, (w, c, m) in ours.items():
        r = lav.get(name) if lav else None
        if r:
            rw, rc = r["wall"] / w, r["cpu"] / c
            print(f"{name:<32}{w:>7.3f}s{c:>7.3f}s{m:>8.1f}{r['wall']:>11.2f}s{r['cpu']:>10.2f}s{rw:>10.1f}x"
                  f"{rc:>9.1f}x  {'met' if rc >= 20 else 'NOT met'} (cpu)")
        else:
            print(f"{name:<32}{w:>7.3f}s{c:>7.3f}s{m:>8.1f}{'n/a':>12}{'n/a':>11}{'n/a':>11}{'n/a':>10}")
    print(f"(medians of {args.repeat} run(s) after a warm-up; lavaan timed in R in the same run; on a shared "
          "machine read the CPU ratio)")


if __name__ == "__main__":
    main()
