"""The run's shared ordinal codes and tables (issue 16): psychometrics/ordinal/shared.py and
group_stats._coded_sample_stats.

Reliability, EFA, CFA and invariance take their polychoric input from one coding of the analysed rows
and one one-hot product per (calibration / validation / other) × group cell. Every statistic must equal
the one each step computed from its own rows — compared bit for bit (the tables are integer counts, the
rest the same code on the same numbers): thresholds, correlations, pair counts, categories, warnings,
the DWLS weights, and per group thresholds, correlations and Γ, with missing values, an empty row, an
empty category between observed ones, and categories empty in one group merged.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import psychometrics.ordinal.group_stats as group_stats
import psychometrics.ordinal.shared as shared_module
from psychometrics.exceptions import DataError
from psychometrics.ordinal import polychoric
from psychometrics.ordinal.group_stats import _coded_sample_stats as coded_sample_stats, ordinal_sample_stats
from psychometrics.ordinal.shared import OrdinalRows


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    """The shared path from 10 rows (the data here are small)."""
    monkeypatch.setattr(shared_module, "MIN_ROWS", 10)
    monkeypatch.setattr(group_stats, "MIN_ROWS", 10)


def _data(seed=1, n=1500, p=6):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 1)) + rng.standard_normal((n, p))
    X = np.digitize(Z, [-1, 0, 1, 1.5]).astype(float) + 1
    X[:, 2] = np.where(X[:, 2] == 3, 4, X[:, 2])  # category 3 of x2 never observed (a gap)
    X[rng.random((n, p)) < 0.1] = np.nan
    X[5] = np.nan  # a row without answers
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(p)], index=pd.Index(np.arange(n) * 3 + 7))
    g = pd.Series(rng.choice(["a", "b", "c"], n), index=df.index)
    cal = df.index[rng.random(n) < 0.5]
    val = df.index.difference(cal)
    return df, g, cal, val


def _same_polychoric(a, b):
    np.testing.assert_array_equal(a.matrix.to_numpy(), b.matrix.to_numpy())
    pd.testing.assert_frame_equal(a.thresholds, b.thresholds, check_exact=True)
    pd.testing.assert_frame_equal(a.pairwise_n, b.pairwise_n)
    pd.testing.assert_series_equal(a.categories, b.categories)
    assert (a.n, a.n_excluded, a.zero_cell_pairs) == (b.n, b.n_excluded, b.zero_cell_pairs)
    assert [d.message for d in a.diagnostics] == [d.message for d in b.diagnostics]
    if a.dwls_weights is not None or b.dwls_weights is not None:
        np.testing.assert_array_equal(a.dwls_weights.to_numpy(), b.dwls_weights.to_numpy())


def test_polychoric_from_the_shared_tables_equals_the_rows():
    df, g, cal, val = _data()
    shared = OrdinalRows(df, (cal, val), g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in (df.index, cal, val):
            frame = df.loc[rows]
            for cols in (list(df.columns), list(df.columns[::-1]), ["x3", "x0", "x2"]):
                for acov in (False, "diagonal"):
                    fast = shared.polychoric(frame.loc[:, cols], acov=acov)
                    assert fast is not None  # the shared path was taken
                    _same_polychoric(polychoric(frame.loc[:, cols], missing="pairwise", acov=acov), fast)
    assert any("no responses in category 3" in d.message for d in fast.diagnostics)


def test_shared_polychoric_declines_what_it_does_not_hold():
    df, g, cal, val = _data()
    shared = OrdinalRows(df, (cal, val), g)
    assert shared.polychoric(df, missing="listwise") is None
    assert shared.polychoric(df, acov=True) is None  # the full Γ needs the rows
    assert shared.polychoric(df.iloc[:700]) is None  # rows that are neither all rows nor a part
    assert shared.polychoric(df.assign(y=1.0)) is None  # a column it did not code
    frac = df.copy()
    frac.iloc[3, 1] = 2.5
    assert OrdinalRows(frac, (cal, val), g).coded() is None  # not whole numbers: each step codes its rows
    assert OrdinalRows(frac, (cal, val), g).polychoric(frac) is None


@pytest.mark.parametrize("group", [None, "grp"])
def test_group_sample_stats_from_the_shared_codes_equal_the_rows(group):
    df, g, cal, val = _data(seed=3)
    # categories empty in one group: x1's 5 in group b, x3's 1 in group c (merged with empty_categories="collapse")
    df.loc[g[g == "b"].index, "x1"] = df.loc[g[g == "b"].index, "x1"].replace(5.0, 4.0)
    df.loc[g[g == "c"].index, "x3"] = df.loc[g[g == "c"].index, "x3"].replace(1.0, 2.0)
    shared = OrdinalRows(df, (cal, val), g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in (df.index, val):
            frame = df.loc[rows].copy()
            frame["grp"] = g.loc[rows].astype(str)
            for cols in (list(df.columns), ["x4", "x1", "x3", "x0"]):
                d_rows, d_fast = [], []
                a = ordinal_sample_stats(frame, cols, group, empty_categories="collapse", diagnostics=d_rows,
                                         missing="pairwise")
                assert coded_sample_stats(shared, frame, cols, group, "collapse", []) is not None  # path taken
                b = ordinal_sample_stats(frame, cols, group, empty_categories="collapse", diagnostics=d_fast,
                                         missing="pairwise", coded=shared)
                assert a[1:] == b[1:]
                assert [x.message for x in d_rows] == [x.message for x in d_fast]
                for sa, sb in zip(a[0], b[0]):
                    np.testing.assert_array_equal(sa.vector(), sb.vector())
                    np.testing.assert_array_equal(sa.acov, sb.acov)
                    assert sa.nobs == sb.nobs and sa.items == sb.items
    if group is not None:
        assert any("merged into" in x.message for x in d_fast)


@pytest.mark.parametrize("case", ["category", "item", "pair"])
def test_group_sample_stats_errors_come_from_the_rows(case):
    """A category empty in a group with empty_categories="error", an item unobserved in a group, a pair
    observed together in fewer than 2 rows of a group (group_stats._coverage, the one test of pairwise
    deletion's conditions on both paths): the shared path declines (and records nothing), the rows' path
    raises its error — once, with its message."""
    df, g, cal, val = _data(seed=4)
    b_rows = g[g == "b"].index
    if case == "category":
        df.loc[b_rows, "x1"] = df.loc[b_rows, "x1"].replace(5.0, 4.0)
        match = "empty category"
    elif case == "item":
        df.loc[b_rows, "x4"] = np.nan
        match = r"'x4' are missing in every row in group 'b'"
    else:
        df.loc[b_rows[df.loc[b_rows, "x0"].notna().to_numpy()], "x5"] = np.nan  # x5 only where x0 is missing
        match = r"x0–x5 are observed together in fewer than 2 rows in group 'b'"
    shared = OrdinalRows(df, (cal, val), g)
    frame = df.copy()
    frame["grp"] = g.astype(str)
    diags: list = []
    assert coded_sample_stats(shared, frame, list(df.columns), "grp", "error", diags) is None and not diags
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match=match):
            ordinal_sample_stats(frame, list(df.columns), "grp", missing="pairwise", coded=shared)


def test_shared_object_computes_once_across_threads():
    """Created once per run and used by steps on different threads: one coding and one set of cell tables."""
    df, g, cal, val = _data()
    shared = OrdinalRows(df, (cal, val), g)
    got: list = []
    threads = [threading.Thread(target=lambda: got.append((shared.coded(), shared.tables(cal)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(c is got[0][0] for c, _ in got)
    for _, t in got[1:]:
        np.testing.assert_array_equal(t[0][0], got[0][1][0][0])
    # the cell tables add up: all rows = calibration + validation
    (t_all, n_all, e_all), = shared.tables(df.index)
    (t_cal, n_cal, _), = shared.tables(cal)
    (t_val, n_val, _), = shared.tables(val)
    np.testing.assert_array_equal(t_all, t_cal + t_val)
    assert n_all == n_cal + n_val == len(df) and e_all == 1


def test_low_coverage_warning_from_the_shared_tables_equals_the_rows():
    df, g, cal, val = _data(seed=5)
    a_rows = g[g == "a"].index
    df.loc[a_rows[: int(0.95 * len(a_rows))], "x5"] = np.nan  # x5 answered by 5 % of group a
    shared = OrdinalRows(df, (cal, val), g)
    frame = df.copy()
    frame["grp"] = g.astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d_rows, d_fast = [], []
        a = ordinal_sample_stats(frame, list(df.columns), "grp", diagnostics=d_rows, missing="pairwise")
        b = ordinal_sample_stats(frame, list(df.columns), "grp", diagnostics=d_fast, missing="pairwise", coded=shared)
    assert any("coverage below 0.10 in group 'a'" in x.message for x in d_fast)
    assert [x.message for x in d_rows] == [x.message for x in d_fast]
    for sa, sb in zip(a[0], b[0]):
        np.testing.assert_array_equal(sa.acov, sb.acov)


def test_nothing_is_shared_for_rows_it_cannot_place():
    """Duplicate row labels, or group labels that do not align with the rows: every step computes from its rows."""
    df, g, cal, val = _data()
    dup = df.set_axis(np.zeros(len(df), dtype=int))
    assert OrdinalRows(dup, (), None).polychoric(dup) is None
    bad_group = pd.Series(["a"] * 3, index=pd.Index([0, 0, 1]))  # duplicate labels: reindex fails
    shared = OrdinalRows(df, (cal, val), bad_group)
    assert shared.polychoric(df) is None and shared.tables(df.index) is None


def test_pipeline_steps_with_the_shared_object_equal_the_steps_without(tmp_path, monkeypatch):
    """The four ordinal steps as ``validate`` runs them (``DataStep.ordinal_rows()`` passed down), the shared
    path forced at the demo study's 800 rows (and reliability's large-n Γ diagonal): every polychoric matrix,
    Γ-based fit index and invariance decision equals the steps computing from their own rows."""
    from pathlib import Path

    import psychometrics.ordinal.correlations as correlations
    from psychometrics.pipeline.steps import reliability as reliability_module

    monkeypatch.setattr(reliability_module, "GAMMA_DIAGONAL_ROWS", 100)
    used: list[str] = []
    coded, from_tables = group_stats._coded_sample_stats, correlations.polychoric_from_tables

    def spy_coded(*a, **k):
        got = coded(*a, **k)
        if got is not None:
            used.append("stats")
        return got

    def spy_tables(*a, **k):
        used.append("poly")
        return from_tables(*a, **k)

    monkeypatch.setattr(group_stats, "_coded_sample_stats", spy_coded)
    monkeypatch.setattr(correlations, "polychoric_from_tables", spy_tables)

    from psychometrics.pipeline.options import merge_options, ordinal_missing, resolve_estimation, resolve_ordinal
    from psychometrics.pipeline.steps import cfa_step, efa_step, invariance_step, load_data, reliability_step
    from psychometrics.scale import Scale
    from psychometrics.simulate import simulate_study, write_table

    root = Path(__file__).resolve().parents[1]
    path = write_table(simulate_study(None, n=800, seed=5), tmp_path / "responses.csv")
    scale = Scale.from_yaml(root / "scales" / "mentorship_supportiveness.yaml")
    opts = merge_options(None, {"group": "career_stage", "measures": (), "split": 0.5, "seed": 0, "n_boot": 20,
                                "id_column": "id"}, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_data(path, scale, opts)
        ordinal, _ = resolve_ordinal(scale, opts)
        est = resolve_estimation(opts, ordinal)
        assert ordinal
        work = d.work
        out = []
        for shared in (None, d.ordinal_rows()):
            rng = np.random.default_rng(0)
            rel = reliability_step(work, scale, opts, rng, ordinal, est, ordinal_rows=shared)
            efa = efa_step(work.items.loc[d.calibration], scale, opts, rng, ordinal, est.fiml, ordinal_rows=shared)
            cfa = cfa_step(work.items.loc[d.validation], scale, ordinal, est, ordinal_missing(opts),
                           ordinal_rows=shared)
            inv = invariance_step(work, d.validation, scale, opts, ordinal, est, ordinal_rows=shared)
            out.append((rel, efa, cfa, inv))
            if shared is not None:  # reliability and EFA from the tables, CFA and invariance from the shared codes
                assert used == ["poly", "poly", "stats", "stats"], used
            else:
                assert not used
    (r0, e0, c0, i0), (r1, e1, c1, i1) = out
    pd.testing.assert_frame_equal(r0.polychoric.matrix, r1.polychoric.matrix, check_exact=True)
    pd.testing.assert_frame_equal(r0.ordinal_table, r1.ordinal_table, check_exact=True)
    pd.testing.assert_frame_equal(e0.efa.loadings, e1.efa.loadings, check_exact=True)
    pd.testing.assert_frame_equal(c0.table, c1.table, check_exact=True)
    assert i0.result is not None and i0.method == i1.method == "WLSMV"
    pd.testing.assert_frame_equal(i0.result.table, i1.result.table, check_exact=True)
    assert [x.message for x in i0.result.diagnostics] == [x.message for x in i1.result.diagnostics]


def test_collapse_rule_chained_merges_from_the_rows_and_from_the_shared_codes():
    """group_stats._collapse_counts is the one merge rule of both paths (the rows' ``_item_codes`` and
    ``_coded_sample_stats``): categories 1 and 2 of x1 empty in group a, 4 in group b — 1 → 2, then 2 (still
    empty in a) → 3, then 4 → 3 (lower neighbour): values 1–4 become one category. Reference: polychoric()
    of each group's rows with x1 recoded by hand (an independent implementation of the merges)."""
    df, g, cal, val = _data(seed=6)
    df.loc[g[g == "a"].index, "x1"] = df.loc[g[g == "a"].index, "x1"].replace({1.0: 3.0, 2.0: 3.0})
    df.loc[g[g == "b"].index, "x1"] = df.loc[g[g == "b"].index, "x1"].replace(4.0, 5.0)
    frame = df.copy()
    frame["grp"] = g.astype(str)
    want = ("item 'x1': category 1 (empty in group 'a') merged into 2; category 2 (empty in group 'a') merged "
            "into 3; category 4 (empty in group 'b') merged into 3 in every group")
    shared = OrdinalRows(df, (cal, val), g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = []
        for coded in (None, shared):
            diags: list = []
            got.append(ordinal_sample_stats(frame, list(df.columns), "grp", empty_categories="collapse",
                                            diagnostics=diags, missing="pairwise", coded=coded))
            assert [d.message for d in diags if "merged" in d.message] == [want]
        assert coded_sample_stats(shared, frame, list(df.columns), "grp", "collapse", []) is not None  # path taken
        x = df.assign(x1=df["x1"].replace({1.0: 3.0, 2.0: 3.0, 4.0: 3.0}))
        for stats, labels, _ in got:
            for lab, st in zip(labels, stats):
                ref = polychoric(x[(g == lab).to_numpy() & x.notna().any(axis=1).to_numpy()], missing="pairwise")
                assert len(st.thresholds[1]) == 1  # two categories left: 1–4 and 5
                np.testing.assert_array_equal(st.cor, ref.matrix.to_numpy())
                np.testing.assert_array_equal(st.thresholds[1], ref.thresholds.query("item == 'x1'")["value"])



def test_positions_and_tables_place_the_same_row_sets():
    """OrdinalRows._part, the one matching of a step's rows against all rows and the parts (by index
    equality, not identity), serves both positions and tables."""
    df, g, cal, val = _data()
    shared = OrdinalRows(df, (cal, val), g)
    np.testing.assert_array_equal(shared.positions(df.index.copy()), np.arange(len(df)))
    np.testing.assert_array_equal(shared.positions(pd.Index(list(val))), df.index.get_indexer(val))
    (t_cal, n_cal, _), = shared.tables(pd.Index(list(cal)))
    assert n_cal == len(cal)
    for other in (df.index[:700], val[::-1]):  # neither all rows nor a part (the same rows in another order)
        assert shared.positions(other) is None and shared.tables(other) is None
    dup = df.set_axis(np.zeros(len(df), dtype=int))
    assert OrdinalRows(dup, (), None).positions(dup.index) is None  # duplicate row labels: no positions
