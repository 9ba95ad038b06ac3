"""Label and column hygiene (issue 14, class 4), for every input format.

On main before issue 14, group labels differing only by surrounding white space became
separate groups without a word, and a repeated column name (two ``A1`` columns) was
renamed by pandas (``A1.1``) and one of them silently ignored.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.data import load_responses
from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics.scale import Scale

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"


@pytest.fixture(scope="module")
def scale() -> Scale:
    return Scale.from_yaml(MINI)


def _frame(scale: Scale, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(1, 6, size=(n, len(scale.item_ids))), columns=list(scale.item_ids))
    df["grp"] = np.array(["graduate ", " graduate", "graduate", "PhD"])[np.arange(n) % 4]
    return df


def _write(df: pd.DataFrame, path: Path, header: list[str] | None = None) -> Path:
    """Write ``df`` with the column names ``header`` (which may repeat) in the format of ``path``."""
    cols = header or list(df.columns)
    suffix = path.suffix
    if suffix in (".csv", ".tsv", ".txt"):
        sep = "\t" if suffix == ".tsv" else ","
        lines = [sep.join(cols)] + [sep.join(map(str, row)) for row in df.itertuples(index=False)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(cols)
        for row in df.itertuples(index=False):
            sheet.append([v.item() if hasattr(v, "item") else v for v in row])
        book.save(path)
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays([pa.array(df.iloc[:, j]) for j in range(df.shape[1])], names=cols)
        pq.write_table(table, path)
    elif suffix == ".sav":
        import pyreadstat

        pyreadstat.write_sav(df, str(path))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet", ".sav", "frame"])
def test_whitespace_group_labels_are_one_group_with_a_warning(tmp_path, scale, suffix):
    df = _frame(scale)
    source = df if suffix == "frame" else _write(df, tmp_path / f"data{suffix}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = load_responses(source, scale, group="grp")
    assert dict(r.quality.group_sizes) == {"PhD": 7, "graduate": 23}
    msgs = [d.message for d in r.diagnostics if "white space" in d.message]
    assert len(msgs) == 1
    assert "' graduate' (8 rows) → 'graduate'" in msgs[0]
    if suffix != ".sav":  # SPSS string variables drop trailing blanks themselves
        assert "'graduate ' (8 rows) → 'graduate'" in msgs[0]
    assert any(issubclass(w.category, DataQualityWarning) and "white space" in str(w.message) for w in caught)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt", ".xlsx", ".parquet", "frame"])
@pytest.mark.parametrize("second", ["A1", " A1 "])
def test_duplicate_columns_refused_with_names_and_positions(tmp_path, scale, suffix, second):
    df = _frame(scale)
    header = list(df.columns)
    header[3] = second  # B1's column is named A1 as well
    if suffix == "frame":
        source = df.set_axis(header, axis=1)
    else:
        source = _write(df, tmp_path / f"data{suffix}", header)
    with pytest.raises(DataError, match=r"duplicate column names: 'A1' in columns 1, 4"):
        load_responses(source, scale)


def test_spss_and_stata_cannot_hold_duplicate_names(tmp_path, scale):
    """The formats themselves refuse repeated variable names (pyreadstat), so there is nothing to detect."""
    import pyreadstat

    df = _frame(scale).drop(columns="grp")
    with pytest.raises(Exception):  # noqa: B017,PT011 - pyreadstat's own error type
        pyreadstat.write_sav(df.set_axis(["A1"] * df.shape[1], axis=1), str(tmp_path / "d.sav"))


def test_score_refuses_duplicate_columns(tmp_path, scale, capsys):
    from psychometrics.cli import main

    df = _frame(scale)
    header = list(df.columns)
    header[3] = "A1"
    data = _write(df, tmp_path / "data.csv", header)
    with pytest.raises(SystemExit) as exc:
        main(["score", str(MINI), str(data), "-o", str(tmp_path / "s.csv")])
    assert exc.value.code == 2
    assert "duplicate column names: 'A1' in columns 1, 4" in capsys.readouterr().err


def test_score_strips_group_labels(tmp_path, scale):
    from psychometrics.scoring import score

    df = _frame(scale)
    with pytest.warns(DataQualityWarning, match="white space"):
        result = score(MINI, df, group="grp")
    assert result.n_rows == len(df)
