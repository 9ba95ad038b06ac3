"""Public datasets shipped for examples and tests.

Each dataset is a CSV file in this folder; :func:`load_dataset` lists and loads
them. Sources and licences are listed in ``docs/datasets.md``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd
from psychometrics._text import quote

__all__ = ["load_dataset", "available_datasets", "holzinger_swineford"]


def available_datasets() -> list[str]:
    """Names of the datasets shipped with the package."""
    folder = resources.files(__name__)
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def load_dataset(name: str) -> pd.DataFrame:
    """Load a shipped dataset by name (see :func:`available_datasets`)."""
    from psychometrics.exceptions import DataError

    names = available_datasets()
    if name not in names:
        raise DataError(f"unknown dataset {quote(name)}; available: {', '.join(names)}")
    with resources.files(__name__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def holzinger_swineford() -> pd.DataFrame:
    """Holzinger & Swineford (1939): 301 pupils, nine mental-ability tests x1–x9.

    The copy in ``lavaan::HolzingerSwineford1939`` (full precision), with the
    grouping variable ``school`` (Pasteur, Grant-White).
    """
    return load_dataset("holzinger_swineford")
