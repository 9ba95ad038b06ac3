"""Exploratory factor analysis: sampling adequacy, factor retention, extraction, rotation.

Everything matches the R package psych (and GPArotation) and is validated against
stored R output (``tests/reference/efa/``); see ``docs/efa.md`` for the methods.

Modules
-------
adequacy    :func:`kmo`, :func:`bartlett`
retention   :func:`parallel_analysis`, :func:`map_test`, :func:`scree`, :func:`kaiser`,
            :func:`empirical_kaiser`, :func:`retention_summary`
extraction  minres, ml, principal axes, principal components (used by :func:`efa`)
rotation    oblimin, promax, geomin, varimax, quartimax (used by :func:`efa`)
model       :func:`efa`, :func:`item_flags`
"""

from psychometrics.efa.adequacy import BartlettResult, KMOResult, bartlett, kmo
from psychometrics.efa.model import FLAG_RULES, EFAFit, EFAResult, efa, item_flags
from psychometrics.efa.retention import (
    EmpiricalKaiserResult,
    KaiserResult,
    MAPResult,
    ParallelAnalysisResult,
    RetentionSummary,
    empirical_kaiser,
    kaiser,
    map_test,
    parallel_analysis,
    retention_summary,
    scree,
)

__all__ = [
    "kmo", "bartlett", "KMOResult", "BartlettResult",
    "efa", "EFAResult", "EFAFit", "item_flags", "FLAG_RULES",
    "parallel_analysis", "map_test", "scree", "kaiser", "empirical_kaiser", "retention_summary",
    "ParallelAnalysisResult", "MAPResult", "KaiserResult", "EmpiricalKaiserResult", "RetentionSummary",
]
