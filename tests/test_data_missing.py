"""Missing-data diagnostics (psychometrics.data.missing) against the R fixtures.

``tests/reference/missing/little_mcar.json``: Little's (1988) d² from an EM written in R
(tol 1e-12) cross-checked with lavaan's EM; coverage and patterns from lavaan's
``lavInspect(fit, "coverage")`` and ``fit@Data@Mp`` in the FIML/pairwise fixtures.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.data.missing import em_normal, little_mcar, missing_data_diagnostics
from psychometrics.exceptions import DataError, DataQualityWarning

REF = Path(__file__).parent / "reference" / "missing"
HS = [f"x{i}" for i in range(1, 10)]
BFI = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]


@lru_cache(maxsize=None)
def little_ref() -> dict:
    return json.loads((REF / "little_mcar.json").read_text())


def data(name: str) -> tuple[pd.DataFrame, list[str]]:
    if name == "bfi":
        from psychometrics.datasets import load_dataset

        return load_dataset("bfi"), BFI
    return pd.read_csv(REF / f"{name}.csv"), HS


@pytest.mark.parametrize("name", ["hs_mcar", "hs_mar", "hs_ord_mcar", "bfi"])
def test_little_mcar_matches_r(name):
    ref = little_ref()[name]
    df, items = data(name)
    res = little_mcar(df, items)
    own = ref["own_em"]
    assert res.chisq == pytest.approx(own["chisq"], rel=1e-8)
    assert res.df == own["df"] and res.n == own["n"] and res.n_patterns == own["npatterns"]
    assert res.pvalue == pytest.approx(own["pvalue"], rel=1e-6)
    # lavaan's EM stops at tol 1e-5 (NOTES.md §3): its d² differs from a converged EM by
    # up to 1.4e-6 relative (ordinal HS), hence 2e-6 here
    assert res.chisq == pytest.approx(ref["lavaan_em_default"]["chisq"], rel=2e-6)
    np.testing.assert_allclose(res.mean.to_numpy(), ref["em_mean"], atol=1e-9)
    cov = np.array(ref["em_cov"]["data"]).reshape(len(items), len(items))
    np.testing.assert_allclose(res.cov.to_numpy(), cov, atol=1e-9)
    pt = ref["patterns"]
    mine = res.patterns.set_index("pattern")
    theirs = pd.DataFrame(pt).set_index("pattern")
    assert set(mine.index) == set(theirs.index)
    np.testing.assert_allclose(mine.loc[theirs.index, "d2"], theirs["d2"], rtol=1e-7, atol=1e-9)
    assert (mine.loc[theirs.index, "n"] == theirs["n"]).all()


def test_em_normal_complete_data_is_the_ml_moments():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    mu, S, it = em_normal(X)
    np.testing.assert_allclose(mu, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(S, np.cov(X.T, bias=True), atol=1e-12)
    with pytest.raises(DataError, match="every item missing"):
        em_normal(np.array([[np.nan, np.nan], [1.0, 2.0]]))


@pytest.mark.parametrize("name", ["fiml_hs_mcar_ml_configural", "pairwise_hs_configural"])
def test_coverage_and_patterns_match_lavaan(name):
    d = json.loads((REF / f"{name}.json").read_text())
    df = pd.read_csv(REF / ("hs_mcar.csv" if "mcar_ml" in name else "hs_ord_mcar.csv"))
    res = missing_data_diagnostics(df, HS, "school", top=1000)
    for g, lab in zip(d["groups"], d["group_labels"]):
        cov = pd.DataFrame(g["coverage"]["data"], index=g["coverage"]["names"], columns=g["coverage"]["names"])
        np.testing.assert_allclose(res.coverage_by_group[lab].loc[HS, HS].to_numpy(), cov.loc[HS, HS].to_numpy(),
                                   atol=1e-12)
    whole = missing_data_diagnostics(df, HS, top=1000)
    pats = {}
    for g in d["groups"]:
        for p_, f in zip(g["patterns"]["pattern"], g["patterns"]["freq"]):
            pats[p_] = pats.get(p_, 0) + f
    got = whole.patterns[whole.patterns["pattern"] != "0" * 9]  # lavaan lists no empty pattern
    assert dict(zip(got["pattern"], got["n"])) == pats
    assert whole.n_empty == sum(g["patterns"]["n_empty"] for g in d["groups"])


def test_shares_patterns_and_table():
    df = pd.DataFrame({"a": [1, np.nan, 3, 4, np.nan], "b": [1, 2, np.nan, 4, np.nan], "c": [1, 2, 3, 4, np.nan]})
    res = missing_data_diagnostics(df, little=False)
    assert res.share_missing_item.to_dict() == pytest.approx({"a": 0.4, "b": 0.4, "c": 0.2})
    assert res.share_missing_row.tolist() == pytest.approx([0, 1 / 3, 1 / 3, 0, 1])
    assert res.n_empty == 1 and res.n_patterns == 4
    assert res.patterns.iloc[0][["pattern", "n"]].tolist() == ["111", 2]
    assert res.rows_by_share["rows"].tolist() == [2, 2, 1]
    assert res.coverage.loc["a", "b"] == pytest.approx(2 / 4)  # non-empty rows
    assert list(res.to_frame().columns) == ["share_missing", "min_coverage"]
    assert "pattern(s)" in res.summary_line() and res.to_dict()["n_rows"] == 5
    assert "<table" in res._repr_html_()


def test_low_and_zero_coverage_are_warned_with_items_and_group():
    df = pd.DataFrame({"g": ["m"] * 6 + ["f"] * 6,
                       "a": [1, 2, np.nan, np.nan, np.nan, 3, 1, 2, 3, 4, 5, 6],
                       "b": [np.nan, np.nan, 1, 2, 3, np.nan, 1, 2, 3, 4, 5, 6],
                       "c": [np.nan] * 6 + [1, 2, 3, 4, 5, 6]})
    with pytest.warns(DataQualityWarning) as rec:
        res = missing_data_diagnostics(df, ["a", "b", "c"], "g", little=False)
    msgs = " | ".join(str(w.message) for w in rec)
    assert "'c' are missing in every row in group 'm'" in msgs
    assert "a–b (0.00, m)" in msgs and "never observed together" in msgs
    assert set(res.low_coverage["group"]) == {"m"}
    assert res.coverage.loc["a", "b"] == 0.0


def test_bad_input():
    with pytest.raises(DataError, match="'zz' are not columns"):
        missing_data_diagnostics(pd.DataFrame({"a": [1.0]}), ["zz"])
    with pytest.raises(DataError, match="more rows with data"):
        little_mcar(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}))


def test_em_batched_estep_equals_pattern_by_pattern(monkeypatch):
    """Many patterns (large n): the batched E-step gives the pattern-by-pattern EM's estimates
    (independent implementation of the same formulas; equal up to summation order). The batched path
    also takes its start values from the observed sums instead of a pass over the rows: the same fixed point."""
    import psychometrics.data.missing as md

    rng = np.random.default_rng(5)
    p = 9
    L = rng.uniform(0.4, 0.8, p)
    X = rng.standard_normal((4000, 1)) * L + rng.standard_normal((4000, p)) * np.sqrt(1 - L ** 2)
    X[rng.random(X.shape) < 0.15] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    assert len(md.pattern_groups(~np.isnan(X)).counts) > md._EM_BATCH_MIN  # the batched path is taken
    mu_b, S_b, it_b = md.em_normal(X)
    monkeypatch.setattr(md, "_EM_BATCH_MIN", 10**9)
    mu_l, S_l, it_l = md.em_normal(X)
    np.testing.assert_allclose(mu_b, mu_l, rtol=0, atol=1e-12)
    np.testing.assert_allclose(S_b, S_l, rtol=0, atol=1e-12)
    assert abs(it_b - it_l) <= 1


def test_em_schur_estep_equals_the_solves_with_sigma_oo(monkeypatch):
    """From _EM_SCHUR_ROWS rows on, the batched E-step takes B and C from Σ⁻¹ (r × r solves, sums by
    bincount): E-step sums equal to the Σ_oo solves (np.add.at) to 1e-12 relative, and the EM's estimates
    (and iterations) equal to 1e-10 relative; the demo's 400 rows stay on the Σ_oo path."""
    from types import SimpleNamespace

    import psychometrics.data.missing as md

    assert md._EM_SCHUR_ROWS > 400
    rng = np.random.default_rng(15)
    p = 10
    L = rng.uniform(0.4, 0.8, p)
    X = np.round(2 + rng.standard_normal((3000, 1)) * L + rng.standard_normal((3000, p)))
    X[rng.random(X.shape) < 0.15] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    pg = md.pattern_groups(~np.isnan(X))
    s1, s2 = md.pattern_sums(X, pg)
    T1o, T2o, batches = md._em_batches(s1, s2, SimpleNamespace(patterns=pg.patterns, counts=pg.counts))
    mu, sigma, _ = md.em_from_pattern_sums(pg.patterns, pg.counts, s1, s2, max_iter=2)
    for a, b in zip(md._em_estep_batched(mu, sigma, T1o, T2o, batches, True),
                    md._em_estep_batched(mu, sigma, T1o, T2o, batches, False)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
    monkeypatch.setattr(md, "_EM_SCHUR_ROWS", 1)
    fast = md.em_from_pattern_sums(pg.patterns, pg.counts, s1, s2)
    monkeypatch.setattr(md, "_EM_SCHUR_ROWS", 10**12)
    direct = md.em_from_pattern_sums(pg.patterns, pg.counts, s1, s2)
    np.testing.assert_allclose(fast[0], direct[0], rtol=1e-10)
    np.testing.assert_allclose(fast[1], direct[1], rtol=1e-10, atol=1e-12)
    assert fast[2] == direct[2]


def test_little_pattern_terms_equal_pattern_by_pattern_definition():
    """Little's per-pattern d² (bincount means, stacked solves) equal the definition computed pattern by
    pattern (mean of the pattern's rows, one solve each), to 1e-10 relative."""
    import psychometrics.data.missing as md

    rng = np.random.default_rng(8)
    X = rng.integers(1, 6, size=(3000, 7)).astype(float) + rng.normal(size=(3000, 1))
    X[rng.random(X.shape) < 0.2] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    pg = md.pattern_groups(~np.isnan(X))
    mu, sigma, _ = md.em_normal(X, groups=pg)
    expected = []
    for j, pat in enumerate(pg.patterns):
        o = np.flatnonzero(pat)
        dev = X[np.ix_(pg.rows(j), o)].mean(axis=0) - mu[o]
        expected.append(pg.counts[j] * dev @ np.linalg.solve(sigma[np.ix_(o, o)], dev))
    np.testing.assert_allclose(md._pattern_d2(X, pg, mu, sigma), expected, rtol=1e-10)
    assert md.little_mcar(X).chisq == pytest.approx(sum(expected), rel=1e-10)


def _em_batches_by_gather(X, pg):
    """The previous construction of the E-step batches: a gather and two sums per pattern."""
    p = X.shape[1]
    T1o, T2o = np.zeros(p), np.zeros((p, p))
    by_r = {}
    for j, pat in enumerate(pg.patterns):
        o, m = np.flatnonzero(pat), np.flatnonzero(~pat)
        Y = X[np.ix_(pg.rows(j), o)]
        s1, S2 = Y.sum(axis=0), Y.T @ Y
        T1o[o] += s1
        T2o[np.ix_(o, o)] += S2
        if m.size:
            by_r.setdefault(m.size, []).append((o, m, float(pg.counts[j]), s1, S2))
    return T1o, T2o, [tuple(np.array([t[k] for t in lst]) for k in range(5)) for lst in by_r.values()]


def test_em_batches_from_pattern_sums_equal_the_gather_per_pattern_and_little_is_unchanged():
    """Whole-number answers with > 64 patterns: the batches built from pattern_sums equal the previous
    per-pattern gathers bit for bit, so EM and Little's test are the same numbers; Little's test
    inside missing_data_diagnostics (the diagnostics' pattern groups reused) equals little_mcar."""
    from psychometrics.data import missing as md
    from psychometrics.data.patterns import pattern_groups, pattern_sums

    rng = np.random.default_rng(21)
    X = np.clip(rng.integers(1, 6, size=(3000, 1)) + rng.integers(-1, 2, size=(3000, 9)), 1, 5).astype(float)
    X[rng.random(X.shape) < 0.12] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    pg = pattern_groups(~np.isnan(X))
    assert len(pg.counts) > md._EM_BATCH_MIN
    new = md._em_batches(*pattern_sums(X, pg), pg)
    old = _em_batches_by_gather(X, pg)
    np.testing.assert_array_equal(new[0], old[0])
    np.testing.assert_array_equal(new[1], old[1])
    assert len(new[2]) == len(old[2])
    for a, b in zip(new[2], old[2]):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(9)])
    lt = little_mcar(frame)
    diag = missing_data_diagnostics(frame)
    assert diag.little.chisq == lt.chisq and diag.little.df == lt.df
    assert diag.little.patterns.equals(lt.patterns)
    assert lt.patterns["pattern"].tolist() == ["".join("1" if b else "0" for b in pat) for pat in pg.patterns]


def test_coverage_from_pattern_counts_equals_the_rows_per_group():
    """Coverage per group from the (pattern, group) counts equals o'o / n over the group's non-empty rows."""
    from psychometrics.data.missing import _coverage

    rng = np.random.default_rng(2)
    X = rng.integers(1, 6, size=(800, 5)).astype(float)
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:7] = np.nan  # empty rows: left out of the coverage
    g = rng.choice(["b", "a", "c"], size=800)
    frame = pd.DataFrame(X, columns=list("vwxyz"))
    frame["g"] = g
    diag = missing_data_diagnostics(frame, list("vwxyz"), "g")
    obs = ~np.isnan(X)
    keep = obs.any(axis=1)
    for lab, cov in diag.coverage_by_group.items():
        np.testing.assert_array_equal(cov.to_numpy(), _coverage(obs[keep & (g == lab)], list("vwxyz")).to_numpy())
    assert list(diag.coverage_by_group) == list(pd.unique(g[keep]))
    pooled = missing_data_diagnostics(frame.drop(columns="g"))
    np.testing.assert_array_equal(pooled.coverage.to_numpy(), _coverage(obs[keep], list("vwxyz")).to_numpy())
