"""Drawing one data set from a compiled :class:`~psychometrics.simulate.Study` (see the package docstring)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import SpecError
from psychometrics.simulate.files import default_study_path
from psychometrics.simulate.study import Study, load_study
from psychometrics._text import quote


def _group_counts(n: int, props: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of n × proportions (so the counts sum to n)."""
    raw = n * props
    counts = np.floor(raw).astype(np.int64)
    short = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def simulate_study(
    study: Study | str | os.PathLike[str] | None = None,
    n: int | None = None,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Draw one simulated data set from a study's population model.

    Steps (all vectorised): groups by exact proportions (largest remainder) in random
    order; latent factors :math:`\\eta \\sim N(\\mu_g, \\Phi)` via the Cholesky factor;
    latent responses :math:`y^* = \\Lambda\\eta + \\delta_g + \\varepsilon`; categories by
    thresholds; reverse-keyed items written in raw coding (``min + max - scored``);
    careless respondents overwrite their rows (straight-liners: one category per measure;
    random responders: uniform categories); finally cells are set missing completely at
    random.

    Parameters
    ----------
    study : Study, path or None
        A loaded study, the path of a study file, or None / ``"default"`` for the embedded
        demo study (:func:`default_study_path`).
    n : int, optional
        Number of respondents (default: the study's ``n``).
    seed : int or numpy.random.Generator
        Same seed → identical data (``numpy.random.default_rng(seed)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (1..n), the group column (if the study has one), then every item of
        the scale and the companion measures in raw coding. Items are float64 with NaN for
        missing values (or int64 with the study's missing code). ``df.attrs["simulation"]``
        records the study id, seed and the ids of planted careless respondents.
    """
    if study is None or (isinstance(study, str) and study == "default"):
        study = load_study(default_study_path())
    elif not isinstance(study, Study):
        study = load_study(study)
    if n is None:
        n = study.n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"n must be a positive integer, got {quote(n)}")
    n = int(n)
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    spec = study.spec
    n_items = len(study.item_ids)

    # groups
    if spec.group:
        props = np.array([lv.proportion for lv in spec.group.levels])
        counts = _group_counts(n, props)
        g = rng.permutation(np.repeat(np.arange(len(props)), counts))
    else:
        g = np.zeros(n, dtype=np.int64)

    # latent factors and latent responses (scored direction)
    k = study._chol.shape[0]
    eta = rng.standard_normal((n, k)) @ study._chol.T + study._means[g]
    ystar = eta @ study.loadings.to_numpy().T + study._dif[g]
    ystar += rng.standard_normal((n, n_items)) * study._resid_sd
    # category = number of thresholds exceeded (padded thresholds are +inf)
    scored = (ystar[:, :, None] > study._thr[None, :, :]).sum(axis=2) + study._item_min
    raw = np.where(study._reverse, study._item_min + study._item_max - scored, scored)

    # careless respondents: disjoint random rows
    n_straight = int(round(n * spec.careless.straight_liners))
    n_random = int(round(n * spec.careless.random))
    chosen = rng.choice(n, size=n_straight + n_random, replace=False)
    straight, rand = np.sort(chosen[:n_straight]), np.sort(chosen[n_straight:])
    if n_straight:
        # one raw answer per measure, repeated over all its items (reverse keys ignored,
        # as a straight-liner would)
        for block in study._blocks:
            lo, hi = study._item_min[block[0]], study._item_max[block[0]]
            value = rng.integers(lo, hi + 1, size=n_straight)
            raw[np.ix_(straight, block)] = value[:, None]
    if n_random:
        span = study._item_max - study._item_min + 1
        raw[rand] = study._item_min + np.floor(rng.random((n_random, n_items)) * span).astype(np.int64)

    # missing completely at random
    values: np.ndarray = raw.astype(np.float64)
    if spec.missing.rate > 0:
        mask = rng.random((n, n_items)) < spec.missing.rate
        if spec.missing.code is None:
            values[mask] = np.nan
        else:
            values = raw.copy()
            values[mask] = spec.missing.code

    columns: dict[str, Any] = {"id": np.arange(1, n + 1)}
    if spec.group:
        columns[spec.group.column] = np.array(study.groups, dtype=object)[g]
    frame = pd.DataFrame(columns)
    items = pd.DataFrame(values, columns=list(study.item_ids))
    df = pd.concat([frame, items], axis=1)
    df.attrs["simulation"] = {
        "study": study.id,
        "seed": seed if isinstance(seed, (int, np.integer)) else None,
        "straight_liners": [int(i) + 1 for i in straight],
        "random_responders": [int(i) + 1 for i in rand],
    }
    return df

