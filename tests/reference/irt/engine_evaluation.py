"""Engine evaluation of the Python ``mirt`` (and ``girth``) packages for issue 17.

Run through ``mirt_reference.py evaluate`` (see there for the venv).  Writes
engine_evaluation.json, summarised in ENGINE_EVALUATION.md.  Our own likelihood code lives in
mirt_reference.py; nothing here is package code.
"""

from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, roots_legendre
from scipy.stats import norm

from mirt_reference import HERE, gauss_hermite, marginal, mirt_pars, mirt_se, polish, versions

SEED = 20260017
N_CAT = 5


def simulate_grm(rng, n_persons, a, b, standardise=False):
    theta = rng.standard_normal(n_persons)
    if standardise:  # exact mean 0 / SD 1, so a single large-N data set has the model's theta scale
        theta = (theta - theta.mean()) / theta.std()
    star = expit(a[None, :, None] * (theta[:, None, None] - b[None, :, :]))  # (N, J, K-1)
    u = rng.random((n_persons, a.size))
    return (u[:, :, None] < star).sum(axis=2).astype(int)  # P(X >= k) = star_k


def true_grm(rng, n_items):
    a = rng.uniform(0.8, 2.5, n_items)
    loc = rng.normal(0.0, 0.7, n_items)
    offs = np.array([-1.8, -0.6, 0.4, 1.5])
    b = loc[:, None] + offs[None, :] + rng.normal(0, 0.1, (n_items, N_CAT - 1))
    return a, np.sort(b, axis=1)


def cpu():
    t = os.times()
    return t.user + t.system


def timed(fn):
    w0, c0 = time.perf_counter(), cpu()
    out = fn()
    return out, time.perf_counter() - w0, cpu() - c0


def speed_and_recovery(res_json):
    import mirt

    rng = np.random.default_rng(SEED)
    a, b = true_grm(rng, 28)
    X = simulate_grm(rng, 10_000, a, b, standardise=True)
    subscales = [list(range(7 * s, 7 * s + 7)) for s in range(4)]
    fits = {f"subscale{s + 1}": cols for s, cols in enumerate(subscales)}
    fits["total"] = list(range(28))
    runs = {}
    for label, kw in {
        "cold_default": {},  # the first fits of the process (imports already done)
        "default": {},
        "no_se": {"compute_standard_errors": False},
        "tight": {"tol": 1e-8, "max_iter": 5000},
        "q61": {"n_quadpts": 61},
        "q61_no_se": {"n_quadpts": 61, "compute_standard_errors": False},
    }.items():
        per = {}
        for name, cols in fits.items():
            kw = {"n_quadpts": 21, **kw}
            r, wall, cpu_s = timed(lambda: mirt.fit_mirt(X[:, cols], model="GRM", **kw))
            per[name] = {"wall": wall, "cpu": cpu_s, "iterations": int(r.n_iterations), "converged": bool(r.converged),
                         "loglik": float(r.log_likelihood)}
            if name == "total":
                runs.setdefault("_fits", {})[label] = r
        runs[label] = {"per_fit": per, "wall_total": sum(v["wall"] for v in per.values()),
                       "cpu_total": sum(v["cpu"] for v in per.values())}
        print(label, round(runs[label]["wall_total"], 2), "s", flush=True)
    # recovery on the 28-item total fit
    rec = {}
    truth = [np.concatenate([[a[i]], b[i]]) for i in range(28)]
    for label in ("default", "tight", "q61"):
        r = runs["_fits"][label]
        est, se = mirt_pars("GRM", r.model), mirt_se("GRM", r)
        z = np.concatenate([(e - t) / s for e, t, s in zip(est, truth, se)])
        rec[label] = {"n_params": int(z.size), "share_abs_z_lt_3": float(np.mean(np.abs(z) < 3)),
                      "max_abs_z": float(np.max(np.abs(z))), "share_abs_z_lt_1.96": float(np.mean(np.abs(z) < 1.96))}
    # exact optimum of the 28-item fit at the same quadrature: how far is mirt's estimate?
    nodes, weights = gauss_hermite(21)
    ex = polish("GRM", mirt_pars("GRM", runs["_fits"]["tight"].model), X, nodes, weights, tol=1e-6)
    for label in ("default", "tight"):
        d = max(np.max(np.abs(p - q)) for p, q in zip(mirt_pars("GRM", runs["_fits"][label].model), ex["pars"]))
        rec[label]["max_abs_diff_to_exact"] = float(d)
        rec[label]["loglik_minus_exact"] = float(runs["_fits"][label].log_likelihood - ex["loglik"])
    se_m = mirt_se("GRM", runs["_fits"]["tight"])
    rec["max_rel_diff_se_oakes_vs_numerical_hessian"] = float(max(np.max(np.abs(p / q - 1)) for p, q in zip(se_m, ex["se"])))
    del runs["_fits"]
    res_json["speed_grm_28x10000"] = {
        "design": "unidimensional GRM, 28 items x 5 categories, N = 10000 with theta standardised to mean 0 / SD 1 exactly, a ~ U(0.8, 2.5), b sorted around N(0, 0.7) locations; fits: 4 subscales of 7 items + total of 28; n_quadpts = 21 unless the run says q61",
        "true": {"a": a.tolist(), "b": b.tolist()},
        "runs": runs,
        "recovery_total": rec,
    }


def quadrature_sensitivity(res_json):
    """Exact maximiser (own code, Newton from the true values) of the 28-item GRM likelihood at several grids."""
    rng = np.random.default_rng(SEED)
    a, b = true_grm(rng, 28)
    X = simulate_grm(rng, 10_000, a, b, standardise=True)
    truth = [np.concatenate([[a[i]], b[i]]) for i in range(28)]
    quad = {}
    for label in ("GH21", "GH41", "GH61", "EQ61"):
        n = int(label[2:])
        if label.startswith("GH"):
            nodes, weights = gauss_hermite(n)
        else:
            nodes = np.linspace(-6, 6, n)
            weights = norm.pdf(nodes) / norm.pdf(nodes).sum()
        ex, wall, _ = timed(lambda: polish("GRM", truth, X, nodes, weights, tol=1e-4, fixed_hessian=True))
        z = np.concatenate([(e - t) / s for e, t, s in zip(ex["pars"], truth, ex["se"])])
        quad[label] = {"loglik": float(ex["loglik"]), "share_abs_z_lt_3": float(np.mean(np.abs(z) < 3)),
                       "share_abs_z_lt_1.96": float(np.mean(np.abs(z) < 1.96)), "max_abs_z": float(np.max(np.abs(z))),
                       "mean_z_slopes": float(np.mean(z[::N_CAT])), "seconds_own_newton": wall,
                       "newton_iterations": ex["newton_iterations"], "max_abs_grad": ex["max_abs_grad"]}
        print(label, quad[label], flush=True)
    res_json["quadrature_sensitivity_grm_28x10000"] = {
        "design": "same data as speed_grm_28x10000",
        "what": "exact maximiser by Newton from the true values, Hessian refreshed every 5 steps; SEs from the last Hessian",
        "grids": quad,
    }


def coverage(res_json, reps=100):
    import mirt

    rng = np.random.default_rng(SEED + 1)
    out = {}
    designs = {
        "GRM_7x1000": ("GRM", 7, 1000),
        "2PL_10x1000": ("2PL", 10, 1000),
        "GPCM_7x1000": ("GPCM", 7, 1000),
    }
    for name, (kind, J, N) in designs.items():
        if kind == "2PL":
            a = rng.uniform(0.7, 2.2, J)
            b = rng.normal(0, 1, (J, 1))
        else:
            a, b = true_grm(rng, J)
            if kind == "GPCM":  # step difficulties: unsorted is fine, keep the same spread
                b = b + rng.normal(0, 0.2, b.shape)
        truth = [np.concatenate([[a[i]], b[i]]) for i in range(J)]
        hits, hits3, zs, secs, fails = [], [], [], [], 0
        for _ in range(reps):
            theta = rng.standard_normal(N)
            if kind == "GPCM":
                inc = a[None, :, None] * (theta[:, None, None] - b[None, :, :])
                z = np.concatenate([np.zeros((N, J, 1)), np.cumsum(inc, axis=2)], axis=2)
                p = np.exp(z - z.max(axis=2, keepdims=True))
                p /= p.sum(axis=2, keepdims=True)
                u = rng.random((N, J, 1))
                X = (u > np.cumsum(p, axis=2)).sum(axis=2)
            else:
                star = expit(a[None, :, None] * (theta[:, None, None] - b[None, :, :]))
                X = (rng.random((N, J))[:, :, None] < star).sum(axis=2)
            if any(len(np.unique(X[:, j])) < b.shape[1] + 1 for j in range(J)):
                fails += 1
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r, wall, _ = timed(lambda: mirt.fit_mirt(X, model=kind, n_quadpts=21))
            secs.append(wall)
            est, se = mirt_pars(kind, r.model), mirt_se(kind, r)
            z = np.concatenate([(e - t) / s for e, t, s in zip(est, truth, se)])
            zs.append(z)
        Z = np.array(zs)
        out[name] = {"replications": int(Z.shape[0]), "skipped_empty_category": fails, "n_params": int(Z.shape[1]),
                     "mean_coverage_95": float(np.mean(np.abs(Z) < 1.959964)),
                     "min_param_coverage_95": float(np.min(np.mean(np.abs(Z) < 1.959964, axis=0))),
                     "max_param_coverage_95": float(np.max(np.mean(np.abs(Z) < 1.959964, axis=0))),
                     "sd_z_mean": float(np.mean(Z.std(axis=0))), "mean_z": float(Z.mean()),
                     "seconds_per_fit_median": float(np.median(secs))}
        print(name, out[name], flush=True)
    res_json["coverage"] = out


def girth_check(res_json):
    import girth

    X = pd.read_csv(HERE / "bfi_agree.csv")[["A1", "A2", "A3", "A4", "A5"]].to_numpy(dtype=int)
    out = {}
    # girth's own quadrature: Gauss-Legendre on bounds, weights times the N(0,1) density
    for nq, bounds in ((41, (-4.5, 4.5)), (61, (-6.0, 6.0))):
        t, w = roots_legendre(nq)
        lo, hi = bounds
        nodes = (hi - lo) / 2 * t + (hi + lo) / 2
        weights = w * (hi - lo) / 2 * norm.pdf(nodes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r, wall, _ = timed(lambda: girth.grm_mml(X.T, options={"quadrature_n": nq, "quadrature_bounds": bounds,
                                                                 "max_iteration": 500}))
        gp = [np.concatenate([[r["Discrimination"][i]], r["Difficulty"][i]]) for i in range(5)]
        ex = polish("GRM", gp, X, nodes, weights / weights.sum())
        out[f"grm_bfi_agree_GL{nq}"] = {
            "options": {"quadrature_n": nq, "quadrature_bounds": bounds, "max_iteration": 500},
            "seconds": wall, "max_abs_diff_to_exact_same_quadrature": float(max(np.max(np.abs(p - q)) for p, q in zip(gp, ex["pars"]))),
            "loglik_gap": float(marginal("GRM", gp, X, nodes, weights / weights.sum()) - ex["loglik"]),
        }
    rng = np.random.default_rng(SEED)
    a, b = true_grm(rng, 28)
    X = simulate_grm(rng, 10_000, a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, wall, _ = timed(lambda: girth.grm_mml(X.T))
    out["grm_28x10000_seconds_default_options"] = wall
    res_json["girth"] = out
    print(out, flush=True)


def evaluate(steps=()):
    """Run the named steps (default: all) and merge their results into engine_evaluation.json."""
    out = HERE / "engine_evaluation.json"
    res = json.loads(out.read_text()) if out.exists() else {}
    res.update({"versions": versions(), "machine": {"cpus": os.cpu_count()}})
    try:
        import girth  # noqa: F401
        import importlib.metadata as md

        res["versions"]["girth"] = md.version("girth")
    except ImportError:
        pass
    table = {"speed": speed_and_recovery, "quadrature": quadrature_sensitivity, "coverage": coverage, "girth": girth_check}
    for name in steps or list(table):  # written after each step
        step = table[name]
        if step is girth_check and "girth" not in res["versions"]:
            continue
        res[f"load_average_before_{step.__name__}"] = os.getloadavg()
        step(res)
        res[f"load_average_after_{step.__name__}"] = os.getloadavg()
        out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
