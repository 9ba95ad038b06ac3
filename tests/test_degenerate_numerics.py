"""Degenerate numerics give our own error or a recorded warning naming the items (issue 14, class 5).

On main before issue 14, ``cronbach_alpha`` on identical columns raised a bare
``ZeroDivisionError`` (or returned a signal/noise ratio of −1.35e16 without a word),
``split_half`` on reversed copies raised ``ZeroDivisionError`` and a non-numeric ``ci``
a ``TypeError``. The sweep at the end calls the public estimators on singular,
collinear, constant, empty and tiny inputs: the only exceptions allowed are the
package's own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError, PsychometricsError, ReliabilityWarning
from psychometrics.reliability import cronbach_alpha, split_half


@pytest.mark.parametrize("x", [[1, 2] * 10, [1, 2, 3, 4] * 5, [1, 5, 3, 2, 4] * 4])
def test_alpha_on_identical_columns_warns_naming_the_items(x):
    df = pd.DataFrame({"a": x, "b": x, "c": x})
    with pytest.warns(ReliabilityWarning, match="items a, b, c correlate perfectly"):
        r = cronbach_alpha(df)
    assert r.alpha == pytest.approx(1.0)
    assert r.signal_noise == np.inf  # k r̄/(1 − r̄) with r̄ = 1: infinite, not a huge negative number
    assert any("correlate perfectly" in d.message for d in r.diagnostics)


def test_split_half_of_reversed_copies_is_nan_with_a_diagnostic():
    x = np.array([1, 5, 3, 2, 4] * 4)
    df = pd.DataFrame({"a": x, "b": 6 - x, "c": x, "d": 6 - x})
    with pytest.warns(ReliabilityWarning, match=r"odd–even split \(a, c vs b, d\)"):
        r = split_half(df)
    assert np.isnan(r.spearman_brown)
    assert any("Spearman–Brown coefficient is undefined" in d.message for d in r.diagnostics)


def test_confidence_level_of_the_wrong_type_is_a_data_error():
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5] * 4, "b": [2, 1, 3, 5, 4] * 4, "c": [1, 3, 2, 4, 5] * 4})
    with pytest.raises(DataError, match="confidence level"):
        cronbach_alpha(df, ci="bootstrap")


# ------------------------------------------------------------------ the sweep
def _cases() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    n = 60
    f = rng.normal(size=n)
    good = pd.DataFrame({f"x{i}": np.clip(np.round(3 + f + rng.normal(size=n)), 1, 5) for i in range(6)})
    return {
        "identical": pd.DataFrame({c: good["x0"] for c in ("a", "b", "c")}),
        "identical_among_others": good.assign(x1=good["x0"], x2=good["x0"]),
        "constant_item": good.assign(x1=3.0),
        "all_constant": pd.DataFrame(3.0, index=range(n), columns=["a", "b", "c"]),
        "empty_item": good.assign(x1=np.nan),
        "two_rows": good.iloc[:2],
        "no_rows": good.iloc[:0],
        "one_item": good[["x0"]],
        "reversed_copies": pd.DataFrame({"a": good["x0"], "b": 6 - good["x0"], "c": good["x0"], "d": 6 - good["x0"]}),
        "collinear": good.assign(x5=good["x0"] + good["x1"] - 3),
    }


def _functions():
    import psychometrics.efa as E
    import psychometrics.items as I
    import psychometrics.ordinal as O
    import psychometrics.reliability as R
    import psychometrics.scoring as S
    import psychometrics.validity as V
    from psychometrics.cfa import fit_cfa

    def halves(d):
        k = max(len(d.columns) // 2, 1)
        return {"f1": list(d.columns[:k]), "f2": list(d.columns[k:]) or list(d.columns[:k])}

    return {
        "cronbach_alpha": R.cronbach_alpha,
        "cronbach_alpha_bootstrap": lambda d: R.cronbach_alpha(d, method="bootstrap", n_boot=20, seed=0),
        "omega": R.omega,
        "guttman": R.guttman,
        "split_half": R.split_half,
        "standard_error_of_measurement": R.standard_error_of_measurement,
        "item_analysis": I.item_analysis,
        "kmo": E.kmo,
        "bartlett": E.bartlett,
        "efa": lambda d: E.efa(d, n_factors=1),
        "map_test": E.map_test,
        "empirical_kaiser": E.empirical_kaiser,
        "polychoric": O.polychoric,
        "ordinal_alpha": O.ordinal_alpha,
        "htmt": lambda d: V.htmt(d, halves(d)),
        "correlate": lambda d: V.correlate(d.iloc[:, 0], d.iloc[:, -1]),
        "coefficient_alpha": S.coefficient_alpha,
        "fit_cfa": lambda d: fit_cfa("f =~ " + " + ".join(d.columns), d),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_public_estimators_raise_only_typed_errors(case):
    df = _cases()[case]
    bad = []
    for name, fn in _functions().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fn(df)
            except PsychometricsError:
                pass
            except Exception as exc:  # noqa: BLE001 - what the test looks for
                bad.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not bad, bad
