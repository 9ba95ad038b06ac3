"""Measurement invariance (psychometrics.invariance) against lavaan 0.6-14.

Fixtures: tests/reference/invariance/ (invariance_reference.R, provenance.json).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from conftest import load_reference
from psychometrics.cfa import CFAResult
from psychometrics.exceptions import DataError, InvarianceWarning
from psychometrics.invariance import LEVELS, RULES, DecisionRule, dmacs, measurement_invariance

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{p}{i}" for i in range(1, 6))
                 for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")])
BFI_ITEMS = [f"{p}{i}" for p in "ACENO" for i in range(1, 6)]
# a rule that never holds: partial invariance keeps releasing (to follow lavaan's sequence)
# a rule that accepts metric and never scalar/strict: partial invariance keeps releasing intercepts
# (to follow lavaan's sequence)
NEVER = DecisionRule("never", "test rule", {"metric": {"cfi": -2.0}, "scalar": {"cfi": 2.0}, "strict": {"cfi": 2.0}},
                     mode="cfi_only")
FIT_KEYS = {"chisq": "chisq", "df": "df", "pvalue": "pvalue", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea",
            "rmsea_ci_lower": "rmsea.ci.lower", "rmsea_ci_upper": "rmsea.ci.upper", "srmr": "srmr",
            "aic": "aic", "bic": "bic", "npar": "npar"}


@pytest.fixture(scope="module")
def hs_sex(hs) -> pd.DataFrame:
    d = hs.copy()
    d["school_sex"] = d["school"].astype(str) + "_" + d["sex"].astype(str)
    return d


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    d = load_dataset("bfi")
    return d[d[BFI_ITEMS + ["gender"]].notna().all(axis=1)]


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvarianceWarning)
        return measurement_invariance(*args, **kwargs)


@pytest.fixture(scope="module")
def hs_full(hs):
    return _quiet(HS3, hs, "school", partial=False)


def _check_table(res, ref, levels=LEVELS):
    assert list(res.groups) == list(ref["group_labels"])
    assert list(res.nobs.values()) == list(ref["nobs"])
    for level in levels:
        row, fit = res.table.loc[level], ref["fit"][level]
        for ours, theirs in FIT_KEYS.items():
            tol = 1e-5 if ours in ("chisq", "aic", "bic") else 1e-4
            assert row[ours] == pytest.approx(fit[theirs], rel=tol, abs=1e-4 if ours not in ("chisq", "aic", "bic") else 0), (level, ours)
    lrt = ref["lrt"]
    for k, level in enumerate(levels[1:], start=1):
        row = res.table.loc[level]
        assert row["compared_with"] == LEVELS[k - 1]
        assert row["delta_chisq"] == pytest.approx(lrt["Chisq diff"][k], rel=1e-5)
        assert row["delta_df"] == lrt["Df diff"][k]
        assert row["delta_pvalue"] == pytest.approx(lrt["Pr(>Chisq)"][k], rel=1e-4, abs=1e-12)
        prev = ref["fit"][LEVELS[k - 1]]
        assert row["delta_cfi"] == pytest.approx(ref["fit"][level]["cfi"] - prev["cfi"], abs=1e-4)
        assert row["delta_rmsea"] == pytest.approx(ref["fit"][level]["rmsea"] - prev["rmsea"], abs=1e-4)
        assert row["delta_srmr"] == pytest.approx(ref["fit"][level]["srmr"] - prev["srmr"], abs=1e-4)


def _check_latent(res, ref):
    lat = res.latent_differences
    pe = pd.DataFrame(ref["scalar_latent"])
    labels = ref["group_labels"]
    for _, r in pe.iterrows():
        g = labels[int(r["group"]) - 1]
        if r["op"] == "~1" and int(r["group"]) > 1:
            assert lat.loc[(g, r["lhs"]), "mean_diff"] == pytest.approx(r["est"], abs=1e-4)
            # iterative (lavaan's nlminb stopping point): measured max relative difference
            # 1.0e-6 (se) and 8.3e-6 (z) over HS by school, HS by school × sex and bfi by gender
            assert lat.loc[(g, r["lhs"]), "se"] == pytest.approx(r["se"], rel=1e-4)
            assert lat.loc[(g, r["lhs"]), "z"] == pytest.approx(r["z"], rel=1e-4)
        if r["op"] == "~~" and int(r["group"]) > 1:
            assert lat.loc[(g, r["lhs"]), "var_focal"] == pytest.approx(r["est"], rel=1e-4)
        if r["op"] == "~~" and int(r["group"]) == 1:
            for g2 in labels[1:]:
                assert lat.loc[(g2, r["lhs"]), "var_ref"] == pytest.approx(r["est"], rel=1e-4)


# ------------------------------------------------------------------ lavaan tables
def test_hs_school_table_matches_lavaan(hs_full):
    ref = load_reference("invariance", "hs_school.json")
    _check_table(hs_full, ref)
    # the table of issue 6, as printed by lavaan (3 decimals)
    t = hs_full.table
    assert t.loc[list(LEVELS), "chisq"].round(3).tolist() == [115.851, 124.044, 164.103, 181.511]
    assert t.loc[list(LEVELS), "df"].tolist() == [48, 54, 60, 69]
    assert t.loc[list(LEVELS), "aic"].tolist() == pytest.approx([7484.395, 7480.587, 7508.646, 7508.055], abs=1e-3)


def test_hs_school_latent_differences_match_lavaan_scalar(hs):
    # force the full scalar model to be the final one: a rule that accepts everything
    always = DecisionRule("always", "test rule: always holds", mode="chisq", alpha=0.0)
    res = measurement_invariance(HS3, hs, "school", rule=always, partial=False)
    assert res.level == "strict"
    ref = load_reference("invariance", "hs_school.json")
    # latent means/variances are reported from the highest level reached; compare with lavaan's scalar
    res_s = measurement_invariance(HS3, hs, "school", levels=LEVELS[:3], rule=always, partial=False)
    _check_latent(res_s, ref)
    lat = res_s.latent_differences
    n1, n2 = res_s.nobs.values()
    for (g, f), r in lat.iterrows():
        pooled = math.sqrt(((n1 - 1) * r["var_ref"] + (n2 - 1) * r["var_focal"]) / (n1 + n2 - 2))
        assert r["std_mean_diff"] == pytest.approx(r["mean_diff"] / pooled, rel=1e-12)
        assert r["var_ratio"] == pytest.approx(r["var_focal"] / r["var_ref"], rel=1e-12)
    assert res.latent_differences is not None  # strict also reports them


def test_four_groups_match_lavaan(hs_sex):
    ref = load_reference("invariance", "hs_school_sex.json")
    res = _quiet(HS3, hs_sex, "school_sex", partial=False)
    _check_table(res, ref)
    part = _quiet(HS3, hs_sex, "school_sex", rule=NEVER, levels=LEVELS[:3], min_invariant=1,
                  max_releases=len(ref["partial_scalar"]))
    steps = part.partial_steps
    # dMACS: every focal group against the reference group (the first), 9 items each
    items = part.item_invariance
    assert list(items.index.get_level_values("group").unique()) == ref["group_labels"][1:]
    assert len(items) == 3 * 9
    released = {s["released"][:-2] for s in ref["partial_scalar"]}
    assert (items[items.index.get_level_values("item").isin(released)]["dmacs"] > 0).all()
    assert (items[~items.index.get_level_values("item").isin(released)]["dmacs"].abs() < 1e-12).all()
    for k, step in enumerate(ref["partial_scalar"]):
        row = steps.iloc[k]
        assert row["released"] == step["released"]
        assert row["x2"] == pytest.approx(step["x2"], rel=1e-4)
        assert row["chisq"] == pytest.approx(step["fit"]["chisq"], rel=1e-5)
        assert row["cfi"] == pytest.approx(step["fit"]["cfi"], abs=1e-4)


def test_bfi_25_items_by_gender_match_lavaan(bfi):
    # one run (kept short: 6 fits of the 25-item model): the full configural, metric and scalar
    # models, then lavaan's first two partial-scalar releases
    ref = load_reference("invariance", "bfi_gender.json")
    res = _quiet(BFI5, bfi, "gender", rule=NEVER, max_releases=len(ref["partial_scalar"]))
    _check_table(res, ref, levels=LEVELS[:3])
    steps = res.partial_steps[res.partial_steps["level"] == "scalar"]
    assert len(steps) == len(ref["partial_scalar"])
    for k, step in enumerate(ref["partial_scalar"]):
        assert steps.iloc[k]["released"] == step["released"]
        assert steps.iloc[k]["x2"] == pytest.approx(step["x2"], rel=1e-4)
        assert steps.iloc[k]["chisq"] == pytest.approx(step["fit"]["chisq"], rel=1e-5)
        assert steps.iloc[k]["cfi"] == pytest.approx(step["fit"]["cfi"], abs=1e-4)
    assert res.table.loc["strict", "partial"] == "N5~1, A1~1"  # strict builds on the partial scalar model


# ------------------------------------------------------------------ partial invariance
def test_partial_sequence_follows_lavaan_score_tests(hs):
    ref = load_reference("invariance", "hs_school.json")
    res = _quiet(HS3, hs, "school", rule=NEVER, levels=LEVELS[:3], min_invariant=1,
                 max_releases=len(ref["partial_scalar"]))
    steps = res.partial_steps
    assert len(steps) == len(ref["partial_scalar"])
    for k, step in enumerate(ref["partial_scalar"]):
        row = steps.iloc[k]
        assert row["released"] == step["released"]
        assert row["x2"] == pytest.approx(step["x2"], rel=1e-4)
        for ours in ("chisq", "cfi", "rmsea", "srmr"):
            assert row[ours] == pytest.approx(step["fit"][ours], rel=1e-5 if ours == "chisq" else 1e-4)
        # the score statistic is the largest of lavaan's univariate tests of this level's constraints
        sc = pd.DataFrame(step["score"])
        prev_released = [s["released"] for s in ref["partial_scalar"][:k]]
        cand = sc[sc["param"].str.endswith("~1") & ~sc["param"].isin(prev_released)]
        assert row["x2"] == pytest.approx(cand["X2"].max(), rel=1e-4)


def test_default_partial_run_on_hs(hs):
    res = measurement_invariance(HS3, hs, "school")
    assert res.rule == "chen2007"  # N = 301 > 300, groups 156 / 145
    assert "Chen" in res.rule_citation and "p. 501" in res.rule_citation
    assert res.level == "strict" and res.partial_level
    assert res.non_invariant_items == ("x3",)
    assert list(res.table.index) == ["configural", "metric", "scalar", "scalar (partial)", "strict"]
    assert res.table.loc["scalar", "holds"] == False  # noqa: E712 (numpy/pandas bool)
    assert res.table.loc["scalar (partial)", "compared_with"] == "metric"
    assert res.table.loc["strict", "compared_with"] == "scalar (partial)"
    assert res.table.loc["strict", "partial"] == "x3~1"
    ref = load_reference("invariance", "hs_school.json")["partial_scalar"][0]
    assert res.table.loc["scalar (partial)", "chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-5)
    # dMACS is zero for invariant items and positive for x3
    items = res.item_invariance.loc["Grant-White"]
    assert items.loc["x3", "dmacs"] > 0.3
    assert (items.drop(index="x3")["dmacs"].abs() < 1e-12).all()
    assert res.final_model == "strict"
    assert isinstance(res.estimates, pd.DataFrame) and set(res.estimates["group"]) == set(res.groups)
    # decisions of every rule for every compared model
    assert set(res.decisions.columns) == set(RULES)
    assert res.decisions.loc["metric"].all()


def test_min_invariant_keeps_two_anchors_per_factor(hs):
    res = _quiet(HS3, hs, "school", rule=NEVER, levels=LEVELS[:3])
    released = res.partial_steps["released"].tolist()
    for fac_items in (["x1", "x2", "x3"], ["x4", "x5", "x6"], ["x7", "x8", "x9"]):
        assert sum(f"{i}~1" in released for i in fac_items) <= 1
    assert res.level == "metric"


# ------------------------------------------------------------------ dMACS
def test_dmacs_matches_numerical_integration():
    lam_r, nu_r, lam_f, nu_f, kappa, phi, sd = 0.9, 2.0, 0.6, 2.4, 0.3, 1.7, 1.3
    f = lambda eta: ((nu_r + lam_r * eta) - (nu_f + lam_f * eta)) ** 2 * stats.norm.pdf(eta, kappa, math.sqrt(phi))
    val, _ = integrate.quad(f, -np.inf, np.inf)
    assert dmacs(lam_r, nu_r, lam_f, nu_f, kappa, phi, sd) == pytest.approx(math.sqrt(val) / sd, rel=1e-8)
    # a cross-loading item: two correlated factors, 2-D integration
    lr, lf = np.array([0.8, 0.3]), np.array([0.5, 0.4])
    k2, P2 = np.array([0.2, -0.4]), np.array([[1.1, 0.4], [0.4, 0.8]])
    dens = stats.multivariate_normal(k2, P2)
    g = lambda b, a: ((1.0 + lr @ [a, b]) - (1.5 + lf @ [a, b])) ** 2 * dens.pdf([a, b])
    val2, _ = integrate.dblquad(g, -7, 7, -7, 7, epsabs=1e-9)
    assert dmacs(lr, 1.0, lf, 1.5, k2, P2, 0.9) == pytest.approx(math.sqrt(val2) / 0.9, rel=1e-6)


def test_dmacs_of_hs_x3_from_the_partial_model(hs):
    res = measurement_invariance(HS3, hs, "school")
    row = res.item_invariance.loc[("Grant-White", "x3")]
    est = res.fits["scalar (partial)"].estimates
    kappa = est.query("lhs == 'visual' and op == '~1' and group == 'Grant-White'")["est"].item()
    phi = est.query("lhs == 'visual' and op == '~~' and rhs == 'visual' and group == 'Grant-White'")["est"].item()
    x3 = hs.groupby("school")["x3"]
    n, v = x3.count(), x3.var(ddof=1)
    sdp = math.sqrt(((n - 1) * v).sum() / (n.sum() - 2))
    assert row["pooled_sd"] == pytest.approx(sdp, rel=1e-10)
    dn = row["intercept_ref"] - row["intercept_focal"]
    dl = row["loading_ref"] - row["loading_focal"]
    f = lambda eta: (dn + dl * eta) ** 2 * stats.norm.pdf(eta, kappa, math.sqrt(phi))
    val, _ = integrate.quad(f, -np.inf, np.inf)
    assert row["dmacs"] == pytest.approx(math.sqrt(val) / sdp, rel=1e-8)
    assert row["dmacs"] == pytest.approx(abs(dn) / sdp, rel=1e-10)  # equal loadings: |Δν| / SD


# ------------------------------------------------------------------ rules
def test_rule_cutoffs_and_auto_selection(hs):
    chen = RULES["chen2007"]
    assert chen.cutoffs["metric"] == {"cfi": -0.010, "rmsea": 0.015, "srmr": 0.030}
    assert chen.cutoffs["scalar"] == {"cfi": -0.010, "rmsea": 0.015, "srmr": 0.010}
    small = RULES["chen2007_small"]
    assert small.cutoffs["metric"] == {"cfi": -0.005, "rmsea": 0.010, "srmr": 0.025}
    assert small.cutoffs["scalar"] == {"cfi": -0.005, "rmsea": 0.010, "srmr": 0.005}
    d = {"delta_cfi": -0.010, "delta_rmsea": 0.0, "delta_srmr": 0.030, "delta_pvalue": 0.5}
    assert not chen.holds("metric", d)  # at the cut-offs: rejected (≤ / ≥)
    assert chen.holds("metric", {**d, "delta_srmr": 0.029})
    assert chen.holds("metric", {**d, "delta_cfi": -0.0099})
    assert not RULES["cheung_rensvold2002"].holds("scalar", d)
    rs = RULES["rutkowski_svetina2014"]
    assert rs.holds("metric", {**d, "delta_cfi": -0.019, "delta_rmsea": 0.029})
    assert not rs.holds("metric", {**d, "delta_cfi": -0.019, "delta_rmsea": 0.030})
    assert not RULES["chisq"].holds("metric", {**d, "delta_pvalue": 0.01})
    # small sample: Chen's small/unequal variant is chosen automatically
    sub = hs.iloc[:250]
    res = _quiet(HS3, sub, "school", levels=("configural", "metric"))
    assert res.rule == "chen2007_small" and "≤ 300" in res.rule_reason
    res = _quiet(HS3, hs, "school", levels=("configural", "metric"), rule="chisq", alpha=0.01)
    assert res.rule == "chisq"
    with pytest.raises(DataError, match="unknown rule"):
        measurement_invariance(HS3, hs, "school", rule="hu_bentler")


# ------------------------------------------------------------------ input
def test_bad_input_names_group_and_item(hs):
    one = hs[hs["school"] == "Pasteur"]
    with pytest.raises(DataError, match="single group.*Pasteur"):
        measurement_invariance(HS3, one, "school")
    gap = hs.copy()
    gap.loc[gap.index[3], "school"] = None
    with pytest.raises(DataError, match="'school' is missing in 1 row"):
        measurement_invariance(HS3, gap, "school")
    tiny = pd.concat([hs[hs["school"] == "Pasteur"], hs[hs["school"] == "Grant-White"].iloc[:6]])
    with pytest.raises(DataError, match="Grant-White.*9 items|9 items.*Grant-White|group 'Grant-White'"):
        measurement_invariance(HS3, tiny, "school")
    const = hs.copy()
    const.loc[const["school"] == "Grant-White", "x5"] = 3.0
    with pytest.raises(DataError, match="'x5'.*zero variance in group 'Grant-White'"):
        measurement_invariance(HS3, const, "school")
    with pytest.raises(DataError, match="not a column"):
        measurement_invariance(HS3, hs, "district")
    with pytest.raises(DataError, match="levels"):
        measurement_invariance(HS3, hs, "school", levels=("metric", "scalar"))
    with pytest.raises(DataError, match="reference group"):
        measurement_invariance(HS3, hs, "school", reference="Lincoln")


def test_reference_group_and_scale_input(hs):
    from psychometrics.scale import Scale

    subs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    scale = Scale.from_dict({
        "id": "hs", "name": "HS", "version": "1.0.0", "construct": "Mental ability tests.",
        "response_format": {"type": "likert", "min": 0, "max": 10},
        "subscales": [{"id": s, "name": s.title()} for s in subs],
        "items": [{"id": i, "text": f"Test {i}", "subscale": s} for s, its in subs.items() for i in its],
    })
    res = _quiet(scale, hs, "school", reference="Grant-White", partial=False, levels=LEVELS[:3],
                 rule=DecisionRule("always", "test", mode="chisq", alpha=0.0))
    assert res.groups == ("Grant-White", "Pasteur")
    ref = load_reference("invariance", "hs_school.json")
    assert res.table.loc["scalar", "chisq"] == pytest.approx(ref["fit"]["scalar"]["chisq"], rel=1e-5)
    # swapping the reference negates the latent mean differences
    lav = pd.DataFrame(ref["scalar_latent"])
    for f in ("visual", "textual", "speed"):
        theirs = lav.query(f"lhs == '{f}' and op == '~1' and group == 2")["est"].item()
        assert res.latent_differences.loc[("Pasteur", f), "mean_diff"] == pytest.approx(-theirs, abs=1e-4)


# ------------------------------------------------------------------ result object
def test_result_object(hs_full):
    fits = hs_full.fits
    assert list(fits) == list(LEVELS)
    cfa = fits["scalar"]
    assert isinstance(cfa, CFAResult) and cfa.group_equal == ("loadings", "intercepts")
    assert cfa.fit["chisq"] == hs_full.table.loc["scalar", "chisq"]
    assert fits["scalar"] is cfa  # built once
    d = hs_full.to_dict()
    json.dumps(d)
    assert d["level"] == hs_full.level
    text = hs_full.summary()
    assert "Measurement invariance" in text and "chen2007" in text and "Chen, F. F. (2007)" in text
    assert hs_full.to_frame() is hs_full.table
    assert hs_full.level == "metric"  # without partial invariance, scalar fails on HS
    assert hs_full.latent_differences is None
    assert any("scalar invariance does not hold" in d.message for d in hs_full.diagnostics)


def test_delta_chart_data_feeds_the_report_figure(hs):
    from psychometrics.report.figures import invariance_delta_chart

    res = measurement_invariance(HS3, hs, "school")
    deltas, cutoffs = res.delta_chart_data()
    assert list(deltas.index) == ["metric", "scalar", "scalar (partial)", "strict"]
    assert cutoffs["ΔSRMR"] == {"metric": 0.030, "scalar": 0.010, "scalar (partial)": 0.010, "strict": 0.010}
    svg = invariance_delta_chart(deltas, cutoffs)
    assert "<svg" in str(getattr(svg, "data", svg))


def test_reference_matches_the_group_labels_shown(hs):
    # a float group column (e.g. read from a file with a gap) is labelled "1"/"2", and the
    # reference is given as shown — the same rule as categorical_invariance
    data = hs.assign(sex=hs["sex"].astype(float))
    res = _quiet(HS3, data, "sex", reference="2", partial=False, levels=LEVELS[:1])
    assert res.groups == ("2", "1")
