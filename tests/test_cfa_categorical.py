"""Categorical CFA (DWLS / WLSMV) against lavaan 0.6-14, fed lavaan's own sample statistics.

Fixtures: ``tests/reference/wlsmv/`` (``wlsmv_reference.R``). Each fixture stores the
sample statistics lavaan used (thresholds, polychoric correlations, Γ = NACOV), so
these tests check the estimator side independently of the polychoric step.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa.categorical import OrdinalSampleStats, build_categorical_spec, fit_categorical
from psychometrics.exceptions import DataError, ModelSyntaxError

REF = Path(__file__).parent / "reference" / "wlsmv"
PROV = json.loads((REF / "provenance.json").read_text())
MODELS = PROV["models"]
STEPS = {"configural": [], "thresholds": ["thresholds"], "loadings": ["thresholds", "loadings"],
         "intercepts": ["thresholds", "loadings", "intercepts"]}


@lru_cache(maxsize=None)
def fixture(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


def stats_from(groups: list[dict]) -> list[OrdinalSampleStats]:
    out = []
    for g in groups:
        items = g["names"]
        th = [np.array([t for t, n in zip(g["th"], g["th_names"]) if n.split("|")[0] == v]) for v in items]
        out.append(OrdinalSampleStats(tuple(items), tuple(th), np.array(g["cor"]), np.array(g["gamma"]), g["nobs"]))
    return out


def labels(d: dict) -> list[str]:
    gl = d["group_labels"]
    return [str(x) for x in (gl if isinstance(gl, list) else [gl])]


@lru_cache(maxsize=None)
def fitted(name: str):
    d = fixture(name)
    kw: dict = {}
    if name.startswith("inv_"):
        data, step = name.split("_")[1:]
        stats_src = fixture(f"inv_{data}_configural")["groups"]
        model = MODELS["hs3"] if data == "hs" else MODELS["bfi2"]
        kw.update(std_lv=True, group_equal=STEPS[step])
    elif name.startswith("partial_"):
        data = name.split("_")[1]
        case = json.loads((REF / "partial_cases.json").read_text())[name]
        stats_src = fixture(f"inv_{data}_configural")["groups"]
        model = MODELS["hs3"] if data == "hs" else MODELS["bfi2"]
        kw.update(std_lv=True, group_equal=case["ge"], group_partial=case["gp"])
    else:
        stats_src = d["groups"]
        model = MODELS["bfi2"] if name.startswith("bfi") else MODELS[
            "hs_resid" if "resid" in name else "hs_higher" if "higher" in name else "hs3"]
        kw["std_lv"] = "std.lv = TRUE" in d["call"]
        kw["orthogonal"] = "orthogonal = TRUE" in d["call"]
    stats = stats_from(stats_src)
    if len(stats) > 1:
        kw["groups"] = labels(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_categorical(model, stats, **kw)


def merged(name: str) -> pd.DataFrame:
    d = fixture(name)
    res = fitted(name)
    ref = pd.DataFrame(d["estimates"])
    gl = labels(d)
    ref["group"] = ref["group"].map(lambda k: gl[int(k) - 1]) if "group" in ref else "all"
    ref["rhs"] = ref["rhs"].fillna("")
    m = res.estimates.merge(ref, on=["lhs", "op", "rhs", "group"], how="outer", suffixes=("", "_r"), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs", "group", "_merge"]]
    return m


ALL = ["hs_ord", "hs_ord_stdlv", "hs_ord_resid", "bfi_ord", "hs_ord_groups", "hs_ord_orth", "hs_ord_higher"] + [
    f"inv_{d}_{s}" for d in ("hs", "bfi") for s in STEPS
] + ["partial_bfi_intercepts", "partial_bfi_loadings", "partial_bfi_thresholds", "partial_hs_thresholds",
       "partial_hs_intercepts"]


@pytest.mark.parametrize("name", ALL)
def test_estimates_and_robust_se(name):
    m = merged(name)
    # lavaan's nlminb stops ≈1e-6 (one group) to ≈1e-5 (several groups) from the optimum
    np.testing.assert_allclose(m["est"], m["est_r"].astype(float), atol=1e-4)
    np.testing.assert_allclose(m["se"], m["se_r"].astype(float), atol=1e-4)
    std = m[m["op"].isin(["=~", "|", "~~"])]
    np.testing.assert_allclose(std["std_all"], std["std.all"].astype(float), atol=1e-4)
    assert fitted(name).converged and fitted(name).estimator == "WLSMV"


@pytest.mark.parametrize("name", ALL)
def test_test_statistics(name):
    f, r = fitted(name).fit, fixture(name)["fit"]
    assert f["npar"] == r["npar"] and f["df"] == r["df"]
    for key in ("chisq", "chisq.scaled", "baseline.chisq", "baseline.chisq.scaled"):
        assert f[key.replace(".", "_")] == pytest.approx(r[key], rel=1e-5), key
    assert f["chisq_scaling_factor"] == pytest.approx(r["chisq.scaling.factor"], rel=1e-5)
    t = fixture(name)["test_scaled_shifted"]
    assert f["chisq_shift_parameter"] == pytest.approx(t["shift_parameter"], rel=1e-5)
    assert f["fmin"] == pytest.approx(r["fmin"], rel=1e-5)


INDICES = ["cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust", "rmsea", "rmsea.ci.lower",
           "rmsea.ci.upper", "rmsea.pvalue", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
           "rmsea.pvalue.scaled", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust",
           "rmsea.pvalue.robust", "srmr", "pvalue", "pvalue.scaled", "baseline.pvalue.scaled"]


@pytest.mark.parametrize("name", ALL)
def test_fit_indices(name):
    f, r = fitted(name).fit, fixture(name)["fit"]
    for key in INDICES:
        if r[key] is None:  # lavaan: NA (robust indices with constrained thresholds)
            assert math.isnan(f[key.replace(".", "_")]), key
            continue
        # 1e-5: the indices inherit the ≈1e-6 relative error of lavaan's estimates
        assert f[key.replace(".", "_")] == pytest.approx(r[key], abs=1e-5), key


@pytest.mark.parametrize("name", ALL)
def test_catml_robust_statistics(name):
    f, c = fitted(name).fit, fixture(name)["catml"]
    if c["XX3"] is None:  # lavaan cannot build the catML model when thresholds are constrained
        assert all(math.isnan(f[k]) for k in ("catml_chisq", "catml_c_hat", "cfi_robust", "rmsea_robust"))
        return
    assert f["catml_chisq"] == pytest.approx(c["XX3"], rel=1e-5)
    assert f["catml_c_hat"] == pytest.approx(c["c.hat3"], rel=1e-5)
    assert f["catml_baseline_chisq"] == pytest.approx(c["XX3.null"], rel=1e-8)
    assert f["catml_baseline_c_hat"] == pytest.approx(c["c.hat3.null"], rel=1e-8)


@pytest.mark.parametrize("name", ["hs_ord", "bfi_ord", "hs_ord_resid"])
def test_vcov_matches_lavaan(name):
    d = fixture(name)
    V = fitted(name).parameter_vcov()
    ref = pd.DataFrame(d["vcov"], index=d["vcov_names"], columns=d["vcov_names"])
    assert set(V.index) == set(ref.index)
    # relative 1e-5: the sandwich is evaluated at lavaan's estimates, ≈1e-6 from the optimum
    np.testing.assert_allclose(V.loc[ref.index, ref.index].to_numpy(), ref.to_numpy(), rtol=1e-5, atol=1e-7)


def test_threshold_table_and_tables():
    res = fitted("hs_ord")
    tau = res.thresholds
    assert list(tau.columns) == ["t1", "t2"] and list(tau.index) == [f"x{i}" for i in range(1, 10)]
    est = res.estimates.set_index(["lhs", "op", "rhs"])["est"]
    assert tau.loc["x3", "t2"] == est[("x3", "|", "t2")]
    # delta parameterization: latent-response variances are 1
    assert np.allclose(np.diag(res.implied_cov), 1.0)
    assert np.allclose(res.r_squared + res.std_residual_variances, 1.0)
    assert res.std_loadings.loc["x1", "visual"] == pytest.approx(0.856779066370372, abs=1e-6)
    assert fitted("hs_ord_groups").thresholds.index.names == ["group", "item"]


def test_invariance_with_three_categories_thresholds_equivalent_to_configural():
    # Wu & Estabrook (2016): with 3 categories, threshold invariance is equivalent to the configural model
    a, b = fitted("inv_hs_configural").fit, fitted("inv_hs_thresholds").fit
    assert a["df"] == b["df"] and a["chisq"] == pytest.approx(b["chisq"], rel=1e-7)


def test_errors():
    stats = stats_from(fixture("hs_ord_groups")["groups"])
    with pytest.raises(ModelSyntaxError, match="std_lv=True"):
        fit_categorical(MODELS["hs3"], stats, group_equal=["thresholds"])
    with pytest.raises(ModelSyntaxError, match="not supported with ordinal"):
        fit_categorical(MODELS["hs3"], stats, std_lv=True, group_equal=["residuals"])
    with pytest.raises(ModelSyntaxError, match="residual variance of an ordinal item"):
        fit_categorical(MODELS["hs3"] + "\nx1 ~~ x1", stats[0])
    with pytest.raises(ModelSyntaxError, match="group_partial entry 'x1|t3'"):
        fit_categorical(MODELS["hs3"], stats, std_lv=True, group_equal=["thresholds"], group_partial=["x1|t3"])
    with pytest.raises(ModelSyntaxError, match="group_partial entry 'x1~~x1'"):
        fit_categorical(MODELS["hs3"], stats, std_lv=True, group_equal=["thresholds"], group_partial=["x1~~x1"])
    s0 = stats[0]
    with pytest.raises(DataError, match="not in the ordinal sample statistics"):
        fit_categorical(MODELS["hs3"] + "\nf =~ y1 + y2 + y3", s0)
    with pytest.raises(DataError, match="strictly increasing"):
        OrdinalSampleStats(s0.items, (s0.thresholds[0][::-1],) + s0.thresholds[1:], s0.cor, s0.acov, s0.nobs)
    with pytest.raises(DataError, match="acov must be"):
        OrdinalSampleStats(s0.items, s0.thresholds, s0.cor, s0.acov[:-1, :-1], s0.nobs)
    res = fitted("hs_ord")
    assert res.score_tests().empty  # no equality constraints


def test_binary_items_in_threshold_invariance_are_refused():
    with pytest.raises(DataError, match="binary"):
        build_categorical_spec("f =~ a + b + c", {"a": 1, "b": 2, "c": 2}, groups=("A", "B"), std_lv=True,
                               group_equal=["thresholds"])


def test_subset_reorders_statistics():
    s = stats_from(fixture("hs_ord")["groups"])[0]
    sub = s.subset(["x3", "x1", "x2"])
    assert sub.items == ("x3", "x1", "x2")
    assert sub.cor[0, 1] == s.cor[2, 0]
    v = sub.vector()
    assert v[0] == s.thresholds[2][0] and v[6] == s.cor[2, 0]
    # Γ element of (r_31, r_21) in the new order = Γ of (r_{x1,x3}, r_{x3,x2}) in the old
    T = 18
    old_pairs = [(i, j) for j in range(9) for i in range(j + 1, 9)]
    k_13 = T + old_pairs.index((2, 0))
    assert sub.acov[6, 6] == s.acov[k_13, k_13]


# ---------------------------------------------------------------- end to end: data → lavaan
BFI_ITEMS = [f"E{i}" for i in range(1, 6)] + [f"N{i}" for i in range(1, 6)]


@lru_cache(maxsize=None)
def hs_ord() -> pd.DataFrame:
    return pd.read_csv(REF / "hs_ord.csv")


@lru_cache(maxsize=None)
def bfi10() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi").dropna(subset=BFI_ITEMS + ["gender"])


def _compare_to_lavaan(res, name: str) -> None:
    d = fixture(name)
    ref = pd.DataFrame(d["estimates"])
    gl = labels(d)
    ref["group"] = ref["group"].map(lambda k: gl[int(k) - 1]) if "group" in ref else "all"
    ref["rhs"] = ref["rhs"].fillna("")
    m = res.estimates.merge(ref, on=["lhs", "op", "rhs", "group"], suffixes=("", "_r"))
    assert len(m) == len(res.estimates) == len(ref)
    np.testing.assert_allclose(m["est"], m["est_r"].astype(float), atol=1e-4)
    np.testing.assert_allclose(m["se"], m["se_r"].astype(float), atol=1e-4)
    for key in ("chisq", "chisq.scaled", "baseline.chisq.scaled"):
        assert res.fit[key.replace(".", "_")] == pytest.approx(d["fit"][key], rel=1e-5), key
    for key in ("cfi.scaled", "rmsea.scaled", "cfi.robust", "rmsea.robust", "srmr"):
        if d["fit"][key] is not None:
            assert res.fit[key.replace(".", "_")] == pytest.approx(d["fit"][key], abs=1e-5), key


def test_fit_cfa_wlsmv_from_data_single_group():
    from psychometrics.cfa import fit_cfa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty cells in some bivariate tables (as lavaan)
        res = fit_cfa(MODELS["hs3"], hs_ord(), estimator="WLSMV")
    _compare_to_lavaan(res, "hs_ord")
    assert res.nobs == {"all": 301} and res.estimator == "WLSMV"
    assert "WLSMV" in res.summary() and len(res.to_dict()["modification_indices"]) > 0


def test_fit_cfa_wlsmv_from_data_groups_and_likert():
    from psychometrics.cfa import fit_cfa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_cfa(MODELS["hs3"], hs_ord(), estimator="WLSMV", group="school")
    _compare_to_lavaan(res, "hs_ord_groups")
    res = fit_cfa(MODELS["bfi2"], bfi10(), ordered=BFI_ITEMS)  # ordered= implies WLSMV, as lavaan
    _compare_to_lavaan(res, "bfi_ord")
    res = fit_cfa(MODELS["bfi2"], bfi10(), estimator="WLSMV", group="gender", std_lv=True,
                  group_equal=["thresholds", "loadings"])
    _compare_to_lavaan(res, "inv_bfi_loadings")
    assert res.groups == ("2", "1") or res.groups == ("1", "2")


def test_empty_category_in_one_group_error_or_collapse():
    from psychometrics.cfa import fit_cfa

    df = bfi10().copy()
    # make category 6 of N5 empty among men (gender 1): recode it to 5 there
    men = df["gender"] == 1
    df.loc[men & (df["N5"] == 6), "N5"] = 5
    with pytest.raises(DataError, match=r"'N5' has an empty category: category 6 in group '1'"):
        fit_cfa(MODELS["bfi2"], df, estimator="WLSMV", group="gender")
    with pytest.warns(Warning, match=r"category 6 \(empty in group '1'\) merged into 5"):
        res = fit_cfa(MODELS["bfi2"], df, estimator="WLSMV", group="gender", empty_categories="collapse")
    tau = res.estimates[(res.estimates["op"] == "|") & (res.estimates["lhs"] == "N5")]
    assert set(tau["rhs"]) == {"t1", "t2", "t3", "t4"}  # 5 categories left
    assert any("merged into 5" in d.message for d in res.diagnostics)


def test_fit_cfa_wlsmv_input_errors():
    from psychometrics.cfa import fit_cfa

    with pytest.raises(ModelSyntaxError, match="mixing ordinal and continuous"):
        fit_cfa(MODELS["bfi2"], bfi10(), estimator="WLSMV", ordered=BFI_ITEMS[:-1])
    with pytest.raises(DataError, match="needs item responses"):
        fit_cfa(MODELS["bfi2"], estimator="WLSMV", sample_cov=bfi10()[BFI_ITEMS].cov(), sample_nobs=100)
    df = bfi10().copy()
    df["E1"] = df["E1"] + 0.5
    with pytest.raises(DataError, match="'E1' has non-integer values"):
        fit_cfa(MODELS["bfi2"], df, estimator="WLSMV")
    df = bfi10().copy()
    df["E1"] = 3
    with pytest.raises(DataError, match="'E1' has a single category"):
        fit_cfa(MODELS["bfi2"], df, estimator="WLSMV")


# ---------------------------------------------------------------- categorical invariance
def test_categorical_invariance_table_matches_lavaan_and_semtools():
    from psychometrics.categorical_invariance import categorical_invariance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = categorical_invariance(MODELS["hs3"], hs_ord(), "school", rule="chisq")
    t = res.table
    assert list(t.index) == ["configural", "thresholds", "loadings", "intercepts", "intercepts (partial)"]
    for lv in t.index[:4]:
        r = fixture(f"inv_hs_{lv}")["fit"]
        assert t.loc[lv, "chisq"] == pytest.approx(r["chisq.scaled"], rel=1e-5)
        assert t.loc[lv, "df"] == r["df"] and t.loc[lv, "npar"] == r["npar"]
        for ours, theirs in (("cfi", "cfi.scaled"), ("tli", "tli.scaled"), ("rmsea", "rmsea.scaled"), ("srmr", "srmr")):
            assert t.loc[lv, ours] == pytest.approx(r[theirs], abs=1e-5)
    lrt = json.loads((REF / "inv_lrt.json").read_text())
    for lv, prev in (("loadings", "thresholds"), ("intercepts", "loadings")):
        ref = lrt[f"hs_{lv}_vs_{prev}"]
        assert t.loc[lv, "compared_with"] == prev
        assert t.loc[lv, "delta_chisq"] == pytest.approx(ref["chisq_diff"], rel=1e-5)
        assert t.loc[lv, "delta_pvalue"] == pytest.approx(ref["pvalue"], rel=1e-4)
    # partial search: intercepts fail; releasing x3~1 then x7~1 (largest score tests) makes them hold
    assert res.partial_steps["released"].tolist() == ["x3~1", "x7~1"]
    assert t.loc["intercepts (partial)", "partial"] == "x3~1, x7~1" and t.loc["intercepts (partial)", "holds"]
    assert t.loc["intercepts (partial)", "chisq"] == pytest.approx(
        fixture("partial_hs_intercepts")["fit"]["chisq.scaled"], rel=1e-5)
    assert res.level == "intercepts (partial)"
    # 3 categories: thresholds ≡ configural (Δdf = 0, holds by construction)
    assert t.loc["thresholds", "delta_df"] == 0 and t.loc["thresholds", "holds"]
    assert t.loc["intercepts", "holds"] is False or not t.loc["intercepts", "holds"]
    assert res.rule == "chisq"
    assert categorical_invariance(MODELS["hs3"], hs_ord(), "school", rule="chisq", partial=False).level == "loadings"
    assert res.fits["loadings"].estimator == "WLSMV"
    assert "Measurement invariance of ordinal items" in res.summary()


def test_scaled_difference_tests_bfi():
    from psychometrics.cfa.categorical import scaled_difference_test

    lrt = json.loads((REF / "inv_lrt.json").read_text())
    for key, ref in lrt.items():
        if not key.startswith("bfi"):
            continue
        _, more, _, less = key.split("_")
        out = scaled_difference_test(fitted(f"inv_bfi_{less}"), fitted(f"inv_bfi_{more}"))
        assert out["chisq_diff"] == pytest.approx(ref["chisq_diff"], rel=1e-5)
        assert out["df_diff"] == ref["df_diff"]
    with pytest.raises(DataError, match="more restricted"):
        scaled_difference_test(fitted("inv_bfi_loadings"), fitted("inv_bfi_configural"))


def test_categorical_invariance_input_errors():
    from psychometrics.categorical_invariance import categorical_invariance

    with pytest.raises(DataError, match="leading part"):
        categorical_invariance(MODELS["hs3"], hs_ord(), "school", levels=["configural", "loadings"])
    with pytest.raises(DataError, match="not a column"):
        categorical_invariance(MODELS["hs3"], hs_ord(), "sex")
    with pytest.raises(DataError, match="reference group"):
        categorical_invariance(MODELS["hs3"], hs_ord(), "school", reference="Nowhere")


def test_compare_refuses_wlsmv_fits():
    from psychometrics.cfa import compare

    with pytest.raises(DataError, match="scaled_difference_test"):
        compare(fitted("inv_hs_loadings"), fitted("inv_hs_intercepts"))


def test_measurement_invariance_dispatches_wlsmv():
    from psychometrics.categorical_invariance import CategoricalInvarianceResult
    from psychometrics.invariance import measurement_invariance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = measurement_invariance(MODELS["hs3"], hs_ord(), "school", estimator="WLSMV", rule="chisq")
    assert isinstance(res, CategoricalInvarianceResult)
    assert list(res.table.index)[:4] == ["configural", "thresholds", "loadings", "intercepts"]
    assert res.table.loc["loadings", "chisq"] == pytest.approx(fixture("inv_hs_loadings")["fit"]["chisq.scaled"],
                                                               rel=1e-5)
    with pytest.raises(DataError, match="estimator='GLS'"):
        measurement_invariance(MODELS["hs3"], hs_ord(), "school", estimator="GLS")


def test_heywood_case_is_recorded():
    # lavaan warns "some estimated ov variances are negative" for this model too
    res = fitted("hs_ord_resid")
    assert any(d.category == "HeywoodCaseWarning" and "'x9'" in d.message for d in res.diagnostics)
    assert res.residual_variances["x9"] < 0


@pytest.mark.parametrize("name", ["hs_ord", "hs_ord_groups"])
def test_modification_indices_match_lavaan(name):
    ref = pd.DataFrame(json.loads((REF / "modindices.json").read_text())[name])
    gl = labels(fixture(name))
    ref["group"] = ref["group"].map(lambda k: gl[int(k) - 1]) if len(gl) > 1 else "all"
    ours = fitted(name).modindices()
    m = ours.merge(ref, on=["lhs", "op", "rhs", "group"], how="outer", suffixes=("", "_r"), indicator=True)
    assert (m["_merge"] == "both").all()
    # lavaan evaluates the MI at its estimates, ≈1e-5 from the optimum with two groups, where
    # the gradient is not yet 0: that moves the MI by up to ≈2e-4 (1e-5 in one group)
    np.testing.assert_allclose(m["mi"], m["mi_r"], rtol=1e-4, atol=5e-4)
    for a, b in (("epc", "epc"), ("sepc_lv", "sepc.lv"), ("sepc_all", "sepc.all")):
        np.testing.assert_allclose(m[a], m[b + "_r" if a == "epc" else b], atol=1e-4)
    top = fitted(name).modification_indices
    assert (top["mi"] >= 3.84).all() and top["mi"].is_monotonic_decreasing


@pytest.mark.parametrize("name", ["inv_hs_loadings", "inv_bfi_intercepts"])
def test_score_tests_match_lavaan(name):
    ref = pd.DataFrame(json.loads((REF / "score_tests.json").read_text())[name])
    gl = labels(fixture(name))
    ref["group"] = ref["group"].map(lambda k: gl[int(k) - 1])
    ours = fitted(name).score_tests()
    m = ours.merge(ref, on=["lhs", "op", "rhs", "group"], how="outer", suffixes=("", "_r"), indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == len(ref)
    # evaluated at lavaan's estimates (≈1e-5 from the optimum): absolute 5e-4 on χ²(1) values
    np.testing.assert_allclose(m["x2"], m["x2_r"], rtol=1e-4, atol=5e-4)


def _modindices_row_by_row(e):
    """The WLSMV modification-index table exactly as before issue 16's vectorised pass: one
    ``standardize`` call and one record per candidate."""
    rec = []
    for g in range(e.G):
        cands = e.candidates(g)  # (the same candidates; the computation below is the previous one)
        De = e._candidate_jacobian(g, cands)
        gm = e.moments[g]
        r = gm.s - e.model.sigma(e.parts[g])
        grad = -e.w_obj[g] * (De * gm.w[:, None]).T @ r
        WDe = De * gm.w[:, None]
        I11 = e.fg[g] * np.einsum("ki,ki->i", WDe, De)
        I12 = e.fg[g] * WDe.T @ e.deltas[g]
        V = I11 - np.einsum("ij,ji->i", I12, e.A_inv @ I12.T)
        V = np.where(V < np.finfo(float).eps ** (1 / 3), np.nan, V)
        for prm, m_, e_ in zip(cands, e.N * grad ** 2 / V, -grad / V):
            if np.isfinite(m_):
                s_lv, s_all = e.standardize(prm, float(e_))
                rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": e.group_label(g),
                            "mi": float(m_), "epc": float(e_), "sepc_lv": float(s_lv), "sepc_all": float(s_all)})
    return pd.DataFrame.from_records(rec, columns=["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"])


@pytest.mark.parametrize("name", ["hs_ord", "hs_ord_groups", "inv_hs_loadings", "inv_bfi_intercepts"])
def test_modindices_in_one_pass_equal_the_row_by_row_table(name):
    """Issue 16: the candidates' standardized EPCs at once and the table from columns — bit for bit the
    previous per-candidate ``standardize`` and records (the lavaan comparison is the test above)."""
    from psychometrics._linalg import single_thread_blas

    e = fitted(name)._engine
    with single_thread_blas():  # as modindices itself (the BLAS thread count may regroup a product's sums)
        before = _modindices_row_by_row(e)
    pd.testing.assert_frame_equal(e.modindices(), before, check_exact=True)


def test_stack_groups_equals_concat():
    """Issue 16: the per-group tables stacked by one MultiIndex equal ``pd.concat`` of the per-group frames
    exactly — values, index (levels, codes, names), columns, dtype and name — for frames and series; one group
    gives its own table."""
    from psychometrics.cfa.categorical_engine import stack_groups

    rng = np.random.default_rng(1)
    items, factors = pd.Index(["x1", "x2", "x3"]), pd.Index(["f1", "f2"])
    keys = ["b", "a", "c"]
    mats = [rng.normal(size=(3, 2)) for _ in keys]
    mats[1][0, 1] = np.nan
    vecs = [rng.normal(size=3) for _ in keys]
    cases = [(stack_groups(mats, keys, items, "item", columns=factors),
              [pd.DataFrame(m, index=items, columns=factors) for m in mats]),
             (stack_groups(vecs, keys, items, "item", series_name="r_squared"),
              [pd.Series(v, index=items, name="r_squared") for v in vecs])]
    for got, parts in cases:
        want = pd.concat(parts, keys=keys, names=["group", "item"])
        (pd.testing.assert_frame_equal if isinstance(want, pd.DataFrame) else pd.testing.assert_series_equal)(
            got, want, check_exact=True)
        for a, b in zip(got.index.levels, want.index.levels):
            pd.testing.assert_index_equal(a, b, exact=True)
        assert all(np.array_equal(a, b) for a, b in zip(got.index.codes, want.index.codes))
    pd.testing.assert_frame_equal(stack_groups(mats[:1], keys[:1], items, "item", columns=factors),
                                  pd.DataFrame(mats[0], index=items, columns=factors), check_exact=True)
    for name in ("inv_hs_loadings", "hs_ord"):  # a fit's tables: as the per-group frames concatenated
        fit = fitted(name)
        e = fit._engine
        lcov = [pd.DataFrame(e.parts[g]["imp"]["M"], index=e.factor_index, columns=e.factor_index)
                for g in range(e.G)]
        r2 = [pd.Series(1 - e.theta_diag(g) * e.delta(g) ** 2, index=e.item_index, name="r_squared")
              for g in range(e.G)]
        pd.testing.assert_frame_equal(fit.latent_cov, e._stack(lcov, "factor"), check_exact=True)
        pd.testing.assert_series_equal(fit.r_squared, e._stack(r2, "item"), check_exact=True)


def _ladder_before_and_with(monkeypatch, module, name: str, value):
    """The lavaan ladder (hs3 across schools) as it is, then with ``module.name`` set to ``value``."""
    import psychometrics.invariance.categorical as cinv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = cinv.categorical_invariance(MODELS["hs3"], hs_ord(), "school", rule="chisq")
        monkeypatch.setattr(module, name, value)
        return before, cinv.categorical_invariance(MODELS["hs3"], hs_ord(), "school", rule="chisq")


def _same_ladder_estimates(a, b) -> None:
    """Two ladders of the same data: the same models, each converged, every estimate within 1e-8 and the
    fit statistics within 1e-8 relative."""
    assert list(a.fits) == list(b.fits)
    for name, f in a.fits.items():
        assert f.converged
        np.testing.assert_allclose(f._engine.x, b.fits[name]._engine.x, rtol=0, atol=1e-8)
        for key in ("chisq_scaled", "cfi_scaled", "rmsea_scaled", "srmr", "chisq"):
            assert f.fit[key] == pytest.approx(b.fits[name].fit[key], rel=1e-8, abs=1e-12)


def test_ladder_warm_starts_reach_the_same_estimates_in_fewer_steps(monkeypatch):
    """Issue 16: from WARM_START_ROWS respondents each model of the categorical ladder starts from the previous
    fit's estimates — the same minimum (estimates within 1e-8, the statistics within 1e-8 relative) in
    no more Gauss–Newton steps; below the threshold (here the fixture's 301 rows) every fit starts as before."""
    import psychometrics.invariance.categorical as cinv

    cold, warm = _ladder_before_and_with(monkeypatch, cinv, "WARM_START_ROWS", 0)
    _same_ladder_estimates(warm, cold)
    assert warm.fits["configural"].iterations == cold.fits["configural"].iterations
    assert sum(f.iterations for f in warm.fits.values()) < sum(f.iterations for f in cold.fits.values())
    num = cold.table.select_dtypes("number").columns
    # the Δ columns are differences of two levels' statistics (Δ SRMR ≈ 5e-4, or ≈ 1e-11 at Δdf = 0): absolute 1e-9
    np.testing.assert_allclose(warm.table[num].to_numpy(float), cold.table[num].to_numpy(float), rtol=1e-8,
                               atol=1e-9)
    assert warm.level == cold.level and warm.partial_steps["released"].tolist() == cold.partial_steps[
        "released"].tolist()


def test_large_n_gauss_newton_reaches_the_same_estimates(monkeypatch):
    """Issue 16 (sixth session): from SPARSE_INFORMATION_ROWS rows a multi-group fit's Gauss–Newton information is
    summed per group as one ``dsyrk`` of W^½Δ_g and its step solved by Cholesky (``dposv``) — the same iteration to
    rounding: on the lavaan ladder forced through that path every estimate within 1e-8 of the dense path's and the
    statistics within 1e-8 relative; the step itself equals the LU's to 1e-10, and a matrix that is not positive
    definite takes the LU as before."""
    import psychometrics.cfa.categorical_model as cm

    dense, large = _ladder_before_and_with(monkeypatch, cm, "SPARSE_INFORMATION_ROWS", 0)
    _same_ladder_estimates(large, dense)
    e = large.fits["loadings"]._engine
    rng = np.random.default_rng(1)
    b = rng.normal(size=e.A.shape[0])
    ref = cm._solve(e.A, b)
    np.testing.assert_allclose(cm._solve(e.A, b, spd=True), ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    indefinite = e.A - 2.0 * np.abs(e.A).max() * np.eye(e.A.shape[0])
    assert np.array_equal(cm._solve(indefinite, b, spd=True), cm._solve(indefinite, b))
