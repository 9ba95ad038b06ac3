"""Response data: read a file or DataFrame, validate it against a scale, screen for careless responding.

:func:`load_responses` is the single entry point. It reads CSV/TSV, Excel (.xlsx),
SPSS (.sav/.zsav), Stata (.dta), Parquet or a pandas DataFrame; maps data columns to
item ids; turns missing-value codes into NaN; checks that every item column is
present, numeric and inside the response range; applies reverse keying; and returns
a frozen :class:`Responses` with a :class:`DataQuality` record. Nothing is dropped,
imputed or clamped silently: every value set to missing is counted per item and
reason, every excluded row is listed, and careless-responding screens only *flag*
rows.

Row numbers in messages
-----------------------
For files, rows are *data row numbers*: 1 is the first respondent (the line or
spreadsheet row right below the header; in Excel that is row 2). The returned
frames use these numbers as their index (named ``row``). For DataFrame input the
original index is preserved and messages quote index labels.

Modules
-------
responses   :class:`Responses`, :func:`load_responses` and the loading sequence
readers     file formats and DataFrames → one table with its provenance
checks      the checks of a table against a scale, one step per function
quality     :class:`DataQuality` and the reasons a value is missing
careless    careless-responding screens (long string, Mahalanobis, even–odd)
missing     missing-data diagnostics: patterns, coverage, Little's MCAR test, EM moments
_messages   how rows and column-name hints are worded in errors
"""

from __future__ import annotations

from psychometrics.data.careless import careless_screens, evenodd, longstring, mahalanobis
from psychometrics.data.quality import (  # noqa: F401 - the reasons were module-level names of data.py
    BLANK,
    CODE,
    DECLARED,
    NOT_CATEGORY,
    OUT_OF_RANGE,
    REASONS,
    DataQuality,
)
from psychometrics.data.missing import MissingDataDiagnostics, little_mcar, missing_data_diagnostics
from psychometrics.data.readers import SUPPORTED_FORMATS
from psychometrics.data.responses import Responses, load_responses
from psychometrics.data.sufficient import GroupStats, SufficientStats, sufficient_stats, sufficient_stats_dask

__all__ = [
    "load_responses",
    "Responses",
    "DataQuality",
    "careless_screens",
    "longstring",
    "mahalanobis",
    "missing_data_diagnostics",
    "MissingDataDiagnostics",
    "little_mcar",
    "evenodd",
    "SUPPORTED_FORMATS",
    "SufficientStats",
    "GroupStats",
    "sufficient_stats",
    "sufficient_stats_dask",
]
