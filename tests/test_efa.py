"""Tests of psychometrics.efa against psych/GPArotation reference output (tests/reference/efa/)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import load_reference
from psychometrics.datasets import load_dataset
from psychometrics.efa import bartlett, efa, item_flags, kmo
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    HeywoodCaseWarning,
    NotPositiveDefiniteWarning,
)

REF = load_reference("efa", "efa_reference.json")
BFI_ITEMS = [f"{t}{i}" for t in "ACENO" for i in range(1, 6)]
METHODS = ["minres", "ml", "pa", "principal"]
ROTATIONS = ["none", "oblimin", "promax", "geominQ", "varimax", "quartimax"]


@pytest.fixture(scope="module")
def data():
    hs = load_dataset("holzinger_swineford")[[f"x{i}" for i in range(1, 10)]]
    bfi = load_dataset("bfi")[BFI_ITEMS]
    return {"hs": (hs, 3), "bfi": (bfi, 5)}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------ adequacy
@pytest.mark.parametrize("name", ["hs", "bfi"])
def test_kmo_matches_psych(data, name):
    x, _ = data[name]
    res = kmo(x)
    ref = REF[name]["kmo"]
    assert res.overall == pytest.approx(ref["overall"], abs=1e-10)
    np.testing.assert_allclose(res.per_item.to_numpy(), ref["per_item"], atol=1e-10)
    assert list(res.per_item.index) == list(x.columns)


@pytest.mark.parametrize("name", ["hs", "bfi"])
def test_bartlett_matches_psych(data, name):
    x, _ = data[name]
    res = bartlett(x)
    ref = REF[name]["bartlett"]
    assert res.chisq == pytest.approx(ref["chisq"], rel=1e-10)
    assert res.df == ref["df"]
    assert res.pvalue == pytest.approx(ref["pvalue"], rel=1e-6, abs=1e-300)
    assert res.n_obs == len(x)


def test_bartlett_from_correlation_needs_n(data):
    x, _ = data["hs"]
    with pytest.raises(DataError, match="n_obs"):
        bartlett(corr=x.corr())
    res = bartlett(corr=x.corr(), n_obs=301)
    assert res.chisq == pytest.approx(REF["hs"]["bartlett"]["chisq"], rel=1e-10)


# ------------------------------------------------------------------ efa
@pytest.mark.parametrize("name", ["hs", "bfi"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_efa_matches_psych(data, name, method, rotation):
    """Loadings, Φ, structure, h², variance table and fit agree with psych::fa/principal.

    Columns are compared in psych's order and sign (we reproduce both). Agreement is
    ~1e-12 (same algorithms, same stopping rules); 1e-8 leaves room for BLAS differences.
    """
    x, k = data[name]
    ref = REF[name]["fits"][f"{method}_{rotation}"]
    res = _quiet(efa, x, k, method=method, rotation=None if rotation == "none" else rotation)
    tol = 1e-8
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["loadings"]["data"], atol=tol)
    assert list(res.loadings.index) == ref["loadings"]["rownames"]
    if ref["phi"] is not None:
        np.testing.assert_allclose(res.phi.to_numpy(), ref["phi"]["data"], atol=tol)
    else:
        np.testing.assert_array_equal(res.phi.to_numpy(), np.eye(k))
    np.testing.assert_allclose(res.structure.to_numpy(), ref["structure"]["data"], atol=tol)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref["communality"], atol=tol)
    np.testing.assert_allclose(res.uniquenesses.to_numpy(), ref["uniquenesses"], atol=tol)
    np.testing.assert_allclose(res.variance.to_numpy(), ref["vaccounted"]["data"], atol=tol)
    assert list(res.variance.index) == ref["vaccounted"]["rownames"]
    np.testing.assert_allclose(res.reduced_eigenvalues.to_numpy(), ref["values"], atol=tol)
    fit = res.fit
    assert fit.df == ref["dof"]
    assert fit.chisq == pytest.approx(ref["statistic"], rel=1e-8)
    assert fit.objective == pytest.approx(ref["objective"], rel=1e-8)
    if ref["rmsea"] is not None:
        rmsea = [np.nan if v is None else v for v in ref["rmsea"][:3]]
        # the interval bounds: R's uniroot stops at tol = eps^0.25 on the non-centrality
        np.testing.assert_allclose([fit.rmsea, *fit.rmsea_ci], rmsea, atol=1e-6)
        assert fit.tli == pytest.approx(ref["tli"], abs=1e-8)
        assert fit.bic == pytest.approx(ref["bic"], rel=1e-8)
        assert fit.null_chisq == pytest.approx(ref["null_chisq"], rel=1e-8)
    assert res.converged


def test_efa_factor_names_and_result_api(data):
    x, k = data["bfi"]
    res = _quiet(efa, x, 5, method="ml", rotation="oblimin")
    assert list(res.loadings.columns) == ["ML1", "ML2", "ML3", "ML4", "ML5"]
    assert res.method == "ml" and res.rotation == "oblimin" and res.n_obs == 2800
    ss = res.variance.loc["SS loadings"].to_numpy()
    assert np.all(np.diff(ss) <= 0)                     # ordered by variance explained
    assert np.all(res.loadings.sum(axis=0) > 0)         # signed to positive column sums
    assert res.primary_factor["N1"] == res.primary_factor["N2"]
    d = res.to_dict()
    assert d["loadings"]["columns"][0] == "ML1"
    assert "h2" in res.to_frame().columns
    assert "Exploratory factor analysis" in res.summary()
    assert any("pairwise" in str(dg) for dg in res.diagnostics)  # missing data reported


def test_efa_from_correlation_equals_raw(data):
    x, k = data["hs"]
    raw = efa(x, k)
    viacorr = efa(corr=x.corr(), n_obs=len(x), n_factors=k)
    pd.testing.assert_frame_equal(raw.loadings, viacorr.loadings, atol=1e-10)
    assert viacorr.fit.chisq == pytest.approx(raw.fit.chisq, rel=1e-8)  # same optimum; optimiser noise only
    nofit = efa(corr=x.corr().to_numpy(), n_factors=k)
    assert nofit.fit is None and list(nofit.loadings.index)[:2] == ["V1", "V2"]


def test_one_factor_and_no_rotation(data):
    x, _ = data["hs"]
    ref = REF["hs"]["fits"]["minres_1factor"]
    res = efa(x, 1, rotation="oblimin")
    assert res.rotation == "none"
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["loadings"]["data"], atol=1e-10)


@pytest.mark.parametrize("method", ["minres", "ml"])
def test_exact_optimum_option(data, method):
    """exact=True iterates past psych's stopping point: ~1e-6 away, never more than 1e-4."""
    x, k = data["bfi"]
    psychlike = _quiet(efa, x, k, method=method)
    exact = _quiet(efa, x, k, method=method, exact=True)
    diff = np.abs(exact.loadings.to_numpy() - psychlike.loadings.to_numpy()).max()
    assert 0 < diff < 1e-4 and exact.converged


# ------------------------------------------------------------------ bad input
def test_too_few_items_for_factors(data):
    x, _ = data["hs"]
    with pytest.raises(DataError, match=r"3 common factor\(s\) need at least 6 items"):
        efa(x[["x1", "x2", "x3", "x4", "x5"]], 3)
    with pytest.raises(DataError, match="at most 3"):
        efa(x[["x1", "x2", "x3"]], 4, method="principal")
    with pytest.raises(DataError, match="at least 3 are needed"):
        efa(x[["x1", "x2"]], 1)


def test_n_not_above_items(data):
    x, _ = data["hs"]
    with pytest.raises(DataError, match="not more than the 9 items"):
        efa(x.iloc[:9], 1)
    with pytest.raises(DataError, match="n_obs = 5"):
        efa(corr=x.corr(), n_obs=5, n_factors=1)


def test_bad_columns_and_arguments(data):
    x, _ = data["hs"]
    with pytest.raises(DataError, match="not numeric"):
        efa(x.assign(school="a"), 2)
    with pytest.raises(DataError, match="no variance"):
        efa(x.assign(c=1.0), 2)
    with pytest.raises(DataError, match="method must be"):
        efa(x, 2, method="wls")
    with pytest.raises(DataError, match="rotation must be"):
        efa(x, 2, rotation="bifactor")
    with pytest.raises(DataError, match="n_factors"):
        efa(x, 0)


def test_not_positive_definite_is_smoothed():
    ref = REF["cor_smooth"]
    npd = pd.DataFrame(ref["input"]["data"], index=list("abc"), columns=list("abc"))
    # three items: one factor; the smoothed matrix equals psych::cor.smooth
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = efa(corr=npd, n_obs=100, n_factors=1, method="pa")
    npd_warnings = [w for w in caught if issubclass(w.category, NotPositiveDefiniteWarning)]
    assert npd_warnings and "cor.smooth" in str(npd_warnings[0].message)
    assert any(d.category == "NotPositiveDefiniteWarning" for d in res.diagnostics)
    from psychometrics.efa._input import cor_smooth
    sm, changed = cor_smooth(npd.to_numpy())
    assert changed
    np.testing.assert_allclose(sm, ref["smoothed"]["data"], atol=1e-10)


def test_heywood_case_recorded():
    # x1 correlates so strongly with x2 and x3 that its communality must hit the bound
    r = np.array([[1, .95, .95, .3, .3, .3],
                  [.95, 1, .9, .3, .3, .3],
                  [.95, .9, 1, .3, .3, .3],
                  [.3, .3, .3, 1, .5, .5],
                  [.3, .3, .3, .5, 1, .5],
                  [.3, .3, .3, .5, .5, 1]])
    names = [f"i{j}" for j in range(1, 7)]
    with pytest.warns(HeywoodCaseWarning, match="i1"):
        res = efa(corr=pd.DataFrame(r, index=names, columns=names), n_obs=200, n_factors=2, method="ml")
    assert "heywood" in set(res.flags["rule"])
    assert "i1" in set(res.item_reduction["item"])


def test_pa_nonconvergence_warns(data):
    x, k = data["bfi"]
    with pytest.warns(ConvergenceWarning, match="max_iter = 2"):
        res = efa(x, k, method="pa", max_iter=2)
    assert not res.converged
    assert any(d.category == "ConvergenceWarning" for d in res.diagnostics)


# ------------------------------------------------------------------ flags
def test_item_flags_rules():
    L = pd.DataFrame({"F1": [.7, .35, .5, .6], "F2": [.1, .1, .45, .05]}, index=["a", "b", "c", "d"])
    h2 = pd.Series([.5, .13, .45, .36], index=L.index)
    flags, assign = item_flags(L, h2, subscales={"a": "S1", "b": "S1", "c": "S2", "d": "S2"})
    got = set(zip(flags["item"], flags["rule"]))
    assert ("b", "low_primary") in got and ("b", "low_communality") in got
    assert ("c", "cross_loading") in got and ("c", "small_gap") in got
    assert ("a", "low_primary") not in got
    # F1 holds a, b (S1) and c, d (S2): tie on count → larger summed loading (S2: 1.1 vs 1.05)
    assert assign["F1"] == "S2"
    assert ("a", "subscale_mismatch") in got and ("b", "subscale_mismatch") in got
    assert all(flags["message"].str.len() > 0)


def test_bfi_subscale_flags_with_mapping(data):
    x, _ = data["bfi"]
    mapping = {i: i[0] for i in BFI_ITEMS}
    res = _quiet(efa, x, 5, subscales=mapping)
    assert sorted(res.factor_subscales.to_list()) == sorted("ACENO")
    mismatched = set(res.flags.loc[res.flags["rule"] == "subscale_mismatch", "item"])
    # the well-known misfits of bfi: none of N1–N3 or C1–C4 mismatch
    assert not mismatched & {"N1", "N2", "N3", "C1", "C2", "C3", "C4"}
    assert res.item_reduction.columns.tolist() == ["item", "primary_factor", "primary_loading", "communality", "n_flags", "rules"]
    assert set(res.item_reduction["item"]) == set(res.flags["item"])


def test_scale_like_object_selects_items_and_subscales(data):
    x, _ = data["bfi"]

    class Item:
        def __init__(self, id, subscale):
            self.id, self.subscale, self.reverse = id, subscale, False

    class FakeScale:
        items = [Item(i, i[0]) for i in BFI_ITEMS if i[0] in "NC"]

    res = _quiet(efa, load_dataset("bfi"), 2, scale=FakeScale())
    assert list(res.loadings.index) == [i for i in BFI_ITEMS if i[0] in "NC"]
    assert sorted(res.factor_subscales.to_list()) == ["C", "N"]


# ------------------------------------------------------------------ retention
from psychometrics.efa import (  # noqa: E402
    empirical_kaiser,
    kaiser,
    map_test,
    parallel_analysis,
    retention_summary,
    scree,
)
from psychometrics.efa.extraction import extract, minres_one_factor_batch, refit_one_factor_at_bound  # noqa: E402
from psychometrics.efa.retention import (  # noqa: E402
    _wishart_correlations,
)


@pytest.mark.parametrize("name", ["hs", "bfi"])
def test_map_matches_psych_vss(data, name):
    x, _ = data[name]
    res = map_test(x)
    np.testing.assert_allclose(res.values.to_numpy(), REF[name]["map"], atol=1e-10)
    assert res.n_factors == int(np.argmin(REF[name]["map"])) + 1
    assert list(res.values.index) == list(range(1, 9))


@pytest.mark.parametrize("name", ["hs", "bfi"])
def test_parallel_analysis_against_psych(data, name):
    x, _ = data[name]
    ref = REF[name]["parallel"]
    n_iter = 300
    res = _quiet(parallel_analysis, x, n_iter=n_iter, seed=11)
    e = res.eigenvalues
    # observed eigenvalues (pc, and fa from psych's one-factor minres) match exactly
    np.testing.assert_allclose(e["observed_pc"], ref["pc_values"], atol=1e-10)
    np.testing.assert_allclose(e["observed_fa"], ref["fa_values"], atol=1e-10)
    # random eigenvalues cannot match R's random numbers: compare the means with R's
    # (500 simulated data sets) within Monte Carlo error. The standard error of the
    # difference uses both standard deviations; |z| < 4.5 keeps the family-wise false
    # alarm rate below ~1e-4 over the 2p comparisons.
    for ours, theirs, sd in [("simulated_pc_mean", "sim_pc_mean", "sim_pc_sd"),
                             ("simulated_fa_mean", "sim_fa_mean", "sim_fa_sd")]:
        se = np.sqrt(np.square(ref[sd]) / ref["n_iter"] + e[ours.replace("mean", "sd")] ** 2 / n_iter)
        z = (e[ours] - np.array(ref[theirs])) / se
        assert np.abs(z).max() < 4.5, (ours, z)
    # the 95 % quantiles agree to Monte Carlo accuracy (a few SDs/√n)
    np.testing.assert_allclose(e["simulated_fa_quantile"], ref["sim_fa_q95"], atol=4 * max(ref["sim_fa_sd"]) / np.sqrt(n_iter) * 2)
    assert res.n_factors == ref["nfact"] and res.n_components == ref["ncomp"]


def test_parallel_analysis_resampled(data):
    x, _ = data["hs"]
    ref = REF["hs"]["parallel"]
    res = _quiet(parallel_analysis, x, n_iter=100, seed=3, resample=True)
    e = res.eigenvalues
    se = np.sqrt(np.square(ref["resampled_pc_sd"]) / ref["n_iter"] + e["simulated_pc_sd"] ** 2 / 100)
    assert np.abs((e["simulated_pc_mean"] - np.array(ref["resampled_pc_mean"])) / se).max() < 4.5
    assert res.resample and res.n_components == ref["ncomp"]
    with pytest.raises(DataError, match="raw data"):
        parallel_analysis(corr=x.corr(), n_obs=301, resample=True)


def test_parallel_analysis_seed_reproducible(data):
    x, _ = data["hs"]
    a = _quiet(parallel_analysis, x, n_iter=50, seed=5, kind="pca")
    b = _quiet(parallel_analysis, x, n_iter=50, seed=5, kind="pca")
    c = _quiet(parallel_analysis, x, n_iter=50, seed=6, kind="pca")
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues)
    assert not np.allclose(a.eigenvalues["simulated_pc_mean"], c.eigenvalues["simulated_pc_mean"])
    assert a.n_factors is None and "observed_fa" not in a.eigenvalues
    fa = _quiet(parallel_analysis, corr=x.corr(), n_obs=301, n_iter=50, seed=5, kind="fa")
    assert fa.n_components is None and fa.n_factors is not None
    with pytest.raises(DataError, match="n_obs"):
        parallel_analysis(corr=x.corr())
    with pytest.raises(DataError, match="kind"):
        parallel_analysis(x, kind="pc")


def test_batched_one_factor_minres_matches_exact_fit():
    """The batched Newton solver reaches minres optima: mostly psych's, never a worse point.

    One-factor fits of pure-noise matrices can have several local minima; where the batched
    solver and the exact (scipy) fit end in different ones, the batched one is not worse.
    """
    from psychometrics.efa.extraction import uls_objective

    rng = np.random.default_rng(7)
    Rs = _wishart_correlations(rng, 500, 8, 12)
    lam, ok = minres_one_factor_batch(Rs)
    h2 = lam**2
    rest = np.where(~ok)[0]
    if rest.size:
        h2[rest], ok2 = refit_one_factor_at_bound(Rs[rest], h2[rest])
    same = 0
    for i in range(len(Rs)):
        exact = extract(Rs[i], 1, "minres", exact=True).communalities
        if np.allclose(h2[i], exact, atol=1e-6):
            same += 1
        else:
            f_batch = uls_objective(np.clip(1 - h2[i], 0.005, 1), Rs[i], 1)[0]
            f_exact = uls_objective(np.clip(1 - exact, 0.005, 1), Rs[i], 1)[0]
            assert f_batch <= f_exact + 1e-6
    assert same >= 0.8 * len(Rs)


def test_wishart_correlations_are_correlation_matrices():
    R = _wishart_correlations(np.random.default_rng(1), 50, 6, 5)
    np.testing.assert_allclose(np.einsum("bii->bi", R), 1.0)
    np.testing.assert_allclose(R, R.transpose(0, 2, 1))
    assert (np.linalg.eigvalsh(R) > 0).all()


def test_kaiser_ekc_scree_and_summary(data):
    x, _ = data["hs"]
    e = np.array(REF["hs"]["parallel"]["pc_values"])
    k = kaiser(x)
    assert k.n_factors == int((e > 1).sum()) and "over-extract" in k.note
    ekc = empirical_kaiser(x)
    p, n = 9, 301
    ref1 = max((1 + np.sqrt(p / n)) ** 2, 1)
    ref2 = max((1 + np.sqrt(p / n)) ** 2 * (p - e[0]) / (p - 1), 1)
    np.testing.assert_allclose(ekc.table["reference"].iloc[:2], [ref1, ref2], rtol=1e-12)
    sc = scree(x)
    np.testing.assert_allclose(sc["eigenvalue"], e, atol=1e-10)
    np.testing.assert_allclose(sc["fa_eigenvalue"], REF["hs"]["parallel"]["fa_values"], atol=1e-10)
    s = _quiet(retention_summary, x, n_iter=100, seed=1)
    assert s.n_factors == 3
    assert s.table.loc["MAP", "n_factors"] == 2
    assert not s.table.loc["Kaiser (eigenvalue > 1)", "used_in_consensus"]
    assert "Number of factors" in s.summary()


def test_efa_with_scale(data):
    from psychometrics.scale import Scale

    scale = Scale.model_validate(dict(
        id="bfi", name="Big Five Inventory", version="1.0.0", construct="Big Five",
        response_format=dict(min=1, max=6),
        subscales=[dict(id=t.lower(), name=t) for t in "ACENO"],
        items=[dict(id=i, text=f"item {i}", subscale=i[0].lower()) for i in BFI_ITEMS]))
    responses = load_dataset("bfi")            # id, items, gender, education, age
    res = _quiet(efa, responses, 5, scale=scale)
    assert list(res.loadings.index) == BFI_ITEMS
    assert sorted(res.factor_subscales.to_list()) == list("aceno")
    ref = REF["bfi"]["fits"]["minres_oblimin"]
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["loadings"]["data"], atol=1e-4)


def test_duplicated_item_is_named_and_smoothed(data):
    x, _ = data["hs"]
    with pytest.warns(NotPositiveDefiniteWarning, match="perfectly correlated items: x1–x10"):
        res = kmo(x.assign(x10=x["x1"]))
    assert 0 < res.overall < 1 and np.isfinite(res.per_item).all()


# issue 16 (sixth session): the batched one-factor minres before its line search re-evaluated only the halved
# trials and dropped the matrices whose 20 trials all failed — its outputs stored from main a3d9cb1
PREVIOUS_MINRES = Path(__file__).parent / "reference" / "efa" / "minres_batch_previous.npz"


@pytest.mark.parametrize("seed,n_obs,p,size", [(4, 50_000, 28, 50), (37, 50_000, 28, 50), (7, 40, 8, 120)])
def test_batched_minres_line_search_equals_the_previous_solver(seed, n_obs, p, size):
    """Issue 16 (sixth session): the line search evaluates a trial again only for the matrices whose step was halved,
    and a matrix none of whose 20 trials decreased f leaves the iterations (nothing of it changed, so every later
    iteration would repeat them) — bit for bit the previous solver's loadings and flags, on batches with such a
    matrix (seeds 4 and 37 at 50,000 rows: a loading at the bound) and on small noisy ones.

    Bit for bit on the machine that stored the outputs. OpenBLAS picks its kernels by CPU, so on another the
    simulated matrices and the solver's products differ in their last bits: the loadings are compared to 1e-9
    (seen: ≤ 2.2e-11 on an AVX2 machine against the AVX-512 one's), the flags exactly."""
    Rs = _wishart_correlations(np.random.default_rng(seed), n_obs, p, size)
    with np.load(PREVIOUS_MINRES) as ref:  # (tests/reference/efa/minres_batch_previous.json: how it was made)
        for start, tag in ((None, ""), (np.full(p, 0.3), "_start")):
            lam, ok = minres_one_factor_batch(Rs, start)
            assert np.array_equal(ok, ref[f"s{seed}_ok{tag}"])
            np.testing.assert_allclose(lam, ref[f"s{seed}_lam{tag}"], rtol=0, atol=1e-9)
