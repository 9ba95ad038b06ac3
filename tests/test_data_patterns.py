"""psychometrics.data.patterns: the fast missing-data pattern grouping equals the np.unique
reference (independent implementation: ``np.unique(axis=0)`` sorted by count, then first row)."""

from __future__ import annotations

import numpy as np
import pytest

from psychometrics.data.patterns import pattern_groups, pattern_keys


def _reference(obs: np.ndarray):
    pats, first, inv, cnt = np.unique(obs, axis=0, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -cnt))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return pats[order], cnt[order], rank[inv.ravel()]


@pytest.mark.parametrize("p", [1, 7, 8, 9, 28, 64, 65, 130])
def test_pattern_groups_equal_np_unique(p):
    rng = np.random.default_rng(p)
    obs = rng.random((3000, p)) > rng.uniform(0.0, 0.3, p)  # a few items rarely missing, some often
    obs[::17] = True  # many complete rows
    pg = pattern_groups(obs)
    pats, cnt, idx = _reference(obs)
    np.testing.assert_array_equal(pg.patterns, pats)
    np.testing.assert_array_equal(pg.counts, cnt)
    np.testing.assert_array_equal(pg.row_pattern, idx)
    for j in range(len(cnt)):
        np.testing.assert_array_equal(pg.rows(j), np.flatnonzero(idx == j))  # data order within a pattern
    keys = pattern_keys(obs)
    same = (obs[:, None, :] == obs[None, :50, :]).all(axis=2)[:200]
    np.testing.assert_array_equal(keys[:200, None] == keys[None, :50], same)


def test_pattern_groups_empty():
    pg = pattern_groups(np.zeros((0, 5), bool))
    assert pg.patterns.shape == (0, 5) and pg.counts.size == 0 and pg.bounds.tolist() == [0]


@pytest.mark.parametrize("chunk", [1, 17, 1 << 16])
def test_pattern_sums_equal_per_pattern_sums_of_the_rows(chunk):
    """Σx and Σxxᵀ per pattern (zeros at the missing items) equal the sums over ``X[rows_j][:, o]``:
    bit for bit for whole numbers (integer sums), to 1e-12 relative for continuous answers."""
    from psychometrics.data.patterns import pattern_sums

    rng = np.random.default_rng(chunk)
    ints = rng.integers(1, 6, size=(900, 6)).astype(float)
    ints[rng.random(ints.shape) < 0.15] = np.nan
    cont = ints + rng.normal(size=ints.shape)
    for X, exact in ((ints, True), (cont, False)):
        pg = pattern_groups(~np.isnan(X))
        s1, s2 = pattern_sums(X, pg, chunk=chunk)
        for j, pat in enumerate(pg.patterns):
            o = np.flatnonzero(pat)
            Y = X[np.ix_(pg.rows(j), o)]
            check = np.testing.assert_array_equal if exact else (
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max()))
            check(s1[j][o], Y.sum(axis=0))
            check(s2[j][np.ix_(o, o)], Y.T @ Y)
            assert not s1[j][~pat].any() and not s2[j][~pat].any()


def test_distinct_rows_rebuild_the_matrix_and_decline_what_does_not_pack():
    from psychometrics.data.patterns import distinct_rows

    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, size=(5000, 4)).astype(float)
    x[rng.random(x.shape) < 0.2] = np.nan
    first, inverse = distinct_rows(x, probe=1000)
    np.testing.assert_array_equal(x[first][inverse], x)  # NaN at the same places too (assert_array_equal)
    ref = np.unique(np.nan_to_num(x, nan=-1.0), axis=0)
    assert len(first) == len(ref)
    first2, inverse2 = distinct_rows(x, probe=1000, max_share=1.0)
    np.testing.assert_array_equal(x[first2][inverse2], x)
    y = x.copy()
    y[3, 2] = 1.5  # not a whole number
    assert distinct_rows(y) is None
    assert distinct_rows(rng.integers(1, 6, size=(500, 40)).astype(float)) is None  # 7⁴⁰ > 2⁶²
    assert distinct_rows(rng.normal(size=(500, 3)).round(3) * 1000) is None  # rows hardly repeat
    z = x.copy()
    z[:, 1] = np.nan  # an item without answers: declined
    assert distinct_rows(z) is None


def test_distinct_rows_by_sort_when_the_keys_are_many():
    from psychometrics.data import patterns

    rng = np.random.default_rng(5)
    x = np.repeat(rng.integers(0, 10, size=(300, 8)).astype(float), 5, axis=0)  # 12⁸ keys: sorted, not addressed
    x[::7, 3] = np.nan
    first, inverse = patterns.distinct_rows(x, probe=100)
    np.testing.assert_array_equal(x[first][inverse], x)
    assert len(first) == len(np.unique(np.nan_to_num(x, nan=-1.0), axis=0))
