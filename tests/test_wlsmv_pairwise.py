"""Pairwise WLSMV (ordinal items with missing values) against lavaan 0.6-14.

Fixtures: ``tests/reference/missing/`` (``missing_reference.R``; NOTES.md §9):
``cfa(..., ordered = TRUE, missing = "pairwise")`` on the 3-category Holzinger–Swineford
items with 10 % MCAR holes (``hs_ord_mcar.csv``) and on the 25 bfi items with their real
missing values; categorical invariance (Wu & Estabrook 2016 via semTools ``measEq.syntax``)
by school and by gender. Unlike ``tests/test_cfa_categorical.py`` these start from the data:
the sample statistics (thresholds from available cases, pairwise polychorics, NACOV) are
ours and compared with lavaan's ``wls.obs`` / ``gamma``. Tolerances are those of the
complete-data WLSMV tests.
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import fit_cfa
from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics.ordinal.group_stats import ordinal_sample_stats

REF = Path(__file__).parent / "reference" / "missing"
HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
BFI_ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]
BFI5 = "\n".join(f"{f} =~ " + " + ".join(f"{t}{i}" for i in range(1, 6))
                 for f, t in zip(("agree", "consc", "extra", "neuro", "open"), "ACENO"))
HS_ITEMS = [f"x{i}" for i in range(1, 10)]


@lru_cache(maxsize=None)
def fixture(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


@lru_cache(maxsize=None)
def hs_ord_mcar() -> pd.DataFrame:
    return pd.read_csv(REF / "hs_ord_mcar.csv")


@lru_cache(maxsize=None)
def bfi() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi")


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def _compare(res, name: str) -> None:
    d = fixture(name)
    ref = pd.DataFrame(d["estimates"])
    gl = [str(x) for x in d["group_labels"]] or ["all"]
    ref["group"] = ref["group"].map(lambda k: gl[int(k) - 1]) if "group" in ref else "all"
    ref["rhs"] = ref["rhs"].fillna("")
    est = res.estimates
    m = est.merge(ref, on=["lhs", "op", "rhs", "group"], suffixes=("", "_r"))
    assert len(m) == len(est) == len(ref)
    np.testing.assert_allclose(m["est"], m["est_r"].astype(float), atol=1e-4)
    np.testing.assert_allclose(m["se"], m["se_r"].astype(float), atol=1e-4)
    f = d["fit"]
    for key in ("chisq", "chisq.scaled", "baseline.chisq", "baseline.chisq.scaled", "chisq.scaling.factor"):
        assert res.fit[key.replace(".", "_")] == pytest.approx(f[key], rel=1e-5), key
    assert res.fit["df"] == f["df"]
    for key in ("cfi", "tli", "cfi.scaled", "tli.scaled", "rmsea", "rmsea.scaled", "cfi.robust", "tli.robust",
                "rmsea.robust", "srmr"):
        if f.get(key) is not None:
            assert res.fit[key.replace(".", "_")] == pytest.approx(f[key], abs=1e-5), key
    assert sum(res.nobs.values()) == d["ntotal"]


@pytest.mark.parametrize("name, group", [("pairwise_hs_ord_single", None), ("pairwise_hs_configural", "school")])
def test_sample_statistics_match_lavaan(name, group):
    d = fixture(name)
    stats, labels, n_excl = _quiet(ordinal_sample_stats, hs_ord_mcar(), HS_ITEMS, group, missing="pairwise")
    assert n_excl == 0
    for s, g in zip(stats, d["groups"]):
        assert s.nobs == g["nobs"]
        np.testing.assert_allclose(s.vector(), g["wls_obs"], atol=1e-6)
        np.testing.assert_allclose(s.acov, np.array(g["gamma"]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.weights, g["wls_v_diag"], rtol=1e-5)


def test_single_group_hs_matches_lavaan():
    res = _quiet(fit_cfa, HS3, hs_ord_mcar(), estimator="WLSMV", missing="pairwise")
    _compare(res, "pairwise_hs_ord_single")
    V = res.parameter_vcov()
    ref = fixture("pairwise_hs_ord_single")["vcov"]
    R = pd.DataFrame(ref["data"], index=ref["names"], columns=ref["names"])
    assert set(V.index) == set(R.index)
    np.testing.assert_allclose(V.loc[R.index, R.index].to_numpy(), R.to_numpy(), rtol=1e-5, atol=1e-7)
    assert res.n_excluded == 0


def test_bfi_25_items_real_missing_matches_lavaan():
    res = _quiet(fit_cfa, BFI5, bfi(), ordered=BFI_ITEMS, missing="pairwise")
    _compare(res, "pairwise_bfi_single")
    g = fixture("pairwise_bfi_single")["groups"][0]
    stats, _, _ = _quiet(ordinal_sample_stats, bfi(), BFI_ITEMS, missing="pairwise")
    np.testing.assert_allclose(stats[0].vector(), g["wls_obs"], atol=1e-6)
    np.testing.assert_allclose(np.diag(stats[0].acov), g["gamma_diag"], rtol=1e-5)


@pytest.mark.parametrize("step, levels", [("configural", []), ("thresholds", ["thresholds"]),
                                          ("loadings", ["thresholds", "loadings"])])
def test_hs_invariance_levels_match_lavaan(step, levels):
    res = _quiet(fit_cfa, HS3, hs_ord_mcar(), estimator="WLSMV", group="school", std_lv=True,
                 group_equal=levels, missing="pairwise")
    _compare(res, f"pairwise_hs_{step}")


def test_bfi_threshold_invariance_and_ladder_match_lavaan():
    from psychometrics.invariance.categorical import categorical_invariance

    data = bfi()[BFI_ITEMS + ["gender"]]
    res = _quiet(categorical_invariance, BFI5, data, "gender", levels=("configural", "thresholds"),
                 rule="chisq", partial=False, missing="pairwise")
    t = res.table
    for lv in ("configural", "thresholds"):
        r = fixture(f"pairwise_bfi_{lv}")["fit"]
        assert t.loc[lv, "chisq"] == pytest.approx(r["chisq.scaled"], rel=1e-5)
        assert t.loc[lv, "df"] == r["df"]
        assert t.loc[lv, "cfi"] == pytest.approx(r["cfi.scaled"], abs=1e-5)
        assert t.loc[lv, "rmsea"] == pytest.approx(r["rmsea.scaled"], abs=1e-5)
    ref = json.loads((REF / "lrt.json").read_text())["pairwise_bfi_thresholds_vs_configural"]["satorra.2000"]
    assert t.loc["thresholds", "delta_chisq"] == pytest.approx(ref["chisq_diff"], rel=1e-5)


def test_hs_ladder_loadings_difference_test_matches_lavaan():
    from psychometrics.invariance.categorical import categorical_invariance

    res = _quiet(categorical_invariance, HS3, hs_ord_mcar(), "school", levels=("configural", "thresholds", "loadings"),
                 rule="chisq", partial=False, missing="pairwise")
    ref = json.loads((REF / "lrt.json").read_text())["pairwise_hs_loadings_vs_thresholds"]["satorra.2000"]
    assert res.table.loc["loadings", "delta_chisq"] == pytest.approx(ref["chisq_diff"], rel=1e-5)


# ---------------------------------------------------------------- bad input
def test_empty_rows_are_dropped_and_counted():
    df = hs_ord_mcar().copy()
    df.loc[[0, 5], HS_ITEMS] = np.nan
    with pytest.warns(DataQualityWarning, match="2 of 301 rows have every model item missing"):
        stats, _, n_excl = ordinal_sample_stats(df, HS_ITEMS, missing="pairwise")
    assert n_excl == 2 and stats[0].nobs == 299


def test_item_missing_in_a_whole_group_is_an_error_naming_item_and_group():
    df = hs_ord_mcar().copy()
    df.loc[df["school"] == "Pasteur", "x4"] = np.nan
    with pytest.raises(DataError, match=r"'x4' are missing in every row in group 'Pasteur'"):
        ordinal_sample_stats(df, HS_ITEMS, "school", missing="pairwise")


def test_pair_never_observed_together_is_an_error_naming_pair_and_group():
    df = hs_ord_mcar().copy()
    gw = (df["school"] == "Grant-White").to_numpy()
    half = np.arange(len(df)) % 2 == 0
    df.loc[gw & half, "x1"] = np.nan
    df.loc[gw & ~half, "x2"] = np.nan
    with pytest.raises(DataError, match=r"x1–x2 are observed together in fewer than 2 rows in group 'Grant-White'"):
        ordinal_sample_stats(df, HS_ITEMS, "school", missing="pairwise")


def test_low_coverage_is_warned():
    df = hs_ord_mcar().copy()
    rows = np.arange(len(df))
    df.loc[rows % 20 != 0, "x1"] = np.nan  # x1 observed in 5 % of rows
    with pytest.warns(DataQualityWarning, match=r"coverage below 0.10 for 8 item pair\(s\): x1–x2"):
        _quiet_keep = ordinal_sample_stats(df, HS_ITEMS, missing="pairwise")
    assert _quiet_keep[0][0].nobs == 301


def test_unknown_missing_option():
    with pytest.raises(DataError, match="use 'listwise' or 'pairwise'"):
        ordinal_sample_stats(hs_ord_mcar(), HS_ITEMS, missing="fiml")
