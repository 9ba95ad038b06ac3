"""Distinct response patterns with counts (issue 16): the large-n path of the IRT step's statistics
after a calibration — S-X², LD, M2/C2 and ordinal DIF on the distinct (pattern[, group]) rows with
frequency weights equal the row-wise statistics (exactly where the statistic is a function of
integer counts; to 1e-12 relative where a weighted sum replaces a sum over rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.irt import calibrate, eap_scores
from psychometrics.irt.dif import ordinal_logistic_dif
from psychometrics.irt.fit import item_fit, local_dependence
from psychometrics.irt.m2 import limited_information_fit
from psychometrics.irt.patterns import distinct_patterns
from psychometrics.irt.simulate import simulate_responses


@pytest.fixture(scope="module")
def sim():
    rng = np.random.default_rng(11)
    a = rng.uniform(0.9, 2.0, 5)
    b = np.sort(rng.normal(0, 0.6, (5, 2)) + np.array([-0.8, 0.8]), axis=1)
    data = simulate_responses(a, -a[:, None] * b, 2500, seed=12).astype(float) + 1.0  # values 1..3
    data.iloc[::37, 2] = np.nan
    data.iloc[5] = np.nan  # a row without any answer
    group = pd.Series(np.where(np.random.default_rng(13).random(len(data)) < 0.4, "b", "a"), index=data.index)
    group.iloc[0] = "c"  # a third, tiny group
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data, group, calibrate(data)


def test_patterns_counts_and_eap(sim):
    data, _, cal = sim
    d = distinct_patterns(cal, data)
    assert d.counts.sum() == len(data) and d.n_rows == len(data)
    assert d.frame.shape[0] < len(data) / 5
    eap = eap_scores(cal, data)["theta"].to_numpy()
    # every row's EAP θ̂ is its pattern's
    key = data.fillna(-1).to_numpy() @ (10.0 ** np.arange(data.shape[1]))
    dkey = d.frame.fillna(-1).to_numpy() @ (10.0 ** np.arange(data.shape[1]))
    lookup = dict(zip(dkey, d.theta.to_numpy()))
    np.testing.assert_allclose([lookup[k] for k in key], eap, rtol=1e-12, equal_nan=True)


def test_patterns_by_group_keep_the_first_appearance_order(sim):
    data, group, cal = sim
    d = distinct_patterns(cal, data, group)
    assert d.counts.sum() == len(data)
    assert list(pd.unique(d.group)) == list(pd.unique(group))
    per_group = pd.Series(d.counts).groupby(d.group.to_numpy()).sum()
    assert per_group.to_dict() == group.value_counts().astype(float).to_dict()


def test_group_labels_factorized_once_in_the_step_scope(sim):
    """issue 16: within the IRT step's shared coding scope a grouping is factorized once for every subscale's
    (pattern, group) counts, and a subscale's distinct patterns and their θ̂ are computed once for its counts
    with and without groups; the patterns, counts, θ̂ and groups are those computed outside the scope."""
    from psychometrics.irt import patterns as patterns_mod
    from psychometrics.irt._data import shared_category_codes

    data, group, cal = sim
    ref = distinct_patterns(cal, data, group)
    calls = []
    real = pd.factorize

    def counting(values, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append(np.asarray(values).dtype.kind in "iu")  # the (pattern, group) keys are integers
        return real(values, **kw)

    with shared_category_codes():
        patterns_mod.pd.factorize = counting
        try:
            got = [distinct_patterns(cal, data, group) for _ in range(3)]
            plain = [distinct_patterns(cal, data) for _ in range(2)]  # (patterns and θ̂ from the scope's)
        finally:
            patterns_mod.pd.factorize = real
    assert calls.count(False) == 1 and calls.count(True) == 3  # the labels once, the keys each time
    ref_plain = distinct_patterns(cal, data)
    for d in plain:
        pd.testing.assert_frame_equal(d.frame, ref_plain.frame)
        np.testing.assert_array_equal(d.counts, ref_plain.counts)
        pd.testing.assert_series_equal(d.theta, ref_plain.theta)
    for d in got:
        pd.testing.assert_frame_equal(d.frame, ref.frame)
        np.testing.assert_array_equal(d.counts, ref.counts)
        pd.testing.assert_series_equal(d.theta, ref.theta)
        pd.testing.assert_series_equal(d.group, ref.group)


def test_item_fit_on_patterns_equals_rows(sim):
    data, _, cal = sim
    d = distinct_patterns(cal, data)
    pd.testing.assert_frame_equal(item_fit(cal, d.frame, weights=d.counts), item_fit(cal, data), check_exact=True)


def test_local_dependence_on_patterns_equals_rows(sim):
    data, _, cal = sim
    d = distinct_patterns(cal, data)
    fast, rows = local_dependence(cal, d.frame, weights=d.counts), local_dependence(cal, data)
    pd.testing.assert_frame_equal(fast.drop(columns=["q3", "q3_star"]), rows.drop(columns=["q3", "q3_star"]),
                                  check_exact=True)
    np.testing.assert_allclose(fast[["q3", "q3_star"]], rows[["q3", "q3_star"]], rtol=1e-10, atol=1e-13)


def test_m2_on_patterns_equals_rows(sim):
    data, _, cal = sim
    d = distinct_patterns(cal, data)
    fast, rows = limited_information_fit(cal, d.frame, weights=d.counts), limited_information_fit(cal, data)
    assert fast["n"] == rows["n"] and fast["df"] == rows["df"]
    for key in ("statistic", "p", "rmsea2"):
        assert fast[key] == pytest.approx(rows[key], rel=1e-10)


def test_ordinal_dif_on_pattern_group_rows_equals_rows(sim):
    """θ̂ is a function of the pattern, so the fits see the same distinct (answer, θ̂, group) rows with
    the same counts in the same order: every number identical."""
    data, group, cal = sim
    d = distinct_patterns(cal, data, group)
    theta = eap_scores(cal, data)["theta"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = ordinal_logistic_dif(data, group, theta)
        fast = ordinal_logistic_dif(d.frame, d.group, d.theta, weights=d.counts)
    pd.testing.assert_frame_equal(fast, rows, check_exact=True)


def test_local_dependence_with_the_patterns_eap_equals_its_own(sim):
    """issue 16 (fifth session): the IRT step passes its distinct patterns' EAP θ̂ to the LD statistics, which
    otherwise score the same patterns again: the same table, bit for bit (the all-missing pattern included)."""
    data, _, cal = sim
    d = distinct_patterns(cal, data)
    own = local_dependence(cal, d.frame, weights=d.counts)
    given = local_dependence(cal, d.frame, weights=d.counts, theta=d.theta.to_numpy())
    pd.testing.assert_frame_equal(given, own, check_exact=True)
