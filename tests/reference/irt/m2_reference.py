"""M2 of the 2PL on sim_2pl.csv by the Python mirt package (reference for psychometrics.irt.fit.limited_information_fit).

Run with the helper's venv:  /work/venv-mirt/bin/python tests/reference/irt/m2_reference.py
Writes m2_mirt_2pl_sim_2pl.json: mirt's estimates (tol 1e-8), its M2 (Maydeu-Olivares & Joe 2005) at
those estimates with 21 Gauss-Hermite points, and versions / SHA-256.
"""

import hashlib
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd

import mirt

HERE = Path(__file__).resolve().parent
data = pd.read_csv(HERE / "sim_2pl.csv")
X = data.to_numpy()
fit = mirt.fit_mirt(X, model="2PL", n_quadpts=21, tol=1e-8, max_iter=5000)
from mirt.diagnostics.modelfit import compute_m2

m2 = compute_m2(fit.model, X, n_quadpts=21)
pars = fit.model.parameters if hasattr(fit.model, "parameters") else None
est = {}
for name in ("discrimination", "difficulty", "slopes", "intercepts"):
    v = getattr(fit.model, name, None)
    if v is not None:
        est[name] = np.asarray(v, dtype=float).tolist()
out = {"data": "sim_2pl.csv", "call": "fit_mirt(X, model='2PL', n_quadpts=21, tol=1e-8); compute_m2(fit.model, X, n_quadpts=21)",
       "m2": {k: float(v) for k, v in m2.items()}, "estimates": est, "loglik": float(getattr(fit, "log_likelihood", float("nan"))),
       "versions": {"mirt": mirt.__version__, "numpy": np.__version__, "python": platform.python_version()},
       "data_sha256": hashlib.sha256((HERE / "sim_2pl.csv").read_bytes()).hexdigest()}
(HERE / "m2_mirt_2pl_sim_2pl.json").write_text(json.dumps(out, indent=1) + "\n")
print(json.dumps(out["m2"]), list(est))
