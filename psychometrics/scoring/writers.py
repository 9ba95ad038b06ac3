"""Writing scores: the data dictionary (CSV / Markdown) and score files (CSV, Parquet, SPSS)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.scoring.item_matrix import _num
from psychometrics.scoring.result import ScoreResult
from psychometrics._io import atomic_write, atomic_write_text
from psychometrics._text import quote

__all__ = ["data_dictionary", "write_data_dictionary", "write_scores"]


def data_dictionary(result: ScoreResult) -> pd.DataFrame:
    """One row per output column: column, label, method, items, range, reverse items."""
    rows = []
    lo, hi = result.response_min, result.response_max
    if result.id_column:
        rows.append({"column": result.id_column, "label": "Identifier (passed through)",
                     "method": "", "items": "", "n_items": None, "range": "",
                     "reverse_items": ""})
    for d in result.definitions:
        k = len(d.items)
        if lo is None or hi is None:
            rng = ""
        elif result.method == "mean":
            rng = f"{_num(lo)}-{_num(hi)}"
        else:
            rng = f"{_num(lo * k)}-{_num(hi * k)}"
        rule = ("mean of answered items" if result.method == "mean" else
                "prorated sum (mean of answered items x number of items)")
        rows.append({"column": d.name, "label": d.label,
                     "method": f"{rule}; missing if fewer than {result.min_answered:.0%} "
                               f"of items answered",
                     "items": ", ".join(d.items), "n_items": k, "range": rng,
                     "reverse_items": ", ".join(d.reverse)})
        if result.norms is not None and d.name in result.norms.scores:
            for suffix, lab, rng2 in (
                    ("z", "z score (reference mean and SD)", ""),
                    ("T", "T score, 50 + 10 z", ""),
                    ("pr", "percentile rank (mid-rank) in the reference sample", "0-100"),
                    ("stanine", "stanine", "1-9")):
                rows.append({"column": f"{d.name}_{suffix}", "label": f"{d.label}: {lab}",
                             "method": "norms", "items": "", "n_items": None, "range": rng2,
                             "reverse_items": ""})
    for f in result.factor_names:
        rows.append({"column": f"fs_{f}", "label": f"Factor score {f}",
                     "method": f"{result.factor_method} factor score from the fitted CFA",
                     "items": "", "n_items": None, "range": "", "reverse_items": ""})
    return pd.DataFrame(rows)


def write_data_dictionary(result: ScoreResult, path: str | Path) -> Path:
    """Write :func:`data_dictionary` as CSV (``.csv``) or Markdown (``.md``)."""
    path = Path(path)
    dd = data_dictionary(result)
    if path.suffix.lower() == ".csv":
        atomic_write(path, lambda tmp: dd.to_csv(tmp, index=False))
    elif path.suffix.lower() in (".md", ".markdown"):
        cols = list(dd.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in dd.itertuples(index=False):
            cells = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else
                     str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in row]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        atomic_write_text(path, "\n".join(lines) + "\n")
    else:
        raise DataError(f"data dictionary {quote(path.name)}: use .csv or .md")
    return path


def write_scores(result: ScoreResult, path: str | Path) -> Path:
    """Write the scores as CSV, Parquet or SPSS ``.sav`` (chosen by extension).

    SPSS files carry the variable labels of :func:`data_dictionary`.
    """
    path = Path(path)
    df = result.scores.reset_index(drop=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))
    elif suffix == ".parquet":
        atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
    elif suffix == ".sav":
        import pyreadstat

        dd = data_dictionary(result)
        labels = dict(zip(dd["column"], dd["label"]))
        bad = [c for c in df.columns if not _spss_name_ok(str(c))]
        if bad:
            raise DataError(f"column name(s) {bad} are not valid SPSS variable names (letters, "
                            "digits, _ . @ #, at most 64 characters, starting with a letter)")
        out = df.copy()
        for c in out.columns:
            if isinstance(out[c].dtype, pd.Int64Dtype):
                out[c] = out[c].astype("float64")
            elif out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
                out[c] = out[c].astype("string").astype(object).where(out[c].notna(), "")
        atomic_write(path, lambda tmp: pyreadstat.write_sav(
            out, str(tmp), column_labels={str(c): labels.get(c, str(c))[:255] for c in out.columns}))
    else:
        raise DataError(f"output {quote(path.name)}: use .csv, .parquet or .sav")
    return path


def _spss_name_ok(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z@][A-Za-z0-9_.@#$]{0,63}", name)) and not name.endswith(".")
