"""Benchmark: FIML (missing="ml") single fits with ML and MLR, and the four-level FIML invariance ladder,
ours vs lavaan 0.6-14 timed in the same run.

    python benchmarks/bench_fiml.py [--repeat 3]

Cases (bfi, 25 items × 5 factors, 2800 rows with their real missing values):
  * ``fit_cfa(BFI5, bfi, missing="ml", estimator="ML")`` vs ``cfa(BFI5, bfi, missing = "ml")``
    plus ``fitMeasures``;
  * the same with ``estimator = "MLR"``;
  * ``measurement_invariance(BFI5, bfi, "gender", missing="ml", partial=False)`` (ML and MLR) vs the four
    ``cfa(..., group = "gender", group.equal = ..., missing = "ml")`` fits + ``fitMeasures`` + ``lavTestLRT``.

Targets (issue 13): each ratio ≥ 20. Printed: median wall time and CPU time (the machine may be shared;
CPU time shows our cost without the other load), lavaan's median wall time and the ratio.
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
time_cases(function(cs) {
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
    args = ap.parse_args()
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
    print(f"{'case':<34}{'wall':>9}{'cpu':>9}{'peak MB':>9}{'lavaan':>10}{'ratio':>8}")
    for name, (w, c, m) in ours.items():
        r = lav.get(name) if lav else None
        ratio = f"{r / w:7.1f}x" if r else "    n/a"
        print(f"{name:<34}{w:>8.3f}s{c:>8.3f}s{m:>9.1f}{(f'{r:.2f}s' if r else 'n/a'):>10}{ratio}")
    print(f"(medians of {args.repeat} runs after a warm-up; lavaan timed in R in the same run)")


if __name__ == "__main__":
    main()
