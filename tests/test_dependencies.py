"""Guards against dependency upgrades that silently break the wrapped libraries."""

from __future__ import annotations

import warnings

import numpy as np


def test_factor_analyzer_fits_with_installed_scikit_learn(hs):
    # factor-analyzer 0.5.1 calls sklearn's check_array(force_all_finite=...), removed in
    # scikit-learn 1.8: this fit fails if pyproject's constraint is ever lifted too far.
    from factor_analyzer import FactorAnalyzer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fa = FactorAnalyzer(n_factors=3, rotation=None, method="minres")
        fa.fit(hs[[f"x{i}" for i in range(1, 10)]].to_numpy())
    assert fa.loadings_.shape == (9, 3)
    assert np.all(np.isfinite(fa.loadings_))


def test_semopy_fits_holzinger_swineford(hs):
    import semopy

    model = semopy.Model(
        "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    )
    model.fit(hs)
    stats = semopy.calc_stats(model)
    # lavaan: chisq = 85.306 (semopy uses N too); loose because semopy's optimiser stops early.
    assert abs(float(stats["chi2"].iloc[0]) - 85.3055) < 0.05
