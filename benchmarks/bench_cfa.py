"""Benchmark: CFA fit with standard errors and every fit index, ours vs lavaan vs semopy.

    python benchmarks/bench_cfa.py [--repeat 21]

For each model, the median wall time of
  * psychometrics: ``fit_cfa(model, data)`` — estimates, expected-information SEs,
    all fit indices, standardized solution, R², residual correlations and
    modification indices;
  * lavaan (when ``Rscript`` is available): ``cfa(model, data)`` + ``fitMeasures(fit)``,
    timed inside R in the same run;
  * semopy (single-group only; it has no cross-group constraints): ``Model.fit`` +
    ``calc_stats``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _rtiming import median_time, rscript_times  # noqa: E402
from psychometrics.cfa import fit_cfa  # noqa: E402
from psychometrics.datasets import holzinger_swineford, load_dataset  # noqa: E402

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{p}{i}" for i in range(1, 6))
                 for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])

CASES = [
    # name, data, model, group, group_equal
    ("HS1939 3-factor", "hs", HS3, None, ()),
    ("HS1939 scalar, 2 groups", "hs", HS3, "school", ("loadings", "intercepts")),
    ("bfi 25 items, 5 factors", "bfi", BFI5, None, ()),
]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
data <- list(hs = read.csv(file.path(args[3], "holzinger_swineford.csv")),
             bfi = read.csv(file.path(args[3], "bfi.csv")))
time_cases(function(cs) {
  d <- data[[cs$data]]
  ge <- unlist(cs$group_equal); if (is.null(ge)) ge <- ""
  function() {
    if (is.null(cs$group)) fit <- cfa(cs$model, data = d)
    else fit <- cfa(cs$model, data = d, group = cs$group, group.equal = ge)
    fitMeasures(fit)
  }
})
"""


def lavaan_times(repeat: int) -> dict[str, float] | None:
    spec = [{"name": n, "data": d, "model": m, "group": g, "group_equal": list(ge)} for n, d, m, g, ge in CASES]
    return rscript_times(R_SCRIPT, spec, repeat, ROOT / "psychometrics" / "datasets")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    data = {"hs": holzinger_swineford(), "bfi": load_dataset("bfi")}
    ours: dict[str, float] = {}
    semo: dict[str, float] = {}
    warnings.simplefilter("ignore")
    for name, d, model, group, ge in CASES:
        df = data[d]
        kw = {"group": group, "group_equal": ge} if group else {}
        ours[name] = median_time(lambda: fit_cfa(model, df, **kw), args.repeat)
        if group is None:
            import semopy

            cols = sorted({t.strip() for line in model.splitlines() for t in line.split("=~")[1].split("+")})
            x = df[cols].dropna()

            def run_semopy():
                m = semopy.Model(model)
                m.fit(x)
                semopy.calc_stats(m)

            semo[name] = median_time(run_semopy, max(5, args.repeat // 3))
    lav = lavaan_times(args.repeat)
    print(f"CFA benchmark, median of {args.repeat} runs (seconds; ratio = other / ours)")
    print(f"{'model':<28}{'ours':>10}{'lavaan':>10}{'ratio':>8}{'semopy':>10}{'ratio':>8}")
    for name, *_ in CASES:
        lv = lav.get(name) if lav else None
        sm = semo.get(name)
        print(f"{name:<28}{ours[name]:>10.4f}"
              + (f"{lv:>10.4f}{lv / ours[name]:>8.1f}" if lv else f"{'n/a':>10}{'':>8}")
              + (f"{sm:>10.4f}{sm / ours[name]:>8.1f}" if sm else f"{'n/a':>10}{'':>8}"))


if __name__ == "__main__":
    main()
