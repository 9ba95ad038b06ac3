"""Benchmark: categorical CFA (WLSMV) from raw data, ours vs lavaan.

    python benchmarks/bench_wlsmv.py [--repeat 7]

For each case, the median wall time of
  * psychometrics: ``fit_cfa(model, data, estimator="WLSMV", ...)`` — thresholds,
    polychoric correlations and Γ per group, DWLS estimates, robust SEs, scaled-shifted
    test and every fit index (incl. the catML-based robust CFI/RMSEA);
  * lavaan (when ``Rscript`` is available): ``cfa(model, data, ordered = ..., estimator =
    "WLSMV", ...)`` + ``fitMeasures(fit)``, timed inside R in the same run. (For the
    multi-group case lavaan uses its own ``group.equal`` identification rather than Wu &
    Estabrook's — the work is the same, the timing comparable.)

The "pairwise" cases (issue 13) fit data with missing values by pairwise deletion
(``missing="pairwise"``, lavaan's ``missing = "pairwise"``): the HS ordinal items with 10 %
MCAR holes and bfi's 25 items with their real missing values (2,800 rows, none dropped).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from _rtiming import median_time, rscript_times  # noqa: E402
from psychometrics.cfa import fit_cfa  # noqa: E402
from psychometrics.datasets import load_dataset  # noqa: E402

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{p}{i}" for i in range(1, 6))
                 for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])
CASES = [  # name, data, model, group, group_equal, std_lv, missing
    ("HS1939 cut in 3, 3 factors", "hs_ord", HS3, None, (), False, "listwise"),
    ("HS1939 cut in 3, 2 schools, thresholds+loadings", "hs_ord", HS3, "school", ("thresholds", "loadings"), True,
     "listwise"),
    ("bfi 25 items (6 cat.), 5 factors", "bfi", BFI5, None, (), False, "listwise"),
    ("pairwise: HS cut in 3, 10% MCAR, 3 factors", "hs_ord_mcar", HS3, None, (), False, "pairwise"),
    ("pairwise: HS 10% MCAR, 2 schools, thr.+loadings", "hs_ord_mcar", HS3, "school", ("thresholds", "loadings"),
     True, "pairwise"),
    ("pairwise: bfi 25 items, real NAs, 5 factors", "bfi", BFI5, None, (), False, "pairwise"),
]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
data <- list(hs_ord = read.csv(args[3]), bfi = read.csv(args[4]), hs_ord_mcar = read.csv(args[5]))
time_cases(function(cs) {
  d <- data[[cs$data]]
  ov <- unlist(cs$items)
  if (cs$missing == "listwise") d <- d[complete.cases(d[, ov]), ]
  ge <- unlist(cs$group_equal)
  function() {
    if (is.null(cs$group)) fit <- cfa(cs$model, data = d, ordered = ov, estimator = "WLSMV", missing = cs$missing)
    else fit <- cfa(cs$model, data = d, ordered = ov, estimator = "WLSMV", group = cs$group,
                    group.equal = ge, std.lv = cs$std_lv, missing = cs$missing)
    fitMeasures(fit)
  }
})
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    hs_path = ROOT / "tests" / "reference" / "wlsmv" / "hs_ord.csv"
    mcar_path = ROOT / "tests" / "reference" / "missing" / "hs_ord_mcar.csv"
    data = {"hs_ord": pd.read_csv(hs_path), "bfi": load_dataset("bfi"), "hs_ord_mcar": pd.read_csv(mcar_path)}
    ours = {}
    for name, key, model, group, ge, std_lv, missing in CASES:
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fit_cfa(model, data[key], estimator="WLSMV", group=group, group_equal=ge, std_lv=std_lv,
                               missing=missing)
        ours[name] = median_time(run, args.repeat)
    from psychometrics.cfa.specification import observed_variables

    cases = [{"name": n, "data": k, "model": m, "group": g, "group_equal": list(ge), "std_lv": s,
              "items": list(observed_variables(m)), "missing": mi} for n, k, m, g, ge, s, mi in CASES]
    lav = rscript_times(R_SCRIPT, cases, args.repeat, hs_path,
                        ROOT / "psychometrics" / "datasets" / "bfi.csv", mcar_path) or {}
    print(f"{'case':52s} {'ours (s)':>10s} {'lavaan (s)':>11s} {'ratio':>7s}")
    for name in ours:
        l = lav.get(name)
        ratio = f"{l / ours[name]:6.1f}x" if l else "   n/a"
        print(f"{name:52s} {ours[name]:10.3f} {l if l else float('nan'):11.3f} {ratio}")


if __name__ == "__main__":
    main()
