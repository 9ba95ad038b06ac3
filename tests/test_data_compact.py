"""The data layer's memory at scale: float columns held as float32 only where exact
(``readers.compact_float_columns``), the scored rows built by a blocked transpose
(``responses._scored_rows``), and a loaded file giving the same responses as the DataFrame path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychometrics.data.readers import compact_float_columns, release_freed_memory
from psychometrics.data.responses import _scored_rows


def test_compact_float_columns_only_where_float32_is_exact():
    rng = np.random.default_rng(0)
    n = 50
    likert = rng.integers(1, 6, n).astype(float)
    likert[::7] = np.nan
    frame = pd.DataFrame({"likert": likert, "halves": likert / 2, "tenths": likert / 10,
                          "big": np.full(n, 2.0 ** 30 + 1), "text": ["a"] * n, "ints": np.arange(n)})
    out = compact_float_columns(frame, min_rows=10)
    assert out["likert"].dtype == np.float32 and out["halves"].dtype == np.float32
    assert out["tenths"].dtype == np.float64 and out["big"].dtype == np.float64  # not exact in float32
    assert out["ints"].dtype == frame["ints"].dtype and out["text"].equals(frame["text"])
    for c in frame.columns:  # read back as float64: every value bit for bit
        if frame[c].dtype == np.float64:
            np.testing.assert_array_equal(out[c].to_numpy(dtype=float), frame[c].to_numpy())
    assert list(out.columns) == list(frame.columns) and out.index.equals(frame.index)
    assert compact_float_columns(frame, min_rows=10**6) is frame
    release_freed_memory()  # no effect on the objects; must not fail


def test_float32_check_in_blocks_equals_the_whole_column_test():
    """The blocked cast-and-compare equals the whole-column test (y == x) | (isnan x & isnan y) for
    an inexact value in any block, NaN, ±inf and values beyond float32's range."""
    from psychometrics.data.readers import _float32_if_exact

    def whole(x):
        y = x.astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            return bool(((y == x) | (np.isnan(x) & np.isnan(y))).all())

    base = np.tile([1.0, 2.0, np.nan, 5.0, np.inf, -np.inf, 0.5], 300)
    for pos in (None, 0, 1, 699, 2099):
        for bad in (0.1, 1e39, -1e39, 2.0 ** 24 + 1):
            x = base.copy()
            if pos is not None:
                x[pos] = bad
            for block in (1, 7, 64, 65_536):
                y = _float32_if_exact(x, block)
                assert (y is not None) == whole(x)
                if y is not None:
                    np.testing.assert_array_equal(y.astype(float), x)


def test_scored_rows_by_blocked_transpose_equal_the_reversed_copy():
    rng = np.random.default_rng(1)
    values = rng.integers(1, 6, size=(5, 20_000)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.nan
    expected = values.T.copy()
    expected[:, [1, 3]] = 6 - values.T[:, [1, 3]]
    got = _scored_rows(values, [1, 3], 6)
    assert got.flags.c_contiguous and got.shape == (20_000, 5)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(_scored_rows(values, [], 6), values.T)


def test_file_with_compact_columns_loads_the_same_responses(tmp_path):
    """A CSV above the compaction threshold gives the same items, quality and screens as the same table
    passed as a DataFrame (float64 throughout)."""
    from pathlib import Path

    from psychometrics.data import load_responses
    from psychometrics.scale import Scale

    scale = Scale.from_yaml(Path(__file__).parent / "data" / "mini_scale.yaml")
    rng = np.random.default_rng(2)
    n = 12_000
    data = pd.DataFrame(rng.integers(1, 6, size=(n, len(scale.item_ids))).astype(float), columns=list(scale.item_ids))
    data[data.columns[4]] = data[data.columns[4]].where(rng.random(n) > 0.2)
    data["other"] = rng.integers(0, 3, n).astype(float)
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    from_file = load_responses(path, scale)
    assert from_file.frame[data.columns[0]].dtype == np.float32
    frame = data.copy()
    frame.index = pd.RangeIndex(1, n + 1, name="row")
    from_frame = load_responses(frame, scale)
    np.testing.assert_array_equal(from_file.items.to_numpy(), from_frame.items.to_numpy())
    assert from_file.items.dtypes.eq(np.float64).all()
    pd.testing.assert_frame_equal(from_file.careless, from_frame.careless)
    pd.testing.assert_frame_equal(from_file.quality.to_frame(), from_frame.quality.to_frame())


def test_parser_buffers_trimmed_only_from_trim_after_parse_rows(tmp_path, monkeypatch):
    """Below ``TRIM_AFTER_PARSE_ROWS`` rows the parse's freed buffers stay with the allocator (the measure's
    matrices allocated next reuse them); from it they are handed back right after the parse. The table is
    the same either way."""
    from psychometrics.data import readers

    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}).to_csv(path, index=False)
    calls = []
    monkeypatch.setattr(readers, "release_freed_memory", lambda: calls.append(1))
    small = readers._read(path, sheet=None, sep=None, encoding="utf-8", id_column=None)[0]
    assert calls == []
    monkeypatch.setattr(readers, "TRIM_AFTER_PARSE_ROWS", 3)
    big = readers._read(path, sheet=None, sep=None, encoding="utf-8", id_column=None)[0]
    assert calls == [1]
    pd.testing.assert_frame_equal(small, big)


def test_side_thread_half_of_the_columns_gives_the_same_compact_table(monkeypatch):
    """From ``readers.SIDE_ROWS`` rows (outside a lane, two cores) half the float columns are checked on a
    second thread (``_linalg.side_thread``): the same table, dtypes and values bit for bit."""
    from psychometrics import _linalg
    from psychometrics.data import readers

    rng = np.random.default_rng(2)
    n = 20_001
    frame = pd.DataFrame({f"c{j}": rng.integers(1, 6, n) / (1 if j % 3 else 10) for j in range(7)})
    frame.iloc[::11, 2] = np.nan
    inline = compact_float_columns(frame, min_rows=10)
    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    monkeypatch.setattr(readers, "SIDE_ROWS", 100)
    side = compact_float_columns(frame, min_rows=10)
    pd.testing.assert_frame_equal(side, inline, check_exact=True)
    assert [side[c].dtype for c in frame] == [inline[c].dtype for c in frame]
    assert side["c1"].dtype == np.float32 and side["c0"].dtype == np.float64
