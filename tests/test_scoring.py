"""Tests of psychometrics.scoring against psych::scoreItems, lavaan::lavPredict and hand values."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError, InvarianceWarning, ScoringKeyError
from psychometrics.scoring import (
    FactorScoreModel,
    Norms,
    ScoringKey,
    ScoringRules,
    apply_norms,
    build_norms,
    coefficient_alpha,
    data_dictionary,
    factor_scores,
    score,
    write_data_dictionary,
    write_scores,
)
from tests.conftest import REFERENCE, load_reference, spy_side_threads

# The five-row fixture gives meaningless alphas (outside [0, 1]); their warning is tested
# in test_reliability_outside_unit_interval_warns.
pytestmark = pytest.mark.filterwarnings("ignore::psychometrics.exceptions.ReliabilityWarning")

BFI_KEYS = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi")


def small_spec(**scoring) -> dict:
    """A two-subscale spec in the scale YAML structure (docs: notes/spec_format.md)."""
    return {
        "id": "tiny",
        "name": "Tiny Scale",
        "version": "1.0.0",
        "construct": "A small scale for tests.",
        "response_format": {"type": "likert", "min": 1, "max": 5,
                            "labels": {1: "no", 2: "rather no", 3: "neither", 4: "rather yes",
                                       5: "yes"},
                            "missing_codes": [-9, 99]},
        "subscales": [{"id": "alpha_s", "name": "Alpha part", "definition": "a"},
                      {"id": "beta_s", "name": "Beta part", "definition": "b"}],
        "items": [
            {"id": "a1", "text": "A one", "subscale": "alpha_s", "reverse": False},
            {"id": "a2", "text": "A two", "subscale": "alpha_s", "reverse": True},
            {"id": "a3", "text": "A three", "subscale": "alpha_s", "reverse": False},
            {"id": "a4", "text": "A four", "subscale": "alpha_s", "reverse": False},
            {"id": "a5", "text": "A five", "subscale": "alpha_s", "reverse": False},
            {"id": "b1", "text": "B one", "subscale": "beta_s", "reverse": False},
            {"id": "b2", "text": "B two", "subscale": "beta_s", "reverse": True},
        ],
        "scoring": {"method": "mean", "min_answered": 0.8, "total": True, **scoring},
    }


def small_data() -> pd.DataFrame:
    return pd.DataFrame(
        {"pid": ["p1", "p2", "p3", "p4", "p5"],
         "a1": [1, 5, np.nan, -9, 2],
         "a2": [2, 1, np.nan, 99, 4],
         "a3": [3, 5, np.nan, np.nan, 3],
         "a4": [4, 5, 3, np.nan, 2],
         "a5": [5, np.nan, np.nan, np.nan, 1],
         "b1": [1, 2, 3, 4, 5],
         "b2": [5, 4, np.nan, 2, 1],
         "grp": ["x", "y", "x", "y", "x"]},
        index=[10, 3, 7, 1, 4])  # a non-default index whose order must be kept


# ----------------------------------------------------------------- psych::scoreItems
def test_mean_scores_equal_psych_scoreitems_impute_none(bfi):
    ref = load_reference("scoring", "bfi_scoreitems_none.csv")
    res = score(BFI_KEYS, bfi, min_answered=0, response_range=(1, 6), id_column="id")
    assert list(res.scores["id"]) == list(ref["id"])
    got = res.scores[list(BFI_KEYS)].to_numpy()
    want = ref[list(BFI_KEYS)].to_numpy()
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    assert res.not_scored.to_numpy().sum() == int(np.isnan(want).sum())


def test_psych_default_reverses_with_observed_range(bfi):
    """psych::scoreItems without min/max reverses with the observed extremes (here 2..6)."""
    ref = load_reference("scoring", "bfi_narrow_scoreitems_default_minmax.csv")
    cols = [i.lstrip("-") for v in BFI_KEYS.values() for i in v]
    narrow = bfi.iloc[:200].copy()
    narrow[cols] = narrow[cols].replace(1, 2)
    as_psych = score(BFI_KEYS, narrow, min_answered=0, response_range=(2, 6), reliability=None)
    np.testing.assert_allclose(as_psych.scores[list(BFI_KEYS)].to_numpy(),
                               ref[list(BFI_KEYS)].to_numpy(), rtol=0, atol=1e-10)
    ours = score(BFI_KEYS, narrow, min_answered=0, response_range=(1, 6), reliability=None)
    # each answered reversed item is 1 lower with the response range 1..6
    rev = [i[1:] for i in BFI_KEYS["openness"] if i.startswith("-")]
    n_rev = narrow[rev].notna().sum(axis=1).to_numpy()
    n_all = ours.n_answered["openness"].to_numpy()
    np.testing.assert_allclose(as_psych.scores["openness"] - ours.scores["openness"], n_rev / n_all)


def test_alpha_equals_psych_scoreitems_alpha(bfi):
    prov = load_reference("scoring", "provenance.json")["scoreitems_alpha"]
    res = score(BFI_KEYS, bfi, min_answered=0, response_range=(1, 6))
    for name, value in prov.items():
        assert res.sem.loc[name, "reliability"] == pytest.approx(value, abs=1e-12)
        sd = res.scores[name].std(ddof=1)
        assert res.sem.loc[name, "sem"] == pytest.approx(sd * math.sqrt(1 - value), abs=1e-12)


def test_prorating_on_bfi_counts_and_agrees_with_unrestricted(bfi):
    full = score(BFI_KEYS, bfi, min_answered=0, response_range=(1, 6))
    pro = score(BFI_KEYS, bfi, min_answered=0.8, response_range=(1, 6))  # 4 of 5 items
    for name, items in BFI_KEYS.items():
        cols = [i.lstrip("-") for i in items]
        n_ans = bfi[cols].notna().sum(axis=1).to_numpy()
        keep = n_ans >= 4
        np.testing.assert_array_equal(pro.n_answered[name].to_numpy(), n_ans)
        np.testing.assert_array_equal(pro.scores[name].to_numpy()[keep],
                                      full.scores[name].to_numpy()[keep])
        assert pro.scores[name].isna().to_numpy()[~keep].all()
        assert pro.not_scored.loc[name, "too_few_answered"] == int(((n_ans > 0) & ~keep).sum())
        assert pro.not_scored.loc[name, "no_items_answered"] == int((n_ans == 0).sum())


# ---------------------------------------------------------------- hand-computed scores
def test_scores_with_spec_hand_computed():
    res = score(small_spec(), small_data(), id_column="pid")
    s = res.scores
    assert list(s.index) == [10, 3, 7, 1, 4]
    assert list(s.columns) == ["pid", "alpha_s", "beta_s", "total"]
    # row p1: a = 1, 6-2=4, 3, 4, 5 -> 17/5; b = 1, 6-5=1 -> 1; total 19/7
    assert s.loc[10, "alpha_s"] == pytest.approx(17 / 5, abs=1e-15)
    assert s.loc[10, "beta_s"] == pytest.approx(1.0)
    assert s.loc[10, "total"] == pytest.approx(19 / 7, abs=1e-15)
    # p2: a5 missing -> 4/5 answered = 0.8 -> scored: (5 + 5 + 5 + 5) / 4
    assert s.loc[3, "alpha_s"] == pytest.approx(5.0)
    # p3: only a4 -> 1/5 < 0.8 -> missing; b: 1/2 < 0.8 -> missing
    assert math.isnan(s.loc[7, "alpha_s"]) and math.isnan(s.loc[7, "beta_s"])
    # p4: a1, a2 are missing codes -> nothing answered in alpha_s
    assert math.isnan(s.loc[1, "alpha_s"])
    assert res.missing_codes["a1"] == 1 and res.missing_codes["a2"] == 1
    assert res.not_scored.loc["alpha_s", "too_few_answered"] == 1
    assert res.not_scored.loc["alpha_s", "no_items_answered"] == 1
    assert res.not_scored.loc["beta_s", "too_few_answered"] == 1
    assert res.n_answered.loc[3, "alpha_s"] == 4
    assert any("alpha_s" in d.message for d in res.diagnostics)


def test_min_answered_zero_scores_whatever_is_answered():
    res = score(small_spec(), small_data(), min_answered=0)
    assert res.scores.loc[7, "alpha_s"] == 3.0  # only a4 = 3
    assert math.isnan(res.scores.loc[1, "alpha_s"])  # none answered: never scored
    assert res.not_scored.loc["alpha_s", "no_items_answered"] == 1
    assert res.not_scored.loc["alpha_s", "too_few_answered"] == 0


def test_sum_is_prorated_mean_times_items():
    mean = score(small_spec(), small_data(), min_answered=0)
    total = score(small_spec(method="sum"), small_data(), min_answered=0)
    assert total.method == "sum"
    np.testing.assert_allclose(total.scores["alpha_s"], mean.scores["alpha_s"] * 5)
    assert total.scores.loc[10, "alpha_s"] == 17.0  # complete row: the plain sum
    assert total.scores.loc[3, "alpha_s"] == 25.0  # 20 over 4 items, prorated to 5
    via_arg = score(small_spec(), small_data(), min_answered=0, method="sum")
    pd.testing.assert_frame_equal(via_arg.scores, total.scores)


def test_threshold_uses_ceiling_of_share():
    spec = small_spec(min_answered=0.7)  # 0.7 * 5 = 3.5 -> 4 items needed
    data = small_data()
    data.loc[3, "a5"] = np.nan
    data.loc[10, ["a4", "a5"]] = np.nan  # 3 answered
    res = score(spec, data)
    assert math.isnan(res.scores.loc[10, "alpha_s"])
    assert res.scores.loc[3, "alpha_s"] == 5.0


def test_sem_from_given_reliability():
    res = score(small_spec(), small_data(), min_answered=0, reliability={"alpha_s": 0.75})
    sd = res.scores["alpha_s"].std(ddof=1)
    assert res.sem.loc["alpha_s", "sem"] == pytest.approx(sd * 0.5)
    assert math.isnan(res.sem.loc["beta_s", "sem"])
    assert res.sem.loc["alpha_s", "reliability_source"] == "given"


@pytest.mark.parametrize("value, fragment", [(6, "outside the response range 1..5"),
                                             (2.5, "non-integer"), ("abc", "non-numeric")])
def test_bad_values_are_refused_naming_item_row_value(value, fragment):
    data = small_data().astype({"b1": object})
    data.loc[4, "b1"] = value
    with pytest.raises(DataError) as err:
        score(small_spec(), data)
    msg = str(err.value)
    assert fragment in msg and "'b1'" in msg and "row(s) 4" in msg


def test_columns_mapping():
    data = small_data().rename(columns={"a1": "q1", "b2": "q7"})
    res = score(small_spec(), data, columns={"q1": "a1", "q7": "b2"}, reliability=None)
    pd.testing.assert_frame_equal(res.scores, score(small_spec(), small_data(),
                                                    reliability=None).scores)
    with pytest.raises(DataError, match="not in the data: zz"):
        score(small_spec(), data, columns={"zz": "a1"})
    with pytest.raises(DataError, match="already have columns named a2"):
        score(small_spec(), small_data(), columns={"a1": "a2"})


def test_missing_item_column_is_refused():
    with pytest.raises(DataError, match="lacks item column.*'b2'"):
        score(small_spec(), small_data().drop(columns="b2"))


@pytest.mark.parametrize("keys, fragment", [
    ({"s": ["a1", "a1"]}, "twice"),
    ({"s": ["a1", "-a2"], "t": ["a2"]}, "keyed forward in one score and reversed"),
])
def test_inconsistent_keys(keys, fragment):
    with pytest.raises(ScoringKeyError, match=fragment):
        ScoringRules.from_keys(keys, response_range=(1, 5))


def test_keys_with_reverse_need_range():
    with pytest.raises(ScoringKeyError, match="response range"):
        score({"s": ["a1", "-a2"]}, small_data())


def test_bad_arguments():
    with pytest.raises(DataError, match="min_answered"):
        score(small_spec(), small_data(), min_answered=1.5)
    with pytest.raises(DataError, match="method"):
        score(small_spec(), small_data(), method="median")
    with pytest.raises(DataError, match="id column 'nope'"):
        score(small_spec(), small_data(), id_column="nope")


def test_reliability_outside_unit_interval_warns():
    from psychometrics.exceptions import ReliabilityWarning

    with pytest.warns(ReliabilityWarning, match="total: reliability -1.824"):
        res = score(small_spec(), small_data())
    assert math.isnan(res.sem.loc["total", "sem"])
    assert any(d.category == "ReliabilityWarning" for d in res.diagnostics)


def test_coefficient_alpha_hand_value():
    x = pd.DataFrame({"i": [1.0, 2, 3, 4], "j": [2.0, 2, 4, 4]})
    c = x.cov().to_numpy()
    want = 2 * (1 - np.trace(c) / c.sum())
    assert coefficient_alpha(x) == pytest.approx(want)


# ------------------------------------------------------------------ factor scores
def _matrices(stem):
    m = load_reference("scoring", f"{stem}_matrices.json")
    ov, lv = m["ov"], m["lv"]
    return (pd.DataFrame(m["lambda"], index=ov, columns=lv),
            pd.DataFrame(m["theta"], index=ov, columns=ov),
            pd.DataFrame(m["psi"], index=lv, columns=lv),
            pd.Series(m["nu"], index=ov), pd.Series(m["alpha"], index=lv))


@pytest.mark.parametrize("stem", ["hs", "hs_missing"])
@pytest.mark.parametrize("method", ["regression", "bartlett"])
def test_factor_scores_equal_lavpredict(stem, method, hs):
    data = hs if stem == "hs" else pd.read_csv(REFERENCE / "scoring" / "hs_missing.csv")
    lam, theta, psi, nu, alpha = _matrices(stem)
    got = factor_scores(data, lam, theta, psi, nu, alpha, method=method)
    want = load_reference("scoring", f"{stem}_lavpredict_{method}.csv")
    # closed form given the matrices: agreement to rounding error (measured max 8.9e-15; 1e-10 is
    # far tighter than the guide's 1e-6 and leaves room for another BLAS' summation order)
    np.testing.assert_allclose(got[list(lam.columns)].to_numpy(),
                               want[list(lam.columns)].to_numpy(), rtol=0, atol=1e-10)


def test_factor_scores_refuse_singular_i_minus_beta(hs):
    """Regressions among factors that form a loop (I - B singular) have no factor scores."""
    lam, theta, psi, nu, alpha = _matrices("hs")
    beta = pd.DataFrame(0.0, index=lam.columns, columns=lam.columns)
    beta.loc["visual", "textual"] = beta.loc["textual", "visual"] = 1.0  # det(I - B) = 0
    with pytest.raises(DataError, match=r"factors visual, textual \(Beta\) form a loop"):
        factor_scores(hs, lam, theta, psi, nu, alpha, Beta=beta)
    # a higher-order (recursive) structure is always invertible
    beta.loc["visual", "textual"] = 0.0
    assert factor_scores(hs, lam, theta, psi, nu, alpha, Beta=beta).notna().all().all()


def test_factor_scores_default_nu_is_sample_means(hs):
    lam, theta, psi, nu, alpha = _matrices("hs")
    a = factor_scores(hs, lam, theta, psi)
    b = factor_scores(hs, lam, theta, psi, hs[list(lam.index)].mean(), None)
    pd.testing.assert_frame_equal(a, b)


def test_factor_scores_through_score(hs):
    lam, theta, psi, nu, alpha = _matrices("hs")
    keys = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
            "speed": ["x7", "x8", "x9"]}
    model = FactorScoreModel(lam, theta, psi, nu, alpha)
    res = score(ScoringRules.from_keys(keys, likert=False), hs, factor_scores=model,
                factor_method="bartlett", id_column="id")
    want = load_reference("scoring", "hs_lavpredict_bartlett.csv")
    np.testing.assert_allclose(res.scores["fs_visual"], want["visual"], atol=1e-10)
    assert res.factor_names == ("visual", "textual", "speed")
    dd = data_dictionary(res)
    assert "bartlett factor score" in dd.set_index("column").loc["fs_speed", "method"]


class _FakeFit:
    """Stands in for a CFAResult: only its documented parameter table is used."""

    def __init__(self, estimates):
        self.estimates = estimates


@pytest.mark.parametrize("stem", ["hs", "hs_nomean", "hs_second_order"])
@pytest.mark.parametrize("method", ["regression", "bartlett"])
def test_factor_scores_from_parameter_table_equal_lavpredict(stem, method, hs):
    fit = _FakeFit(load_reference("scoring", f"{stem}_estimates.csv"))
    keys = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
            "speed": ["x7", "x8", "x9"]}
    res = score(ScoringRules.from_keys(keys, likert=False), hs, factor_scores=fit,
                factor_method=method, reliability=None)
    want = load_reference("scoring", f"{stem}_lavpredict_{method}.csv")
    factors = [c for c in want.columns if c != "row"]
    got = res.scores[[f"fs_{f}" for f in factors]]
    if stem == "hs_second_order" and method == "bartlett":
        # g has no indicators of its own: no Bartlett score (lavaan reports its mean, 0)
        assert got["fs_g"].isna().all() and (want["g"] == 0).all()
        factors = factors[:3]
        got = got.iloc[:, :3]
    # closed form given the estimates; the estimates are stored to 17 digits
    np.testing.assert_allclose(got.to_numpy(), want[factors].to_numpy(), rtol=0, atol=1e-10)


def test_factor_scores_from_our_cfa_fit(hs):
    from psychometrics.cfa import fit_cfa

    model = "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
    fit = fit_cfa(model, hs, meanstructure=True)
    keys = {"visual": ["x1", "x2", "x3"]}
    for method in ("regression", "bartlett"):
        res = score(ScoringRules.from_keys(keys, likert=False), hs, factor_scores=fit,
                    factor_method=method, reliability=None)
        want = load_reference("scoring", f"hs_lavpredict_{method}.csv")
        # iterative estimates (our ML engine vs lavaan's): 1e-4 (measured max 1.6e-6)
        np.testing.assert_allclose(res.scores[["fs_visual", "fs_textual", "fs_speed"]].to_numpy(),
                                   want[["visual", "textual", "speed"]].to_numpy(), atol=1e-4)
    # multi-group fit: each row scored with its own group's matrices
    fitg = fit_cfa(model, hs, group="school")
    res = score(ScoringRules.from_keys(keys, likert=False), hs, factor_scores=fitg,
                group="school", reliability=None)
    for school in ("Pasteur", "Grant-White"):
        rows = (hs["school"] == school).to_numpy()
        m = FactorScoreModel.from_fit(fitg, group=school)
        one = factor_scores(hs[rows], m.Lambda, m.Theta, m.Psi, m.nu, m.alpha)
        np.testing.assert_allclose(res.scores.loc[rows, "fs_speed"], one["speed"], atol=1e-12)
    with pytest.raises(DataError, match="pass group="):
        score(ScoringRules.from_keys(keys, likert=False), hs, factor_scores=fitg, reliability=None)


def test_factor_model_from_multigroup_table_needs_group():
    pe = load_reference("scoring", "hs_estimates.csv")
    two = pd.concat([pe, pe.assign(group="other")])
    with pytest.raises(DataError, match="group="):
        FactorScoreModel.from_fit(_FakeFit(two))
    m = FactorScoreModel.from_fit(_FakeFit(two), group="other")
    assert m.factors == ["visual", "textual", "speed"]
    with pytest.raises(DataError, match="not in the fit"):
        FactorScoreModel.from_fit(_FakeFit(two), group="third")


def test_factor_scores_bad_method(hs):
    lam, theta, psi, nu, alpha = _matrices("hs")
    with pytest.raises(DataError, match="regression"):
        factor_scores(hs, lam, theta, psi, method="ebm")


# -------------------------------------------------------------------------- norms
def test_norms_hand_computed():
    ref = pd.DataFrame({"s": [1.0, 2, 2, 3, 4]})
    norms = build_norms(ref)
    t = norms.table("s")
    assert (t.n, t.mean) == (5, 2.4)
    assert t.sd == pytest.approx(math.sqrt(1.3))
    new = pd.DataFrame({"s": [2.0, 4.0, 0.0, 5.0, 2.5, np.nan, 1.0]})
    out = apply_norms(new, norms)
    np.testing.assert_allclose(out["s_pr"], [40.0, 90.0, 0.0, 100.0, 60.0, np.nan, 10.0])
    z = (new["s"] - 2.4) / math.sqrt(1.3)
    np.testing.assert_allclose(out["s_z"], z)
    np.testing.assert_allclose(out["s_T"], 50 + 10 * z)
    # percentile stanines: PR 40 -> 5, 90 -> 8, 0 -> 1, 100 -> 9, 60 -> 6, 10 -> 2
    assert out["s_stanine"].tolist() == [5, 8, 1, 9, 6, pd.NA, 2]
    # z stanines: z = -0.351 -> floor(4.80) = 4; 1.404 -> 8; -2.105 -> 1; 2.28 -> 9;
    # 0.0877 -> 5; -1.228 -> floor(3.04) = 3
    zst = apply_norms(new, norms, stanine_from="z")["s_stanine"].tolist()
    assert zst == [4, 8, 1, 9, 5, pd.NA, 3]
    table = t.percentile_table()
    assert table["percentile_rank"].tolist() == [10.0, 40.0, 70.0, 90.0]


def test_group_norms():
    ref = pd.DataFrame({"s": [1.0, 2, 3, 10, 20, 30], "g": ["a", "a", "a", "b", "b", "b"]})
    norms = build_norms(ref, group="g")
    assert norms.groups == ("a", "b") and norms.group_variable == "g"
    assert norms.table("s", "b").mean == 20.0 and norms.table("s", "all").n == 6
    new = pd.DataFrame({"s": [2.0, 20.0, 2.0], "g": ["a", "b", None]})
    out = apply_norms(new, norms, group="g")
    np.testing.assert_allclose(out["s_z"], [0.0, 0.0, (2 - 11) / ref["s"].std()])
    np.testing.assert_allclose(out["s_pr"], [50.0, 50.0, 100 * 1.5 / 6])
    with pytest.raises(DataError, match="no norms for group.*c"):
        apply_norms(pd.DataFrame({"s": [1.0], "g": ["c"]}), norms, group="g")


def test_norms_dict_roundtrip():
    norms = build_norms(pd.DataFrame({"s": [1.0, 2, 2, 3], "g": [1, 1, 2, 2]}), group="g",
                        description="ref")
    back = Norms.from_dict(json.loads(json.dumps(norms.to_dict())))
    assert back.to_dict() == norms.to_dict()


def test_too_small_norm_group():
    with pytest.raises(DataError, match="only 1 scored row"):
        build_norms(pd.DataFrame({"s": [1.0, 2, 3], "g": ["a", "a", "b"]}), group="g")


# ---------------------------------------------------------------------- scoring key
def _key(**kw) -> ScoringKey:
    data = small_data()
    kw.setdefault("reliability", {"alpha_s": 0.8, "beta_s": {"coefficient": "omega", "value": 0.7},
                                  "total": 0.85})
    return ScoringKey.build(small_spec(), data,
                            invariance={"level": "scalar", "group_variable": "grp",
                                        "groups": ["x", "y"]},
                            description="five test rows", date="2026-01-01", **kw)


@pytest.mark.parametrize("ext", ["json", "yaml"])
def test_key_roundtrip(tmp_path, ext):
    key = _key()
    path = key.to_file(tmp_path / f"scoring_key_tiny.{ext}")
    back = ScoringKey.from_file(path)
    assert back.to_dict() == key.to_dict()
    d = back.to_dict()
    assert d["format_version"] == 1 and d["scale"]["version"] == "1.0.0"
    assert d["calibration"]["n"] == 5 and len(d["calibration"]["data_sha256"]) == 64
    assert d["invariance"]["level"] == "scalar"
    assert d["reliability"]["beta_s"] == {"coefficient": "omega", "value": 0.7}
    assert d["reliability"]["alpha_s"] == {"coefficient": None, "value": 0.8}
    assert [s["reverse"] for s in d["scores"]] == [["a2"], ["b2"], ["a2", "b2"]]
    if ext == "json":  # the text json.dumps(indent=2) writes (written by _jsontext.dumps_indented)
        from psychometrics._results import to_jsonable

        assert path.read_text(encoding="utf-8") == json.dumps(to_jsonable(key.to_dict()), indent=2,
                                                              ensure_ascii=False) + "\n"


def test_scoring_with_key_matches_scale_and_applies_key_norms(tmp_path):
    key = ScoringKey.from_file(_key().to_file(tmp_path / "scoring_key.json"))
    by_scale = score(small_spec(), small_data())
    by_key = score(key, small_data())
    pd.testing.assert_frame_equal(by_key.scores[["alpha_s", "beta_s", "total"]], by_scale.scores)
    assert "total_T" in by_key.scores.columns
    assert (by_key.sem["sd_source"] == "key").all()
    assert (by_key.sem["reliability_source"] == "key").all()
    want = key.norms.table("alpha_s").sd * math.sqrt(1 - 0.8)  # calibration SD, key reliability
    assert by_key.sem.loc["alpha_s", "sem"] == pytest.approx(want, rel=1e-15)
    by_path = score(tmp_path / "scoring_key.json", small_data())
    pd.testing.assert_frame_equal(by_path.scores, by_key.scores)


def test_key_overrides_are_warned_and_norms_kept_to_their_method():
    from psychometrics.exceptions import PsychometricsWarning

    key = _key()
    with pytest.warns(PsychometricsWarning) as caught:
        res = score(key, small_data(), method="sum")
    messages = [str(w.message) for w in caught]
    assert any("method='sum'" in m for m in messages)
    assert any("norms are for mean scores" in m for m in messages)
    assert "alpha_s_z" not in res.scores.columns  # mean-score norms not applied to sums
    with pytest.warns(PsychometricsWarning, match="min_answered=0.0"):
        score(key, small_data(), min_answered=0)
    with pytest.raises(DataError, match="norms=True"):
        score(small_spec(), small_data(), norms=True)


def test_key_refuses_data_outside_range_and_missing_items():
    key = _key()
    bad = small_data()
    bad.loc[10, "a1"] = 7
    with pytest.raises(ScoringKeyError, match="outside the response range 1..5"):
        score(key, bad)
    with pytest.raises(ScoringKeyError, match="'a3'"):
        score(key, small_data().drop(columns="a3"))


def test_key_warns_for_groups_not_covered_by_invariance():
    key = _key()
    data = small_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score(key, data, group="grp")  # x and y are covered: no warning
    data.loc[4, "grp"] = "z"
    with pytest.warns(InvarianceWarning, match="z"):
        res = score(key, data, group="grp", norms=False)
    assert any(d.category == "InvarianceWarning" for d in res.diagnostics)
    with pytest.warns(InvarianceWarning, match="z"):  # the key's grouping variable is found
        score(key, data, norms=False)


def test_key_reads_a_reliability_table():
    class FakeScaleReliability:  # the shape of reliability.ScaleReliabilityResult
        table = pd.DataFrame({"alpha": [0.7, 0.6, 0.8], "omega_total": [0.75, np.nan, 0.85]},
                             index=["alpha_s", "beta_s", "total"])

    key = ScoringKey.build(small_spec(), reliability=FakeScaleReliability())
    assert key.reliability == {"alpha_s": {"coefficient": "omega_total", "value": 0.75},
                               "beta_s": {"coefficient": "alpha", "value": 0.6},
                               "total": {"coefficient": "omega_total", "value": 0.85}}
    assert key.norms is None and "n" not in key.calibration


def test_key_with_real_scale_reliability():
    from psychometrics.data import load_responses
    from psychometrics.reliability import scale_reliability
    from psychometrics.scale import Scale

    scale = Scale.from_yaml(Path(__file__).parent / "data" / "mini_scale.yaml")
    rng = np.random.default_rng(0)
    f = rng.normal(size=(200, 1))
    x = np.clip(np.round(3 + f + rng.normal(size=(200, 8)) * 0.8), 1, 5)
    df = pd.DataFrame(x, columns=list(scale.item_ids))
    df[["A3", "C2"]] = 6 - df[["A3", "C2"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # omega of a two-item subscale: ReliabilityWarning
        resp = load_responses(df, scale)
        rel = scale_reliability(resp, ci=None, n_boot=0)
    key = ScoringKey.build(scale, resp, reliability=rel)
    assert key.reliability["total"] == {"coefficient": "omega_total",
                                        "value": float(rel.table.loc["total", "omega_total"])}
    assert key.reliability["gamma"]["coefficient"] == "alpha"  # two items: no omega
    assert key.calibration["data_sha256"] == resp.sha256
    res = score(key, df)
    want = key.norms.table("total").sd * math.sqrt(1 - key.reliability["total"]["value"])
    assert res.sem.loc["total", "sem"] == pytest.approx(want)
    by_resp = score(scale, resp)
    np.testing.assert_array_equal(by_resp.scores["total"].to_numpy(), res.scores["total"].to_numpy())


def test_key_checks_scale_version():
    key = _key()

    class Other:
        id = "tiny"
        version = "2.0.0"
        content_hash = "abc"

    with pytest.raises(ScoringKeyError, match="version 2.0.0"):
        key.check_scale(Other())


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("format_version"), "format_version"),
    (lambda d: d["scoring"].update(method=3), "scoring.method"),
    (lambda d: d["scores"][0].pop("items"), "scores[0].items"),
    (lambda d: d["response_format"].update(min="one"), "response_format.min"),
    (lambda d: d["norms"]["tables"]["alpha_s"]["all"].update(n=99), "norms.tables.alpha_s.all"),
    (lambda d: d["scores"][0]["reverse"].append("b1"), "scores[0].reverse"),
    (lambda d: d["scores"][0]["items"].remove("a3"), "edited by hand"),
    (lambda d: d.update(format_version=99), "upgrade"),
    (lambda d: d["scale"]["spec"]["items"][0].update(text="changed"), "content_hash"),
    (lambda d: d["scale"]["spec"].update(version="one"), "scale.spec is not a valid"),
])
def test_malformed_key_names_field(tmp_path, mutate, field):
    d = json.loads(json.dumps(_key().to_dict()))
    mutate(d)
    path = tmp_path / "scoring_key_bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ScoringKeyError) as err:
        ScoringKey.from_file(path)
    assert field in str(err.value)


def test_key_file_name_and_syntax(tmp_path):
    with pytest.raises(ScoringKeyError, match="must start with 'scoring_key'"):
        _key().to_file(tmp_path / "key.json")
    p = tmp_path / "scoring_key.yaml"
    p.write_text("format_version: [1\n")
    with pytest.raises(ScoringKeyError, match="not valid YAML"):
        ScoringKey.from_file(p)


# -------------------------------------------------------------------------- output
def test_write_csv_parquet_sav_and_dictionary(tmp_path):
    import pyreadstat

    res = score(_key(), small_data(), id_column="pid")
    for ext in ("csv", "parquet", "sav"):
        path = write_scores(res, tmp_path / f"scores.{ext}")
        if ext == "csv":
            back = pd.read_csv(path)
        elif ext == "parquet":
            back = pd.read_parquet(path)
        else:
            back, meta = pyreadstat.read_sav(str(path))
            labels = dict(zip(meta.column_names, meta.column_labels))
            assert labels["alpha_s"] == "Alpha part"
            assert labels["total_pr"].endswith("percentile rank (mid-rank) in the reference sample")
        assert list(back["pid"]) == ["p1", "p2", "p3", "p4", "p5"]
        np.testing.assert_allclose(back["alpha_s"], res.scores["alpha_s"].to_numpy())
    dd = data_dictionary(res).set_index("column")
    assert dd.loc["alpha_s", "items"] == "a1, a2, a3, a4, a5"
    assert dd.loc["alpha_s", "reverse_items"] == "a2"
    assert dd.loc["alpha_s", "range"] == "1-5"
    md = write_data_dictionary(res, tmp_path / "dictionary.md").read_text()
    assert md.startswith("| column | label |") and "| beta_s | Beta part |" in md
    write_data_dictionary(res, tmp_path / "dictionary.csv")
    with pytest.raises(DataError, match="use .csv, .parquet or .sav"):
        write_scores(res, tmp_path / "scores.xlsx")


def test_result_display_and_dict():
    res = score(small_spec(), small_data())
    text = res.summary()
    assert "not_scored" in text and "p1" not in text
    assert "<table" in res._repr_html_()
    d = res.to_dict()
    assert d["method"] == "mean" and d["key"] is None
    key = _key()
    assert "invariance" in key.summary() and "scalar" in key.summary()
    assert "<table" in key._repr_html_()
    assert "alpha_s" in key.norms.summary() and "<table" in key.norms._repr_html_()


def test_scale_yaml_path_and_scale_object(tmp_path):
    from psychometrics.scale import Scale

    path = Path(__file__).parent / "data" / "mini_scale.yaml"
    scale = Scale.from_yaml(path)
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.integers(1, 6, size=(30, 8)), columns=list(scale.item_ids))
    by_path = score(path, data)
    by_obj = score(scale, data)
    pd.testing.assert_frame_equal(by_path.scores, by_obj.scores)
    assert list(by_obj.scores.columns) == ["alpha", "beta", "gamma", "total"]
    assert by_obj.definitions[-1].label == "General factor"
    x = data.astype(float)
    x["A3"] = 6 - x["A3"]
    x["C2"] = 6 - x["C2"]
    np.testing.assert_allclose(by_obj.scores["gamma"], x[["C1", "C2"]].mean(axis=1))
    np.testing.assert_allclose(by_obj.scores["total"], x.mean(axis=1))
    key = ScoringKey.build(scale, data, date="2026-01-01")
    assert key.scale_hash == scale.content_hash
    back = ScoringKey.from_file(key.to_file(tmp_path / "scoring_key_mini.yaml"))
    assert back.scale().content_hash == scale.content_hash
    assert back.calibration["data_sha256"] == key.calibration["data_sha256"]


# ----------------------------------------------------------------------------- CLI
def _cli(*args, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "psychometrics", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**__import__("os").environ,
                                                               "PYTHONPATH": str(ROOT)})


ROOT = Path(__file__).resolve().parent.parent


def test_cli_score_with_scale_and_key(tmp_path):
    import pyreadstat

    from psychometrics.scale import Scale

    scale_path = ROOT / "tests" / "data" / "mini_scale.yaml"
    scale = Scale.from_yaml(scale_path)
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.integers(1, 6, size=(40, 8)), columns=list(scale.item_ids)).astype(float)
    data.iloc[0, :2] = np.nan
    data.insert(0, "pid", [f"r{i}" for i in range(40)])
    data["site"] = ["a", "b"] * 20
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)

    data.rename(columns={"A1": "first"}).to_csv(csv, index=False)
    run = _cli("score", scale_path, csv, "-o", tmp_path / "s.csv", "--id-column", "pid",
               "--map", "first=A1", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Scored 40 rows" in run.stdout and "alpha: 39 scored, 1 not scored" in run.stdout
    out = pd.read_csv(tmp_path / "s.csv")
    want = score(scale, data, id_column="pid").scores
    assert list(out["pid"]) == list(data["pid"])
    np.testing.assert_allclose(out["total"], want["total"].to_numpy())
    assert (tmp_path / "s_dictionary.csv").exists()
    data.to_csv(csv, index=False)

    key = ScoringKey.build(scale, data, invariance={"level": "scalar", "group_variable": "site",
                                                    "groups": ["a"]})
    key_path = key.to_file(tmp_path / "scoring_key_mini.yaml")
    run = _cli("score", key_path, csv, "-o", tmp_path / "s.sav", "--id-column", "pid",
               "--dictionary", tmp_path / "dict.md", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "InvarianceWarning" in run.stderr and "b" in run.stderr
    back, meta = pyreadstat.read_sav(str(tmp_path / "s.sav"))
    assert "total_T" in back.columns and dict(zip(meta.column_names, meta.column_labels))[
        "total"] == "General factor"
    assert "| total | General factor |" in (tmp_path / "dict.md").read_text()


def test_cli_score_refuses_bad_data_without_traceback(tmp_path):
    from psychometrics.scale import Scale

    scale_path = ROOT / "tests" / "data" / "mini_scale.yaml"
    scale = Scale.from_yaml(scale_path)
    data = pd.DataFrame(np.full((5, 8), 3.0), columns=list(scale.item_ids))
    key_path = ScoringKey.build(scale, reliability=None).to_file(tmp_path / "scoring_key.json")
    data.loc[2, "B2"] = 9
    data.to_csv(tmp_path / "bad.csv", index=False)
    run = _cli("score", key_path, tmp_path / "bad.csv", "-o", tmp_path / "o.csv", cwd=tmp_path)
    assert run.returncode == 2
    assert "do not match the scoring key" in run.stderr and "B2" in run.stderr
    assert "Traceback" not in run.stderr
    run = _cli("score", key_path, tmp_path / "bad.csv", "-o", tmp_path / "o.xlsx", cwd=tmp_path)
    assert run.returncode == 2 and "use .csv, .parquet or .sav" in run.stderr
    with pytest.raises(ScoringKeyError, match="does not exist"):
        score(tmp_path / "scoring_key_missing.json", tmp_path / "bad.csv")


def test_pairwise_cov_large_n_equals_pandas():
    # issue 16: at ≥ 10,000 rows of integer answers the pairwise covariance comes from three
    # matrix products (exact integer sums); pandas' pairwise loop is the reference (1e-12 of the scale)
    from psychometrics.scoring.sem import pairwise_cov

    rng = np.random.default_rng(2)
    z = rng.standard_normal((12_000, 1))
    x = np.clip(np.round(2.5 + z + rng.standard_normal((12_000, 5))), 1, 5)
    x[rng.random(x.shape) < 0.07] = np.nan
    df = pd.DataFrame(x, columns=list("abcde"))
    ref = df.cov().to_numpy()
    np.testing.assert_allclose(pairwise_cov(df), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    frac = df + 0.5 * (rng.random(df.shape) > 0.5)  # non-integer values: pandas itself
    np.testing.assert_array_equal(pairwise_cov(frac), frac.cov().to_numpy())


def test_alpha_from_shared_pairwise_sums_equals_per_score():
    # issue 16: at large n the SEM table's alphas come from one set of pairwise sums of all items;
    # each score's covariance (a sub-block of exact integer sums) equals pairwise_cov of its items bit for bit
    from psychometrics.scoring.sem import _alpha_or_reason, _PairwiseMoments, pairwise_cov

    rng = np.random.default_rng(5)
    x = np.clip(np.round(3 + rng.standard_normal((11_000, 1)) + rng.standard_normal((11_000, 6))), 1, 5)
    x[rng.random(x.shape) < 0.05] = np.nan
    df = pd.DataFrame(x, columns=list("abcdef"))
    m = _PairwiseMoments.of(df)
    for cols in ([0, 2, 4], [1, 3, 5, 0], list(range(6))):
        sub = df.iloc[:, cols]
        np.testing.assert_array_equal(m.cov(cols), pairwise_cov(sub))
        assert _alpha_or_reason(sub.iloc[:0], m, cols) == _alpha_or_reason(sub)
    assert _PairwiseMoments.of(df.iloc[:9_999]) is None  # small samples: pandas, as before


def _likert_items(n: int, k: int, seed: int, missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.clip(np.round(3 + rng.standard_normal((n, 1)) + rng.standard_normal((n, k))), 1, 5)
    x[rng.random(x.shape) < missing] = np.nan
    x[:3] = np.nan  # rows without any answer
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])


def _rules(k: int, method: str = "mean", min_answered: float = 0.6):
    from psychometrics.scoring import ScoringRules

    keys = {"a": [f"i{j}" for j in range(0, k, 2)], "b": [f"i{j}" for j in range(1, k, 2)],
            "c": [f"i{j}" for j in range(k)]}
    rules = ScoringRules.from_keys(keys, response_range=(1, 5))
    import dataclasses

    return dataclasses.replace(rules, method=method, min_answered=min_answered)


@pytest.mark.parametrize("method", ["mean", "sum"])
def test_score_matrix_products_equal_score_by_score(method):
    # issue 16: with whole-number answers all scores' sums and counts are matrix products over row blocks
    # (exact integer sums); the previous score-by-score sums are the reference, bit for bit
    from psychometrics.scoring._arrays import _BLOCK, ItemArrays
    from psychometrics.scoring.item_matrix import _score_matrix, _score_matrix_by_score

    items = _likert_items(_BLOCK + 777, 7, seed=3)  # more than one block
    rules = _rules(7, method)
    fast = _score_matrix(items, rules, 0.6, method, ItemArrays(items.to_numpy()))
    slow = _score_matrix_by_score(items, rules, 0.6, method)
    for a, b in zip(fast, slow):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    frac = items + 0.25  # not whole numbers: summed score by score (NumPy's order), as before
    arrays = ItemArrays(frac.to_numpy())
    assert arrays.sums(np.ones((1, 7))) is None
    for a, b in zip(_score_matrix(frac, rules, 0.6, method, arrays), _score_matrix_by_score(frac, rules, 0.6, method)):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_pairwise_moments_one_pass_equal_products():
    # issue 16: the SEM's pairwise sums accumulated block by block in the scoring pass (float32 products where
    # every block sum is below 2^24) equal the three full float64 products bit for bit
    from psychometrics.scoring._arrays import _BLOCK, ItemArrays
    from psychometrics.scoring.sem import _PairwiseMoments

    items = _likert_items(2 * _BLOCK + 5, 6, seed=4, missing=0.1)
    arrays = ItemArrays(items.to_numpy())
    arrays.sums(np.ones((2, 6)), pairs=True)
    x = items.to_numpy()
    m = (~np.isnan(x)).astype(float)
    z = np.nan_to_num(x)
    for got, want in zip(arrays.pairs, (m.T @ m, z.T @ m, z.T @ z)):
        np.testing.assert_array_equal(got, want)
    shared = _PairwiseMoments.of(items, arrays)
    alone = _PairwiseMoments.of(items)
    for a, b in ((shared.n, alone.n), (shared.s, alone.s), (shared.xx, alone.xx)):
        np.testing.assert_array_equal(a, b)
    big = items * 1e5  # n · max² ≥ 2^53: the products would not be exact, so pandas computes the covariance
    arrays = ItemArrays(big.to_numpy())
    arrays.sums(np.ones((1, 6)), pairs=True)
    assert arrays.pairs is None and _PairwiseMoments.of(big, arrays) is None


def test_block_descriptives_equal_pandas():
    # issue 16: the descriptives of 10,000+ rows repeat pandas' nanmean/nanvar operations once for all
    # statistics; pandas' own reductions are the reference, bit for bit (all-missing and one-value scores too)
    from psychometrics.scoring.stages import _descriptives, _score_block

    rng = np.random.default_rng(6)
    v = rng.normal(3, 1, size=(4, 12_345))
    v[rng.random(v.shape) < 0.1] = np.nan
    v[2] = np.nan
    v[3, 1:] = np.nan
    vals = pd.DataFrame(v.T, columns=["a", "b", "c", "d"], copy=False)
    assert _score_block(vals) is not None
    want = pd.DataFrame({"n": vals.notna().sum().astype("int64"), "mean": vals.mean(), "sd": vals.std(ddof=1),
                         "min": vals.min(), "max": vals.max()})
    want.index.name = "score"
    pd.testing.assert_frame_equal(_descriptives(vals), want, check_exact=True)
    assert vals.columns.name is None  # the score names are not renamed


def test_score_responses_read_in_place_and_key_reuses_scores():
    # issue 16: a Responses object's items are scored without a copy (read-only view) and without rebuilding
    # Responses.raw; ScoringKey.build(scores=score(...)) gives the key that scoring again gives
    import dataclasses

    from psychometrics.data import load_responses
    from psychometrics.scale import Scale
    from psychometrics.scoring._input import _is_responses

    scale = Scale.from_yaml(Path(__file__).parent / "data" / "mini_scale.yaml")
    rng = np.random.default_rng(0)
    x = np.clip(np.round(3 + rng.normal(size=(300, 1)) + rng.normal(size=(300, 8)) * 0.8), 1, 5)
    x[rng.random(x.shape) < 0.05] = np.nan
    df = pd.DataFrame(x, columns=list(scale.item_ids))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resp = load_responses(df, scale)
    before = resp.items.copy()

    class Probe:
        items = resp.items

        @property
        def raw(self):  # pragma: no cover - must not be read
            raise AssertionError("raw was rebuilt")

    assert _is_responses(Probe())
    scored = score(scale, resp)
    pd.testing.assert_frame_equal(resp.items, before, check_exact=True)  # the caller's items are untouched
    by_frame = score(scale, resp.raw)  # the same answers as a plain frame (copied, reversed here)
    pd.testing.assert_frame_equal(scored.scores, by_frame.scores, check_exact=True)
    a = ScoringKey.build(scale, resp, reliability=None, date="2026-01-01")
    b = ScoringKey.build(scale, resp, reliability=None, date="2026-01-01", scores=scored)
    assert {**a.to_dict(), "created": None} == {**b.to_dict(), "created": None}
    from psychometrics.scoring.key import _reusable

    assert _reusable(scored, a.rules, resp, None, None)  # b really took the given scores
    other = dataclasses.replace(scored, min_answered=0.0)  # not what build would compute: scored again
    c = ScoringKey.build(scale, resp, reliability=None, date="2026-01-01", scores=other)
    assert {**a.to_dict(), "created": None} == {**c.to_dict(), "created": None}


@pytest.mark.parametrize("kind", ["whole", "pairs", "not whole"])
def test_item_sums_with_half_the_blocks_on_a_side_thread_equal_in_line(monkeypatch, kind):
    """issue 16 (ninth session): from ``_arrays.SIDE_ROWS`` rows (outside a lane, two cores) the second half of
    the blocks is summed on a second thread; every sum, the pairwise sums and the answers' peak bit for bit as
    in line (exact integers), and answers that are not whole numbers still give None."""
    from psychometrics import _linalg
    from psychometrics.scoring import _arrays

    rng = np.random.default_rng(4)
    n, k = 5 * 1000 + 17, 7
    x = rng.integers(1, 6, size=(n, k)).astype(float)
    x[rng.random((n, k)) < 0.1] = np.nan
    if kind == "not whole":
        x[n - 3, 2] = 2.5  # in the second half
    member = np.array([[1.0] * 4 + [0.0] * 3, [0.0] * 4 + [1.0] * 3, [1.0] * 7])
    monkeypatch.setattr(_arrays, "_BLOCK", 1000)  # (six blocks: three on each thread)
    inline = _arrays.ItemArrays(x)
    want = inline.sums(member, pairs=kind == "pairs")
    monkeypatch.setattr(_arrays, "SIDE_ROWS", 100)
    used = spy_side_threads(monkeypatch, _linalg)  # (sums imports side_thread from _linalg when called)
    side = _arrays.ItemArrays(x)
    got = side.sums(member, pairs=kind == "pairs")
    assert used == [True]
    if kind == "not whole":
        assert want is None and got is None and inline.whole is side.whole is False
        return
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert side.peak == inline.peak and side.whole is inline.whole is True
    if kind == "pairs":
        for a, b in zip(side.pairs, inline.pairs):
            np.testing.assert_array_equal(a, b)
