"""psychometrics.data.careless at scale: the screens computed in row blocks equal their definitions
computed row by row (independent implementations here), whatever the block size — integer counts
exactly, D² and the even–odd coefficient to 1e-10 relative."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from psychometrics.data import careless
from tests.conftest import spy_side_threads


def _data(n: int = 700, k: int = 9, seed: int = 3, share_missing: float = 0.08) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.clip(rng.integers(1, 6, size=(n, 1)) + rng.integers(-1, 2, size=(n, k)), 1, 5).astype(float)
    x[rng.random((n, k)) < share_missing] = np.nan
    x[:60, 2] = np.nan  # one frequent incomplete pattern
    x[5] = np.nan  # a row with no answers
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])


def _longstring_rowwise(x: np.ndarray) -> np.ndarray:
    out = []
    for row in x:
        best = run = 0
        prev = np.nan
        for v in row:
            run = 0 if np.isnan(v) else (run + 1 if v == prev else 1)
            prev = v
            best = max(best, run)
        out.append(best)
    return np.array(out)


@pytest.mark.parametrize("block", [1, 7, 64, 100_000])
def test_longstring_in_blocks_equals_rowwise_definition(monkeypatch, block):
    monkeypatch.setattr(careless, "_BLOCK", block)
    data = _data()
    np.testing.assert_array_equal(careless.longstring(data).to_numpy(), _longstring_rowwise(data.to_numpy()))


@pytest.mark.parametrize("block", [7, 64, 100_000])
def test_mahalanobis_in_blocks_equals_rowwise_definition(monkeypatch, block):
    """Complete rows: mean and covariance of the complete rows (np.cov), D² row by row; incomplete rows
    with at least half the items: the observed sub-vector and sub-matrix. The mean is bit for bit
    (integer sums); D² to 1e-10 relative."""
    monkeypatch.setattr(careless, "_BLOCK", block)
    data = _data()
    x = data.to_numpy()
    obs = ~np.isnan(x)
    complete = obs.all(axis=1)
    xc = x[complete]
    mean, cov = xc.mean(axis=0), np.cov(xc, rowvar=False)
    got_mean, got_cov = careless._complete_moments(x, complete)
    np.testing.assert_array_equal(got_mean, mean)
    np.testing.assert_allclose(got_cov, cov, rtol=1e-12)
    expected = np.full(len(x), np.nan)
    for i in np.flatnonzero(obs.sum(axis=1) >= np.ceil(x.shape[1] / 2)):
        o = obs[i]
        dev = x[i, o] - mean[o]
        expected[i] = dev @ np.linalg.inv(cov[np.ix_(o, o)]) @ dev
    d2, p, dof = careless.mahalanobis(data)
    np.testing.assert_allclose(d2.to_numpy(), expected, rtol=1e-10)
    np.testing.assert_array_equal(np.isnan(p.to_numpy()), np.isnan(expected))
    assert (~complete).sum() > 200


def test_mahalanobis_continuous_answers_agree_to_summation_order(monkeypatch):
    """Non-integer answers: the blocked sums differ from one product by rounding only."""
    monkeypatch.setattr(careless, "_BLOCK", 13)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 5)) + rng.normal(size=(500, 1))
    x[rng.random(x.shape) < 0.05] = np.nan
    complete = ~np.isnan(x).any(axis=1)
    mean, cov = careless._complete_moments(x, complete)
    np.testing.assert_allclose(mean, x[complete].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x[complete], rowvar=False), rtol=1e-12)


@pytest.mark.parametrize("block", [3, 50, 100_000])
def test_evenodd_and_pairs_in_blocks_equal_one_block_and_definition(monkeypatch, block):
    ids = [f"i{j}" for j in range(12)]
    spec = SimpleNamespace(subscale_ids=["a", "b", "c", "d"],
                           items_of=lambda s: ids[3 * "abcd".index(s):3 * "abcd".index(s) + 3])
    rng = np.random.default_rng(8)
    x = rng.integers(1, 6, size=(300, 12)).astype(float)
    x[rng.random(x.shape) < 0.3] = np.nan
    data = pd.DataFrame(x, columns=ids)
    monkeypatch.setattr(careless, "_BLOCK", 10**6)
    eo_one, pairs_one = careless._evenodd_and_pairs(data, spec)
    monkeypatch.setattr(careless, "_BLOCK", block)
    eo, pairs = careless._evenodd_and_pairs(data, spec)
    np.testing.assert_allclose(eo.to_numpy(), eo_one.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(np.isnan(eo.to_numpy()), np.isnan(eo_one.to_numpy()))
    present = ~np.isnan(x)
    expected = sum((present[:, [3 * h, 3 * h + 2]].any(axis=1) & present[:, 3 * h + 1]).astype(int) for h in range(4))
    np.testing.assert_array_equal(pairs.to_numpy(), expected)
    assert careless.evenodd(data, spec).equals(eo) and careless._evenodd_pairs(data, spec).equals(pairs)


def test_mahalanobis_schur_inverses_equal_the_stacked_inverses(monkeypatch):
    """From _SCHUR_ROWS incomplete rows on, S_oo⁻¹ comes from the full inverse (Schur complement):
    D² equal to the stacked-inverse path (used below it) to 1e-10 relative."""
    data = _data(n=1500, k=10, share_missing=0.2)
    monkeypatch.setattr(careless, "_SCHUR_ROWS", 10**9)
    d2_direct = careless.mahalanobis(data)[0].to_numpy()
    monkeypatch.setattr(careless, "_SCHUR_ROWS", 1)
    d2_schur = careless.mahalanobis(data)[0].to_numpy()
    assert np.isnan(d2_schur).sum() == np.isnan(d2_direct).sum() < 100
    np.testing.assert_allclose(d2_schur, d2_direct, rtol=1e-10)


def test_screens_per_distinct_row_equal_the_screens_of_every_row(monkeypatch):
    """From _DISTINCT_ROWS rows on, a measure whose rows repeat gets longstring, D² (x̄ and S from all
    complete rows), its p and df and even–odd once per distinct row: equal to every row's screens
    (integers exactly, D², p and even–odd to 1e-10 relative), flags identical."""
    ids = [f"i{j}" for j in range(6)]
    spec = SimpleNamespace(id="t", subscale_ids=["a", "b", "c"], reverse_items=("i1",),
                           items_of=lambda s: ids[2 * "abc".index(s):2 * "abc".index(s) + 2])
    rng = np.random.default_rng(11)
    x = np.clip(rng.integers(1, 6, size=(3000, 1)) + rng.integers(0, 2, size=(3000, 6)), 1, 5).astype(float)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[7] = np.nan
    scored = pd.DataFrame(x, columns=ids)
    raw = scored.copy()
    raw["i1"] = 6 - raw["i1"]
    direct = careless.careless_screens(raw, scored, spec)
    monkeypatch.setattr(careless, "_DISTINCT_ROWS", 100)
    from psychometrics.data import patterns

    seen = []
    monkeypatch.setattr(careless, "distinct_rows", lambda v: seen.append(patterns.distinct_rows(v)) or seen[-1])
    fast = careless.careless_screens(raw, scored, spec)
    assert seen and seen[0] is not None and len(seen[0][0]) < 1500  # the distinct path was taken
    assert list(fast.columns) == list(direct.columns) and fast.index.equals(direct.index)
    for c in fast.columns:
        a, b = fast[c].to_numpy(), direct[c].to_numpy()
        assert fast[c].dtype == direct[c].dtype, c
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, equal_nan=True, err_msg=c)
        else:
            np.testing.assert_array_equal(a, b, err_msg=c)


def test_chi2_tail_closed_form_equals_chdtrc():
    """From _TAIL_ROWS rows on, D²'s χ² tail is its closed form for whole df ≤ 200 and 0 ≤ D² ≤ 700
    (A&S 26.4.4–5): equal to scipy.special.chdtrc within 1e-12 relative for every df 1…200 over that
    range (measured: 1.7e-13; against 40-digit mpmath values the closed form is the closer); rows
    outside it (negative, above 700, ∞, NaN df, df held by ≤ 1,000 rows, non-whole df) are chdtrc's own
    values exactly."""
    from scipy import special

    x = np.concatenate([np.geomspace(1e-300, 1, 150), np.linspace(0, 700, 1501)])
    for k in range(1, 201):
        dof = np.full(len(x), float(k))
        np.testing.assert_allclose(careless._chi2_tail(dof, x), special.chdtrc(dof, x), rtol=1e-12, atol=0)
    edge = np.array([-1e-12, 700.5, 1e4, np.inf, 3.0, 3.0, 3.0])
    dof = np.array([28.0, 28.0, 28.0, 28.0, np.nan, 2.5, 300.0])
    x = np.concatenate([np.linspace(0, 90, 2000), edge])
    dof = np.concatenate([np.full(2000, 28.0), dof])
    dof[:5] = 27.0  # a df with too few rows: chdtrc
    want = special.chdtrc(np.where(np.isnan(dof), 1.0, dof), x)
    got = careless._chi2_tail(dof, x)
    np.testing.assert_array_equal(got[:5], want[:5])
    np.testing.assert_array_equal(got[-7:], want[-7:])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_screens_with_the_closed_form_tail_equal_chdtrc(monkeypatch):
    """The careless screens with the closed-form χ² tail (threshold lowered) equal those with chdtrc:
    p to 1e-12 relative, every other column and the flags identical."""
    ids = [f"i{j}" for j in range(9)]
    spec = SimpleNamespace(id="t", subscale_ids=["a", "b", "c"], reverse_items=(),
                           items_of=lambda s: ids[3 * "abc".index(s):3 * "abc".index(s) + 3])
    data = _data(n=3000, k=9, share_missing=0.03)
    data.columns = ids
    direct = careless.careless_screens(data, data, spec)
    monkeypatch.setattr(careless, "_TAIL_ROWS", 100)
    fast = careless.careless_screens(data, data, spec)
    for c in fast.columns:
        if c == "mahalanobis_p":
            np.testing.assert_allclose(fast[c].to_numpy(), direct[c].to_numpy(), rtol=1e-12, atol=0)
        else:
            assert fast[c].equals(direct[c]), c


@pytest.mark.parametrize("h", [3, 4, 5, 7, 8, 9])
def test_spearman_brown_column_sums_equal_the_row_reductions_bit_for_bit(h):
    """Below 8 subscales the per-row sums are vector additions on the transposed halves: the
    coefficient equals the one from numpy's per-row reductions bit for bit (sign of zero included),
    with halves missing, rows without variance and exact zeros."""
    rng = np.random.default_rng(h)
    n = 4000
    o = rng.integers(1, 6, (n, h)) / rng.integers(1, 4, (n, h))
    e = rng.integers(1, 6, (n, h)) / rng.integers(1, 4, (n, h))
    o[rng.random(o.shape) < 0.08] = np.nan
    e[rng.random(e.shape) < 0.08] = np.nan
    o[:50] = 2.0  # no variance
    e[50:60] = -0.0
    o[60:70, :] = e[60:70, :]
    mask = ~np.isnan(o) & ~np.isnan(e)
    m = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # the previous code, row reductions
        om = np.where(mask, o, 0).sum(axis=1) / m
        em = np.where(mask, e, 0).sum(axis=1) / m
        do = np.where(mask, o - om[:, None], 0)
        de = np.where(mask, e - em[:, None], 0)
        sxx, syy, sxy = (do * do).sum(1), (de * de).sum(1), (do * de).sum(1)
        r = np.clip(np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan), -1.0, 1.0)
        sb = np.where(r <= -1.0 / 3.0, -1.0, 2 * r / (1 + r))
    want = np.where(m >= 3, sb, np.nan)
    got = careless._spearman_brown_r(o, e)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert np.isfinite(want).sum() > n // 2


def test_screens_with_mahalanobis_on_a_side_thread_equal_in_line(monkeypatch):
    """From ``SIDE_ROWS`` rows (outside a lane, two cores) D² runs on a second thread beside longstring and
    even–odd (``_linalg.side_thread``): every column bit for bit as computed in line."""
    x = _data(n=900)
    ids = list(x.columns)
    spec = SimpleNamespace(id="t", subscale_ids=["a", "b", "c"], reverse_items=("i1",),
                           items_of=lambda s: ids[3 * "abc".index(s):3 * "abc".index(s) + 3])
    raw = x.copy()
    raw["i1"] = 6 - raw["i1"]
    inline = careless.careless_screens(raw, x, spec)
    monkeypatch.setattr(careless, "SIDE_ROWS", 100)
    used = spy_side_threads(monkeypatch, careless)
    side = careless.careless_screens(raw, x, spec)
    assert used == [True]
    pd.testing.assert_frame_equal(side, inline, check_exact=True)
