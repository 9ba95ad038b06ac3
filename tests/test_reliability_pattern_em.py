"""FIML moments of item subsets from one grouping of the rows (``reliability/_pattern_em.py``, issue 16)
and the one-pass variance pre-check of ``reliability/prepare.py``.

Reference: the row-by-row path they replace (``pattern_groups`` + ``em_normal`` on the subset's rows,
``check_variance``) — independent implementations of the same sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psychometrics.data.missing import em_normal
from psychometrics.data.patterns import pattern_groups
from psychometrics.exceptions import DataError
from psychometrics.reliability import _pattern_em, scale_reliability
from psychometrics.reliability import scale as scale_mod
from psychometrics.reliability._pattern_em import PatternMoments, em_from_moments
from psychometrics.reliability.prepare import _check_variance
from psychometrics._validation import check_variance


def _likert(n: int, p: int, miss: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(3 + f + rng.normal(size=(n, p))), 1, 5)
    x[rng.random((n, p)) < miss] = np.nan
    return x


@pytest.mark.parametrize("cols", [[0, 1, 2], [3, 5, 7, 9], list(range(10))])
def test_subset_sums_equal_the_rows_of_the_subset(cols):
    x = _likert(3000, 10, 0.12)
    x[5] = np.nan  # a row without any answer
    sub = x[:, cols]
    sub = sub[~np.isnan(sub).all(axis=1)]
    pg = pattern_groups(~np.isnan(sub))
    pats, counts, s1, s2 = PatternMoments(x).subset(np.array(cols))
    assert np.array_equal(pats, pg.patterns) and np.array_equal(counts, pg.counts)
    for j in range(len(counts)):
        o = np.flatnonzero(pg.patterns[j])
        Y = sub[np.ix_(pg.rows(j), o)]
        assert np.array_equal(s1[j, o], Y.sum(axis=0)) and np.array_equal(s2[j][np.ix_(o, o)], Y.T @ Y)  # exact
        m = ~pg.patterns[j]  # zeros where the pattern misses an item
        assert not s1[j, m].any() and not s2[j][m].any() and not s2[j][:, m].any()


def test_em_from_moments_is_em_normal():
    x = _likert(4000, 10, 0.15, seed=1)
    m = PatternMoments(x)
    # more than 64 patterns: em_normal's batched iteration on the same numbers, bit for bit
    pats, counts, s1, s2 = m.subset(np.arange(10))
    assert len(counts) > 64
    mu, sig, it = em_from_moments(pats, counts, s1, s2, tol=1e-10, max_iter=20_000)
    mu0, sig0, it0 = em_normal(x, tol=1e-10, max_iter=20_000)
    assert it == it0 and np.array_equal(mu, mu0) and np.array_equal(sig, sig0)
    # at most 64 patterns: em_normal starts from the rows' nanmean and runs per pattern — the same fixed point
    cols = np.array([0, 2, 4, 6])
    pats, counts, s1, s2 = m.subset(cols)
    assert len(counts) <= 64
    mu, sig, _ = em_from_moments(pats, counts, s1, s2, tol=1e-12, max_iter=20_000)
    sub = x[:, cols]
    mu0, sig0, _ = em_normal(sub[~np.isnan(sub).all(axis=1)], tol=1e-12, max_iter=20_000)
    np.testing.assert_allclose(mu, mu0, rtol=1e-10)
    np.testing.assert_allclose(sig, sig0, rtol=1e-10)


def test_build_only_for_whole_numbers_above_the_threshold(monkeypatch):
    x = _likert(600, 5, 0.1)
    assert PatternMoments.build(x) is None  # below SHARED_MIN_ROWS
    monkeypatch.setattr(_pattern_em, "SHARED_MIN_ROWS", 100)
    assert PatternMoments.build(x) is not None
    assert PatternMoments.build(x + 0.5) is None  # not whole numbers: each score uses its rows


def test_scale_reliability_with_shared_patterns_equals_per_score_em(monkeypatch):
    x = _likert(1500, 9, 0.1, seed=2)
    frame = pd.DataFrame(x, columns=[f"i{j}" for j in range(9)])
    spec = {"a": ["i0", "i1", "i2"], "b": ["i3", "i4", "i5"], "c": ["i6", "i7", "i8"]}
    kw = dict(missing="fiml", n_boot=50, seed=3, progress=False)
    before = scale_reliability(frame, spec, **kw).table
    monkeypatch.setattr(scale_mod, "SHARED_MIN_ROWS", 100)
    monkeypatch.setattr(_pattern_em, "SHARED_MIN_ROWS", 100)
    calls = []
    real = _pattern_em.em_from_moments
    monkeypatch.setattr(_pattern_em, "em_from_moments", lambda *a, **k: calls.append(1) or real(*a, **k))
    after = scale_reliability(frame, spec, **kw).table
    assert len(calls) == 4  # three subscales and the total, all from the shared sums
    pd.testing.assert_frame_equal(after, before, rtol=1e-9, atol=0)


def test_variance_precheck_same_verdict_and_message():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, size=(20_000, 4)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    _check_variance(x, list("abcd"), "reliability", "in the rows used")  # varies: no error
    x[:, 2] = np.where(np.isnan(x[:, 2]), np.nan, 3.0)
    with pytest.raises(DataError) as fast:
        _check_variance(x, list("abcd"), "reliability", "in the rows used")
    with pytest.raises(DataError) as exact:
        check_variance(x, list("abcd"), "reliability", "in the rows used")
    assert str(fast.value) == str(exact.value)


def test_item_sums_equal_the_columns():
    x = _likert(2000, 6, 0.2, seed=4)
    cnt, s1, s2, top = PatternMoments(x).item_sums(np.array([1, 4]))
    sub = x[:, [1, 4]]
    assert np.array_equal(cnt, (~np.isnan(sub)).sum(axis=0)) and top == np.nanmax(sub)
    assert np.array_equal(s1, np.nansum(sub, axis=0)) and np.array_equal(s2, np.nansum(sub ** 2, axis=0))


def test_pair_counts_and_drawn_rows_equal_the_previous_computation(monkeypatch):
    """_bootstrap.pair_counts = pairwise_moments' counts; moment_draws gathers only the drawn complete
    rows — the same draws as gathering every complete row first (the previous code, inlined here)."""
    from psychometrics import _bootstrap as bs

    x = _likert(900, 5, 0.1, seed=5)
    assert np.array_equal(bs.pair_counts(x), bs.pairwise_moments(x)[1])
    cov, mm = bs.pairwise_moments(x)
    got = np.concatenate([c for _, c in bs.moment_draws(x, cov, mm, 40, 7, m_max=300)])
    rng = np.random.default_rng(7)
    xc = x[~np.isnan(x).any(axis=1)]
    xc = xc[np.sort(rng.choice(xc.shape[0], 300, replace=False))]
    d = xc - xc.mean(axis=0)
    iu = np.triu_indices(5)
    w, v = np.linalg.eigh(np.cov(d[:, iu[0]] * d[:, iu[1]], rowvar=False))
    e = (rng.standard_normal((40, iu[0].size)) @ (v * np.sqrt(np.clip(w, 0, None))).T) * (1.0 / np.sqrt(mm[iu]))
    ref = np.repeat(cov[None], 40, axis=0)
    ref[:, iu[0], iu[1]] += e
    off = iu[0] != iu[1]
    ref[:, iu[1][off], iu[0][off]] += e[:, off]
    assert np.array_equal(got, ref)
    # the complete rows from pair_counts' pass (issue 16) give the same draws
    mm2, complete = bs.pair_counts(x, complete=True)
    assert np.array_equal(mm2, mm) and np.array_equal(complete, np.flatnonzero(~np.isnan(x).any(axis=1)))
    got2 = np.concatenate([c for _, c in bs.moment_draws(x, cov, mm, 40, 7, m_max=300, complete_rows=complete)])
    assert np.array_equal(got2, ref)


def test_pattern_sums_and_answering_rows_equal_the_per_pattern_rows():
    """The incomplete patterns' sums from one chunked gather (issue 16) equal each pattern's own rows,
    bit for bit (integer sums), with and without an all-missing row; ``answering`` counts the rows
    with an answer among the chosen items exactly."""
    x = _likert(3000, 6, 0.15, seed=3)
    x[7] = np.nan  # a row without any answer
    pm = PatternMoments(x)
    pg = pattern_groups(~np.isnan(x))
    for j in range(len(pg.counts)):
        o = np.flatnonzero(pg.patterns[j])
        Y = np.nan_to_num(x[pg.rows(j)])
        if pg.patterns[j].all():
            continue  # the complete rows' sums are all rows' minus the others' (checked by the subset test)
        assert np.array_equal(pm.s1[j], Y.sum(axis=0))
        assert np.array_equal(pm.s2[j], Y.T @ Y)
        assert not pm.s1[j][np.setdiff1d(np.arange(6), o)].any()
    for cols in ([0], [1, 4], [0, 1, 2, 3, 4, 5]):
        assert pm.answering(np.array(cols)) == int((~np.isnan(x[:, cols])).any(axis=1).sum())
