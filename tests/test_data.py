"""Response data: reading every format, validation errors naming items and rows, careless screens."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from psychometrics.data import Responses, evenodd, load_responses, longstring, mahalanobis
from psychometrics.exceptions import DataError, DataQualityWarning, SpecError
from psychometrics.scale import Scale

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
ITEMS = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2"]


@pytest.fixture(scope="module")
def scale() -> Scale:
    return Scale.from_yaml(MINI)


def _frame(n: int = 60, seed: int = 1) -> pd.DataFrame:
    """Plausible 1–5 answers to the mini scale plus a group, an id and an extra column."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(3 + f + rng.normal(scale=0.9, size=(n, 8))), 1, 5)
    df = pd.DataFrame(x.astype(int), columns=ITEMS)
    df["A3"] = 6 - df["A3"]
    df["C2"] = 6 - df["C2"]
    df["stage"] = np.where(np.arange(n) % 2 == 0, "early", "late")
    df["pid"] = [f"P{i:03d}" for i in range(n)]
    df["other_item"] = rng.integers(1, 5, n)
    return df


@pytest.fixture()
def df() -> pd.DataFrame:
    return _frame()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return fn(*args, **kwargs)


# =============================================================== happy path
def test_raw_is_one_copy_rebuilt_exactly_from_items(df, scale):
    """Likert: ``raw`` is not stored beside ``items`` (one copy of the item matrix) and rebuilt from
    it bit for bit; companions read from the same table reuse the checked respondent ids."""
    r = _quiet(load_responses, df, scale, group="stage", id_column="pid")
    assert r._raw is None
    expected = df[ITEMS].astype(float)
    pd.testing.assert_frame_equal(r.raw, expected, check_names=False)
    assert np.array_equal(r.raw.to_numpy(), expected.to_numpy(), equal_nan=True)
    again = r.load_companion(scale)
    assert again.ids is r.ids
    pd.testing.assert_frame_equal(again.items, r.items)


def test_dataframe_input_scores_reverse_items_and_keeps_raw(df, scale):
    r = _quiet(load_responses, df, scale, group="stage", id_column="pid")
    assert isinstance(r, Responses)
    assert list(r.items.columns) == ITEMS
    assert r.items.index.equals(df.index)
    pd.testing.assert_series_equal(r.raw["A3"], df["A3"].astype(float), check_names=False)
    pd.testing.assert_series_equal(r.items["A3"], 6 - df["A3"].astype(float), check_names=False)
    pd.testing.assert_series_equal(r.items["A1"], df["A1"].astype(float), check_names=False)
    assert r.group.name == "stage" and list(r.group) == list(df["stage"])
    assert list(r.ids) == list(df["pid"])
    assert list(r.extra.columns) == ["other_item"]
    assert r.source == "<DataFrame>" and len(r.sha256) == 64
    q = r.quality
    assert (q.rows_read, q.rows_used, q.complete_cases, q.empty_rows) == (60, 60, 60, 0)
    assert q.missing.sum() == 0 and q.values_set_missing == 0
    assert dict(q.group_sizes) == {"early": 30, "late": 30}
    assert r.subscale("alpha").columns.tolist() == ["A1", "A2", "A3"]
    assert "Data quality" in r.summary() and "rows read 60" in r.summary()
    d = r.to_dict()
    assert d["scale"]["content_hash"] == scale.content_hash and d["n"] == 60
    assert "<table" in r._repr_html_()


def test_scale_may_be_given_as_path(df):
    r = _quiet(load_responses, df, MINI)
    assert r.scale.id == "mini"


def test_dataframe_sha_is_stable(df, scale):
    a = _quiet(load_responses, df, scale).sha256
    b = _quiet(load_responses, df.copy(), scale).sha256
    df.iloc[0, 0] = 5 if df.iloc[0, 0] != 5 else 4
    assert a == b != _quiet(load_responses, df, scale).sha256


def test_missing_codes_become_nan_and_are_counted(df, scale):
    df.loc[3, "A2"] = -9
    df.loc[4, "A2"] = 99
    df.loc[5, "B1"] = np.nan
    r = _quiet(load_responses, df, scale)
    assert np.isnan(r.items.loc[3, "A2"]) and np.isnan(r.raw.loc[4, "A2"])
    q = r.quality
    assert q.missing_by_reason.loc["A2", "missing code"] == 2
    assert q.missing_by_reason.loc["B1", "blank in source"] == 1
    assert q.missing["A2"] == 2 and q.missing["B1"] == 1 and q.values_set_missing == 2
    assert q.set_missing.loc["A2", "missing code"] == 2 and "blank in source" not in q.set_missing
    assert q.complete_cases == 57
    assert q.missing_share["A2"] == pytest.approx(2 / 60)


def test_column_mapping(df, scale):
    df = df.rename(columns={"A1": "q1", "B3": "q6"})
    r = _quiet(load_responses, df, scale, columns={"q1": "A1", "q6": "B3"})
    assert list(r.items.columns) == ITEMS and "q1" not in r.extra


def test_file_input_rows_are_numbered_from_one(tmp_path, df, scale):
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    r = _quiet(load_responses, path, scale, id_column="pid")
    assert r.items.index[0] == 1 and r.items.index.name == "row"
    import hashlib

    assert r.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert r.source == str(path)


def test_id_column_keeps_leading_zeros(tmp_path, df, scale):
    df["pid"] = [f"{i:04d}" for i in range(len(df))]
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    r = _quiet(load_responses, path, scale, id_column="pid")
    assert r.ids.iloc[0] == "0000"


def test_companion_items_load_from_the_same_source(tmp_path, df, scale):
    companion = Scale.from_dict(
        {
            "id": "companion", "name": "Companion", "version": "1.0.0", "construct": "Another construct.",
            "response_format": {"type": "likert", "min": 1, "max": 4},
            "subscales": [{"id": "other", "name": "Other"}],
            "items": [{"id": "other_item", "text": "Another item.", "subscale": "other"}],
        }
    )
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    main = _quiet(load_responses, path, scale, group="stage")
    comp = _quiet(main.load_companion, companion)
    assert list(comp.items.columns) == ["other_item"]
    assert comp.sha256 == main.sha256 and comp.group.equals(main.group)
    assert set(ITEMS) <= set(comp.extra.columns)
    direct = _quiet(load_responses, path, companion, group="stage")
    pd.testing.assert_frame_equal(direct.items, comp.items)


@pytest.mark.parametrize("case", ["plain", "blanks around labels", "rows without a label"])
def test_companion_reuses_the_group_labels_only_as_a_direct_load_gives_them(df, scale, case):
    """A companion loaded from the same table with the same options takes the scale's stripped group
    labels and group sizes when every row was kept (no second strip, check or count): its group,
    group sizes, excluded rows, diagnostics and items equal a direct load of the companion on the
    same (stripped) table; with rows excluded for a missing label it checks them itself as before."""
    df = df.copy()
    if case == "blanks around labels":
        df.loc[:6, "stage"] = " early "
    if case == "rows without a label":
        df.loc[[3, 8], "stage"] = np.nan
    opts = {"group": "stage", "id_column": "pid", "missing_group": "exclude"}
    main = _quiet(load_responses, df, scale, **opts)
    comp = _quiet(main.load_companion, scale)
    direct = _quiet(load_responses, main.frame, scale, **opts)
    pd.testing.assert_series_equal(comp.group, direct.group)
    pd.testing.assert_series_equal(comp.quality.group_sizes, direct.quality.group_sizes)
    pd.testing.assert_frame_equal(comp.quality.excluded, direct.quality.excluded)
    pd.testing.assert_frame_equal(comp.items, direct.items)
    assert [d.message for d in comp.diagnostics] == [d.message for d in direct.diagnostics]
    assert (comp.group is main.group) == (case != "rows without a label")


# ========================================================== bad input: data
def test_missing_item_columns_named(df, scale):
    with pytest.raises(DataError) as info:
        load_responses(df.drop(columns=["B2", "C1"]), scale)
    msg = str(info.value)
    assert "2 item columns are missing: B2, C1" in msg and "scale 'mini'" in msg
    assert "columns=" in msg  # says what to do


def test_missing_item_column_suggests_case_match(df, scale):
    with pytest.raises(DataError, match=r"'b2' → 'B2'"):
        load_responses(df.rename(columns={"B2": "b2"}), scale)


def test_semicolon_file_hint(tmp_path, df, scale):
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False, sep=";")
    with pytest.raises(DataError, match=r"sep=';'"):
        load_responses(path, scale)
    r = _quiet(load_responses, path, scale, sep=";")
    assert r.quality.rows_read == 60


def test_non_numeric_cells_named_with_rows(tmp_path, df, scale):
    df["A2"] = df["A2"].astype(object)
    df.loc[[4, 9], "A2"] = "agree"
    df["C1"] = df["C1"].astype(object)
    df.loc[0, "C1"] = "n/a?"
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_responses(path, scale)
    msg = str(info.value)
    assert str(path) in msg and "non-numeric values in 2 items" in msg
    # Data rows count from 1: DataFrame row 4 is data row 5.
    assert "A2: 2 cells, e.g. 'agree' in data row 5, 'agree' in data row 10" in msg
    assert "C1: 1 cell, e.g. 'n/a?' in data row 1" in msg
    assert "Data row 1 is the first respondent" in msg


def test_out_of_range_error_names_items_count_and_rows(tmp_path, df, scale):
    df.loc[10, "A2"] = 7
    df.loc[20, "A2"] = 0
    df.loc[2, "B3"] = 6
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_responses(path, scale)
    msg = str(info.value)
    assert "3 values outside 1–5 in 2 items" in msg
    assert "A2: 2 values, e.g. 7 in data row 11, 0 in data row 21" in msg
    assert "B3: 1 value, e.g. 6 in data row 3" in msg
    assert "out_of_range='missing'" in msg


def test_non_integer_likert_value(df, scale):
    df["B1"] = df["B1"].astype(float)
    df.loc[7, "B1"] = 2.5
    with pytest.raises(DataError, match=r"outside 1–5 or not whole numbers in 1 item:\n  B1: 1 value, e.g. 2.5 in index label 7"):
        load_responses(df, scale)


def test_out_of_range_as_missing_is_counted_and_warned(df, scale):
    df = df.astype({"B1": float})
    df.loc[10, "A2"] = 7
    df.loc[7, "B1"] = 2.5
    with pytest.warns(DataQualityWarning, match=r"set 2 value\(s\)"):
        r = load_responses(df, scale, out_of_range="missing")
    q = r.quality
    assert q.missing_by_reason.loc["A2", "out of range"] == 1
    assert q.missing_by_reason.loc["B1", "not a category"] == 1
    assert q.values_set_missing == 2 and np.isnan(r.items.loc[10, "A2"])
    assert any("set 2 value(s)" in d.message for d in r.diagnostics)


def test_missing_group_labels_error_names_rows(tmp_path, df, scale):
    df.loc[[3, 8], "stage"] = np.nan
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"2 rows have no group label in column 'stage': data rows 4, 9"):
        load_responses(path, scale, group="stage")


def test_missing_group_labels_can_be_excluded_explicitly(df, scale):
    df.loc[[3, 8], "stage"] = np.nan
    with pytest.warns(DataQualityWarning, match="excluded 2 row"):
        r = load_responses(df, scale, group="stage", missing_group="exclude")
    assert r.quality.rows_read == 60 and r.quality.rows_used == 58
    assert list(r.quality.excluded.index) == [3, 8]
    assert 3 not in r.items.index and len(r.group) == 58


def test_unknown_group_and_id_columns(df, scale):
    with pytest.raises(DataError, match=r"group column 'stge' not found.*'stage'"):
        load_responses(df, scale, group="stge")
    with pytest.raises(DataError, match=r"id column 'id' not found"):
        load_responses(df, scale, id_column="id")
    with pytest.raises(DataError, match=r"group column 'A1' is also an item column"):
        load_responses(df, scale, group="A1")


def test_duplicate_and_missing_ids(df, scale):
    df.loc[5, "pid"] = "P001"
    with pytest.raises(DataError, match=r"not unique: 'P001' in index labels 1, 5"):
        load_responses(df, scale, id_column="pid")
    df.loc[5, "pid"] = None
    with pytest.raises(DataError, match=r"no respondent id in column 'pid': index label 5"):
        load_responses(df, scale, id_column="pid")


def test_bad_column_maps(df, scale):
    with pytest.raises(DataError, match=r"columns to map are not in the data: 'q9'"):
        load_responses(df, scale, columns={"q9": "A1"})
    with pytest.raises(DataError, match=r"unknown item ids of scale 'mini': 'Z1'"):
        load_responses(df, scale, columns={"other_item": "Z1"})
    with pytest.raises(DataError, match=r"also has a column named 'A1'"):
        load_responses(df, scale, columns={"other_item": "A1"})


def test_duplicate_columns_and_index(df, scale):
    dup = pd.concat([df, df[["A1"]]], axis=1)
    with pytest.raises(DataError, match="duplicate column names: 'A1' in columns 1, 12"):
        load_responses(dup, scale)
    with pytest.raises(DataError, match="index has duplicate labels"):
        load_responses(df.set_index(np.zeros(len(df), dtype=int)), scale)


def test_empty_rows_are_kept_and_warned(df, scale):
    df.loc[6, ITEMS] = np.nan
    with pytest.warns(DataQualityWarning, match=r"1 row\(s\) answer none of the 8 items of 'mini': index label 6"):
        r = load_responses(df, scale)
    assert r.quality.empty_rows == 1 and r.quality.rows_used == 60


# ========================================================== bad input: files
def test_missing_file(tmp_path, scale):
    with pytest.raises(DataError, match=r"Data file not found: .*none\.csv"):
        load_responses(tmp_path / "none.csv", scale)


def test_unsupported_and_empty_and_corrupt_files(tmp_path, scale):
    (tmp_path / "d.xls").write_bytes(b"xx")
    with pytest.raises(DataError, match=r"unsupported file type '.xls'.*save as .xlsx"):
        load_responses(tmp_path / "d.xls", scale)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        load_responses(tmp_path / "e.csv", scale)
    for name in ("bad.xlsx", "bad.sav", "bad.dta", "bad.parquet"):
        (tmp_path / name).write_bytes(b"this is not that kind of file")
        with pytest.raises(DataError, match=rf"Cannot read .*{name} as a"):
            load_responses(tmp_path / name, scale)


def test_wrong_encoding(tmp_path, df, scale):
    path = tmp_path / "d.csv"
    text = df.to_csv(index=False).replace("early", "frühe")
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match="encoding='latin-1'"):
        load_responses(path, scale)
    r = _quiet(load_responses, path, scale, encoding="latin-1", group="stage")
    assert "frühe" in set(r.group)


def test_ragged_csv(tmp_path, scale):
    path = tmp_path / "d.csv"
    path.write_text(",".join(ITEMS) + "\n" + ",".join("3" * 8) + "\n" + ",".join("3" * 10) + "\n")
    with pytest.raises(DataError, match=r"Cannot read .*d\.csv as a CSV file: .*line 3"):
        load_responses(path, scale)


def test_missing_sheet(tmp_path, df, scale):
    path = tmp_path / "d.xlsx"
    df.to_excel(path, index=False, sheet_name="answers")
    with pytest.raises(DataError, match=r"no sheet 'data'; its sheets are: answers"):
        load_responses(path, scale, sheet="data")


def test_bad_scale_path_raises_spec_error(df, tmp_path):
    with pytest.raises(SpecError):
        load_responses(df, tmp_path / "missing.yaml")


# ============================================================ file formats
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt", ".xlsx", ".sav", ".dta", ".parquet"])
def test_round_trip_formats(tmp_path, df, scale, suffix):
    df = df.astype({c: float for c in ITEMS})
    df.loc[2, "A1"] = np.nan
    df.loc[3, "B2"] = -9
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix in (".tsv", ".txt"):
        df.to_csv(path, index=False, sep="\t")
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    elif suffix == ".sav":
        import pyreadstat

        pyreadstat.write_sav(df, str(path))
    elif suffix == ".dta":
        import pyreadstat

        pyreadstat.write_dta(df, str(path))
    else:
        df.to_parquet(path)
    r = _quiet(load_responses, path, scale, group="stage", id_column="pid")
    expected = df[ITEMS].replace(-9, np.nan)
    expected.index = pd.RangeIndex(1, len(df) + 1, name="row")
    pd.testing.assert_frame_equal(r.raw, expected, check_dtype=False)
    assert list(r.group) == list(df["stage"]) and list(r.ids) == list(df["pid"])
    assert r.quality.missing_by_reason.loc["A1", "blank in source"] == 1
    assert r.quality.missing_by_reason.loc["B2", "missing code"] == 1


def test_spss_user_missing_values_are_counted(tmp_path, df, scale):
    import pyreadstat

    df = df.astype({c: float for c in ITEMS})
    df.loc[[1, 2], "A1"] = 8
    path = tmp_path / "d.sav"
    pyreadstat.write_sav(df, str(path), missing_ranges={"A1": [8]})
    r = _quiet(load_responses, path, scale)
    assert r.quality.missing_by_reason.loc["A1", "declared missing in file"] == 2
    assert r.quality.values_set_missing == 2 and r.raw["A1"].isna().sum() == 2


def test_excel_sheet_by_name_and_number(tmp_path, df, scale):
    path = tmp_path / "d.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["cover"]}).to_excel(writer, sheet_name="cover", index=False)
        df.to_excel(writer, sheet_name="answers", index=False)
    assert _quiet(load_responses, path, scale, sheet="answers").n == 60
    assert _quiet(load_responses, path, scale, sheet=1).n == 60


# ========================================================= careless screens
def test_longstring_definition():
    raw = pd.DataFrame(
        [[1, 1, 1, 2, 2], [3, 3, np.nan, 3, 3], [np.nan] * 5, [4, 4, 4, 4, 4], [1, 2, 1, 2, 1]], columns=list("abcde")
    )
    assert longstring(raw).tolist() == [3, 2, 0, 5, 1]


def test_mahalanobis_matches_definition_and_chi2():
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
    x.iloc[5, 2] = np.nan  # 3 of 4 answered: screened on the observed items
    x.iloc[6, [0, 1, 2]] = np.nan  # 1 of 4 answered: below min_share, not screened
    d2, p, dof = mahalanobis(x)
    complete = x.notna().all(axis=1).to_numpy()
    xc = x[complete].to_numpy()
    mean = xc.mean(axis=0)
    cov = np.cov(xc, rowvar=False)
    centred = xc - mean
    expected = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(cov), centred)
    np.testing.assert_allclose(d2[complete].to_numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(p[complete].to_numpy(), stats.chi2.sf(expected, df=4), rtol=1e-10)
    assert (dof[complete] == 4).all()
    # Mean D² of the complete cases is k (n-1)/n for the sample covariance.
    assert expected.mean() == pytest.approx(4 * (len(xc) - 1) / len(xc))
    obs = [0, 1, 3]
    dev = x.iloc[5, obs].to_numpy() - mean[obs]
    d2_5 = dev @ np.linalg.inv(cov[np.ix_(obs, obs)]) @ dev
    assert d2.iloc[5] == pytest.approx(d2_5, rel=1e-10) and dof.iloc[5] == 3
    assert p.iloc[5] == pytest.approx(stats.chi2.sf(d2_5, df=3), rel=1e-10)
    assert np.isnan(d2.iloc[6]) and np.isnan(p.iloc[6]) and np.isnan(dof.iloc[6])


def test_mahalanobis_incomplete_rows_equal_row_by_row_definition():
    """The incomplete rows' D² (frequent patterns by one product each, the rest stacked) equal the
    definition computed row by row on the observed items, to 1e-10 relative."""
    rng = np.random.default_rng(11)
    n, k = 3000, 8
    x = rng.integers(1, 6, size=(n, k)).astype(float) + rng.normal(size=(n, 1)).round()
    x[rng.random((n, k)) < 0.06] = np.nan
    x[:200, 0] = np.nan  # one pattern with ≥ _PATTERN_ROWS rows
    d2, _, dof = mahalanobis(pd.DataFrame(x, columns=list("abcdefgh")))
    obs = ~np.isnan(x)
    xc = x[obs.all(axis=1)]
    mean, cov = xc.mean(axis=0), np.cov(xc, rowvar=False)
    expected = np.full(n, np.nan)
    for i in np.flatnonzero(~obs.all(axis=1) & (obs.sum(axis=1) >= 4)):
        o = obs[i]
        dev = x[i, o] - mean[o]
        expected[i] = dev @ np.linalg.inv(cov[np.ix_(o, o)]) @ dev
    inc = ~obs.all(axis=1)
    assert inc.sum() > 1000
    np.testing.assert_allclose(d2.to_numpy()[inc], expected[inc], rtol=1e-10)
    np.testing.assert_array_equal(dof.to_numpy()[inc], np.where(np.isnan(expected), np.nan, obs.sum(axis=1))[inc])


def test_evenodd_half_means_equal_nanmean_definition():
    """The half means by membership-matrix products equal the nanmean of each half (the definition, as the
    previous implementation computed it) and so does the coefficient, to 1e-10, with missing halves."""
    rng = np.random.default_rng(4)
    ids = [f"i{j}" for j in range(12)]
    spec = SimpleNamespace(subscale_ids=["a", "b", "c", "d"],
                           items_of=lambda s: ids[3 * "abcd".index(s):3 * "abcd".index(s) + 3])
    x = rng.integers(1, 6, size=(400, 12)).astype(float)
    x[rng.random(x.shape) < 0.25] = np.nan
    data = pd.DataFrame(x, columns=ids)
    got = evenodd(data, spec).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        o = np.column_stack([np.nanmean(x[:, [3 * h, 3 * h + 2]], axis=1) for h in range(4)])
        e = np.column_stack([x[:, 3 * h + 1] for h in range(4)])
    expected = np.full(len(x), np.nan)
    for i in range(len(x)):
        ok = ~np.isnan(o[i]) & ~np.isnan(e[i])
        if ok.sum() >= 3 and np.std(o[i, ok]) > 0 and np.std(e[i, ok]) > 0:
            r = np.corrcoef(o[i, ok], e[i, ok])[0, 1]
            expected[i] = -1.0 if r <= -1 / 3 else 2 * r / (1 + r)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=1e-10, atol=1e-12)


def test_mahalanobis_singular_gives_nan_and_warning(scale):
    df = _frame(n=6)
    with pytest.warns(DataQualityWarning, match="Mahalanobis D² not computed"):
        r = load_responses(df, scale)
    assert r.careless["mahalanobis_d2"].isna().all() and not r.careless["mahalanobis_flag"].any()


def test_evenodd_definition(scale):
    # Subscales: alpha A1 A2 A3 (odd A1, A3; even A2), beta B1 B2 B3 (odd B1, B3; even B2), gamma C1 C2.
    scored = pd.DataFrame(
        [
            [1, 1, 1, 3, 3, 3, 5, 5],  # perfectly consistent halves
            [1, 5, 1, 3, 3, 3, 5, 1],  # odd (1, 3, 5) vs even (5, 3, 1): r = -1
            [2, 1, 4, 5, 2, 3, 4, 5],  # odd means (3, 4, 4), even (1, 2, 5)
            [3, 3, 3, 3, 3, 3, 3, 3],  # no variance: NaN
            [1, np.nan, 1, 3, 3, 3, 5, 5],  # alpha's even half missing: two pairs only → NaN
        ],
        columns=ITEMS,
        dtype=float,
    )
    eo = evenodd(scored, scale)
    r = np.corrcoef([3, 4, 4], [1, 2, 5])[0, 1]
    assert eo[0] == pytest.approx(1.0)
    assert eo[1] == -1.0
    assert eo[2] == pytest.approx(2 * r / (1 + r))
    assert np.isnan(eo[3]) and np.isnan(eo[4])


def test_evenodd_silences_only_the_empty_half_warning_and_only_locally(scale):
    scored = pd.DataFrame(np.nan, index=range(3), columns=ITEMS)  # every half empty
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert evenodd(scored, scale).isna().all()
    assert not [w for w in caught if "Mean of empty slice" in str(w.message)]
    assert list(warnings.filters) == before  # the user's warning filters are left as they were


def test_careless_flags_on_constructed_data(scale):
    df = _frame(n=300, seed=3)
    df.loc[0, ITEMS] = 4  # straight-liner
    df.loc[1, ITEMS] = [1, 5, 1, 5, 1, 5, 1, 5]  # extreme, inconsistent pattern
    r = _quiet(load_responses, df, scale)
    c = r.careless
    assert c.loc[0, "longstring"] == 8 and c.loc[0, "longstring_flag"]
    assert c.loc[1, "mahalanobis_flag"] and c.loc[1, "mahalanobis_p"] < 0.001
    assert c.loc[0, "flagged"] and c.loc[1, "flagged"]
    assert len(r.items) == 300  # flags, not deletions
    assert r.quality.careless_flags["longstring"] == c["longstring_flag"].sum()
    assert r.quality.careless_flags["any"] == c["flagged"].sum()
    # Three subscales are fewer than evenodd_min_pairs: index reported, never flagged.
    assert c["evenodd"].notna().any() and not c["evenodd_flag"].any()
    r2 = _quiet(load_responses, df, scale, evenodd_min_pairs=3, longstring_max=9)
    assert r2.careless["evenodd_flag"].sum() == (r2.careless["evenodd"] < 0.30).sum()
    assert not r2.careless["longstring_flag"].any()


# ================================================== careless screens vs R
def test_careless_screens_match_r_reference():
    """bfi rows 1–300: psych::outlier D², pchisq p, rle longstring, careless-style even–odd."""
    from conftest import load_reference

    from psychometrics.datasets import load_dataset

    ref = load_reference("careless", "careless_reference.json")
    items = ref["items"]
    bfi_scale = Scale.from_dict(
        {
            "id": "bfi", "name": "Big Five Inventory (psychTools::bfi)", "version": "1.0.0",
            "construct": "Big Five personality traits.",
            "response_format": {"type": "likert", "min": 1, "max": 6},
            "subscales": [{"id": f.lower(), "name": f} for f in "ACENO"],
            "items": [{"id": i, "text": i, "subscale": i[0].lower(), "reverse": i in ref["reverse"]} for i in items],
        }
    )
    data = load_dataset("bfi").iloc[:300]
    r = _quiet(load_responses, data, bfi_scale, evenodd_min_pairs=3)
    c = r.careless

    def arr(key):
        return np.array([np.nan if v is None else v for v in ref[key]], dtype=float)

    complete = r.raw.notna().all(axis=1).to_numpy()
    assert np.array_equal(complete, ~np.isnan(arr("mahalanobis_d2")))
    # Complete rows: exactly psych::outlier / careless::mahad. Incomplete rows (NA in R)
    # are screened on their observed items here; test_mahalanobis_matches_definition covers them.
    np.testing.assert_allclose(c["mahalanobis_d2"].to_numpy()[complete], arr("mahalanobis_d2")[complete], rtol=1e-10)
    np.testing.assert_allclose(c["mahalanobis_p"].to_numpy()[complete], arr("mahalanobis_p")[complete], rtol=1e-8)
    assert c["longstring"].tolist() == ref["longstring"]
    np.testing.assert_allclose(c["evenodd"].to_numpy(), arr("evenodd"), rtol=1e-10, atol=1e-12, equal_nan=True)
    assert c["evenodd_flag"].sum() == np.nansum(arr("evenodd") < 0.30)


def test_other_dtypes_and_no_rows(scale):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(1, 6, (30, 8)), columns=ITEMS)
    nullable = df.astype("Int64")
    nullable.iloc[0, 0] = pd.NA
    assert _quiet(load_responses, nullable, scale).quality.missing["A1"] == 1
    assert _quiet(load_responses, df.astype("category"), scale).items.dtypes.iloc[0] == float
    text = df.astype(str)
    text.iloc[2, 3], text.iloc[4, 4] = " 4 ", "  "
    r = _quiet(load_responses, text, scale)
    assert r.items.iloc[2, 3] == 4 and r.quality.missing_by_reason.loc["B2", "blank in source"] == 1
    with pytest.raises(DataError, match="A1: the column holds true/false values"):
        load_responses(df.astype(bool), scale)
    with pytest.raises(DataError, match=r"A2: 1 value, e\.g\. inf in index label 1\nCorrect the data"):
        load_responses(df.astype(float).assign(A2=lambda d: d["A2"].where(d.index != 1, np.inf)), scale)
    with pytest.raises(DataError, match="no rows to analyse"):
        load_responses(df.iloc[:0], scale)


@pytest.mark.parametrize("kind", ["likert", "binary"])
def test_range_check_quick_pass_equals_the_masks(monkeypatch, kind):
    """_check_range skips an item when its smallest/largest answer and largest fractional part show
    nothing to mark; with the quick pass switched off the same values, counts and messages result
    (clean items, out of range, not whole, ±inf, all NaN, empty; both out_of_range modes)."""
    from psychometrics.data import checks

    rf = SimpleNamespace(min=1, max=5, type=kind) if kind == "likert" else SimpleNamespace(min=0, max=1, type=kind)
    rng = np.random.default_rng(0)
    clean = rng.integers(rf.min, rf.max + 1, 40).astype(float)
    clean[::5] = np.nan
    cases = [clean, np.where(np.arange(40) == 3, rf.max + 1.0, clean), np.where(np.arange(40) == 7, 2.5, clean),
             np.where(np.arange(40) == 9, np.inf, clean), np.full(40, np.nan), np.where(np.arange(40) == 2, -0.0, clean)]
    for mode in ("missing", "error"):
        for x in cases:
            values = x[None, :].copy()
            results = []
            for quick in (True, False):
                if not quick:
                    monkeypatch.setattr(checks, "_clean_quick", lambda x, rf: False)
                counts = {r: np.zeros(1, dtype=np.int64) for r in checks.REASONS}
                diags: list = []
                try:
                    out = checks._check_range(values.copy(), pd.RangeIndex(1, 41), ["i1"], rf, mode, counts,
                                              kind="file", label="L", where="W", diagnostics=diags)
                    results.append((out, {k: v.tolist() for k, v in counts.items()}, [d.message for d in diags]))
                except DataError as exc:
                    results.append(str(exc))
                monkeypatch.undo()
            a, b = results
            if isinstance(a, str) or isinstance(b, str):
                assert a == b
            else:
                np.testing.assert_array_equal(a[0], b[0])
                assert a[1:] == b[1:]
    assert checks._clean_quick(np.zeros(0), rf) is False


@pytest.mark.parametrize("ids", [
    pd.Series([" a", "b ", "c"], dtype="str"), pd.Series([" a", "b", 3], dtype=object), pd.Series([1, 2, 3]),
    pd.Series([1.0, 2.5, 3.0]), pd.Series(["a", "b", "c"], dtype="category"), pd.Series([True, False, "x"]),
    pd.Series(["a ", "b"], dtype=pd.StringDtype("python")), pd.Series(["a ", "b"], dtype=pd.StringDtype("pyarrow")),
])
def test_respondent_ids_equal_the_stripped_where_of_every_dtype(ids):
    """Respondent ids of a text column with none missing are its stripped values directly (no ``where``),
    and ``is_unique`` decides before the duplicates are listed: the same Series (values, dtype, name) as
    ``ids.where(ids.isna(), ids.astype(str).str.strip())`` for every dtype."""
    from psychometrics.data.checks import _respondent_ids

    direct = ids.where(ids.isna(), ids.astype(str).str.strip()).rename("id")
    pd.testing.assert_series_equal(_respondent_ids(pd.DataFrame({"id": ids}), "id", where="w", kind="csv"), direct)


def test_careless_flag_counts_on_the_arrays_equal_the_frame_sums():
    """The screens' flag counts (boolean columns) counted on the arrays equal the frame's sums and ``any``
    (values, dtype, labels); other columns take the frame path."""
    from psychometrics.data.checks import _careless_flag_counts

    rng = np.random.default_rng(2)
    n = 1_000
    c = pd.DataFrame({"longstring": rng.integers(0, 9, n), "longstring_flag": rng.random(n) < .05,
                      "mahalanobis_d2": rng.random(n), "mahalanobis_flag": rng.random(n) < .05,
                      "evenodd_flag": rng.random(n) < .05})
    flag_cols = ["longstring_flag", "mahalanobis_flag", "evenodd_flag"]
    direct = c[flag_cols].sum().astype(int)
    direct.index = ["longstring", "mahalanobis", "evenodd"]
    direct["any"] = int(c[flag_cols].any(axis=1).sum())
    pd.testing.assert_series_equal(_careless_flag_counts(c), direct)
    obj = c.astype({"evenodd_flag": object})
    pd.testing.assert_series_equal(_careless_flag_counts(obj), direct)
