"""Benchmark: mean scale scores of bfi (25 items, 5 scales, missing data) tiled to 28,000 rows.

    python benchmarks/bench_scoring.py

Prints the median time of psychometrics.scoring.score and, when R is installed, of
psych::scoreItems(impute = "none") on the same data in the same run, and the ratio.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from psychometrics.datasets import load_dataset
from psychometrics.scoring import score

KEYS = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}
REPEATS = 7


def main() -> None:
    bfi = load_dataset("bfi")
    data = pd.concat([bfi] * 10, ignore_index=True)
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        score(KEYS, data, min_answered=0, response_range=(1, 6), reliability=None)
        times.append(time.perf_counter() - t)
    py = statistics.median(times)
    print(f"psychometrics score(): {py * 1000:.1f} ms (median of {REPEATS}, {len(data)} rows)")
    if shutil.which("Rscript") is None:
        print("R not installed: no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bfi10.csv"
        data.to_csv(csv, index=False)
        script = f"""
suppressPackageStartupMessages(library(psych))
d <- read.csv("{csv}")[, 2:26]
keys <- list(agree = c("-A1","A2","A3","A4","A5"), conscientious = c("C1","C2","C3","-C4","-C5"),
  extraversion = c("-E1","-E2","E3","E4","E5"), neuroticism = c("N1","N2","N3","N4","N5"),
  openness = c("O1","-O2","O3","O4","-O5"))
t <- replicate({REPEATS}, system.time(scoreItems(keys, d, impute = "none", min = 1, max = 6))[["elapsed"]])
cat(median(t))
"""
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
        r = float(out.stdout.strip().split()[-1])
    print(f"psych::scoreItems:      {r * 1000:.1f} ms (median of {REPEATS})")
    print(f"ratio R / Python:       {r / py:.1f}")


if __name__ == "__main__":
    main()
