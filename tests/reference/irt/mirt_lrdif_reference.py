"""Multi-group likelihood-ratio DIF fixtures from the Python ``mirt`` package (issue 17, LR DIF).

Not a test module: needs ``mirt`` (PyPI, MIT) in a separate environment (see mirt_reference.py):

    /work/venv-mirt/bin/python tests/reference/irt/mirt_lrdif_reference.py      # ~5 min

For each data set (sim_dif.csv: 8 four-category items, DIF planted in I1 and I2, focal group
N(0.5, 1.2²); sim_dif_binary.csv: 6 binary items, DIF planted in B3) it writes
mirt_lrdif_<data>.json with

* the fully constrained ("strict") multi-group fit: log-likelihood, focal mean and variance;
* ``multigroup_dif(scheme="drop")``: all-others-as-anchors LR tests (our stage 1);
* ``multigroup_dif(scheme="add", anchors=...)``: tests against a fixed anchor set (our stage 2).

mirt places a focal group's N(mu, sigma^2) on the N(0, 1) Gauss-Hermite nodes by reweighting
them; ``lr_dif(..., latent_rule="reweight")`` uses the same rule for this comparison.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CASES = {
    "sim_dif": {"model": "GRM", "reference": "ref", "anchors": ["I3", "I4", "I5", "I6", "I7", "I8"]},
    "sim_dif_binary": {"model": "2PL", "reference": "g1", "anchors": ["B1", "B2", "B4", "B5", "B6"]},
}
SETTINGS = {"n_quadpts": 21, "tol": 1e-10, "max_iter": 20000}


def main() -> None:
    import mirt
    from mirt.multigroup import fit_multigroup
    from mirt.multigroup.dif import multigroup_dif

    for name, case in CASES.items():
        path = HERE / f"{name}.csv"
        frame = pd.read_csv(path)
        groups = frame.pop("group").to_numpy()
        t0 = time.time()
        strict = fit_multigroup(frame, groups, model=case["model"], invariance="strict",
                                reference_group=case["reference"], **SETTINGS)
        lat = strict.latent_pars()
        drop = multigroup_dif(frame, groups, model=case["model"], scheme="drop", p_adjust="fdr_bh",
                              reference_group=case["reference"], **SETTINGS)
        add = multigroup_dif(frame, groups, model=case["model"], scheme="add", anchors=case["anchors"],
                             p_adjust="fdr_bh", reference_group=case["reference"], **SETTINGS)
        out = {
            "data": path.name,
            "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "model": case["model"],
            "reference_group": case["reference"],
            "anchors": case["anchors"],
            "settings": SETTINGS,
            "strict": {"loglik": float(strict.log_likelihood), "converged": bool(strict.converged),
                       "latent": json.loads(lat.to_json(orient="records"))},
            "drop": json.loads(drop.drop(columns=[c for c in drop.columns if c == "group_parameters"],
                                         errors="ignore").to_json(orient="records")),
            "add": json.loads(add.drop(columns=[c for c in add.columns if c == "group_parameters"],
                                       errors="ignore").to_json(orient="records")),
            "provenance": {"mirt": mirt.__version__, "numpy": np.__version__, "python": platform.python_version(),
                           "call": "fit_multigroup(invariance='strict'); multigroup_dif(scheme='drop'|'add', "
                                   "p_adjust='fdr_bh')", "seconds": round(time.time() - t0, 1)},
        }
        (HERE / f"mirt_lrdif_{name}.json").write_text(json.dumps(out, indent=1) + "\n")
        print(name, "done", out["provenance"]["seconds"], "s", file=sys.stderr)


if __name__ == "__main__":
    main()
