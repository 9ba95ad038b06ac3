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
    with pytest.raises(ModelSyntaxError, match="estimator='WLSMV' is not supported"):
        fit_cfa(HS3, hs, estimator="WLSMV")
    with pytest.raises(DataError, match="missing='fiml' is not supported"):
        fit_cfa(HS3, hs, missing="fiml")


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
