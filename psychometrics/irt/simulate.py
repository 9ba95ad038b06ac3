"""Simulated responses from a GRM / GPCM (for recovery checks and benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychometrics.irt._models import category_probs

__all__ = ["simulate_responses"]


def simulate_responses(
    a: np.ndarray, c: np.ndarray, n: int, *, model: str = "grm", seed: int = 0, prefix: str = "I"
) -> pd.DataFrame:
    """Draw θ ~ N(0, 1) and responses 0..K−1 (``a`` (J,), ``c`` (J, K−1) slope–intercept form)."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    p = category_probs(model, np.asarray(a, float), np.asarray(c, float), theta)  # (J, N, K)
    cum = np.cumsum(p, axis=2)
    u = rng.random((p.shape[0], n, 1))
    x = (u > cum[:, :, :-1]).sum(axis=2)
    return pd.DataFrame(x.T, columns=[f"{prefix}{j + 1:02d}" for j in range(p.shape[0])])
