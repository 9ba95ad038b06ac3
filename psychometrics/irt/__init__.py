"""Item response theory: calibration (MML and CML), scores, information, fit, DIF and short forms.

Layer: between ``invariance`` and ``validity`` (tests/test_architecture.py). The engine is
our own numpy Bock–Aitkin EM (docs/irt.md says why, not the PyPI ``mirt`` package).
"""

from psychometrics.irt.calibrate import calibrate
from psychometrics.irt.results import CMLResult, IRTCalibration
from psychometrics.irt.scores import (
    eap_scores,
    empirical_reliability,
    information,
    lord_wingersky,
    marginal_reliability,
    ml_scores,
    sum_score_table,
)

__all__ = [
    "calibrate",
    "IRTCalibration",
    "CMLResult",
    "eap_scores",
    "ml_scores",
    "information",
    "marginal_reliability",
    "empirical_reliability",
    "lord_wingersky",
    "sum_score_table",
]
