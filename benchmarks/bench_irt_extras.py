"""Benchmark: the IRT additions of branch s17b — normal-ogive GRM, Rasch family by MML, and the
IRT section's M2/C2 + local dependence in the demo pipeline.

    python benchmarks/bench_irt_extras.py [--repeat 3] [--quick] [--r]

Printed per case: median wall and mean CPU seconds (the 2-core machine is shared: CPU time is
the steadier figure; the load average is printed), and where there is one the R reference's
time — stored in the fixture (lavaan's MML fits took 28–232 s) or, with ``--r``, re-timed in
this run (lavaan ``estimator = "MML"`` on 500 rows, lme4 ``glmer`` nAGQ = 25) as a ratio.
The "demo increment" case times what this branch adds to the demo's IRT step: C2 + RMSEA2
and the LD χ² / Q3 table for every subscale of the demo data (seed 0, n = 400).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _rtiming import rscript_times  # noqa: E402

REF = ROOT / "tests" / "reference" / "irt"

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lavaan); library(lme4)})
time_cases(function(cs) {
  if (cs$name == "lavaan_probit_grm_n500") {
    d <- read.csv(cs$data)[1:500, paste0("A", 1:5)]
    m <- "F =~ A1 + A2 + A3 + A4 + A5"
    st <- cfa(m, data = d, ordered = names(d), std.lv = TRUE)
    return(function() cfa(m, data = d, ordered = names(d), estimator = "MML", std.lv = TRUE, start = st,
                          check.gradient = FALSE))
  }
  x <- read.csv(cs$data)
  long <- data.frame(person = factor(rep(seq_len(nrow(x)), ncol(x))), item = factor(rep(names(x), each = nrow(x))),
                     y = unlist(x, use.names = FALSE))
  function() glmer(y ~ 0 + item + (1 | person), data = long, family = binomial, nAGQ = 25,
                   control = glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
})
"""


def _time(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return sorted(wall)[len(wall) // 2], sum(cpu) / len(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, no full-bfi probit case")
    parser.add_argument("--r", action="store_true", help="re-time lavaan (n = 500) and glmer in this run")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    warnings.simplefilter("ignore")
    import pandas as pd

    from psychometrics.irt import calibrate
    from psychometrics.irt.rasch_mml import fit_rasch_mml

    bfi = pd.read_csv(REF / "bfi_agree.csv")[[f"A{i}" for i in range(1, 6)]]
    rasch = pd.read_csv(REF / "sim_rasch.csv")
    lav = {k: json.loads((REF / f"lavaan_mml_{k}.json").read_text())["seconds"] for k in ("bfi_agree6", "bfi_agree6_n500")}
    glmer = json.loads((REF / "rasch_mml_glmer.json").read_text())["seconds"]
    rows = []
    cases = [("probit GRM, bfi 5 items x 6 cat., n = 500", lambda: calibrate(bfi.iloc[:500], link="probit"),
              lav["bfi_agree6_n500"], "lavaan MML (fixture)")]
    if not args.quick:
        cases.append(("probit GRM, bfi 5 items x 6 cat., n = 2709", lambda: calibrate(bfi, link="probit"),
                      lav["bfi_agree6"], "lavaan MML (fixture)"))
    cases += [("PCM by MML, bfi n = 2709", lambda: fit_rasch_mml(bfi, "pcm"), None, ""),
              ("RSM by MML, bfi n = 2709", lambda: fit_rasch_mml(bfi, "rsm"), None, ""),
              ("Rasch by MML (GH-41), sim_rasch 10 items, n = 1000",
               lambda: fit_rasch_mml(rasch, "rasch", quadrature_points=41), glmer, "glmer nAGQ=25 (fixture)")]
    for name, fn, ref, ref_name in cases:
        wall, cpu = _time(fn, repeat)
        rows.append({"case": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                     "reference": ref_name, "reference_s": None if ref is None else round(ref, 1)})
    rows.append(demo_increment(repeat))
    if args.r:
        r = rscript_times(R_SCRIPT, [{"name": "lavaan_probit_grm_n500", "data": str(REF / "bfi_agree.csv")},
                                     {"name": "glmer_rasch", "data": str(REF / "sim_rasch.csv")}], 1)
        if r:
            rows[0].update(reference="lavaan MML (this run)", reference_s=round(r["lavaan_probit_grm_n500"], 2))
            rows[-2].update(reference="glmer nAGQ=25 (this run)", reference_s=round(r["glmer_rasch"], 2))
    for row in rows:
        if row.get("reference_s"):
            row["ratio_reference_over_ours"] = round(row["reference_s"] / max(row["wall_s"], 1e-9), 1)
    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  {'wall s':>8}  {'CPU s':>8}  {'ref s':>8}  {'ratio':>7}  reference")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['wall_s']:>8.3f}  {r['cpu_s']:>8.3f}  "
              f"{'' if r.get('reference_s') is None else r['reference_s']:>8}  "
              f"{r.get('ratio_reference_over_ours', ''):>7}  {r['reference']}")
    print(json.dumps({"load_average": os.getloadavg(), "rows": rows}, indent=1))


def demo_increment(repeat: int) -> dict:
    """C2 + RMSEA2 and the LD table per subscale of the demo data: what this branch adds to the IRT step."""
    from psychometrics.irt import calibrate
    from psychometrics.pipeline.steps.irt import _global_and_local_fit
    from psychometrics.scale import Scale
    from psychometrics.simulate import default_study_path, load_study, simulate_study

    study = load_study(default_study_path())
    scale: Scale = study.scale
    df = simulate_study(study, n=400, seed=0)
    items = df[[i.id for i in scale.items]]
    cals = {s.id: calibrate(items, list(scale.items_of(s.id))) for s in scale.subscales}
    t_cal = _time(lambda: {s.id: calibrate(items, list(scale.items_of(s.id))) for s in scale.subscales}, repeat)
    wall, cpu = _time(lambda: _global_and_local_fit(items, cals, []), repeat)
    return {"case": f"demo increment: C2 + LD for {len(cals)} subscales (n = 400)", "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "reference": f"their GRM calibrations: {t_cal[0]:.3f} s wall", "reference_s": None}


if __name__ == "__main__":
    main()
