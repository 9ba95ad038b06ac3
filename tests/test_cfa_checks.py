"""Input errors and estimation diagnostics of psychometrics.cfa.fit_cfa."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import fit_cfa
from psychometrics.cfa import fit_indices as fi
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    IdentificationError,
    IdentificationWarning,
    ModelSyntaxError,
)

HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def test_missing_columns_and_non_numeric_items(hs):
    with pytest.raises(DataError, match="'x10' are not columns"):
        fit_cfa("f =~ x1 + x2 + x10", hs)
    bad = hs.assign(x2=hs["x2"].astype(str))
    with pytest.raises(DataError, match="item 'x2' is not numeric"):
        fit_cfa(HS3, bad)


def test_group_errors_name_the_group_and_item(hs):
    with pytest.raises(DataError, match="'nope' is not a column"):
        fit_cfa(HS3, hs, group="nope")
    one = hs.assign(school="Pasteur")
    with pytest.raises(DataError, match="single group \\('Pasteur'\\)"):
        fit_cfa(HS3, one, group="school")
    na = hs.copy()
    na.loc[[3, 7], "school"] = None
    with pytest.raises(DataError, match="missing in 2 row\\(s\\) \\(index 3, 7\\)"):
        fit_cfa(HS3, na, group="school")
    const = hs.copy()
    const.loc[const.school == "Grant-White", "x4"] = 3.0
    with pytest.raises(DataError, match="'x4' have zero variance in group 'Grant-White'"):
        fit_cfa(HS3, const, group="school")
    small = pd.concat([hs[hs.school == "Pasteur"], hs[hs.school == "Grant-White"].head(6)])
    with pytest.raises(DataError, match="6 complete rows in group 'Grant-White' but 9 items"):
        fit_cfa(HS3, small, group="school")


def test_unsupported_options(hs):
    with pytest.raises(ModelSyntaxError, match="estimator='GLS' is not supported"):
        fit_cfa(HS3, hs, estimator="GLS")
    with pytest.raises(DataError, match="non-integer values"):  # WLSMV is for ordinal items
        fit_cfa(HS3, hs, estimator="WLSMV")
    with pytest.raises(DataError, match="missing='pairwise' is not supported for ML"):
        fit_cfa(HS3, hs, missing="pairwise")


def test_negative_df_is_an_error_zero_df_a_warning(hs):
    with pytest.raises(IdentificationError, match="df = -2"):
        fit_cfa("f =~ x1 + x2\ng =~ x3 + x1", hs)
    with pytest.warns(IdentificationWarning, match="0 degrees of freedom"):
        res = fit_cfa("f =~ x1 + x2 + x3", hs)
    assert res.fit["df"] == 0 and res.fit["chisq"] == pytest.approx(0, abs=1e-8)
    assert np.isnan(res.fit["pvalue"]) and res.fit["rmsea"] == 0


def test_single_indicator_factor_is_flagged(hs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_cfa(HS3 + "\nlone =~ x1", hs.assign(x1=hs["x1"]))
    msgs = [str(w.message) for w in caught if issubclass(w.category, IdentificationWarning)]
    assert any("factor 'lone' has a single indicator ('x1')" in m for m in msgs)
    assert any(d.category == "IdentificationWarning" for d in res.diagnostics)


def test_non_convergence_is_reported(hs):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = fit_cfa(HS3, hs, max_iter=1)
    assert not res.converged


def test_equality_labels_fit(hs):
    res = fit_cfa("visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", hs)
    e = res.estimates
    assert e.loc[(e.op == "=~") & (e.label == "a"), "est"].nunique() == 1
    assert res.fit["df"] == 25


# ------------------------------------------------------------------ pure fit-index functions
def test_fit_index_functions_edge_cases():
    assert fi.cfi(10, 20, 500, 36) == 1.0  # χ² < df
    assert fi.tli(10, 0, 500, 36) == 1.0
    assert fi.rmsea(10, 20, 300) == 0.0
    assert fi.rmsea_ci(10, 20, 300) == (0.0, pytest.approx(0.0, abs=1e-12)) or fi.rmsea_ci(10, 20, 300)[0] == 0
    assert np.isnan(fi.rmsea_pvalue(5, 0, 300))
    # two groups: lavaan multiplies by sqrt(G)
    assert fi.rmsea(120, 48, 301, G=2) == pytest.approx(np.sqrt((120 / 48 - 1) / 301) * np.sqrt(2))
    ic = fi.information_criteria(-100.0, 5, 50)
    assert ic["aic"] == 210 and ic["bic"] == pytest.approx(200 + 5 * np.log(50))


def test_empirical_underidentification_names_the_parameters(hs):
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5\nspeed =~ x7 + x8 + x9\ntextual ~~ 0*visual\ntextual ~~ 0*speed"
    with pytest.warns(IdentificationWarning, match="information matrix is singular.*'textual =~ x5'"):
        res = fit_cfa(model, hs)
    assert res.estimates.loc[res.estimates.free, "se"].isna().all()


def test_fit_from_sample_moments_equals_fit_from_data(hs):
    items = [f"x{i}" for i in range(1, 10)]
    ref = fit_cfa(HS3, hs)
    res = fit_cfa(HS3, sample_cov=hs[items].cov(), sample_nobs=len(hs))
    assert res.fit["chisq"] == pytest.approx(ref.fit["chisq"], rel=1e-10)
    np.testing.assert_allclose(res.estimates["se"], ref.estimates["se"], rtol=1e-8)
    by = {g: d[items] for g, d in hs.groupby("school", sort=False)}
    mg_ref = fit_cfa(HS3, hs, group="school", group_equal=["loadings", "intercepts"])
    mg = fit_cfa(HS3, sample_cov={g: d.cov() for g, d in by.items()}, sample_mean={g: d.mean() for g, d in by.items()},
                 sample_nobs={g: len(d) for g, d in by.items()}, group_equal=["loadings", "intercepts"])
    assert mg.groups == mg_ref.groups
    assert mg.fit["chisq"] == pytest.approx(mg_ref.fit["chisq"], rel=1e-10)
    with pytest.raises(DataError, match="needs sample_mean"):
        fit_cfa(HS3, sample_cov={g: d.cov() for g, d in by.items()}, sample_nobs={g: len(d) for g, d in by.items()})
    with pytest.raises(DataError, match="lacks model variable\\(s\\) 'x9'"):
        fit_cfa(HS3, sample_cov=hs[items[:-1]].cov(), sample_nobs=301)
    with pytest.raises(DataError, match="either data or sample_cov"):
        fit_cfa(HS3, hs, sample_cov=hs[items].cov(), sample_nobs=301)
    with pytest.raises(DataError, match="sample_nobs must be an integer"):
        fit_cfa(HS3, sample_cov=hs[items].cov())


def test_compare_input_checks(hs):
    from psychometrics.cfa import compare

    a = fit_cfa(HS3, hs)
    with pytest.raises(DataError, match="at least two fitted models"):
        compare(a)
    b = fit_cfa(HS3, hs.iloc[:200])
    with pytest.raises(DataError, match="fitted to different data"):
        compare(a, b)
    c = fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", hs)
    with pytest.raises(DataError, match="different items"):
        compare(a, c)
    with pytest.warns(IdentificationWarning, match="same df"):
        compare(a, fit_cfa(HS3, hs, std_lv=True))


def test_factors_loading_on_each_other_in_a_loop_are_an_error(hs):
    # non-recursive: (I − B) is singular at the start values (both loadings 1)
    loop = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual =~ textual\ntextual =~ visual"
    with pytest.raises(ModelSyntaxError, match="line 4: the factors visual =~ textual =~ visual load on each other"):
        fit_cfa(loop, hs)
    # a higher-order factor is fine, and a loading fixed to 0 is no loop
    fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\ng =~ visual + textual + speed", hs)
    fit_cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual =~ textual\ntextual =~ 0*visual", hs)


def test_singular_i_minus_b_is_our_error():
    from psychometrics.cfa.estimation import implied
    from psychometrics.exceptions import EstimationError

    mats = {"lambda": np.eye(2), "beta": np.array([[0.0, 1.0], [1.0, 0.0]]), "psi": np.eye(2),
            "theta": np.eye(2), "nu": np.zeros(2), "alpha": np.zeros(2)}
    with pytest.raises(EstimationError, match=r"\(I − B\) is singular.*factors no. 1, 2"):
        implied(mats)


def test_nonpositive_sampling_variance_is_nan_and_named(hs):
    """A free parameter never gets SE 0 / a zero-width CI: V_ii ≤ 0 gives NaN (lavaan: NA) and a diagnostic."""
    from psychometrics.cfa._tables import parameter_table, record_nonpositive_sampling_variances
    from psychometrics.exceptions import NotPositiveDefiniteWarning

    res = fit_cfa(HS3, hs)
    est = res.estimates
    assert (est.loc[est.free, "se"] > 0).all() and (est.loc[~est.free, "se"] == 0).all()
    engine = res._engine
    V = engine.vcov().copy()
    k = next(p.index for p in engine.spec.parameters if p.free and p.lhs == "visual" and p.rhs == "x2")
    V[k, k] = -1e-6
    tab = parameter_table(engine.spec, engine.model.values(engine.x), V, engine.standardize)
    row = tab[(tab.lhs == "visual") & (tab.rhs == "x2")].iloc[0]
    assert np.isnan(row["se"]) and np.isnan(row["z"]) and np.isnan(row["ci_lower"]) and np.isnan(row["ci_upper"])
    assert row["est"] == pytest.approx(est.loc[(est.lhs == "visual") & (est.rhs == "x2"), "est"].iloc[0])
    diags = []
    with pytest.warns(NotPositiveDefiniteWarning, match="'visual =~ x2': -1e-06"):
        record_nonpositive_sampling_variances(engine.spec, V, diags)
    assert len(diags) == 1 and diags[0].category == "NotPositiveDefiniteWarning"
