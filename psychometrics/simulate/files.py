"""Files around the simulator: the embedded study and scale files, and writing a simulated table."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pandas as pd

from psychometrics.exceptions import SpecError
from psychometrics._io import atomic_write
from psychometrics._text import quote

DEFAULT_STUDY_FILE = "mentorship_study.yaml"
OUTPUT_FORMATS = (".csv", ".tsv", ".xlsx", ".parquet")


def embedded_scales_dir() -> Path:
    """Folder of the scale and study files shipped with the package.

    In a source checkout: the top-level ``scales/`` folder beside the imported
    ``psychometrics`` package. Installed: the package data of ``psychometrics.scales``
    (mapped from that folder by ``pyproject.toml``).
    """
    # The checkout's own folder comes first: with an editable install of another
    # checkout, ``psychometrics.scales`` resolves to that other checkout's files while
    # ``psychometrics`` is imported from this one (PYTHONPATH), and the two may differ.
    checkout = Path(__file__).resolve().parents[2] / "scales"  # <checkout>/psychometrics/simulate/files.py
    if (checkout / DEFAULT_STUDY_FILE).is_file():
        return checkout
    try:
        folder = resources.files("psychometrics.scales")
    except ModuleNotFoundError:
        folder = None
    if folder is not None and isinstance(folder, Path) and (folder / DEFAULT_STUDY_FILE).is_file():
        return folder
    raise SpecError(
        "the embedded scale files were not found: neither the package data "
        "'psychometrics.scales' nor a 'scales/' folder next to the package; reinstall "
        "scalevalid"
    )


def default_study_path() -> Path:
    """Path of the embedded demo study (``mentorship_study.yaml``)."""
    return embedded_scales_dir() / DEFAULT_STUDY_FILE


# ------------------------------------------------------------------------ output
def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a data frame as CSV, TSV, xlsx or Parquet, chosen by the file extension.

    Missing values become empty cells (CSV/TSV) or nulls; integer-valued floats are written
    without a decimal part (``3``, not ``3.0``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.10g"))
    elif suffix == ".tsv":
        atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, sep="\t", float_format="%.10g"))
    elif suffix == ".xlsx":
        atomic_write(path, lambda tmp: df.to_excel(tmp, index=False))
    elif suffix == ".parquet":
        atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
    else:
        raise SpecError(
            f"{path}: unknown output format {quote(suffix or '(no extension)')}; use one of "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    return path
