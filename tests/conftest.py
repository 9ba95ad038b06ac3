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


def spy_side_threads(monkeypatch: pytest.MonkeyPatch, *callers: object) -> list[bool]:
    """Two usable cores, and every ``_linalg.side_thread(rows, min_rows)`` that ``callers`` (modules calling it by
    that name: the module that imported it, or ``_linalg`` itself for a call through the module) request,
    recorded as whether the work went to the second thread (``rows >= min_rows``)."""
    from psychometrics import _linalg

    monkeypatch.setattr(_linalg, "usable_cores", lambda: 2)
    used: list[bool] = []
    real = _linalg.side_thread

    def spy(rows: int, min_rows: int):  # noqa: ANN202 - the context manager side_thread returns
        used.append(rows >= min_rows)
        return real(rows, min_rows)

    for caller in callers:
        monkeypatch.setattr(caller, "side_thread", spy)
    return used


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
