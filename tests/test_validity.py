"""Tests of psychometrics.validity against semTools / lavaan / psych / stats reference values.

Fixtures: tests/reference/validity/ (validity_reference.R, provenance.json).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, load_reference
from psychometrics.exceptions import DataError, ReliabilityWarning, SpecError
from psychometrics.validity import (
    Hypothesis,
    ave,
    ave_sem,
    composite_reliability,
    composite_reliability_sem,
    construct_validity,
    correlate,
    correlation_table,
    evaluate_hypotheses,
    fornell_larcker,
    htmt,
    latent_correlations,
    observed_scores,
    score_key,
)

TOL = 1e-6  # closed-form statistics

HS_BLOCKS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
BFI_BLOCKS = {
    f: [f"{p}{i}" for i in range(1, 6)]
    for f, p in [("agree", "A"), ("consc", "C"), ("extra", "E"), ("neuro", "N"), ("open", "O")]
}
BFI_REVERSED = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]


def _mat(d: dict) -> pd.DataFrame:
    return pd.DataFrame(np.array(d["data"], dtype=float), index=d["index"], columns=d["columns"])


def _vec(d: dict) -> pd.Series:
    return pd.Series({k: float(v) for k, v in d.items()})


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi")


@pytest.fixture(scope="module")
def bfi_keyed(bfi) -> pd.DataFrame:
    out = bfi.copy()
    out[BFI_REVERSED] = 7 - out[BFI_REVERSED]
    return out


@pytest.fixture(scope="module")
def ref_htmt() -> dict:
    return load_reference("validity", "htmt.json")


@pytest.fixture(scope="module")
def ref_cfa() -> dict:
    return load_reference("validity", "cfa_cr_ave.json")


@pytest.fixture(scope="module")
def ref_cor() -> dict:
    return load_reference("validity", "correlations.json")


def test_provenance_names_inputs_and_versions():
    prov = json.loads((REFERENCE / "validity" / "provenance.json").read_text())
    assert prov["packages"]["semTools"] == "0.5.6"
    assert set(prov["sha256"]) == {"holzinger_swineford.csv", "bfi.csv", "bfi_scores.csv"}


# ================================================================== HTMT
@pytest.mark.parametrize(
    "case, dataset, kwargs",
    [
        ("hs_htmt2", "hs", {}),
        ("hs_htmt", "hs", {"htmt2": False}),
        ("hs_htmt_signed", "hs", {"htmt2": False, "absolute": False}),
        ("bfi_htmt2", "bfi", {}),
        ("bfi_htmt", "bfi", {"htmt2": False}),
        ("bfi_keyed_htmt2", "bfi_keyed", {}),
        ("bfi_pairwise_htmt2", "bfi", {"missing": "pairwise"}),
        ("bfi_pairwise_htmt", "bfi", {"missing": "pairwise", "htmt2": False}),
    ],
)
def test_htmt_matches_semtools(case, dataset, kwargs, ref_htmt, request):
    data = request.getfixturevalue(dataset)
    blocks = HS_BLOCKS if dataset == "hs" else BFI_BLOCKS
    res = htmt(data, blocks, **kwargs)
    expected = _mat(ref_htmt[case]["matrix"])
    pd.testing.assert_frame_equal(res.matrix, expected.loc[res.matrix.index, res.matrix.columns], atol=TOL, rtol=0)
    assert res.method == ("htmt" if kwargs.get("htmt2") is False else "htmt2")


def test_htmt_blocks_from_lavaan_syntax(hs, ref_htmt):
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nvisual ~~ speed"
    res = htmt(hs, model)
    np.testing.assert_allclose(res.matrix.to_numpy(), _mat(ref_htmt["hs_htmt2"]["matrix"]).to_numpy(), atol=TOL)
    with pytest.raises(DataError, match="no '=~'"):
        htmt(hs, "x1 ~~ x2")


def test_htmt_listwise_counts_excluded_rows(bfi):
    res = htmt(bfi, BFI_BLOCKS)
    assert res.missing == "listwise"
    assert res.n == 2436 and res.n_excluded == 2800 - 2436


def test_htmt_from_correlation_or_covariance_matrix(hs, ref_htmt):
    items = [i for b in HS_BLOCKS.values() for i in b]
    expected = _mat(ref_htmt["hs_htmt2"]["matrix"])
    for m in (hs[items].corr(), hs[items].cov()):
        res = htmt(m, HS_BLOCKS)
        assert res.missing == "matrix" and res.n is None
        np.testing.assert_allclose(res.matrix.to_numpy(), expected.to_numpy(), atol=TOL)


def test_htmt_pairs_and_verdicts(hs):
    res = htmt(hs, HS_BLOCKS)
    assert list(res.pairs.columns) == ["factor_a", "factor_b", "htmt", "verdict", "rule"]
    assert (res.pairs["verdict"] == "supported").all() and res.supported
    assert res.pairs["rule"].iloc[0].startswith("HTMT2(visual, textual) = 0.384 < 0.85")
    # The thresholds are named: a liberal-only and a failing pair.
    res2 = htmt(hs, HS_BLOCKS, thresholds=(0.30, 0.385))
    verdicts = dict(zip(zip(res2.pairs.factor_a, res2.pairs.factor_b), res2.pairs.verdict))
    assert verdicts[("visual", "textual")] == "supported at 0.39 only"
    assert verdicts[("visual", "speed")] == "not supported"
    assert verdicts[("textual", "speed")] == "supported"
    assert isinstance(res.to_dict()["matrix"], dict) and "<table" in res._repr_html_()


def test_htmt_signed_on_unkeyed_items_is_an_error_not_nan(bfi, ref_htmt):
    # semTools returns NaN / -1 here (see htmt.json "bfi_htmt_signed").
    assert "NaN" in json.dumps(ref_htmt["bfi_htmt_signed"])
    with pytest.raises(DataError, match=r"blocks \['consc', 'extra', 'open'\].*reverse-key"):
        htmt(bfi, BFI_BLOCKS, htmt2=False, absolute=False)


def test_htmt_bad_input(hs):
    with pytest.raises(DataError, match="block 'speed' has 1 item"):
        htmt(hs, {"visual": ["x1", "x2"], "speed": ["x7"]})
    with pytest.raises(DataError, match=r"items \['x99'\] are not columns.*visual: \['x99'\]"):
        htmt(hs, {"visual": ["x1", "x99"], "speed": ["x7", "x8"]})
    with pytest.raises(DataError, match="item 'x1' is in blocks 'visual' and 'speed'"):
        htmt(hs, {"visual": ["x1", "x2"], "speed": ["x1", "x8"]})
    with pytest.raises(DataError, match="at least 2 blocks"):
        htmt(hs, {"visual": ["x1", "x2"]})
    const = hs.assign(x2=1.0)
    with pytest.raises(DataError, match=r"\['x2'\] have zero variance"):
        htmt(const, HS_BLOCKS)
    with pytest.raises(DataError, match=r"columns \['school'\] are not numeric"):
        htmt(hs, {"visual": ["x1", "school"], "speed": ["x7", "x8"]})
    with pytest.raises(DataError, match="missing must be"):
        htmt(hs, HS_BLOCKS, missing="ml")


# ======================================================== CR, AVE (pure)
@pytest.mark.parametrize("model", ["hs", "bfi"])
def test_cr_and_ave_from_standardized_loadings(model, ref_cfa):
    ref = ref_cfa[model]
    lam = _mat(ref["std_loadings"])
    theta = _vec(ref["std_residual_variances"])
    cr = composite_reliability(lam, theta)
    pd.testing.assert_series_equal(cr, _vec(ref["cr_std"]).loc[cr.index], atol=TOL, rtol=0, check_names=False)
    # θ* = 1 − λ*² in a simple-structure CFA, so the default gives the same values.
    pd.testing.assert_series_equal(composite_reliability(lam), cr, atol=1e-9, rtol=0)
    av = ave(lam)
    pd.testing.assert_series_equal(av, _vec(ref["ave_std"]).loc[av.index], atol=TOL, rtol=0, check_names=False)
    assert cr.name == "composite_reliability" and av.name == "ave"


@pytest.mark.parametrize("model", ["hs", "bfi"])
@pytest.mark.parametrize("obs", [True, False])
def test_cr_and_ave_match_semtools(model, obs, ref_cfa):
    ref = ref_cfa[model]
    lam, psi = _mat(ref["loadings"]), _mat(ref["latent_cov"])
    total = _mat(ref["sample_cov"] if obs else ref["implied_cov"])
    suffix = "obs" if obs else "implied"
    omega = composite_reliability_sem(lam, psi, total)
    pd.testing.assert_series_equal(omega, _vec(ref[f"compRelSEM_{suffix}"]).loc[omega.index],
                                   atol=TOL, rtol=0, check_names=False)
    av = ave_sem(lam, psi, total)
    pd.testing.assert_series_equal(av, _vec(ref[f"AVE_{suffix}"]).loc[av.index], atol=TOL, rtol=0, check_names=False)


def test_cr_single_indicator_and_cross_loading():
    lam = pd.DataFrame({"f1": [0.7, 0.8, 0.6, 0.0], "f2": [0.0, 0.0, 0.3, 0.9]}, index=list("abcd"))
    with pytest.raises(DataError, match=r"items \['c'\] load on more than one factor"):
        composite_reliability(lam)
    # Item c loads on both factors, so neither AVE is identifiable (semTools: NA for both).
    with pytest.warns(ReliabilityWarning, match="has cross-loading indicators") as rec:
        out = ave(lam)
    assert out.empty
    assert {str(w.message).split("'")[1] for w in rec} == {"f1", "f2"}
    cr = composite_reliability(lam, residual_variances=pd.Series({"a": 0.51, "b": 0.36, "c": 0.5, "d": 0.19}))
    assert cr["f2"] == pytest.approx(1.2**2 / (1.2**2 + 0.5 + 0.19))
    single = pd.DataFrame({"f1": [0.7, 0.8, 0.0], "f2": [0.0, 0.0, 0.9]}, index=list("abc"))
    with pytest.warns(ReliabilityWarning, match="factor 'f2' has 1 indicator"):
        cr = composite_reliability(single)
    assert list(cr.index) == ["f1"]
    assert cr["f1"] == pytest.approx(1.5**2 / (1.5**2 + (1 - 0.49) + (1 - 0.64)))


def test_cr_warns_on_mixed_signs_and_heywood():
    lam = pd.Series([0.7, -0.6, 0.8], index=list("abc"), name="f")
    with pytest.warns(ReliabilityWarning, match=r"both signs \(negative: \['b'\]\).*reverse-key"):
        composite_reliability(lam)
    with pytest.warns(ReliabilityWarning, match=r"Heywood.*\['a'\]"):
        composite_reliability(pd.Series([1.05, 0.6, 0.8], index=list("abc"), name="f"))


# ========================================================= Fornell–Larcker
def test_fornell_larcker_hs(ref_cfa):
    ref = ref_cfa["hs"]
    av = _vec(ref["ave_std"])
    phi = _mat(ref["latent_cor"])
    res = fornell_larcker(av, phi)
    np.testing.assert_allclose(np.diag(res.table.to_numpy()), np.sqrt(av.loc[res.table.index]), atol=1e-12)
    assert res.table.loc["visual", "textual"] == pytest.approx(phi.loc["visual", "textual"])
    assert res.supported
    row = res.pairs.iloc[0]
    assert (row.factor_a, row.factor_b, row.verdict) == ("visual", "textual", "supported")
    assert "√AVE(visual) = 0.609" in row.rule
    # A covariance matrix is standardized first.
    psi = _mat(ref["latent_cov"])
    assert fornell_larcker(av, psi).table.loc["visual", "speed"] == pytest.approx(phi.loc["visual", "speed"])
    failing = fornell_larcker(pd.Series({"visual": 0.2, "textual": 0.7, "speed": 0.5}), phi)
    assert failing.pairs.set_index(["factor_a", "factor_b"]).loc[("visual", "speed"), "verdict"] == "not supported"
    with pytest.raises(DataError, match=r"no AVE for factors \['speed'\]"):
        fornell_larcker(av.drop("speed"), phi)


# ============================================================ correlations
@pytest.mark.parametrize("conf, case", [(0.95, "hs_x1_x4"), (0.90, "hs_x1_x4_90")])
def test_correlate_matches_cor_test(hs, ref_cor, conf, case):
    ref = ref_cor["cor_test"][case]
    c = correlate(hs["x1"], hs["x4"], conf_level=conf)
    assert (c.x, c.y, c.n, c.n_excluded) == ("x1", "x4", 301, 0)
    assert c.r == pytest.approx(ref["r"], abs=TOL)
    assert c.t == pytest.approx(ref["t"], abs=TOL) and c.df == ref["df"]
    assert c.p == pytest.approx(ref["p"], rel=1e-6)
    np.testing.assert_allclose(c.ci, (ref["lower"], ref["upper"]), atol=TOL)


def test_correlate_with_missing_matches_cor_test(ref_cor):
    scores = load_reference("validity", "bfi_scores.csv")
    ref = ref_cor["cor_test"]["bfi_neuro_agree"]
    c = correlate(scores["neuro"], scores["agree"])
    assert c.n == ref["df"] + 2 and c.n_excluded == len(scores) - c.n
    assert c.r == pytest.approx(ref["r"], abs=TOL)
    np.testing.assert_allclose(c.ci, (ref["lower"], ref["upper"]), atol=TOL)
    assert c.p == pytest.approx(ref["p"], rel=1e-6)


def test_correlation_table_matches_psych_corr_test(ref_cor):
    scores = load_reference("validity", "bfi_scores.csv")
    ref = ref_cor["corr_test"]
    res = correlation_table(scores)
    np.testing.assert_allclose(res.r.to_numpy(), _mat(ref["r"]).to_numpy(), atol=TOL)
    np.testing.assert_array_equal(res.n.to_numpy(), _mat(ref["n"]).to_numpy())
    P = _mat(ref["p"]).to_numpy()  # corr.test: raw p below, Holm-adjusted p above the diagonal
    iu = np.triu_indices(P.shape[0], 1)
    np.testing.assert_allclose(res.pairs["p_adjusted"], P[iu], rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(res.pairs["p"], P.T[iu], rtol=1e-6, atol=1e-300)
    ci = pd.DataFrame(ref["ci"])
    # corr.test lists pairs column by column of the lower triangle, i.e. (x, y) for x < y in order.
    order = sorted(range(len(res.pairs)), key=lambda k: (list(scores.columns).index(res.pairs.x[k]),
                                                         list(scores.columns).index(res.pairs.y[k])))
    pairs = res.pairs.iloc[order]
    np.testing.assert_allclose(pairs["lower"], ci["lower"], atol=TOL)
    np.testing.assert_allclose(pairs["upper"], ci["upper"], atol=TOL)
    np.testing.assert_allclose(pairs["r"], ci["r"], atol=TOL)


def test_correlation_bad_input():
    x = pd.Series([1.0, 2, 3, 4, 5], name="a")
    with pytest.raises(DataError, match="'b' has zero variance"):
        correlate(x, pd.Series([2.0] * 5, name="b"))
    with pytest.raises(DataError, match="only 3 complete pairs"):
        correlate(x, pd.Series([1.0, 2, np.nan, 3, np.nan], name="b"))
    with pytest.raises(DataError, match="has 5 values but"):
        correlate(x, [1.0, 2, 3])
    with pytest.raises(DataError, match="conf_level"):
        correlate(x, x, conf_level=95)
    with pytest.raises(DataError, match=r"'b' has non-numeric values, e.g. \['high'\]"):
        correlate(x, pd.Series([1, 2, "high", 4, 5], name="b"))
    with pytest.raises(DataError, match="different row labels"):
        correlate(x, pd.Series([1.0, 2, 3, 4, 6], index=list("abcde"), name="b"))
    with pytest.raises(DataError, match=r"\['c'\] have zero variance"):
        correlation_table(pd.DataFrame({"a": x, "b": x[::-1].to_numpy(), "c": 1.0}))


# ============================================================= hypotheses
def _hs_scores(hs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hs.visual": hs[["x1", "x2", "x3"]].mean(axis=1),
            "hs.textual": hs[["x4", "x5", "x6"]].mean(axis=1),
            "speedtest.total": hs[["x7", "x8", "x9"]].mean(axis=1),
        }
    )


HYPS = [
    {"id": "H1", "description": "visual and textual go together", "scale_score": "visual", "measure": "hs",
     "measure_score": "textual", "kind": "convergent", "direction": "positive", "min_abs_r": 0.30},
    {"id": "H2", "description": "textual and speed are distinct", "scale_score": "textual",
     "measure": "speedtest", "measure_score": "total", "kind": "discriminant", "direction": "any",
     "max_abs_r": 0.40},
    {"id": "H3", "description": "visual goes with speed", "scale_score": "visual", "measure": "speedtest",
     "measure_score": "total", "kind": "convergent", "direction": "positive", "min_abs_r": 0.50},
    {"id": "H4", "description": "negative relation", "scale_score": "visual", "measure": "speedtest",
     "measure_score": "total", "kind": "convergent", "direction": "negative"},
]


def test_hypotheses_observed(hs, ref_cor):
    res = evaluate_hypotheses(HYPS, _hs_scores(hs), scale_id="hs")
    t = res.table.set_index("hypothesis")
    ref = ref_cor["cor_test"]
    for hid, case in [("H1", "hs_visual_textual"), ("H2", "hs_textual_speed"), ("H3", "hs_visual_speed")]:
        assert t.loc[hid, "r"] == pytest.approx(ref[case]["r"], abs=TOL)
        assert t.loc[hid, "lower"] == pytest.approx(ref[case]["lower"], abs=TOL)
        assert t.loc[hid, "upper"] == pytest.approx(ref[case]["upper"], abs=TOL)
        assert t.loc[hid, "p"] == pytest.approx(ref[case]["p"], rel=1e-6)
        assert t.loc[hid, "n"] == 301
    # H1: r = .314, CI [.208, .412] straddles .30; H2: r = .225, CI [.115, .329] inside |r| ≤ .40;
    # H3: r = .271, CI [.163, .373] entirely below .50; H4: CI entirely positive, expected negative.
    assert ref["hs_visual_textual"]["lower"] < 0.30 < ref["hs_visual_textual"]["upper"]
    assert dict(t["verdict"]) == {"H1": "inconclusive", "H2": "supported", "H3": "not supported",
                                  "H4": "not supported"}
    assert t.loc["H1", "rule"].startswith("H1 (convergent, observed): expects r ≥ 0.30 for r(hs.visual, hs.textual)")
    assert "straddles a bound" in t.loc["H1", "rule"]
    assert t.loc["H2", "expected"] == "|r| ≤ 0.40"
    assert (t["basis"] == "observed").all()
    assert res.to_frame() is res.table


def test_hypotheses_latent(hs, ref_cfa):
    lat = pd.DataFrame(ref_cfa["hs"]["latent_cor_table"]).rename(columns={"est.std": "est"})
    factor_of = {"hs.visual": "visual", "hs.textual": "textual", "speedtest.total": "speed"}
    res = evaluate_hypotheses(HYPS[:2], _hs_scores(hs), scale_id="hs", latent=lat, factor_of=factor_of)
    t = res.table.set_index(["hypothesis", "basis"])
    row = t.loc[("H1", "latent")]
    ref = lat.iloc[0]
    assert (row.r, row.lower, row.upper) == pytest.approx((ref.est, ref["ci.lower"], ref["ci.upper"]), abs=1e-9)
    assert row.p == pytest.approx(ref.pvalue, rel=1e-6)
    assert row.verdict == "supported"  # latent r = .46, CI [.33, .58] ≥ .30
    assert t.loc[("H2", "latent"), "verdict"] == "inconclusive"  # r = .283, CI [.148, .418] straddles .40
    # Without a mapping the subscale part of the key is tried; 'total' never matches → diagnostic.
    with pytest.warns(ReliabilityWarning, match="H2: no latent correlation"):
        res2 = evaluate_hypotheses(HYPS[:2], _hs_scores(hs), scale_id="hs", latent=lat)
    assert list(res2.table.basis) == ["observed", "latent", "observed"]
    assert len(res2.diagnostics) == 1


def test_verdict_regions():
    h = Hypothesis.coerce({"id": "X", "scale_score": "total", "measure": "m", "measure_score": "total",
                           "kind": "convergent", "direction": "any", "min_abs_r": 0.3})
    assert h.region == [(-1.0, -0.3), (0.3, 1.0)] and h.expectation == "|r| ≥ 0.30"
    neg = Hypothesis.coerce({"id": "Y", "scale_score": "total", "measure": "m", "measure_score": "total",
                             "kind": "discriminant", "direction": "negative", "max_abs_r": 0.2})
    assert neg.region == [(-0.2, -0.0)] and neg.expectation == "−0.20 ≤ r ≤ 0"
    from psychometrics.validity.hypotheses import _verdict

    assert _verdict(h.region, -0.6, -0.4) == "supported"
    assert _verdict(h.region, -0.2, 0.2) == "not supported"
    assert _verdict(h.region, 0.1, 0.5) == "inconclusive"


def test_hypotheses_bad_input(hs):
    scores = _hs_scores(hs)
    bad = dict(HYPS[0], measure="wellbeing")
    with pytest.raises(DataError, match=r"validity hypothesis H1: score column\(s\) \['wellbeing.textual'\] not found"):
        evaluate_hypotheses([bad], scores, scale_id="hs")
    with pytest.raises(DataError, match="validity hypothesis H1: .*'hs.textual' has zero variance"):
        evaluate_hypotheses([HYPS[0]], scores.assign(**{"hs.textual": 3.0}), scale_id="hs")
    with pytest.raises(SpecError, match="H9: direction 'any' without min_abs_r or max_abs_r"):
        evaluate_hypotheses([dict(HYPS[0], id="H9", direction="any", min_abs_r=None)], scores, scale_id="hs")
    with pytest.raises(SpecError, match="H1: min_abs_r .* exceeds max_abs_r"):
        evaluate_hypotheses([dict(HYPS[0], max_abs_r=0.1)], scores, scale_id="hs")
    with pytest.raises(SpecError, match=r"not unique: \['H1'\]"):
        evaluate_hypotheses([HYPS[0], HYPS[0]], scores, scale_id="hs")
    with pytest.raises(DataError, match="scale_id is required"):
        evaluate_hypotheses(HYPS, scores)


def test_score_key():
    assert score_key("coping", "avoidance") == "coping.avoidance"


def test_observed_scores_and_mapping_input(hs):
    a = pd.DataFrame({"visual": hs[["x1", "x2", "x3"]].mean(axis=1), "textual": hs[["x4", "x5", "x6"]].mean(axis=1)})
    b = pd.DataFrame({"total": hs[["x7", "x8", "x9"]].mean(axis=1)})
    combined = observed_scores({"hs": a, "speedtest": b})
    assert list(combined.columns) == ["hs.visual", "hs.textual", "speedtest.total"]
    pd.testing.assert_frame_equal(combined, _hs_scores(hs))
    res = evaluate_hypotheses(HYPS, {"hs": a, "speedtest": b}, scale_id="hs")
    assert list(res.table.verdict) == ["inconclusive", "supported", "not supported", "not supported"]

    class FakeScoreResult:  # the shape of psychometrics.scoring.ScoreResult
        scores = b.assign(id=range(len(b)))[["id", "total"]]
        score_names = ("total",)

    assert list(observed_scores({"speedtest": FakeScoreResult()}).columns) == ["speedtest.total"]
    with pytest.raises(DataError, match="'speedtest' .* do not have the same rows as those of 'hs'"):
        observed_scores({"hs": a, "speedtest": b.iloc[:-1]})
    with pytest.raises(DataError, match="must not contain '.'"):
        observed_scores({"hs.v1": a})


# ======================================================= CFA adapters
def _lavaan_result(ref: dict, with_vcov: bool = True):
    """An object with the fields of psychometrics.cfa.CFAResult, filled from lavaan's solution."""
    from types import SimpleNamespace

    return SimpleNamespace(
        std_loadings=_mat(ref["std_loadings"]),
        std_residual_variances=_vec(ref["std_residual_variances"]),
        loadings=_mat(ref["loadings"]),
        latent_cov=_mat(ref["latent_cov"]),
        sample_cov=_mat(ref["sample_cov"]),
        implied_cov=_mat(ref["implied_cov"]),
        vcov=_mat(ref["vcov_psi"]) if with_vcov else None,
    )


@pytest.mark.parametrize("model", ["hs", "bfi"])
def test_latent_correlations_match_standardized_solution(model, ref_cfa):
    ref = ref_cfa[model]
    lat = latent_correlations(_mat(ref["latent_cov"]), _mat(ref["vcov_psi"]))
    exp = pd.DataFrame(ref["latent_cor_table"])
    assert list(zip(lat.lhs, lat.rhs)) == list(zip(exp.lhs, exp.rhs))
    np.testing.assert_allclose(lat["est"], exp["est.std"], atol=TOL)
    np.testing.assert_allclose(lat["se"], exp["se"], atol=TOL)
    np.testing.assert_allclose(lat["lower"], exp["ci.lower"], atol=TOL)
    np.testing.assert_allclose(lat["upper"], exp["ci.upper"], atol=TOL)
    # lavaan computes p = 2 * (1 - pnorm(|z|)), which has only absolute precision (~1e-16);
    # we use the survival function, so compare absolutely.
    np.testing.assert_allclose(lat["p"], exp["pvalue"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("model", ["hs", "bfi"])
@pytest.mark.parametrize("obs", [True, False])
def test_construct_validity_adapter(model, obs, ref_cfa, hs, bfi, ref_htmt):
    ref = ref_cfa[model]
    data = hs if model == "hs" else bfi
    res = construct_validity(_lavaan_result(ref), data, obs_var=obs)
    rel = res.reliability
    suffix = "obs" if obs else "implied"
    for col, key in [("cr", "cr_std"), ("omega", f"compRelSEM_{suffix}"), ("ave", "ave_std"),
                     ("ave_sem", f"AVE_{suffix}")]:
        np.testing.assert_allclose(rel[col], _vec(ref[key]).loc[rel.index], atol=TOL, err_msg=col)
    assert (rel["n_items"] == (3 if model == "hs" else 5)).all()
    np.testing.assert_allclose(res.latent_correlations["se"], pd.DataFrame(ref["latent_cor_table"])["se"], atol=TOL)
    fl = res.fornell_larcker.pairs.set_index(["factor_a", "factor_b"])["verdict"]
    if model == "hs":
        assert res.fornell_larcker.supported
    else:  # agreeableness–extraversion: r = .68 > √AVE(agree) = .61
        assert list(fl[fl == "not supported"].index) == [("agree", "extra")]
    expected_htmt = _mat(ref_htmt[f"{model}_htmt2"]["matrix"])
    np.testing.assert_allclose(res.htmt.matrix.to_numpy(), expected_htmt.to_numpy(), atol=TOL)
    assert res.diagnostics == ()
    assert "reliability" in res.summary() and "<table" in res._repr_html_()


def test_construct_validity_without_vcov_says_so(ref_cfa):
    with pytest.warns(ReliabilityWarning, match="no sampling covariance matrix"):
        res = construct_validity(_lavaan_result(ref_cfa["hs"], with_vcov=False))
    assert res.latent_correlations["se"].isna().all() and len(res.diagnostics) == 1
    assert res.htmt is None


def test_hypotheses_latent_from_cfa_result(hs, ref_cfa):
    fake = _lavaan_result(ref_cfa["hs"])
    fake.nobs = {"all": 301}
    factor_of = {"hs.visual": "visual", "hs.textual": "textual", "speedtest.total": "speed"}
    res = evaluate_hypotheses(HYPS[:1], _hs_scores(hs), scale_id="hs", latent=fake, factor_of=factor_of)
    row = res.table.set_index("basis").loc["latent"]
    exp = pd.DataFrame(ref_cfa["hs"]["latent_cor_table"]).iloc[0]
    assert (row.r, row.lower, row.upper) == pytest.approx((exp["est.std"], exp["ci.lower"], exp["ci.upper"]), abs=TOL)
    assert row.n == 301
    cv = construct_validity(fake)
    res2 = evaluate_hypotheses(HYPS[:1], _hs_scores(hs), scale_id="hs", latent=cv, factor_of=factor_of)
    assert res2.table.verdict.tolist() == ["inconclusive", "supported"]
    assert res2.table.n.tolist() == [301, None]
    assert json.loads(json.dumps(res2.to_dict()))["table"]["data"][1][10] is None


# ================================================ end to end on our CFA engine
@pytest.fixture(scope="module")
def hs_fit(hs):
    from psychometrics.cfa import fit_cfa

    return fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs)


@pytest.mark.parametrize("obs", [True, False])
def test_construct_validity_on_fit_cfa_matches_semtools(hs_fit, hs, obs, ref_cfa, ref_htmt):
    ref = ref_cfa["hs"]
    res = construct_validity(hs_fit, hs, obs_var=obs)
    rel = res.reliability
    suffix = "obs" if obs else "implied"
    # Iterative estimates (our ML fit vs lavaan's): the guide's 1e-4. Measured max |diff|:
    # cr/omega/ave/ave_sem 3.1e-7, latent r 2.6e-7, its SE 1.1e-8, CI bounds 2.7e-7.
    tol = 1e-4
    for col, key in [("cr", "cr_std"), ("omega", f"compRelSEM_{suffix}"), ("ave", "ave_std"),
                     ("ave_sem", f"AVE_{suffix}")]:
        np.testing.assert_allclose(rel[col], _vec(ref[key]).loc[rel.index], atol=tol, err_msg=col)
    lat, exp = res.latent_correlations, pd.DataFrame(ref["latent_cor_table"])
    np.testing.assert_allclose(lat["est"], exp["est.std"], atol=tol)
    np.testing.assert_allclose(lat["se"], exp["se"], atol=tol)
    np.testing.assert_allclose(lat["lower"], exp["ci.lower"], atol=tol)
    np.testing.assert_allclose(lat["upper"], exp["ci.upper"], atol=tol)
    np.testing.assert_allclose(res.htmt.matrix.to_numpy(), _mat(ref_htmt["hs_htmt2"]["matrix"]).to_numpy(), atol=TOL)
    assert res.diagnostics == ()


def test_hypotheses_latent_from_fit_cfa(hs_fit, hs, ref_cfa):
    factor_of = {"hs.visual": "visual", "hs.textual": "textual", "speedtest.total": "speed"}
    res = evaluate_hypotheses(HYPS[:2], _hs_scores(hs), scale_id="hs", latent=hs_fit, factor_of=factor_of)
    lat = res.table[res.table.basis == "latent"].set_index("hypothesis")
    assert lat.loc["H1", "verdict"] == "supported" and lat.loc["H2", "verdict"] == "inconclusive"
    assert lat.loc["H1", "n"] == 301


# ======================================================= with a Scale spec
def _hs_scale():
    from psychometrics.scale import Scale

    h5 = {"id": "H5", "description": "visual goes with speed", "scale_score": "visual", "measure": "speedtest",
          "measure_score": "total", "kind": "convergent", "direction": "positive"}
    return Scale.from_dict({
        "id": "hs", "name": "HS abilities", "version": "1.0.0", "construct": "Mental abilities.",
        "response_format": {"type": "continuous", "min": 0, "max": 11},
        "subscales": [{"id": "visual", "name": "Visual"}, {"id": "textual", "name": "Textual"}],
        "items": [{"id": f"x{i}", "text": f"Test {i}", "subscale": "visual" if i <= 3 else "textual"}
                  for i in range(1, 7)],
        "validity": [HYPS[1], HYPS[2], h5],
    })


def test_htmt_and_hypotheses_from_a_scale(hs, ref_htmt, ref_cor):
    scale = _hs_scale()
    res = htmt(hs, scale)
    # HTMT is pairwise: the 2-block value equals the visual–textual entry of the 3-block fixture.
    expected = _mat(ref_htmt["hs_htmt2"]["matrix"]).loc[["visual", "textual"], ["visual", "textual"]]
    np.testing.assert_allclose(res.matrix.to_numpy(), expected.to_numpy(), atol=TOL)
    ev = evaluate_hypotheses(scale, _hs_scores(hs))
    assert ev.table.hypothesis.tolist() == ["H2", "H3", "H5"]
    assert ev.table.verdict.tolist() == ["supported", "not supported", "supported"]
    assert ev.table.r.iloc[2] == pytest.approx(ref_cor["cor_test"]["hs_visual_speed"]["r"], abs=TOL)
    assert ev.table.expected.iloc[2] == "r > 0"


def test_construct_validity_multigroup_matches_semtools(hs, ref_cfa):
    from psychometrics.cfa import fit_cfa

    ref = ref_cfa["hs_by_school"]
    fit = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs, group="school")
    with pytest.raises(DataError, match=r"multi-group CFA: pass group= \(one of \['Pasteur', 'Grant-White'\]\)"):
        construct_validity(fit)
    lat_ref = pd.DataFrame(ref["latent_cor_table"])
    # Iterative estimates: the guide's 1e-4. Measured max |diff| over both groups: omega 4.5e-6,
    # ave_sem 3.6e-6, latent r 4.9e-6, its SE 2.8e-7, CI bounds 5.1e-6.
    for omega_row, ave_row in zip(ref["compRelSEM_obs"], ref["AVE_obs"]):
        g = omega_row["group"]
        omega_row = {k: v for k, v in omega_row.items() if k != "group"}
        ave_row = {k: v for k, v in ave_row.items() if k != "group"}
        res = construct_validity(fit, group=g)
        np.testing.assert_allclose(res.reliability["omega"], _vec(omega_row).loc[res.reliability.index], atol=1e-4)
        np.testing.assert_allclose(res.reliability["ave_sem"], _vec(ave_row).loc[res.reliability.index], atol=1e-4)
        exp = lat_ref[lat_ref.group == g]
        np.testing.assert_allclose(res.latent_correlations["est"], exp["est.std"], atol=1e-4)
        np.testing.assert_allclose(res.latent_correlations["se"], exp["se"], atol=1e-4)
        np.testing.assert_allclose(res.latent_correlations["lower"], exp["ci.lower"], atol=1e-4)
        np.testing.assert_allclose(res.latent_correlations["upper"], exp["ci.upper"], atol=1e-4)


@pytest.mark.parametrize(
    "direction, lo, hi, text",
    [
        ("positive", 0.3, None, "r ≥ 0.30"), ("positive", None, None, "r > 0"),
        ("positive", 0.1, 0.5, "0.10 ≤ r ≤ 0.50"), ("positive", None, 0.5, "0 ≤ r ≤ 0.50"),
        ("negative", 0.3, None, "r ≤ −0.30"), ("negative", None, None, "r < 0"),
        ("negative", 0.1, 0.5, "−0.50 ≤ r ≤ −0.10"), ("any", 0.1, 0.5, "0.10 ≤ |r| ≤ 0.50"),
        ("any", None, 0.3, "|r| ≤ 0.30"),
    ],
)
def test_expectation_text(direction, lo, hi, text):
    h = Hypothesis.coerce({"id": "X", "scale_score": "total", "measure": "m", "measure_score": "total",
                           "kind": "convergent", "direction": direction, "min_abs_r": lo, "max_abs_r": hi})
    assert h.expectation == text


def test_construct_validity_higher_order_and_cross_loading(hs):
    from psychometrics.cfa import fit_cfa

    base = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    with pytest.warns(ReliabilityWarning, match="visual–textual, .* are not free parameters"):
        res = construct_validity(fit_cfa(base + "\ng =~ visual + textual + speed", hs), hs)
    assert list(res.reliability.index) == ["visual", "textual", "speed"]  # g has no items
    assert list(res.fornell_larcker.table.index) == ["visual", "textual", "speed"]
    assert res.latent_correlations["se"].isna().all() and res.htmt is not None
    with pytest.warns(ReliabilityWarning) as rec:
        res = construct_validity(fit_cfa(base.replace("x3\n", "x3 + x9\n"), hs), hs)
    messages = [str(w.message) for w in rec]
    assert any("factor 'visual' has cross-loading indicators ['x9']" in m for m in messages)
    assert any("HTMT not computed: items ['x9']" in m for m in messages)
    assert res.htmt is None
    assert list(res.fornell_larcker.table.index) == ["textual"] and res.fornell_larcker.pairs.empty
    assert res.reliability.loc["visual", "omega"] > 0 and pd.isna(res.reliability.loc["visual", "ave"])


def test_hypotheses_on_scoring_results(hs, ref_cor):
    """Scale + data → psychometrics.scoring.score → observed_scores → evaluate_hypotheses."""
    from psychometrics.scale import Scale
    from psychometrics.scoring import score

    scale = _hs_scale()
    speed = Scale.from_dict({
        "id": "speedtest", "name": "Speed", "version": "1.0.0", "construct": "Speed.",
        "response_format": {"type": "continuous", "min": 0, "max": 11},
        "subscales": [{"id": "speed", "name": "Speed"}],
        "items": [{"id": f"x{i}", "text": f"Test {i}", "subscale": "speed"} for i in (7, 8, 9)],
    })
    scores = observed_scores({"hs": score(scale, hs), "speedtest": score(speed, hs)})
    assert {"hs.visual", "hs.textual", "hs.total", "speedtest.total"} <= set(scores.columns)
    np.testing.assert_allclose(scores["hs.visual"], _hs_scores(hs)["hs.visual"], atol=1e-12)
    ev = evaluate_hypotheses(scale, scores)
    assert ev.table.verdict.tolist() == ["supported", "not supported", "supported"]
    assert ev.table.r.iloc[1] == pytest.approx(ref_cor["cor_test"]["hs_visual_speed"]["r"], abs=TOL)


def test_verdicts_for_the_report(hs, ref_cfa):
    from psychometrics.report.context import Verdict

    ev = evaluate_hypotheses(HYPS, _hs_scores(hs), scale_id="hs")
    vs = [Verdict(**v) for v in ev.verdicts()]
    assert [v.status for v in vs] == ["borderline", "met", "not met", "not met"]
    assert vs[0].criterion.startswith("H1 (observed): visual and textual go together")
    h = htmt(hs, HS_BLOCKS, thresholds=(0.30, 0.385))
    assert [Verdict(**v).status for v in h.verdicts()] == ["borderline", "not met", "met"]
    fl = fornell_larcker(_vec(ref_cfa["hs"]["ave_std"]), _mat(ref_cfa["hs"]["latent_cor"]))
    assert {Verdict(**v).status for v in fl.verdicts()} == {"met"}


def test_hypotheses_missing_measure_can_be_skipped(hs):
    from psychometrics.report.context import Verdict

    bad = dict(HYPS[1], id="H7", measure="wellbeing")
    with pytest.warns(ReliabilityWarning, match=r"H7: score column\(s\) \['wellbeing.total'\] not in the data"):
        res = evaluate_hypotheses([HYPS[0], bad], _hs_scores(hs), scale_id="hs", missing_scores="skip")
    assert res.table.verdict.tolist() == ["inconclusive", "not assessed"]
    assert len(res.diagnostics) == 1
    assert Verdict(**res.verdicts()[1]).status == "not assessed"
    with pytest.raises(DataError, match="missing_scores must be"):
        evaluate_hypotheses([HYPS[0]], _hs_scores(hs), scale_id="hs", missing_scores="ignore")


def test_correlate_numeric_fast_path_equals_object_route():
    # issue 16: numeric input skips the per-value object conversion; the result is the same
    from psychometrics.validity import correlate

    rng = np.random.default_rng(3)
    x = pd.Series(rng.standard_normal(500), name="x")
    y = pd.Series(x * 0.4 + rng.standard_normal(500), name="y")
    x[[3, 40]] = np.nan
    fast = correlate(x, y)
    slow = correlate(list(x.astype(object)), list(y.astype(object)), x_name="x", y_name="y")
    assert (fast.r, fast.n, fast.n_excluded, fast.p, fast.ci) == (slow.r, slow.n, slow.n_excluded, slow.p, slow.ci)
    assert correlate(pd.Series([1, 2, 3, 5, 4], dtype="Int64"), np.array([2.0, 1, 4, 3, 5])).n == 5
    with pytest.raises(DataError, match="infinite"):
        correlate(pd.Series([1.0, 2, np.inf, 4, 5]), pd.Series([1.0, 2, 3, 4, 6]))
