"""Item analysis against R (psych::describe, response.frequencies, alpha): tests/reference/items/."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from psychometrics.datasets import load_dataset
from psychometrics.exceptions import DataError, DataQualityWarning, ReliabilityWarning
from psychometrics.items import FLAG_RULES, item_analysis
from tests.conftest import load_reference

REF = load_reference("items", "items_reference.json")
CLOSED = 1e-6
REVERSED = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    b = load_dataset("bfi")
    cols = [f"{s}{i}" for s in "ACENO" for i in range(1, 6)]
    out = b[cols].copy()
    out[REVERSED] = 7 - out[REVERSED]
    return out


def _check(res, r):
    t = res.table.loc[r["items"]]
    for key, col in [("n", "n"), ("missing", "missing"), ("mean", "mean"), ("sd", "sd"), ("skew", "skew"),
                     ("kurtosis", "kurtosis"), ("floor", "pct_floor"), ("ceiling", "pct_ceiling"),
                     ("r_drop", "item_rest_r"), ("alpha_drop", "alpha_if_deleted")]:
        np.testing.assert_allclose(t[col].to_numpy(float), np.array(r[key], float), rtol=0, atol=CLOSED,
                                   err_msg=key)
    if r["freq"]:
        freq = t[[f"freq_{c}" for c in r["freq_categories"]]].to_numpy(float)
        np.testing.assert_allclose(freq, np.array(r["freq"]), rtol=0, atol=CLOSED)
    else:
        assert not [c for c in t.columns if c.startswith("freq_")]


def test_hs9_matches_psych():
    hs = load_dataset("holzinger_swineford")[[f"x{i}" for i in range(1, 10)]]
    res = item_analysis(hs)
    _check(res, REF["hs9"])
    assert res.range_source == "observed"
    assert res.response_range == (float(hs.min().min()), float(hs.max().max()))
    # x2 and x7 have item–rest r below .30 in the nine-test battery
    low = set(res.flags.loc[res.flags["rule"] == "low_item_rest_r", "item"])
    assert low == {c for c in hs.columns if res.table.at[c, "item_rest_r"] < 0.30} and low


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
def test_bfi_agreeableness_matches_psych(bfi, missing):
    res = item_analysis(bfi[[f"A{i}" for i in range(1, 6)]], response_range=(1, 6), missing=missing)
    _check(res, REF[f"bfiA_{missing}"])
    assert res.n_used["all"] == (2709 if missing == "listwise" else 2800)


def test_item_rest_within_subscales(bfi):
    groups = {s: [f"{s}{i}" for i in range(1, 6)] for s in "ACENO"}
    res = item_analysis(bfi, groups, response_range=(1, 6))
    assert list(res.table["subscale"].unique()) == list("ACENO")
    for s in "ACENO":
        _check(res, REF["bfi_subscales"][s])
    json.dumps(res.to_dict())
    assert "flag_rules" in res.summary()


def test_scale_object_supplies_subscales_and_range():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(300, 2))
    data = pd.DataFrame({f"q{j}": np.clip(np.round(3 + f[:, j // 3] + rng.normal(size=300)), 1, 5)
                         for j in range(6)})
    items = [SimpleNamespace(id=f"q{j}", subscale="s1" if j < 3 else "s2", reverse=False) for j in range(6)]
    scale = SimpleNamespace(items=items, subscales=["s1", "s2"], response_range=(1, 7),
                            items_of=lambda sid: [i for i in items if i.subscale == sid])
    res = item_analysis(data, scale)
    assert res.range_source == "scale" and res.response_range == (1.0, 7.0)
    assert (res.table["pct_ceiling"] == 0).all()  # nobody can reach 7 here
    assert [c for c in res.table.columns if c.startswith("freq_")] == [f"freq_{v}" for v in range(1, 8)]
    assert (res.table["freq_7"] == 0).all() and (res.table["freq_6"] == 0).all()
    sub = item_analysis(data[["q0", "q1", "q2"]])
    np.testing.assert_allclose(res.table.loc[["q0", "q1", "q2"], "item_rest_r"], sub.table["item_rest_r"])


def test_flags_name_their_rules():
    n = 100
    rng = np.random.default_rng(1)
    f = rng.normal(size=n)
    d = pd.DataFrame({f"i{j}": np.clip(np.round(3 + f + rng.normal(size=n) * 0.8), 1, 5) for j in range(4)})
    d["floor"] = np.where(np.arange(n) < 30, 1.0, d["i0"])  # 30 % at 1: no longer an item flag (Terwee: scores)
    d["dominant"] = np.where(np.arange(n) < 85, 5.0, d["i0"])  # 85 % in one category
    d["noise"] = rng.integers(1, 6, size=n).astype(float)
    res = item_analysis(d, response_range=(1, 5))
    fl = res.flags
    assert set(FLAG_RULES) >= set(fl["rule"])
    assert not fl["rule"].isin(["floor", "ceiling"]).any()
    assert ((fl["item"] == "dominant") & (fl["rule"] == "dominant_category")).any()
    assert ((fl["item"] == "noise") & (fl["rule"] == "low_item_rest_r")).any()
    assert "item–rest r < 0.30" in res.table.at["noise", "flag_rules"]
    assert "> 80%" in res.table.at["dominant", "flag_rules"]
    assert (fl["citation"].str.len() > 0).any()
    strict = item_analysis(d, response_range=(1, 5), max_category=0.9, min_item_rest_r=0.0)
    assert not (strict.flags["rule"] == "dominant_category").any()


def test_floor_and_ceiling_are_judged_on_scores():
    """Terwee et al. (2007): > 15 % of respondents at the lowest/highest possible score."""
    d = pd.DataFrame({"a": [1, 1, 1, 2, 3, 5, 5, 4, 2, 3], "b": [1, 1, 1, 3, 3, 5, 4, 4, 2, 3.0]})
    res = item_analysis(d, {"s": ["a", "b"]}, response_range=(1, 5))
    sfc = res.score_floor_ceiling
    assert sfc.loc["s", "pct_floor"] == pytest.approx(30.0)  # rows 1-3 at 1 + 1
    assert sfc.loc["s", "pct_ceiling"] == pytest.approx(10.0)
    assert bool(sfc.loc["s", "floor_flag"]) and not bool(sfc.loc["s", "ceiling_flag"])
    assert "total" in sfc.index


def test_sparse_category_flag():
    rng = np.random.default_rng(2)
    x = rng.integers(2, 6, 300).astype(float)
    x[0] = 1.0  # category 1 used by 1 of 300 (0.3 %)
    d = pd.DataFrame({"x": x, "y": np.clip(x + rng.integers(-1, 2, 300), 1, 5), "z": rng.integers(1, 6, 300) * 1.0})
    fl = item_analysis(d, response_range=(1, 5)).flags
    row = fl[(fl["item"] == "x") & (fl["rule"] == "sparse_category")]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(100 / 300)
    assert "Linacre (2002)" in row["citation"].iloc[0]


def test_zero_variance_and_empty_items_are_flagged_not_fatal():
    d = pd.DataFrame({"a": [1, 2, 3, 4, 5.0], "b": [2, 2, 4, 4, 5.0], "c": [1, 3, 2, 5, 4.0],
                      "const": [3.0] * 5, "empty": [np.nan] * 5})
    with pytest.warns(DataQualityWarning, match="const"):
        res = item_analysis(d)
    assert set(res.flags.loc[res.flags["item"] == "const", "rule"]) == {"zero_variance"}
    assert set(res.flags.loc[res.flags["item"] == "empty", "rule"]) == {"no_responses"}
    assert np.isnan(res.table.at["const", "item_rest_r"]) and np.isfinite(res.table.at["a", "item_rest_r"])
    assert res.table.at["empty", "n"] == 0 and res.table.at["empty", "missing"] == 5
    assert len(res.diagnostics) == 2


def test_negative_item_rest_r_warns():
    rng = np.random.default_rng(2)
    f = rng.normal(size=200)
    d = pd.DataFrame({k: f + rng.normal(size=200) for k in "abc"})
    d["rev"] = -f + rng.normal(size=200)
    with pytest.warns(ReliabilityWarning, match="rev correlate negatively"):
        res = item_analysis(d)
    assert "negative_item_rest_r" in set(res.flags.loc[res.flags["item"] == "rev", "rule"])


def test_bad_input():
    with pytest.raises(DataError, match="outside the response range"):
        item_analysis(pd.DataFrame({"a": [1, 2, 9.0], "b": [1, 2, 3.0]}), response_range=(1, 5))
    with pytest.raises(DataError, match="non-numeric"):
        item_analysis(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    with pytest.raises(DataError, match="DataFrame"):
        item_analysis([[1, 2], [3, 4]])
    with pytest.raises(DataError, match="not columns"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3.0], "b": [1, 3, 2.0]}), {"s": ["a", "zz"]})
    with pytest.raises(DataError, match="low < high"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3.0], "b": [1, 3, 2.0]}), response_range=(5, 1))


def test_with_scale_spec_and_loaded_responses(bfi):
    from psychometrics.data import load_responses
    from psychometrics.reliability import scale_reliability
    from psychometrics.scale import Scale

    names = {"A": "agreeableness", "C": "conscientiousness", "E": "extraversion", "N": "neuroticism",
             "O": "openness"}
    spec = {
        "id": "bfi", "name": "Big Five Inventory (SAPA)", "version": "1.0.0", "construct": "Big Five",
        "response_format": {"type": "likert", "min": 1, "max": 6},
        "subscales": [{"id": v, "name": v.title()} for v in names.values()],
        "items": [{"id": f"{s}{i}", "text": f"item {s}{i}", "subscale": names[s]}
                  for s in "ACENO" for i in range(1, 6)],
        "reverse_keyed": REVERSED,
    }
    scale = Scale.from_dict(spec)
    raw = load_dataset("bfi").drop(columns=["id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # careless-responding notes from load_responses
        responses = load_responses(raw, scale)
        np.testing.assert_array_equal(responses.items.to_numpy(), bfi.to_numpy())  # reverse-keyed as 7 − x
        res = item_analysis(responses)
        rel = scale_reliability(responses, n_boot=0)
    assert res.range_source == "scale" and res.response_range == (1.0, 6.0)
    for s, sid in names.items():
        _check(res, REF["bfi_subscales"][s])
        assert (res.table.loc[REF["bfi_subscales"][s]["items"], "subscale"] == sid).all()
    assert list(rel.table.index) == [*names.values(), "total"]
    ref_a = load_reference("reliability", "reliability_reference.json")["bfiA"]["listwise"]
    assert rel.table.loc["agreeableness", "alpha"] == pytest.approx(ref_a["alpha"]["total"]["raw_alpha"], abs=1e-12)
    assert rel.details["total"].omega.nfactors == 5


def test_item_table_from_category_counts_equals_row_by_row(monkeypatch):
    """Whole-number answers: the item table from the (item × category) counts equals the row-wise
    computation (descriptives, floor/ceiling, frequencies, flags) to 1e-10 relative."""
    import psychometrics.items as it

    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, size=(500, 6)).astype(float)
    x[:, 1] = np.where(rng.random(500) < 0.9, 5.0, x[:, 1])  # a dominant category
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 5] = 3.0  # zero variance
    data = pd.DataFrame(x, columns=[f"i{j}" for j in range(6)])
    fast = it.item_analysis(data, {"a": ["i0", "i1", "i2"], "b": ["i3", "i4", "i5"]}, response_range=(1, 5))
    monkeypatch.setattr(it, "_category_counts", lambda *a: None)
    slow = it.item_analysis(data, {"a": ["i0", "i1", "i2"], "b": ["i3", "i4", "i5"]}, response_range=(1, 5))
    pd.testing.assert_frame_equal(fast.table, slow.table, rtol=1e-10, atol=0)
    pd.testing.assert_frame_equal(fast.flags, slow.flags, rtol=1e-10)
    pd.testing.assert_frame_equal(fast.score_floor_ceiling, slow.score_floor_ceiling)


def _compare(fast, slow, rtol: float = 1e-10) -> None:
    num = slow.table.select_dtypes("number").columns
    assert list(fast.table.columns) == list(slow.table.columns)
    np.testing.assert_allclose(fast.table[num].to_numpy(float), slow.table[num].to_numpy(float), rtol=rtol)
    assert fast.table["flag_rules"].equals(slow.table["flag_rules"])
    assert fast.flags[["item", "rule"]].equals(slow.flags[["item", "rule"]])
    np.testing.assert_allclose(fast.flags["value"].to_numpy(float), slow.flags["value"].to_numpy(float), rtol=rtol)
    pd.testing.assert_frame_equal(fast.score_floor_ceiling, slow.score_floor_ceiling, check_exact=True)
    assert fast.n_used == slow.n_used
    assert [d.message for d in fast.diagnostics] == [d.message for d in slow.diagnostics]


@pytest.mark.parametrize("block", [97, 65_536])
def test_one_pass_equals_the_statistics_one_at_a_time(monkeypatch, bfi, block):
    """From ONE_PASS_ROWS rows on, whole-number answers are read once (:func:`items._one_pass`): the table,
    flags, floor/ceiling and rows used equal the separate computations (lowered threshold, bfi with
    its missing values and the Big-Five subscales; blocks of 97 rows cross many block borders).
    Counts and floor/ceiling are integer sums (exact); item–rest r and α-if-deleted come from the
    listwise sums instead of np.cov: 1e-10 relative."""
    import psychometrics.items as items_mod

    groups = {s: [f"{s}{i}" for i in range(1, 6)] for s in "ACENO"}
    slow = item_analysis(bfi, groups, response_range=(1, 6))
    real = items_mod._one_pass
    monkeypatch.setattr(items_mod, "_one_pass", lambda *a, **k: real(*a, **k, block=block))
    monkeypatch.setattr(items_mod, "ONE_PASS_ROWS", 0)
    fast = item_analysis(bfi, groups, response_range=(1, 6))
    _compare(fast, slow)
    assert items_mod._one_pass(bfi.to_numpy(float), list(bfi.columns), groups, 1, 6) is not None
    # an item without variance in a subscale and a non-partition of the items: prepare_items decides, as before
    odd = bfi.copy()
    odd["A1"] = 3.0
    monkeypatch.setattr(items_mod, "ONE_PASS_ROWS", 10**9)
    slow = item_analysis(odd, {**groups, "X": ["A2", "C2"]}, response_range=(1, 6))
    monkeypatch.setattr(items_mod, "ONE_PASS_ROWS", 0)
    _compare(item_analysis(odd, {**groups, "X": ["A2", "C2"]}, response_range=(1, 6)), slow)


def test_one_pass_declines_answers_that_are_not_whole_numbers(monkeypatch, bfi):
    import psychometrics.items as items_mod

    x = bfi.to_numpy(float).copy()
    x[3, 4] = 2.5
    assert items_mod._one_pass(x, list(bfi.columns), {"all": list(bfi.columns)}, 1, 6) is None
    data = pd.DataFrame(x, columns=bfi.columns)
    slow = item_analysis(data, response_range=(1, 6))
    monkeypatch.setattr(items_mod, "ONE_PASS_ROWS", 0)
    _compare(item_analysis(data, response_range=(1, 6)), slow)


@pytest.mark.parametrize("n", [300, 60_000])  # below and from ONE_PASS_ROWS (the one-pass counts)
def test_category_counts_equal_the_comparisons_and_stay_out_of_to_dict(n):
    """The item analysis keeps its (item × category) counts for the report's response distribution
    (``report.sections.items._response_counts``): equal to comparing every answer with every category, the
    same DataFrame (values, dtype, labels); other rows or categories fall back to the comparisons; the
    counts are not part of ``to_dict`` (results.json unchanged)."""
    from psychometrics.report.sections.items import _response_counts

    rng = np.random.default_rng(4)
    x = rng.integers(1, 6, size=(n, 6)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 2] = np.where(x[:, 2] == 3, 2, x[:, 2])  # an unused category
    items = pd.DataFrame(x, columns=[f"i{j}" for j in range(6)])
    ia = item_analysis(items, response_range=(1, 5))
    cats = [1, 2, 3, 4, 5]
    direct = pd.DataFrame({c: (items == c).sum() for c in cats})
    assert ia._category_counts is not None
    pd.testing.assert_frame_equal(_response_counts(items, ia, cats), direct)
    assert "_category_counts" not in ia.to_dict() and "table" in ia.to_dict()
    json.dumps(ia.to_dict())
    fewer = items.iloc[: n // 2]  # other rows: compared again
    pd.testing.assert_frame_equal(_response_counts(fewer, ia, cats), pd.DataFrame({c: (fewer == c).sum() for c in cats}))
    pd.testing.assert_frame_equal(_response_counts(items, ia, [1, 2, 3]),
                                  pd.DataFrame({c: (items == c).sum() for c in [1, 2, 3]}))
