"""Input checks shared by the validity statistics: numeric data and confidence levels.

The checks of loadings and matrices live in :mod:`psychometrics.reliability._loadings`
(shared with the composite reliabilities). Each raises
:class:`~psychometrics.exceptions.DataError` naming what is at fault.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from psychometrics._validation import check_numeric
from psychometrics.exceptions import DataError
from psychometrics._text import quote


def _numeric(data: pd.DataFrame, cols: list[Any], what: str) -> pd.DataFrame:
    check_numeric(data, what, cols)
    return data[cols].astype(float)


def _check_conf(conf_level: float) -> float:
    if not (isinstance(conf_level, (int, float)) and 0 < conf_level < 1):
        raise DataError(f"conf_level must be a number strictly between 0 and 1, got {quote(conf_level)}")
    return float(conf_level)
