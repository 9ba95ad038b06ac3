"""FIML (missing="ml") and MLR for the ML CFA engine against lavaan 0.6-14 (tests/reference/missing/).

Tolerances (issue 13): χ² and log-likelihood 1e-6 relative, estimates 1e-5, SEs and fit indices 1e-4 —
estimates and SEs at those tolerances against lavaan at its exact optimum: tests/test_cfa_fiml_tight.py.
Against these (lavaan's default stopping point) measured: χ²/logl ≤ 7e-10; HS estimates ≤ 2e-5 relative to max(|est|, 1), SEs ≤ 7.5e-5; indices ≤ 4.2e-5
(HS MAR MLR configural, where lavaan notes an unstable Mplus-variant trace).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import fit_cfa
from psychometrics.cfa.compare import compare, scaled_chisq_difference
from psychometrics.exceptions import DataError, DataQualityWarning

REF = Path(__file__).parent / "reference" / "missing"
DATA = Path(__file__).parents[1] / "psychometrics" / "datasets"
HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{c}{i}" for i in range(1, 6))
                 for f, c in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])
EQ = {"single": None, "configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts"),
      "strict": ("loadings", "intercepts", "residuals")}
FIT_KEYS = ["cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr", "aic", "bic", "baseline.chisq",
            "chisq.scaled", "chisq.scaling.factor", "baseline.chisq.scaling.factor", "cfi.scaled", "tli.scaled",
            "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust",
            "rmsea.ci.upper.robust", "scaling.factor.h1", "scaling.factor.h0"]


def _ours(key: str) -> str:
    return {"logl": "loglik", "unrestricted.logl": "unrestricted_loglik"}.get(key, key.replace(".", "_"))


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {"hs": pd.read_csv(DATA / "holzinger_swineford.csv"), "bfi": pd.read_csv(DATA / "bfi.csv"),
            "hs_mcar": pd.read_csv(REF / "hs_mcar.csv"), "hs_mar": pd.read_csv(REF / "hs_mar.csv")}


def _fit(name: str, frames: dict[str, pd.DataFrame]):
    parts = name.split("_")
    if name.startswith("mlr_hs"):
        ds, est, miss, level = "hs", "MLR", "listwise", parts[2]
    else:
        ds = "bfi" if parts[1] == "bfi" else f"{parts[1]}_{parts[2]}"
        est, miss, level = parts[-2].upper(), "fiml", parts[-1]
    model, grp = (BFI5, "gender") if ds == "bfi" else (HS3, "school")
    kw = {} if EQ[level] is None else {"group": grp, "group_equal": EQ[level]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_cfa(model, frames[ds], estimator=est, missing=miss, **kw), level


def _estimates(res, ref: dict, level: str) -> pd.DataFrame:
    ours = res.estimates.copy()
    theirs = pd.DataFrame(ref["estimates"])
    theirs = theirs[theirs.op != "=="]
    if level == "single":
        ours["g"], theirs["g"] = 1, 1
    else:
        ours["g"] = ours["group"].map({lab: k + 1 for k, lab in enumerate(res.groups)})
        theirs["g"] = theirs["group"]
    m = ours.merge(theirs, on=["lhs", "op", "rhs", "g"], suffixes=("", "_r"))
    assert len(m) == len(theirs)
    return m


HS_FITS = [f"{kind}_{est}_{lvl}" for kind in ("fiml_hs_mcar", "fiml_hs_mar") for est in ("ml", "mlr")
           for lvl in EQ] + [f"mlr_hs_{lvl}" for lvl in EQ]


@pytest.mark.parametrize("name", HS_FITS + ["fiml_bfi_ml_single", "fiml_bfi_mlr_single", "fiml_bfi_mlr_scalar"])
def test_against_lavaan(name, frames):
    ref = json.loads((REF / f"{name}.json").read_text())
    res, level = _fit(name, frames)
    f = ref["fit"]
    assert res.converged
    assert res.fit["df"] == f["df"] and res.fit["npar"] == f["npar"] and res.fit["ntotal"] == f["ntotal"]
    for k in ("chisq", "logl", "unrestricted.logl"):
        assert res.fit[_ours(k)] == pytest.approx(f[k], rel=1e-6), k
    for k in FIT_KEYS:
        if k in f and f[k] is not None:
            assert res.fit[_ours(k)] == pytest.approx(f[k], rel=1e-4, abs=1e-8), k
    m = _estimates(res, ref, level)
    # These fixtures are lavaan's default stopping point. The issue's tolerances (estimates 1e-5) are
    # held against lavaan at its exact optimum in tests/test_cfa_fiml_tight.py; here:
    # lavaan stops nlminb earlier than we do: on bfi its estimates have a larger FIML discrepancy
    # (checked in test_bfi_estimates_at_least_as_good) and differ by up to 1.1e-4 relative
    tol_est, tol_se = (1e-5 * 3, 1e-4) if "bfi" not in name else (2e-4, 3e-4)
    # HS: measured 2.0e-5 (configural, lavaan's optimizer tolerance), so 3e-5 relative to max(|est|, 1)
    assert (np.abs(m.est - m.est_r) / np.maximum(np.abs(m.est_r), 1)).max() < tol_est
    assert (np.abs(m.se - m.se_r) / np.maximum(np.abs(m.se_r), 1e-3)).max() < tol_se
    if res.fit["npar"] and "single" in name:
        assert res.nobs == {"all": ref["ntotal"]}


def test_bfi_estimates_at_least_as_good(frames):
    """Where our bfi estimates differ from lavaan's by > 1e-5, ours have the lower FIML discrepancy."""
    ref = json.loads((REF / "fiml_bfi_ml_single.json").read_text())
    res, _ = _fit("fiml_bfi_ml_single", frames)
    e = res._engine
    est = pd.DataFrame(ref["estimates"])
    lookup = {(a, b, c): v for a, b, c, v in zip(est.lhs, est.op, est.rhs, est.est)}
    x = e.x.copy()
    for p in e.spec.parameters:
        if p.free:
            x[p.index] = lookup[(p.lhs, p.op, p.rhs)]
    assert e.state.fmin(e.x) <= e.state.fmin(x)
    assert e.state.fmin(x) == pytest.approx(ref["fit"]["fmin"], rel=1e-9)


def test_issue_numbers_mlr_complete(frames):
    res, _ = _fit("mlr_hs_single", frames)
    f = res.fit
    assert (round(f["chisq"], 3), f["df"], round(f["chisq_scaled"], 3), round(f["chisq_scaling_factor"], 3)) == \
        (85.306, 24, 87.132, 0.979)
    assert (round(f["cfi_robust"], 3), round(f["tli_robust"], 3), round(f["rmsea_robust"], 3), round(f["srmr"], 3)) == \
        (0.930, 0.895, 0.092, 0.065)
    est = res.estimates.set_index(["lhs", "op", "rhs"])
    assert round(est.loc[("visual", "=~", "x2"), "est"], 3) == 0.554
    assert round(est.loc[("visual", "=~", "x2"), "se"], 3) == 0.132
    assert round(est.loc[("visual", "=~", "x3"), "se"], 3) == 0.141
    sc, _ = _fit("mlr_hs_scalar", frames)
    g = sc.fit
    assert (round(g["chisq"], 3), g["df"], round(g["chisq_scaled"], 3), round(g["chisq_scaling_factor"], 3),
            round(g["cfi_robust"], 3), round(g["rmsea_robust"], 3)) == (164.103, 60, 166.748, 0.984, 0.881, 0.108)
    assert res.estimator == "MLR" and res.missing == "listwise"


def test_empty_rows_dropped_and_counted(frames):
    with pytest.warns(DataQualityWarning, match="miss every model item"):
        res = fit_cfa(HS3, frames["hs_mcar"], missing="fiml")
    assert res.n_excluded == 2 and res.nobs == {"all": 299} and res.missing == "ml"
    assert any("miss every model item" in d.message for d in res.diagnostics)


@pytest.mark.parametrize("name", ["fiml_hs_mar_mlr", "fiml_hs_mcar_mlr", "mlr_hs"])
def test_scaled_difference_tests(name, frames):
    lrt = json.loads((REF / "lrt.json").read_text())
    fits = {lvl: _fit(f"{name}_{lvl}", frames)[0] for lvl in ("configural", "metric", "scalar", "strict")}
    for a, b in (("configural", "metric"), ("metric", "scalar"), ("scalar", "strict")):
        ref = lrt[f"{name}_{b}_vs_{a}"]
        for method in ("satorra.bentler.2001", "satorra.bentler.2010"):
            r = scaled_chisq_difference(fits[a], fits[b], method)
            # the 2001 statistic divides by a difference of scaling factors: lavaan's numerical Hessian
            # (step 1e-6) moves it by up to 5.5e-5 relative (HS MAR metric vs configural)
            assert r["chisq_diff"] == pytest.approx(ref[method]["chisq_diff"], rel=1e-4), (a, b, method)
            assert r["df_diff"] == ref[method]["df_diff"]
            assert r["pvalue"] == pytest.approx(ref[method]["pvalue"], rel=1e-4, abs=1e-8)
    table = compare(*fits.values()).table
    assert list(table["delta_method"].iloc[1:]) == ["satorra.bentler.2001"] * 3


def test_sb2010_when_2001_not_positive(frames):
    """Constructed case (lavaan never switches; no fixture): scaling factors chosen so that the 2001 c_d
    is negative — the test falls back to the strictly positive 2010 version, whose value does not use c1."""
    less, _ = _fit("fiml_hs_mar_mlr_configural", frames)
    more, _ = _fit("fiml_hs_mar_mlr_metric", frames)
    fake = dataclasses.replace(less, fit={**less.fit, "chisq_scaling_factor": 5.0})
    r = scaled_chisq_difference(fake, more)
    ref = scaled_chisq_difference(less, more, "satorra.bentler.2010")
    assert r["method"] == "satorra.bentler.2010" and r["scaling_factor"] > 0
    assert r["chisq_diff"] == pytest.approx(ref["chisq_diff"], rel=1e-12)
    assert scaled_chisq_difference(less, more)["method"] == "satorra.bentler.2001"


def test_bad_input_named():
    rng = np.random.default_rng(1)
    eta = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=200)
    X = pd.DataFrame(np.repeat(eta, 3, axis=1) * 0.8 + rng.normal(scale=0.6, size=(200, 6)),
                     columns=[f"y{i}" for i in range(1, 7)])
    X["g"] = ["a"] * 100 + ["b"] * 100
    model = "f =~ y1 + y2 + y3\ng =~ y4 + y5 + y6"
    never = X.copy()
    never.loc[never.g == "b", "y2"] = np.nan
    with pytest.raises(DataError, match=r"'y2'.*missing in every row in group 'b'"):
        fit_cfa(model, never, missing="ml", group="g")
    apart = X.copy()
    apart.loc[:99, "y1"] = np.nan
    apart.loc[100:, "y4"] = np.nan
    with pytest.raises(DataError, match=r"y1–y4 .*never observed together"):
        fit_cfa(model, apart, missing="ml")
    low = X.copy()
    low.loc[:94, "y1"] = np.nan
    low.loc[100:, "y4"] = np.nan
    with pytest.warns(DataQualityWarning, match=r"low covariance coverage.*y1–y4"):
        fit_cfa(model, low, missing="ml")
    with pytest.raises(DataError, match="missing='nope'"):
        fit_cfa(model, X, missing="nope")


def test_complete_data_fiml_equals_ml(frames):
    """With no missing value FIML is ordinary ML with a mean structure (same χ², estimates, logl)."""
    hs = frames["hs"]
    a = fit_cfa(HS3, hs, missing="ml")
    b = fit_cfa(HS3, hs, meanstructure=True)
    assert a.fit["chisq"] == pytest.approx(b.fit["chisq"], rel=1e-9)
    assert a.fit["loglik"] == pytest.approx(b.fit["loglik"], rel=1e-12)
    assert np.allclose(a.estimates.est, b.estimates.est, atol=1e-6)
    assert math.isfinite(a.fit["cfi"])


@pytest.mark.parametrize("est", ["ML", "MLR"])
def test_invariance_ladder_fiml(est, frames):
    """The FIML ladder by school: each level's fit and the difference tests equal lavaan's
    (MLR: scaled χ², robust CFI/RMSEA, Satorra–Bentler 2001 differences)."""
    from psychometrics.invariance import measurement_invariance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inv = measurement_invariance(HS3, frames["hs_mar"], "school", estimator=est, missing="fiml", partial=False)
    lrt = json.loads((REF / "lrt.json").read_text())
    assert inv.estimator == est and inv.missing == "ml" and sum(inv.nobs.values()) == 301
    for lvl in ("configural", "metric", "scalar", "strict"):
        f = json.loads((REF / f"fiml_hs_mar_{est.lower()}_{lvl}.json").read_text())["fit"]
        row = inv.table.loc[lvl]
        if est == "MLR":
            assert row["chisq"] == pytest.approx(f["chisq.scaled"], rel=1e-4)
            assert row["cfi"] == pytest.approx(f["cfi.robust"], rel=1e-4)
            assert row["rmsea"] == pytest.approx(f["rmsea.robust"], rel=1e-4)
        else:
            assert row["chisq"] == pytest.approx(f["chisq"], rel=1e-6)
            assert row["cfi"] == pytest.approx(f["cfi"], rel=1e-4)
    for a, b in (("configural", "metric"), ("metric", "scalar"), ("scalar", "strict")):
        ref = lrt[f"fiml_hs_mar_{est.lower()}_{b}_vs_{a}"]
        d = ref["satorra.bentler.2001" if est == "MLR" else "standard"]["chisq_diff"]
        assert inv.table.loc[b, "delta_chisq"] == pytest.approx(d, rel=1e-4)


def test_mlr_meat_block_by_block_equals_one_block(frames, monkeypatch):
    # issue 16: at large n the casewise scores of MLR (meat, robust test statistics) are summed
    # block by block instead of held for all rows; the sums are the same up to rounding (1e-10)
    from psychometrics.cfa import fiml

    ref, _ = _fit("fiml_bfi_mlr_single", frames)
    monkeypatch.setattr(fiml, "SCORE_BLOCK", 1)  # blocks of 256 rows
    blocked, _ = _fit("fiml_bfi_mlr_single", frames)
    np.testing.assert_allclose(blocked.estimates["se"].to_numpy(float), ref.estimates["se"].to_numpy(float),
                               rtol=1e-10)
    for key in ("chisq_scaled", "chisq_scaling_factor", "cfi_robust", "rmsea_robust"):
        assert blocked.fit[key] == pytest.approx(ref.fit[key], rel=1e-10), key
