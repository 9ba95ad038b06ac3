"""The reliability step's ordinal coefficients (pipeline/steps/reliability.py).

Ordinal α and categorical ω share one polychoric fit (with its Γ) when the WLSMV CFA would compute
the same sample statistics; checked against the two-fit path (``polychoric(acov=False)`` for α and
``fit_cfa(estimator="WLSMV")`` for ω), which is validated against lavaan elsewhere.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from psychometrics.data import load_responses
from psychometrics.pipeline.steps import reliability as step
from psychometrics.reliability import scale_reliability
from psychometrics.scale import Scale
from psychometrics.simulate import default_study_path, load_study, simulate_study


@pytest.fixture(scope="module")
def demo():
    study = load_study(default_study_path())
    scale = Scale.from_yaml(study.scale_files[study.scale.id])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = load_responses(simulate_study(study, n=600, seed=2), scale)
        rel = scale_reliability(r.items, scale, n_boot=2, missing="listwise")
    return scale, r.items, rel


def test_shared_polychoric_equals_two_fits(demo):
    scale, items, rel = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shared = step.ordinal_reliability(rel, items, scale)
        two = step.ordinal_reliability(rel, items, scale, share=False)
    assert shared.polychoric.acov is not None and two.polychoric.acov is None  # the paths taken
    assert np.isfinite(shared.ordinal_table["categorical_omega"].iloc[:-1]).all()
    pd.testing.assert_frame_equal(shared.ordinal_table, two.ordinal_table, rtol=1e-10, atol=0)
    assert shared.ordinal_notes == two.ordinal_notes and shared.polychoric.n == two.polychoric.n


def test_large_n_categorical_omega_from_the_exact_gamma_diagonal(demo, monkeypatch):
    """From GAMMA_DIAGONAL_ROWS rows on the step computes only Γ's diagonal (the DWLS weights), exactly
    from the tables, instead of the full Γ (with a subsampled middle term above NACOV_ROWS); the DWLS
    estimates use Γ only through those weights, so ordinal α and categorical ω equal the full-Γ fit's
    (every row) to 1e-9."""
    scale, items, rel = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = step.ordinal_reliability(rel, items, scale)
        monkeypatch.setattr(step, "GAMMA_DIAGONAL_ROWS", 100)  # the demo's 600 rows count as large
        fast = step.ordinal_reliability(rel, items, scale)
    assert full.polychoric.acov is not None and fast.polychoric.acov is None  # the paths taken
    assert fast.polychoric.dwls_weights is not None
    assert np.isfinite(fast.ordinal_table["categorical_omega"].iloc[:-1]).all()
    pd.testing.assert_frame_equal(fast.ordinal_table, full.ordinal_table, rtol=1e-9, atol=0)
    assert fast.ordinal_notes == full.ordinal_notes
