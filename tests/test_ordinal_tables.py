"""The polychoric input at scale (issue 16): bivariate tables by row blocks, margins and pair counts
from the tables, whole-column category codes — each against the direct computation it replaces
(the row-wise one-hot product, ``_thresholds``/``_pair_counts`` and ``_ordinal_codes`` on the answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import DataError
from psychometrics.ordinal import _input, correlations, polychoric


def _data(n=3000, p=6, seed=0, miss=0.1):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(3 + f + rng.normal(size=(n, p))), 1, 5)
    x[rng.random((n, p)) < miss] = np.nan
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(p)])


def test_tables_by_blocks_equal_one_block_and_the_row_counts(monkeypatch):
    data = _data()
    names, X, codes, is_ord, cats, _ = _input.prepare(data, None, "pairwise", 10, [])
    ord_idx = np.arange(len(names))
    K = {j: cats[names[j]].size for j in ord_idx}
    one = correlations._tables(codes, ord_idx, K)
    monkeypatch.setattr(correlations, "_TABLE_BLOCK", 257)  # many blocks and a short last one
    assert np.array_equal(correlations._tables(codes, ord_idx, K), one)
    observed = ~np.isnan(X)
    th, counts, pair_n = correlations._from_tables(one, ord_idx, K, names)
    th0, counts0 = correlations._thresholds(codes, observed, ord_idx, K)
    assert all(np.array_equal(th[j], th0[j]) and np.array_equal(counts[j], counts0[j]) for j in ord_idx)
    assert np.array_equal(pair_n, correlations._pair_counts(observed, names, len(X)))
    # a pair's table from the rows directly
    a, b = 1, 4
    both = observed[:, a] & observed[:, b]
    direct = np.zeros((K[a], K[b]))
    np.add.at(direct, (codes[both, a], codes[both, b]), 1)
    offs = np.concatenate([[0], np.cumsum([K[j] for j in ord_idx])])
    assert np.array_equal(one[offs[a]:offs[a + 1], offs[b]:offs[b + 1]], direct)


def test_polychoric_unchanged_by_the_block_size(monkeypatch):
    data = _data(seed=1)
    before = polychoric(data, missing="pairwise", acov=True)
    monkeypatch.setattr(correlations, "_TABLE_BLOCK", 100)
    after = polychoric(data, missing="pairwise", acov=True)
    pd.testing.assert_frame_equal(after.matrix, before.matrix, check_exact=True)
    pd.testing.assert_frame_equal(after.acov, before.acov, check_exact=True)


@pytest.mark.parametrize("values", [[1, 2, 3, 5, 2, np.nan, 1], [10, 20, 30, np.nan, 20], [-3, -1, -2, -3, np.nan],
                                    [0, 250_000, 5, np.nan]])
def test_whole_column_codes_equal_the_answers_codes(values):
    x = np.array(values, dtype=float)
    ok = ~np.isnan(x)
    d1, d2 = [], []
    got = _input._ordinal_codes_column("v", x, ok, 10, d1)
    levels, c = _input._ordinal_codes("v", x[ok], 10, d2)
    if got is None:  # a wide range of codes: the answers' path
        assert np.ptp(x[ok]) >= 100_000
        return
    assert np.array_equal(got[0], levels)
    assert np.array_equal(got[1][ok], c) and (got[1][~ok] == -1).all()
    assert [d.message for d in d1] == [d.message for d in d2]


def test_whole_column_codes_same_errors():
    x = np.array([1, 2.5, np.nan, 3.25])
    with pytest.raises(DataError, match="non-integer value 2.5"):
        _input._ordinal_codes_column("v", x, ~np.isnan(x), 10, [])
    x = np.array([2, 2, np.nan])
    with pytest.raises(DataError, match="only one observed category"):
        _input._ordinal_codes_column("v", x, ~np.isnan(x), 10, [])


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_group_stats_from_codes_equal_polychoric_of_each_groups_rows(missing):
    """ordinal_sample_stats codes every item once and fits each group from a slice of the codes; the
    reference is the previous path: polychoric() of a frame of each group's recoded answers."""
    from psychometrics.ordinal.group_stats import _from_polychoric, ordinal_sample_stats

    data = _data(n=2400, p=5, seed=3, miss=0.05)
    data["g"] = np.random.default_rng(4).choice(["b", "a", "c"], size=len(data))
    data.loc[data["g"] == "c", "i2"] = data.loc[data["g"] == "c", "i2"].replace(5.0, 4.0)  # 5 empty in group c
    items = [f"i{j}" for j in range(5)]
    diags: list = []
    stats, labels, n_excl = ordinal_sample_stats(data, items, "g", empty_categories="collapse", missing=missing,
                                                 diagnostics=diags)
    assert any("merged into 4" in d.message for d in diags)
    # reference: each group's rows (data order) recoded to 1..K with the merged category, then polychoric()
    x = data[items].copy()
    x["i2"] = x["i2"].replace(5.0, 4.0)
    keep = x.notna().any(axis=1) if missing == "pairwise" else x.notna().all(axis=1)
    assert n_excl == int((~keep).sum())
    for lab, st in zip(labels, stats):
        rows = x[keep & (data["g"] == lab)]
        coded = rows.apply(lambda c: c.map({v: k + 1 for k, v in enumerate(sorted(c.dropna().unique()))}))
        ref = _from_polychoric(polychoric(coded.reset_index(drop=True), ordered=True, acov=True, missing=missing),
                               items)
        assert st.nobs == ref.nobs and np.array_equal(st.cor, ref.cor) and np.array_equal(st.acov, ref.acov)
        assert all(np.array_equal(a, b) for a, b in zip(st.thresholds, ref.thresholds))


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_gamma_diagonal_from_tables_equals_the_full_nacov(missing):
    """acov="diagonal": Γ's diagonal from the bivariate tables = the diagonal of the full row-wise NACOV
    (below NACOV_ROWS, so every row is used) up to summation order; 2-category items included."""
    data = _data(n=2500, p=6, seed=6, miss=0.08)
    data["i5"] = (data["i5"] > 3).astype(float).where(data["i5"].notna())
    full = polychoric(data, missing=missing, acov=True)
    diag = polychoric(data, missing=missing, acov="diagonal")
    assert diag.acov is None
    np.testing.assert_allclose(diag.dwls_weights.to_numpy(), full.dwls_weights.to_numpy(), rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(diag.matrix, full.matrix, check_exact=True)



def test_many_categories_widen_the_codes():
    """Codes are int16 unless an item has more categories than int16 holds; then int64, same codes."""
    rng = np.random.default_rng(8)
    n = 40_000
    x = pd.DataFrame({"a": rng.permutation(n).astype(float) * 2, "b": rng.integers(1, 4, n).astype(float)})
    names, X, codes, is_ord, cats, _ = _input.prepare(x, ["b"], "listwise", 10, [])
    assert codes.dtype == np.int16 and np.array_equal(codes[:, 1], x["b"].to_numpy() - 1)
    names, X, codes, is_ord, cats, _ = _input.prepare(x, None, "listwise", 10, [])
    assert codes.dtype == np.int64 and cats["a"].size == n
    assert np.array_equal(codes[:, 0], x["a"].to_numpy() / 2) and np.array_equal(codes[:, 1], x["b"].to_numpy() - 1)


def test_fortran_rows_equals_asfortranarray_of_the_rows():
    x = _data(n=20_000, p=7, seed=5).to_numpy()  # row-major
    rows = np.flatnonzero(np.random.default_rng(1).random(len(x)) < 0.7)
    for sel, ref in ((None, x), (rows, x[rows])):
        out = _input.fortran_rows(x, sel, block=4_096)
        assert out.flags.f_contiguous and np.array_equal(out, ref, equal_nan=True)


def _row_major(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame backed by one row-major (C-order) block, as ``Responses.items`` is."""
    out = pd.DataFrame(np.ascontiguousarray(frame.to_numpy(dtype=float)), index=frame.index, columns=frame.columns,
                       copy=False)
    assert not out.to_numpy().flags.f_contiguous
    return out


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_row_major_frames_give_the_same_statistics(missing):
    """Above 10,000 rows a row-major frame's used rows are copied to column order block by block
    (``fortran_rows``) instead of by ``np.asfortranarray`` and a gather per column: identical statistics
    to the column-major frame's path (issue 16)."""
    from psychometrics.ordinal.group_stats import ordinal_sample_stats

    data = _data(n=14_000, p=5, seed=6, miss=0.04)  # ≥ 10,000 used rows also listwise
    data.iloc[7] = np.nan  # a row without any answer
    rm = _row_major(data)
    a, b = polychoric(data, missing=missing, acov=True), polychoric(rm, missing=missing, acov=True)
    assert a.n == b.n and a.n_excluded == b.n_excluded
    for fa, fb in ((a.matrix, b.matrix), (a.thresholds, b.thresholds), (a.acov, b.acov)):
        pd.testing.assert_frame_equal(fa, fb, check_exact=True)
    g = np.random.default_rng(7).choice(["b", "a", "c"], size=len(data))
    items = list(data.columns)
    ref, lab_a, ex_a = ordinal_sample_stats(data.assign(g=g), items, "g", missing=missing)
    out, lab_b, ex_b = ordinal_sample_stats(rm.assign(g=g), items, "g", missing=missing)
    assert lab_a == lab_b and ex_a == ex_b
    for s, t in zip(ref, out):
        assert s.nobs == t.nobs and np.array_equal(s.cor, t.cor) and np.array_equal(s.acov, t.acov)
        assert all(np.array_equal(u, v) for u, v in zip(s.thresholds, t.thresholds))


def test_coverage_check_from_the_incomplete_rows_equals_all_rows():
    """_check_coverage given each row's missing count reads only the incomplete rows (issue 16): the same
    warnings, and the same errors, as the count over every row."""
    import pytest

    from psychometrics.exceptions import DataError
    from psychometrics.ordinal.group_stats import _check_coverage

    rng = np.random.default_rng(4)
    v = rng.integers(1, 5, size=(600, 4)).astype(float)
    v[rng.random(v.shape) < 0.2] = np.nan
    v[:300, 3] = np.where(rng.random(300) < 0.95, np.nan, v[:300, 3])  # low coverage of item 4 in group 1
    items, bounds, labels = ["a", "b", "c", "d"], np.array([0, 300, 600]), ("g1", "g2")
    for vals in (v, np.where(np.arange(600)[:, None] < 300, np.where(np.arange(4) == 3, np.nan, v), v)):
        nm = np.isnan(vals).sum(axis=1)
        out = []
        for arg in (None, nm):
            diags = []
            try:
                _check_coverage(vals, items, bounds, labels, "grp", diags, arg)
                out.append([d.message for d in diags])
            except DataError as exc:
                out.append(str(exc))
        assert out[0] == out[1]
        assert out[0]  # a warning (first data) or an error (item d never answered in g1)
