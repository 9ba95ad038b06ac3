"""Benchmark: the four invariance levels (configural, metric, scalar, strict), ours vs lavaan.

    python benchmarks/bench_invariance.py [--repeat 7]

For each case, the median wall time of
  * psychometrics: ``measurement_invariance(model, data, group, partial=False)`` — the four
    multi-group ML fits (each warm-started from the previous level), fit indices, χ²
    difference tests and the rule's verdicts; with ``partial=True`` also the score
    tests and refits of partial invariance (printed as a second line);
  * lavaan (when ``Rscript`` is available): the four ``cfa(model, data, group = g,
    group.equal = ...)`` calls plus ``fitMeasures`` and ``lavTestLRT``, timed inside R in
    the same run.

Cases: Holzinger–Swineford 3 factors × 9 items by school (N = 301, 2 groups) and the
bfi Big Five, 25 items × 5 factors by gender (complete cases, N = 2436, 2 groups).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _rtiming import median_time, rscript_times  # noqa: E402
from psychometrics.datasets import holzinger_swineford, load_dataset  # noqa: E402
from psychometrics.invariance import measurement_invariance  # noqa: E402

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{p}{i}" for i in range(1, 6))
                 for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])
BFI_ITEMS = [f"{p}{i}" for p in "ACENO" for i in range(1, 6)]
CASES = [("HS1939 9 items, 2 groups", "hs", HS3, "school"),
         ("bfi 25 items, 2 groups", "bfi", BFI5, "gender")]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
items <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5), paste0("O", 1:5))
bfi <- read.csv(file.path(args[3], "bfi.csv"))
data <- list(hs = read.csv(file.path(args[3], "holzinger_swineford.csv")),
             bfi = bfi[complete.cases(bfi[, c(items, "gender")]), ])
eqs <- list("", "loadings", c("loadings", "intercepts"), c("loadings", "intercepts", "residuals"))
time_cases(function(cs) {
  d <- data[[cs$data]]
  function() {
    fits <- lapply(eqs, function(eq) cfa(cs$model, data = d, group = cs$group, group.equal = eq))
    lapply(fits, fitMeasures)
    lavTestLRT(fits[[1]], fits[[2]], fits[[3]], fits[[4]])
  }
})
"""


def lavaan_times(repeat: int) -> dict[str, float] | None:
    cases = [{"name": n, "data": d, "model": m, "group": g} for n, d, m, g in CASES]
    return rscript_times(R_SCRIPT, cases, repeat, ROOT / "psychometrics" / "datasets")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    bfi = load_dataset("bfi")
    data = {"hs": holzinger_swineford(), "bfi": bfi[bfi[BFI_ITEMS + ["gender"]].notna().all(axis=1)]}
    ours: dict[str, float] = {}
    ours_partial: dict[str, float] = {}
    warnings.simplefilter("ignore")
    for name, d, model, group in CASES:
        ours[name] = median_time(lambda: measurement_invariance(model, data[d], group, partial=False), args.repeat)
        ours_partial[name] = median_time(lambda: measurement_invariance(model, data[d], group), args.repeat)
    lav = lavaan_times(args.repeat)
    print(f"{'case':<28}{'psychometrics':>15}{'lavaan':>10}{'ratio':>8}")
    for name, *_ in CASES:
        r = lav.get(name) if lav else None
        ratio = f"{r / ours[name]:7.1f}x" if r else "    n/a"
        print(f"{name:<28}{ours[name]:>14.3f}s{(f'{r:.3f}s' if r else 'n/a'):>10}{ratio}")
        print(f"{'  + partial invariance':<28}{ours_partial[name]:>14.3f}s")
    print(f"(medians of {args.repeat} runs; lavaan: four cfa() + fitMeasures + lavTestLRT timed in R)")


if __name__ == "__main__":
    main()
