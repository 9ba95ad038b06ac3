"""Tests for psychometrics.ordinal against lavaan / psych / semTools (tests/reference/ordinal)."""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics.ordinal import (
    PolychoricResult,
    bivariate_normal_cdf,
    categorical_omega,
    ordinal_alpha,
    polychoric,
)
from tests.conftest import load_reference

HERE = Path(__file__).parent / "reference" / "ordinal"
ITEMS25 = [f"{c}{i}" for c in "ACENO" for i in range(1, 6)]


@lru_cache(maxsize=1)
def ref() -> dict:
    return load_reference("ordinal", "ordinal_reference.json")


def quiet(*args, **kwargs) -> PolychoricResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return polychoric(*args, **kwargs)


@pytest.fixture(scope="module")
def hs_ord() -> pd.DataFrame:
    return pd.read_csv(HERE / "hs_ord.csv")


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi")


@pytest.fixture(scope="module")
def hs_res(hs_ord) -> PolychoricResult:
    return quiet(hs_ord)


def cor_of(r: dict) -> np.ndarray:
    """lavaan's sampstat 'cov' rescaled to correlations (continuous items keep variances)."""
    S = np.array(r["cor"], dtype=float)
    d = np.sqrt(np.diag(S))
    return S / np.outer(d, d)


def assert_gamma(res: PolychoricResult, g: dict) -> None:
    assert list(res.acov.index) == g["names"]
    assert list(res.acov.columns) == g["names"]
    G = np.array(g["gamma"], dtype=float)
    # 1e-4 relative (iterative estimates inside); atol guards structural near-zeros.
    np.testing.assert_allclose(res.acov.to_numpy(), G, rtol=1e-4, atol=1e-7 * np.abs(G).max())
    np.testing.assert_allclose(res.dwls_weights.to_numpy(), g["wls_vd"], rtol=1e-4)
    assert res.n == g["nobs"]


# ------------------------------------------------------------------ bivariate normal
def test_bivariate_normal_cdf_matches_plackett_quadrature():
    # Plackett: Φ₂(h, k; ρ) = Φ(h)Φ(k) + ∫₀^ρ φ₂(h, k; t) dt, integrated adaptively.
    from scipy.integrate import quad
    from scipy.special import ndtr

    def phi2(t, h, k):
        return np.exp(-(h * h - 2 * t * h * k + k * k) / (2 * (1 - t * t))) / (2 * np.pi * np.sqrt(1 - t * t))

    rng = np.random.default_rng(3)
    for r in (-0.999, -0.95, -0.6, -0.2, 0.0, 0.1, 0.5, 0.9, 0.93, 0.99):
        h, k = rng.normal(size=2) * 1.5
        exact = ndtr(h) * ndtr(k) + quad(phi2, 0.0, r, args=(h, k), epsabs=1e-14, limit=200)[0]
        assert bivariate_normal_cdf(h, k, r) == pytest.approx(exact, abs=1e-10)


def test_bivariate_normal_cdf_limits():
    from types import SimpleNamespace

    from scipy.special import ndtr

    norm = SimpleNamespace(cdf=ndtr)

    h = np.array([-1.0, 0.3, 2.0])
    np.testing.assert_allclose(bivariate_normal_cdf(h, np.inf, 0.4), norm.cdf(h), atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, -np.inf, 0.4), 0.0, atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, 0.5, 1.0), norm.cdf(np.minimum(h, 0.5)), atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, 0.5, -1.0), np.maximum(norm.cdf(h) - norm.cdf(-0.5), 0), atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, 0.5, 0.0), norm.cdf(h) * norm.cdf(0.5), atol=1e-15)


# ------------------------------------------------------------------ lavCor
def test_hs_ord_matches_lavcor(hs_res):
    r = ref()["hs_ord"]
    np.testing.assert_allclose(hs_res.matrix.to_numpy(), cor_of(r), atol=1e-6)
    np.testing.assert_allclose(hs_res.thresholds["value"], r["th"], atol=1e-6)  # closed form
    assert list(hs_res.thresholds["name"]) == r["th_names"]
    assert hs_res.n == r["nobs"] == 301 and hs_res.n_excluded == 0
    assert list(hs_res.thresholds.columns) == ["item", "threshold", "name", "value"]
    assert hs_res.thresholds["threshold"].tolist()[:2] == [1, 2]


def test_hs_ord_acov_matches_lavaan_gamma(hs_res):
    assert_gamma(hs_res, ref()["hs_ord"]["gamma"])
    assert list(hs_res.sample_stats.index) == ref()["hs_ord"]["gamma"]["names"]


@pytest.mark.parametrize("missing,key", [("listwise", "bfi25_listwise"), ("pairwise", "bfi25_pairwise")])
def test_bfi_matches_lavcor(bfi, missing, key):
    r = ref()[key]
    res = quiet(bfi[ITEMS25], missing=missing)
    np.testing.assert_allclose(res.matrix.to_numpy(), cor_of(r), atol=1e-6)
    np.testing.assert_allclose(res.thresholds["value"], r["th"], atol=1e-6)
    assert res.n == r["nobs"]
    assert res.n + res.n_excluded == len(bfi)
    if missing == "pairwise":
        assert res.pairwise_n.loc["A1", "A2"] == int((bfi["A1"].notna() & bfi["A2"].notna()).sum())


@pytest.mark.parametrize("missing,key", [("listwise", None), ("pairwise", "bfi10_pairwise_gamma")])
def test_bfi_acov_matches_lavaan_gamma(bfi, missing, key):
    res = quiet(bfi[ITEMS25[:10]], missing=missing)
    g = ref()["bfi10_listwise"]["gamma"] if key is None else ref()[key]
    assert_gamma(res, g)
    if key is None:
        np.testing.assert_allclose(res.matrix.to_numpy(), cor_of(ref()["bfi10_listwise"]), atol=1e-6)


def test_mixed_polyserial_and_pearson_match_lavcor(hs_ord, hs):
    data = pd.concat([hs_ord[["x1", "x2", "x3", "x4", "x5"]], hs[["x6", "x7", "x8", "x9"]]], axis=1)
    res = quiet(data, ordered=["x1", "x2", "x3", "x4", "x5"])
    r = ref()["hs_mix"]
    np.testing.assert_allclose(res.matrix.to_numpy(), cor_of(r), atol=1e-4)  # iterative (nlminb)
    np.testing.assert_allclose(res.thresholds["value"], r["th"], atol=1e-6)
    assert res.acov is None and res.ordered == ("x1", "x2", "x3", "x4", "x5")
    with pytest.raises(DataError, match="x6"):
        polychoric(data, ordered=["x1", "x2", "x3", "x4", "x5"], acov=True)


def test_zero_cells_and_empty_category_as_lavaan():
    zc = pd.read_csv(HERE / "zero_cells.csv")
    with pytest.warns(DataQualityWarning) as rec:
        res = polychoric(zc)
    r = ref()["zero_cells"]
    np.testing.assert_allclose(res.matrix.to_numpy(), cor_of(r), atol=1e-6)
    np.testing.assert_allclose(res.thresholds["value"], r["th"], atol=1e-6)
    assert_gamma(res, r["gamma"])
    messages = " ".join(str(w.message) for w in rec)
    assert "item c" in messages and "category 3" in messages  # the empty middle category
    assert ("a", "b") in res.zero_cell_pairs
    assert res.categories["c"] == (1, 2, 4)
    assert any(d.category == "DataQualityWarning" for d in res.diagnostics)


def test_two_empty_cells_in_2x2_give_plus_minus_one():
    data = pd.DataFrame({"a": [1] * 10 + [2] * 10, "b": [1] * 10 + [2] * 10, "c": [1, 2] * 10})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = polychoric(data)
    messages = [str(w.message) for w in rec]
    assert any("two empty cells" in m for m in messages)
    assert any("acov) is undefined" in m for m in messages)
    assert res.matrix.loc["a", "b"] == 1.0
    assert res.acov is None and res.dwls_weights is None


# ------------------------------------------------------------------ bad input
def test_non_integer_ordinal_item_names_item(hs):
    with pytest.raises(DataError, match=r"item x1 .*non-integer"):
        polychoric(hs[["x1", "x2"]])


def test_single_category_item_is_an_error():
    data = pd.DataFrame({"a": [1, 2, 3, 1, 2], "b": [2, 2, 2, 2, 2]})
    with pytest.raises(DataError, match=r"item b has only one observed category"):
        polychoric(data)


def test_too_many_categories_warns():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.integers(1, 16, 400), "b": rng.integers(1, 4, 400)})
    with pytest.warns(DataQualityWarning, match=r"item a has 15 categories"):
        polychoric(data, acov=False)


def test_other_bad_input():
    with pytest.raises(DataError, match="non-numeric"):
        polychoric(pd.DataFrame({"a": [1, 2, "x"], "b": [1, 2, 1]}))
    with pytest.raises(DataError, match="at least 2"):
        polychoric(pd.DataFrame({"a": [1, 2, 1]}))
    with pytest.raises(DataError, match="missing must be"):
        polychoric(pd.DataFrame({"a": [1, 2, 1], "b": [1, 2, 2]}), missing="fiml")
    with pytest.raises(DataError, match="zz"):
        polychoric(pd.DataFrame({"a": [1, 2, 1], "b": [1, 2, 2]}), ordered=["zz"])


def test_result_display_and_dict(hs_res):
    d = hs_res.to_dict()
    assert d["n"] == 301 and "matrix" in d
    assert "Polychoric" in hs_res.summary()
    assert hs_res.to_frame().shape == (9, 9)


# ------------------------------------------------------------------ reliability / EFA
def test_ordinal_alpha_matches_psych_alpha_of_lavcor_matrix(hs_res, bfi):
    a = ref()["ordinal_alpha"]
    assert ordinal_alpha(hs_res) == pytest.approx(a["hs_ord_lavcor"], abs=1e-6)
    assert ordinal_alpha(cor_of(ref()["bfi10_listwise"])) == pytest.approx(a["bfi10_lavcor"], abs=1e-10)
    sub = ordinal_alpha(hs_res, items=["x1", "x2", "x3"])
    R = hs_res.matrix.loc[["x1", "x2", "x3"], ["x1", "x2", "x3"]].to_numpy()
    assert sub == pytest.approx(1.5 * (1 - 3 / R.sum()))
    with pytest.raises(DataError, match="zz"):
        ordinal_alpha(hs_res, items=["x1", "zz"])


@pytest.mark.parametrize("key,cov", [("omega_obs", "sampstat_cov"), ("omega_fitted", "fitted_cov")])
def test_categorical_omega_matches_semtools(key, cov):
    oc = ref()["omega_cat"]
    items = [f"x{i}" for i in range(1, 10)]
    facs = ["visual", "textual", "speed"]
    L = pd.DataFrame(oc["lambda"], index=items, columns=facs)
    psi = pd.DataFrame(oc["psi"], index=facs, columns=facs)
    tau = pd.Series(oc["tau"], index=oc["tau_names"])
    sigma = pd.DataFrame(oc[cov], index=items, columns=items)
    omega = categorical_omega(L, tau, psi, sigma, pd.Series(oc["scales"], index=items))
    np.testing.assert_allclose(omega[facs].to_numpy(), [oc[key][f] for f in facs], atol=1e-10)


def test_categorical_omega_accepts_threshold_table(hs_res):
    oc = ref()["omega_cat"]
    items = [f"x{i}" for i in range(1, 10)]
    facs = ["visual", "textual", "speed"]
    L = pd.DataFrame(oc["lambda"], index=items, columns=facs)
    psi = pd.DataFrame(oc["psi"], index=facs, columns=facs)
    # WLSMV thresholds of a saturated threshold structure equal the sample thresholds
    omega = categorical_omega(L, hs_res.thresholds, psi, hs_res.matrix)
    np.testing.assert_allclose(omega[facs].to_numpy(), [oc["omega_obs"][f] for f in facs], atol=1e-6)


def test_efa_on_polychoric_matrix_matches_psych_fa(hs_res):
    from psychometrics.efa import efa

    res = efa(corr=hs_res.matrix, n_obs=hs_res.n, n_factors=3)
    e = ref()["efa_hs_ord"]
    # iterative (psych's optim stops ~1e-5 from the optimum)
    np.testing.assert_allclose(res.loadings.to_numpy(), e["loadings"], atol=1e-4)
    np.testing.assert_allclose(res.communalities.to_numpy(), e["communality"], atol=1e-4)


# ------------------------------------------------------------------ WLSMV from raw data
def test_wlsmv_from_raw_data_matches_lavaan(hs_ord):
    """polychoric → OrdinalSampleStats → fit_categorical reproduces lavaan's WLSMV fit on raw data."""
    from psychometrics.cfa.categorical import fit_categorical

    w = load_reference("wlsmv", "hs_ord.json")
    stats = quiet(hs_ord).to_sample_stats()
    g = w["groups"][0]
    np.testing.assert_allclose(stats.vector(), g["wls_obs"], atol=1e-6)
    np.testing.assert_allclose(stats.acov, g["gamma"], rtol=1e-4, atol=1e-7 * np.abs(g["gamma"]).max())
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_categorical(model, stats)
    est = res.estimates
    ref_est = {(e["lhs"], e["op"], e["rhs"]): e for e in w["estimates"]}
    loads = est[est["op"] == "=~"]
    for _, row in loads.iterrows():
        e = ref_est[(row["lhs"], "=~", row["rhs"])]
        assert row["est"] == pytest.approx(e["est"], abs=1e-4)
        assert row["se"] == pytest.approx(e["se"], abs=1e-4)
    assert res.fit["chisq"] == pytest.approx(w["fit"]["chisq"], rel=1e-5)
    assert res.fit["chisq_scaled"] == pytest.approx(w["fit"]["chisq.scaled"], rel=1e-5)
    # categorical ω straight from the CFA result (semTools::compRelSEM on lavaan's fit)
    from psychometrics.ordinal import categorical_omega_from_cfa

    oc = ref()["omega_cat"]
    facs = ["visual", "textual", "speed"]
    np.testing.assert_allclose(categorical_omega_from_cfa(res)[facs].to_numpy(),
                               [oc["omega_obs"][f] for f in facs], atol=1e-4)
    np.testing.assert_allclose(categorical_omega_from_cfa(res, obs_var=False)[facs].to_numpy(),
                               [oc["omega_fitted"][f] for f in facs], atol=1e-4)


def test_psych_polychoric_differs_only_slightly(hs_res):
    # Comparison only: psych::polychoric (its own optimiser and correction) is not the
    # reference; on HS cut into 3 categories it agrees with lavaan/us to ~2e-5.
    P = np.array(ref()["psych_polychoric_hs_ord"], dtype=float)
    assert np.abs(hs_res.matrix.to_numpy() - P).max() < 1e-3


def test_pair_without_common_rows_is_an_error():
    data = pd.DataFrame({"a": [1, 2, 1, 2, np.nan, np.nan], "b": [np.nan, np.nan, 1, 2, 1, 2],
                         "c": [np.nan, np.nan, np.nan, np.nan, 1, 2]})
    with pytest.raises(DataError, match="a–c"):
        polychoric(data, missing="pairwise")


def test_unique_rows_matches_numpy():
    """The packed-bytes pattern count of the NACOV equals np.unique(axis=0) (same order, same counts)."""
    from psychometrics.ordinal.nacov import unique_rows

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 6, (5000, 9))
    codes[:2500, 3:] = 0  # many repeated patterns
    pat, cnt = unique_rows(codes)
    ref_pat, ref_cnt = np.unique(codes, axis=0, return_counts=True)
    assert np.array_equal(pat, ref_pat) and np.array_equal(cnt, ref_cnt) and pat.dtype == codes.dtype
    big = codes.copy()
    big[0, 0] = 300  # beyond one byte: numpy's own path
    assert np.array_equal(unique_rows(big)[0], np.unique(big, axis=0))


def test_nacov_subsample_above_nacov_rows_within_monte_carlo_error(bfi, monkeypatch):
    """Large n: the middle term of Γ from a fixed random subsample (``nacov.NACOV_ROWS``).

    No R reference (lavaan always sums every row): checked against the exact Γ of the same data
    by simulation logic — with a subsample of m rows, each entry's relative error is
    O(1/√m); at m = 1,000 of bfi's 2,436 complete rows the diagonal (the DWLS weights) stays
    within 12 % and the entries of the two matrices correlate above .95, the thresholds and correlations
    are unchanged, the result is the same on a second call (fixed seed) and a diagnostic says so.
    """
    import psychometrics.ordinal.correlations as corr_mod
    import psychometrics.ordinal.nacov as nacov_mod

    items = bfi[ITEMS25[:10]]
    exact = quiet(items, missing="listwise")
    assert not any("subsample" in d.message for d in exact.diagnostics)
    monkeypatch.setattr(nacov_mod, "NACOV_ROWS", 1_000)
    monkeypatch.setattr(corr_mod, "NACOV_ROWS", 1_000)
    approx = quiet(items, missing="listwise")
    again = quiet(items, missing="listwise")
    G, A = exact.acov.to_numpy(), approx.acov.to_numpy()
    np.testing.assert_array_equal(A, again.acov.to_numpy())
    np.testing.assert_array_equal(exact.matrix.to_numpy(), approx.matrix.to_numpy())
    assert np.max(np.abs(np.diag(A) / np.diag(G) - 1)) < 0.12
    assert np.corrcoef(A.ravel(), G.ravel())[0, 1] > 0.95  # off-diagonal entries near 0 carry the noise
    assert not np.array_equal(A, G)
    assert any("subsample of 1,000 rows" in d.message for d in approx.diagnostics)


def test_group_nacov_subsample_shared_by_groups_within_monte_carlo_error(bfi, monkeypatch):
    """Multi-group Γ at large N (issue 16): NACOV_ROWS is shared by the groups in proportion to their size.

    No R reference (lavaan sums every row): each group's subsampled Γ is compared with the exact
    Γ of the same group — with m rows per group its relative error is O(1/√m); with the bound
    lowered to 1,800 (about three quarters of each gender's complete rows of bfi) the diagonals stay within
    20 % and the entries correlate above .9; thresholds and correlations are unchanged, the
    subsample sizes follow ⌈bound · n_g / N⌉ and a diagnostic names them. Below the bound each
    group is exact (the demo's path).
    """
    import psychometrics.ordinal.nacov as nacov_mod
    from psychometrics.ordinal.group_stats import _categories, ordinal_sample_stats

    data = bfi[ITEMS25[:8] + ["gender"]]
    kw = dict(empty_categories="collapse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact, labels, _ = ordinal_sample_stats(data, ITEMS25[:8], "gender", **kw)
        monkeypatch.setattr(nacov_mod, "NACOV_ROWS", 1_800)
        diags: list = []
        approx, _, _ = ordinal_sample_stats(data, ITEMS25[:8], "gender", diagnostics=diags, **kw)
    n_g = [s.nobs for s in exact]
    shares = [int(np.ceil(1_800 * k / sum(n_g))) for k in n_g]
    assert any(f"{shares[0]:,} of {n_g[0]:,}" in d.message and "shared by the groups" in d.message for d in diags)
    for e, a in zip(exact, approx):
        assert all(np.array_equal(x, y) for x, y in zip(e.thresholds, a.thresholds))
        np.testing.assert_array_equal(e.cor, a.cor)
        G, A = e.acov, a.acov
        assert not np.array_equal(A, G)
        assert np.max(np.abs(np.diag(A) / np.diag(G) - 1)) < 0.20
        assert np.corrcoef(A.ravel(), G.ravel())[0, 1] > 0.9
    # the category tabulation equals the hashing + binary search it replaced
    x = np.array([3.0, 1, 5, 3, 1, 7])
    cats, code = _categories(x)
    assert cats == sorted(pd.unique(x).tolist()) and np.array_equal(code, np.searchsorted(np.array(cats), x))



def test_nacov_middle_term_identical_with_one_and_all_blas_threads(monkeypatch):
    """Γ's middle term (a dsyrk over the score rows) can get the machine's cores inside the CFA and
    invariance steps' one-thread region (``_linalg.all_core_blas``, with ``nacov.ALL_CORES``); OpenBLAS
    splits a syrk by blocks of the output, so the numbers must not depend on the thread count — compared
    bit for bit."""
    import psychometrics.ordinal.nacov as nacov_module
    from psychometrics._linalg import single_thread_blas
    from psychometrics.ordinal import polychoric

    rng = np.random.default_rng(7)
    n, k = 6000, 18  # two chunks of the middle term's loop, 225 statistics
    latent = 0.7 * rng.standard_normal((n, 1)) + 0.7 * rng.standard_normal((n, k))
    data = pd.DataFrame(np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1, columns=[f"i{j}" for j in range(k)])
    calls: list[int] = []
    monkeypatch.setattr(nacov_module, "ALL_CORES", True)  # (the default again since the ninth session)
    with single_thread_blas():
        many = polychoric(data, acov=True).acov.to_numpy()
    monkeypatch.setattr(nacov_module, "all_core_blas", lambda: (calls.append(1), single_thread_blas())[1])
    one = polychoric(data, acov=True).acov.to_numpy()  # held to one thread throughout
    assert calls, "nacov no longer asks for the cores"
    np.testing.assert_array_equal(many, one)


@pytest.mark.parametrize("missing", [False, True])
def test_nacov_rows_direct_equal_the_pattern_sum(missing, monkeypatch):
    """Issue 16 (sixth session): from ``DIRECT_ROWS`` rows, with few repeated patterns, Γ's middle term is summed
    over the rows in data order (one gather of the threshold scores, the pair offsets folded into the codes, the
    ``dsyrk`` accumulating in place) instead of over the sorted distinct patterns weighted by their counts: the same
    sum in another order — equal to the previous path's Γ to 1e-12 of its largest entry, with missing answers
    (pairwise: zero scores), items with 3 and 5 categories and a last chunk shorter than the others; with many
    repeats the pattern sum stays."""
    import psychometrics.ordinal.nacov as nacov_module
    from psychometrics.ordinal import polychoric

    rng = np.random.default_rng(11)
    n, k = 2500, 12
    latent = 0.7 * rng.standard_normal((n, 1)) + 0.7 * rng.standard_normal((n, k))
    values = (np.digitize(latent, [-1.0, -0.3, 0.4, 1.1]) + 1).astype(float)
    values[:, 0] = np.digitize(latent[:, 0], [-0.5, 0.5]) + 1  # an item with 3 categories beside the 5-category ones
    if missing:
        values[rng.random(values.shape) < 0.05] = np.nan
    data = pd.DataFrame(values, columns=[f"i{j}" for j in range(k)])
    kw = dict(acov=True, missing="pairwise") if missing else dict(acov=True)
    ref = quiet(data, **kw).acov.to_numpy()
    chosen: list[str] = []
    for name in ("_middle_term_direct", "_middle_term_patterns"):
        original = getattr(nacov_module, name)
        monkeypatch.setattr(nacov_module, name, lambda *a, _f=original, _n=name, **k: (chosen.append(_n), _f(*a, **k))[1])
    monkeypatch.setattr(nacov_module, "DIRECT_ROWS", 1_000)
    monkeypatch.setattr(nacov_module, "_PROBE_ROWS", 1_000)
    original_nacov = nacov_module.nacov
    import psychometrics.ordinal.correlations as corr_mod
    monkeypatch.setattr(corr_mod, "nacov", lambda *a, **k: original_nacov(*a, **{**k, "chunk": 1_000}))
    got = quiet(data, **kw).acov.to_numpy()
    assert chosen == ["_middle_term_direct"]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    chosen.clear()
    repeated = pd.DataFrame(np.repeat(values[:300], 9, axis=0), columns=data.columns)  # 9 copies of each row
    quiet(repeated, **kw)
    assert chosen == ["_middle_term_patterns"]


def _omega_inputs_before(result, group=None):
    """categorical_omega_from_cfa's reading of the estimates before issue 16's sixth session (the reference)."""
    est = result.estimates
    if group is not None:
        est = est[est["group"].astype(str) == str(group)]
    lam = est[est["op"] == "=~"]
    factors = list(dict.fromkeys(lam["lhs"]))
    items = list(dict.fromkeys(lam["rhs"]))
    L = pd.DataFrame(0.0, index=items, columns=factors)
    for _, r in lam.iterrows():
        L.loc[r["rhs"], r["lhs"]] = float(r["est"])
    th = est[est["op"] == "|"]
    thresholds = {i: th.loc[th["lhs"] == i, "est"].to_numpy(float) for i in items}
    sc = est[est["op"] == "~*~"]
    scales = pd.Series({i: float(sc.loc[sc["lhs"] == i, "est"].iloc[0]) if (sc["lhs"] == i).any() else 1.0
                        for i in items})
    return L, thresholds, scales


@pytest.mark.parametrize("groups", [False, True])
def test_categorical_omega_from_cfa_reads_the_estimates_as_before(hs_ord, groups, monkeypatch):
    """Issue 16 (sixth session): the loadings, thresholds and scales are read from the estimates' columns as
    arrays instead of a pandas mask per item — the same inputs to categorical_omega (identical), one- and
    two-group fits."""
    import psychometrics.ordinal.reliability as rel_mod
    from psychometrics.cfa.categorical import fit_categorical
    from psychometrics.ordinal.group_stats import ordinal_sample_stats

    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    items = [f"x{j}" for j in range(1, 10)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if groups:
            data = hs_ord[items].assign(g=np.arange(len(hs_ord)) % 2)
            stats, labels, _ = ordinal_sample_stats(data, items, "g")
            res = fit_categorical(model, stats, groups=[str(x) for x in labels], group_equal=("thresholds",), std_lv=True)
        else:
            res = fit_categorical(model, quiet(hs_ord).to_sample_stats())
    seen: list = []
    monkeypatch.setattr(rel_mod, "categorical_omega", lambda *a, **k: seen.append(a))
    label = res.groups[1] if groups else None
    rel_mod.categorical_omega_from_cfa(res, group=label)
    L, th, sc = seen[0][0], seen[0][1], seen[0][4]
    L0, th0, sc0 = _omega_inputs_before(res, label)
    assert L.equals(L0) and sc.equals(sc0) and list(th) == list(th0)
    assert all(np.array_equal(th[i], th0[i]) for i in th0)


def test_vech_pairs_equal_the_loop_over_columns():
    """Issue 16 (sixth session): the pairs below the diagonal, column by column (lavaan's vech order), from
    ``np.triu_indices`` — identical to the double loop it replaces (values and dtype)."""
    from psychometrics.ordinal.sample_stats import vech_pairs

    for p in range(0, 12):
        rows = [i for j in range(p) for i in range(j + 1, p)]
        cols = [j for j in range(p) for i in range(j + 1, p)]
        got = vech_pairs(p)
        assert np.array_equal(got[0], np.array(rows, dtype=int)) and np.array_equal(got[1], np.array(cols, dtype=int))
        assert got[0].dtype == np.array(rows, dtype=int).dtype
