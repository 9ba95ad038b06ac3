"""Bifactor 2PL fixture from the Python ``mirt`` package's ``bfactor`` (issue 17, bifactor IRT).

Not a test module: needs ``mirt`` (PyPI, MIT) in a separate environment (see mirt_reference.py):

    /work/venv-mirt/bin/python tests/reference/irt/mirt_bifactor_reference.py

Data: sim_bifactor_binary.csv, 9 binary items, specific factors 0,0,0,1,1,1,2,2,2 (seeded
simulation). mirt's ``bfactor`` is the Gibbons-Hedeker reduction on 21 Gauss-Hermite points per
dimension (logistic, D = 1): P(X = 1) = expit(a_g theta_0 + a_s theta_s + d). mirt handles binary
items only, so polytomous bifactor items are checked by simulation recovery instead.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    import mirt
    from mirt.estimation.bifactor_em import bfactor

    path = HERE / "sim_bifactor_binary.csv"
    data = pd.read_csv(path)
    factors = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    t0 = time.time()
    res = bfactor(data.to_numpy(), factors, n_quadpts=21, tol=1e-11, max_iter=50000, se_method="oakes")
    m = res.model
    out = {
        "data": path.name,
        "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "specific_factors": factors,
        "loglik": float(res.log_likelihood),
        "general": [float(v) for v in m.general_loadings],
        "specific": [float(v) for v in m.specific_loadings],
        "intercepts": [float(v) for v in m.intercepts],
        "standard_errors": {k: np.asarray(v, dtype=float).ravel().tolist() for k, v in res.standard_errors.items()},
        "provenance": {"mirt": mirt.__version__, "numpy": np.__version__, "python": platform.python_version(),
                       "call": "bfactor(data, factors, n_quadpts=21, tol=1e-11, max_iter=50000, se_method='oakes')",
                       "seconds": round(time.time() - t0, 1)},
    }
    (HERE / "mirt_bifactor_sim_bifactor_binary.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
