"""MML reference fixtures from the Python ``mirt`` package, checked by our own marginal likelihood.

Issue 17.  Not a test module and not part of the package: it needs ``mirt`` (PyPI, MIT), which
the package does not depend on.  Run from the repository root in a separate environment:

    python3 -m venv /work/venv-mirt && /work/venv-mirt/bin/pip install mirt numpy scipy pandas girth
    /work/venv-mirt/bin/python tests/reference/irt/mirt_reference.py fixtures     # ~1 min
    /work/venv-mirt/bin/python tests/reference/irt/mirt_reference.py evaluate     # ~15 min

``fixtures`` writes mirt_<model>_<data>.json: mirt's estimates at a stated Gauss-Hermite
quadrature, next to the exact maximiser of the same quadrature marginal likelihood found by the
small independent code below (Newton on a finite-difference Hessian, from mirt's estimate), the
SEs of both, and the sum-score -> EAP table.  ``lavaan`` checks the lavaan_mml_*.json (lavaan_mml.R) against the exact maximiser of the same
normal-ogive likelihood and writes lavaan_mml_check.json.
``evaluate`` writes engine_evaluation.json (speed,
parameter recovery, coverage, girth) used by ENGINE_EVALUATION.md.

Parameterisation (both mirt's and the JSON's): logistic, D = 1, theta ~ N(0, 1).
  2PL   P(X = 1) = expit(a (theta - b))
  GRM   P(X >= k) = expit(a (theta - b_k)), k = 1..K-1
  GPCM  log P(X = k) / P(X = k-1) = a (theta - d_k), k = 1..K-1
Slope-intercept: c_k = -a b_k (so a theta + c_k is the logit).
Quadrature: nodes sqrt(2) x_q, weights w_q / sqrt(pi) from scipy.special.roots_hermite(n)
(what mirt.estimation.quadrature.GaussHermiteQuadrature builds), i.e. probabilists' Gauss-Hermite.
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
import scipy
from scipy.special import expit, log_expit, logsumexp, roots_hermite

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- our own likelihood
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = roots_hermite(n)
    return x * np.sqrt(2.0), w / np.sqrt(np.pi)


def item_logp(kind: str, par: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log P(X = k | theta) as (Q, K) for one item with parameters par = [a, b_1..b_{K-1}]."""
    a, b = par[0], np.asarray(par[1:])
    if kind == "2PL":
        z = a * (theta - b[0])
        return np.column_stack([log_expit(-z), log_expit(z)])
    if kind == "GRM":
        star = expit(a * (theta[:, None] - b[None, :]))
        q = theta.size
        cum = np.column_stack([np.ones(q), star, np.zeros(q)])
        return np.log(np.clip(cum[:, :-1] - cum[:, 1:], 1e-300, None))
    if kind == "GRM_probit":  # normal ogive, lavaan's MML metric: P(X >= k) = Phi(lambda theta - tau_k)
        from scipy.special import ndtr

        star = ndtr(a * theta[:, None] - b[None, :])
        q = theta.size
        cum = np.column_stack([np.ones(q), star, np.zeros(q)])
        return np.log(np.clip(cum[:, :-1] - cum[:, 1:], 1e-300, None))
    if kind == "GPCM":
        inc = a * (theta[:, None] - b[None, :])
        z = np.column_stack([np.zeros(theta.size), np.cumsum(inc, axis=1)])
        return z - logsumexp(z, axis=1, keepdims=True)
    raise ValueError(kind)


def marginal(kind, pars, X, nodes, weights, want_post=False):
    logl = np.tile(np.log(weights), (X.shape[0], 1))
    for i, p in enumerate(pars):
        logl += item_logp(kind, p, nodes)[:, X[:, i]].T
    lv = logsumexp(logl, axis=1)
    if not want_post:
        return lv.sum()
    return lv.sum(), np.exp(logl - lv[:, None])


def gradient(kind, pars, X, nodes, weights, h=1e-5):
    """Fisher identity: d loglik = sum_q sum_k r_ikq d log P_ik(theta_q); itemwise central differences."""
    _, post = marginal(kind, pars, X, nodes, weights, want_post=True)
    out = []
    for i, p in enumerate(pars):
        K = item_logp(kind, p, nodes).shape[1]
        r = np.stack([post[X[:, i] == k].sum(axis=0) for k in range(K)], axis=1)  # (Q, K)
        g = np.zeros(p.size)
        for j in range(p.size):
            e = np.zeros(p.size)
            e[j] = h
            g[j] = ((r * item_logp(kind, p + e, nodes)).sum() - (r * item_logp(kind, p - e, nodes)).sum()) / (2 * h)
        out.append(g)
    return np.concatenate(out)


def unpack(vec, sizes):
    return np.split(vec, np.cumsum(sizes)[:-1])


def polish(kind, pars0, X, nodes, weights, tol=1e-7, max_iter=30, fixed_hessian=False):
    """Newton from pars0 on the exact quadrature marginal log-likelihood.

    fixed_hessian: reuse the Hessian at pars0 (refreshed every 5 steps) for the steps and its last
    value for the SEs (cheaper; for starts close to the optimum, e.g. the true values of a large
    simulated data set).
    """
    sizes = [p.size for p in pars0]
    v = np.concatenate(pars0).astype(float)
    grad = lambda vec: gradient(kind, unpack(vec, sizes), X, nodes, weights)
    g0 = grad(v)
    H = hessian(grad, v) if fixed_hessian else None
    it = 0
    for it in range(1, max_iter + 1):
        g = grad(v)
        if np.max(np.abs(g)) < tol:
            break
        if not fixed_hessian or it % 5 == 0:  # fixed_hessian: refresh every 5 steps
            H = hessian(grad, v)
        step = np.linalg.solve(H, g)
        v = v - step
    g = grad(v)
    if not fixed_hessian:
        H = hessian(grad, v)
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    return {
        "pars": unpack(v, sizes),
        "se": unpack(se, sizes),
        "loglik": marginal(kind, unpack(v, sizes), X, nodes, weights),
        "max_abs_grad": float(np.max(np.abs(g))),
        "max_abs_grad_at_start": float(np.max(np.abs(g0))),
        "newton_iterations": it - 1,
    }


def hessian(grad, v, h=1e-5):
    n = v.size
    H = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (grad(v + e) - grad(v - e)) / (2 * h)
    return (H + H.T) / 2


def lord_wingersky(kind, pars, nodes, weights):
    """Sum-score -> EAP table: L(s | theta_q) by the Lord-Wingersky recursion."""
    L = np.ones((nodes.size, 1))
    for p in pars:
        P = np.exp(item_logp(kind, p, nodes))
        K = P.shape[1]
        new = np.zeros((nodes.size, L.shape[1] + K - 1))
        for k in range(K):
            new[:, k : k + L.shape[1]] += L * P[:, [k]]
        L = new
    joint = L * weights[:, None]
    ps = joint.sum(axis=0)
    eap = (joint * nodes[:, None]).sum(axis=0) / ps
    sd = np.sqrt((joint * nodes[:, None] ** 2).sum(axis=0) / ps - eap**2)
    return ps, eap, sd


# ------------------------------------------------------------------------------ mirt helpers
def mirt_pars(kind, model):
    a = np.asarray(model.discrimination, float)
    if kind == "2PL":
        b = np.asarray(model.parameters["difficulty"], float)[:, None]
    elif kind == "GRM":
        b = np.asarray(model.thresholds, float)
    else:
        b = np.asarray(model.steps, float)
    return [np.concatenate([[a[i]], b[i]]) for i in range(a.size)]


def mirt_se(kind, result):
    se = result.standard_errors
    a = np.asarray(se["discrimination"], float)
    key = {"2PL": "difficulty", "GRM": "thresholds", "GPCM": "steps"}[kind]
    b = np.asarray(se[key], float)
    if b.ndim == 1:
        b = b[:, None]
    return [np.concatenate([[a[i]], b[i]]) for i in range(a.size)]


def table(kind, names, pars, ses=None):
    rows = []
    for name, p, s in zip(names, pars, ses if ses is not None else [None] * len(pars)):
        row = {"item": name, "a": float(p[0])}
        for k, bk in enumerate(p[1:], 1):
            row[f"b{k}"] = float(bk)
            row[f"c{k}"] = float(-p[0] * bk)
        if s is not None:
            row["se_a"] = float(s[0])
            for k, sk in enumerate(s[1:], 1):
                row[f"se_b{k}"] = float(sk)
        rows.append(row)
    return {key: [r[key] for r in rows] for key in rows[0]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions():
    import mirt

    return {
        "python": platform.python_version(),
        "mirt": mirt.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }


# ------------------------------------------------------------------------------- fixtures
CASES = [
    # name, model, csv, items, n_quadpts
    ("grm_bfi_agree", "GRM", "bfi_agree.csv", ["A1", "A2", "A3", "A4", "A5"], 21),
    ("grm_bfi_agree_q61", "GRM", "bfi_agree.csv", ["A1", "A2", "A3", "A4", "A5"], 61),
    ("gpcm_bfi_agree", "GPCM", "bfi_agree.csv", ["A1", "A2", "A3", "A4", "A5"], 21),
    ("2pl_sim_2pl", "2PL", "sim_2pl.csv", [f"I{i:02d}" for i in range(1, 11)], 21),
]


def fixtures():
    import mirt

    summary = {}
    for name, kind, csv, items, nq in CASES:
        X = pd.read_csv(HERE / csv)[items].to_numpy(dtype=int)
        nodes, weights = gauss_hermite(nq)
        runs = {}
        for label, kw in {"default": {}, "tight": {"tol": 1e-8, "max_iter": 5000}}.items():
            t0 = time.perf_counter()
            res = mirt.fit_mirt(X, model=kind, n_quadpts=nq, item_names=items, **kw)
            runs[label] = (res, time.perf_counter() - t0)
        res = runs["tight"][0]
        mp = mirt_pars(kind, res.model)
        own_ll_at_mirt = marginal(kind, mp, X, nodes, weights)
        ref = polish(kind, mp, X, nodes, weights)
        diff = lambda r: float(max(np.max(np.abs(p - q)) for p, q in zip(mirt_pars(kind, r.model), ref["pars"])))
        se_m = mirt_se(kind, res)
        se_diff = float(max(np.max(np.abs(p - q)) for p, q in zip(se_m, ref["se"])))
        ps, eap, sd = lord_wingersky(kind, ref["pars"], nodes, weights)
        eapsum = mirt.fscores(res, X, method="EAPsum", n_quadpts=nq)
        out = {
            "model": kind,
            "data": csv,
            "items": items,
            "n_persons": int(X.shape[0]),
            "parameterisation": "logistic, D = 1, theta ~ N(0,1); 2PL/GRM b = thresholds (P(X>=k) = expit(a(theta-b_k))), GPCM b = step difficulties d_k; c_k = -a b_k",
            "quadrature": {
                "rule": "Gauss-Hermite for N(0,1): nodes sqrt(2)*x, weights w/sqrt(pi), (x, w) = scipy.special.roots_hermite(n)",
                "n_points": nq,
                "nodes": nodes.tolist(),
                "weights": weights.tolist(),
            },
            "mirt": {
                "call": f"mirt.fit_mirt(X, model={kind!r}, n_quadpts={nq}, tol=1e-8, max_iter=5000)",
                "loglik": float(res.log_likelihood),
                "iterations": int(res.n_iterations),
                "converged": bool(res.converged),
                "se_method": res.se_method,
                "seconds": runs["tight"][1],
                "estimates": table(kind, items, mp, se_m),
                "default_tol": {
                    "call": f"mirt.fit_mirt(X, model={kind!r}, n_quadpts={nq})  # tol = 1e-4",
                    "loglik": float(runs["default"][0].log_likelihood),
                    "iterations": int(runs["default"][0].n_iterations),
                    "seconds": runs["default"][1],
                    "max_abs_diff_to_exact": diff(runs["default"][0]),
                },
            },
            "exact": {
                "what": "maximiser of the same quadrature marginal log-likelihood, our own code (Newton from mirt's tight estimate); SEs from the inverse finite-difference Hessian of the marginal log-likelihood",
                "loglik": float(ref["loglik"]),
                "max_abs_grad": ref["max_abs_grad"],
                "max_abs_grad_at_mirt": ref["max_abs_grad_at_start"],
                "newton_iterations": ref["newton_iterations"],
                "estimates": table(kind, items, ref["pars"], ref["se"]),
            },
            "comparison": {
                "own_loglik_at_mirt_estimates_minus_mirt_loglik": float(own_ll_at_mirt - res.log_likelihood),
                "max_abs_diff_estimates_tight": diff(res),
                "max_abs_diff_se": se_diff,
                "max_rel_diff_se": float(max(np.max(np.abs(p / q - 1)) for p, q in zip(se_m, ref["se"]))),
            },
            "sum_score_eap": {
                "what": "Lord-Wingersky at the exact estimates and the same quadrature (own code); mirt_eap: mirt.fscores(method='EAPsum') per person, mapped by sum score",
                "sum_score": list(range(ps.size)),
                "p_sum_score": ps.tolist(),
                "eap": eap.tolist(),
                "psd": sd.tolist(),
            },
        }
        ss = X.sum(axis=1)
        theta_eapsum = np.asarray(eapsum.theta, float).ravel()
        mirt_map = {int(s): float(theta_eapsum[np.argmax(ss == s)]) for s in np.unique(ss)}
        out["sum_score_eap"]["mirt_eap"] = [mirt_map.get(s) for s in range(ps.size)]
        seen = [s for s in range(ps.size) if s in mirt_map]
        out["comparison"]["max_abs_diff_eapsum"] = float(max(abs(mirt_map[s] - eap[s]) for s in seen))
        (HERE / f"mirt_{name}.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        summary[name] = {**out["comparison"], "mirt_loglik": out["mirt"]["loglik"], "exact_loglik": out["exact"]["loglik"],
                         "mirt_iterations": out["mirt"]["iterations"], "mirt_seconds": out["mirt"]["seconds"],
                         "default_tol": out["mirt"]["default_tol"]}
        print(name, json.dumps(summary[name], indent=1), flush=True)
    prov = {
        "script": "tests/reference/irt/mirt_reference.py fixtures",
        "versions": versions(),
        "sha256": {c: sha256(HERE / c) for c in sorted({c[2] for c in CASES})},
        "cases": {c[0]: {"model": c[1], "data": c[2], "items": c[3], "n_quadpts": c[4]} for c in CASES},
    }
    (HERE / "mirt_provenance.json").write_text(json.dumps(prov, indent=1) + "\n", encoding="utf-8")
    return summary


def lavaan_check():
    """Check lavaan's MML (normal-ogive GRM, 21 GH points) against the exact maximiser of the same likelihood."""
    d = pd.read_csv(HERE / "bfi_agree.csv")[["A1", "A2", "A3", "A4", "A5"]].to_numpy(dtype=int)
    data = {"binary": (d >= 4).astype(int), "bfi_agree6_n500": d[:500], "bfi_agree6": d}
    out = {"what": "exact maximiser of the 21-point Gauss-Hermite marginal likelihood of P(X >= k) = Phi(lambda theta - tau_k), own code, started from lavaan's estimates",
           "versions": versions()}
    for name, X in data.items():
        path = HERE / f"lavaan_mml_{name}.json"
        if not path.exists():
            continue
        lav = json.loads(path.read_text())
        est = pd.DataFrame(lav["estimates"])
        pars = []
        for j, item in enumerate(["A1", "A2", "A3", "A4", "A5"]):
            lam = est.loc[(est.op == "=~") & (est.rhs == item), "est"].to_numpy()
            tau = est.loc[(est.op == "|") & (est.lhs == item), "est"].to_numpy()
            pars.append(np.concatenate([lam, tau]))
        nodes, weights = gauss_hermite(lav["integration_ngh"])
        ll_lav = marginal("GRM_probit", pars, X, nodes, weights)
        ex = polish("GRM_probit", pars, X, nodes, weights)
        se_lav = []
        for item in ["A1", "A2", "A3", "A4", "A5"]:
            se_lav.append(np.concatenate([est.loc[(est.op == "=~") & (est.rhs == item), "se"].to_numpy(),
                                          est.loc[(est.op == "|") & (est.lhs == item), "se"].to_numpy()]))
        out[name] = {
            "lavaan_seconds": lav["seconds"], "lavaan_fx": lav["fx"], "own_loglik_at_lavaan": float(ll_lav),
            "exact_loglik": float(ex["loglik"]), "max_abs_grad": ex["max_abs_grad"],
            "max_abs_diff_estimates": float(max(np.max(np.abs(p - q)) for p, q in zip(pars, ex["pars"]))),
            "max_rel_diff_se": float(max(np.max(np.abs(p / q - 1)) for p, q in zip(se_lav, ex["se"]))),
            "exact": {"lambda": [float(p[0]) for p in ex["pars"]], "tau": [p[1:].tolist() for p in ex["pars"]],
                      "se_lambda": [float(p[0]) for p in ex["se"]], "se_tau": [p[1:].tolist() for p in ex["se"]]},
        }
        print(name, {k: v for k, v in out[name].items() if k != "exact"}, flush=True)
    (HERE / "lavaan_mml_check.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    if what == "fixtures":
        fixtures()
    elif what == "lavaan":
        lavaan_check()
    elif what == "evaluate":
        from engine_evaluation import evaluate  # noqa: E402  (same folder)

        evaluate(sys.argv[2:])
