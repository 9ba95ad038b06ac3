"""Step 2, item analysis of all analysed rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from psychometrics.items import ItemAnalysisResult
    from psychometrics.scale import Scale

__all__ = ["analyse_items"]


def analyse_items(items: pd.DataFrame, scale: Scale) -> ItemAnalysisResult:
    """Item statistics, item–rest correlations and flags (:func:`psychometrics.items.item_analysis`)."""
    from psychometrics.items import item_analysis

    return item_analysis(items, scale)
