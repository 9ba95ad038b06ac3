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
