"""Shared test fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REFERENCE = Path(__file__).parent / "reference"


def load_reference(analysis: str, name: str):
    """Load ``tests/reference/<analysis>/<name>``: JSON as Python objects, CSV as a DataFrame."""
    path = REFERENCE / analysis / name
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"unsupported reference file {path}")


@pytest.fixture(scope="session")
def hs() -> pd.DataFrame:
    """Holzinger & Swineford (1939), lavaan's copy."""
    from psychometrics.datasets import holzinger_swineford

    return holzinger_swineford()


@pytest.fixture(scope="session")
def bfi() -> pd.DataFrame:
    """psychTools::bfi: 2800 × 25 Big-Five items (1–6, with missing values) and demographics."""
    from psychometrics.datasets import load_dataset

    return load_dataset("bfi")
