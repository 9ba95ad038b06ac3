"""Step 4, exploratory factor analysis of the calibration sample: adequacy (KMO, Bartlett),
factor retention (parallel analysis, MAP) and the EFA itself, on polychoric correlations
for ordinal items."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import EFAStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.ordinal.shared import OrdinalRows
    from psychometrics.scale import Scale

__all__ = ["efa_step"]


def _em_correlations(items: pd.DataFrame) -> Any:
    """The EM (FIML saturated-model) correlation matrix of items with missing values, as an object with the
    ``matrix`` (labelled DataFrame) and ``n`` (rows with at least one answered item) the EFA steps read."""
    from types import SimpleNamespace

    from psychometrics.cfa.em import em_moments
    from psychometrics.cfa.missing_moments import PatternBatch, group_patterns

    cols = list(items.columns)
    gp = group_patterns(items.to_numpy(dtype=float), items.index, "all", cols, "", [])
    _, S, _, _ = em_moments(PatternBatch(gp))
    sd = np.sqrt(np.diag(S))
    R = S / np.outer(sd, sd)
    return SimpleNamespace(matrix=pd.DataFrame(R, index=cols, columns=cols), n=gp.n)


def efa_step(items: pd.DataFrame, scale: Scale, opts: ValidationOptions, rng: np.random.Generator,
             ordinal: bool = False, fiml: bool = False, ordinal_rows: OrdinalRows | None = None) -> EFAStep:
    """Adequacy, retention and the EFA of ``items`` (the calibration rows); problems become notes.

    The number of factors extracted is the parallel analysis' (at least one, at most the
    Ledermann bound), else the number of declared subscales; a solution that cannot be
    estimated falls back to one factor, said in the notes. ``ordinal_rows``: the run's shared codes and
    tables of the items (the polychoric correlations from the calibration half's tables; issue 16).
    """
    from psychometrics.efa import bartlett, kmo

    notes: list[str] = []
    poly = None
    if ordinal:
        from psychometrics.ordinal.shared import shared_polychoric

        from psychometrics.pipeline.options import ordinal_missing

        try:
            # (from the run's shared tables where they are of these rows; the EFA needs no NACOV)
            poly = shared_polychoric(ordinal_rows, items, missing=ordinal_missing(opts))
        except Exception as exc:  # noqa: BLE001 - fall back to Pearson correlations, said in the report
            notes.append(f"The polychoric correlations could not be estimated ({why(exc)}); the EFA falls back to "
                         "Pearson correlations.")
    em = False
    if poly is None and fiml and bool(items.isna().to_numpy().any()):
        try:
            poly = _em_correlations(items)
            em = True
        except Exception as exc:  # noqa: BLE001 - fall back to complete cases, said in the report
            notes.append(f"The EM (FIML) correlations could not be estimated ({why(exc)}); the EFA uses the "
                         "complete cases.")
    # the correlation matrix every EFA step works on (polychoric for ordinal items, EM with missing values)
    cx: dict[str, Any] = {"corr": poly.matrix, "n_obs": poly.n} if poly is not None else {}
    adequacy_kmo = kmo(corr=poly.matrix) if cx else kmo(items)
    adequacy_bartlett = bartlett(**cx) if cx else bartlett(items)
    pa, mp, k = _retention(items, scale, opts, rng, poly, notes)
    p = items.shape[1]
    kmax = max(1, int(math.floor((2 * p + 1 - math.sqrt(8 * p + 1)) / 2)))  # Ledermann bound, df ≥ 0
    if k > kmax:
        notes.append(f"{k} factors exceed the {kmax} that {p} items identify; {kmax} are extracted.")
        k = kmax
    result, k = _extract(items, scale, opts, k, cx, notes)
    return EFAStep(kmo=adequacy_kmo, bartlett=adequacy_bartlett, parallel=pa, map=mp, efa=result, n_extracted=k,
                   correlations="em" if em else ("polychoric" if poly is not None else "pearson"),
                   n=poly.n if poly is not None else len(items), notes=tuple(notes))


def _retention(items: pd.DataFrame, scale: Scale, opts: ValidationOptions, rng: np.random.Generator, poly: Any,
               notes: list[str]) -> tuple[Any, Any, int]:
    """(parallel analysis, MAP, factors to extract); None, None and the declared number when they fail."""
    declared = len(scale.subscales)
    try:
        from psychometrics.efa import map_test, parallel_analysis
    except ImportError:  # retention not available in this build
        notes.append("Factor retention (parallel analysis, MAP) is not available in this version of "
                     f"psychometrics; the declared number of subscales ({declared}) is extracted.")
        return None, None, declared
    try:
        if poly is not None:
            pa = parallel_analysis(corr=poly.matrix, n_obs=poly.n, n_iter=opts.parallel_iter, kind="both", seed=rng,
                                   show_progress=False)
            mp = map_test(corr=poly.matrix)
        else:
            pa = parallel_analysis(items, n_iter=opts.parallel_iter, kind="both", seed=rng, show_progress=False)
            mp = map_test(items)
    except PsychometricsError as exc:  # reported; the declared number is used instead
        notes.append(f"Factor retention could not be computed ({exc}); the declared number of subscales "
                     f"({declared}) is extracted.")
        return None, None, declared
    k = pa.n_factors or 0
    if k < 1:
        notes.append("Parallel analysis retained no factor; one factor is extracted.")
        k = 1
    return pa, mp, k


def _extract(items: pd.DataFrame, scale: Scale, opts: ValidationOptions, k: int, cx: dict[str, Any],
             notes: list[str]) -> tuple[Any, int]:
    """The k-factor EFA, or one factor when k factors cannot be estimated (said in the notes)."""
    from psychometrics.efa import efa

    try:
        if cx:
            return efa(None, k, method=opts.efa_method, rotation=opts.rotation if k > 1 else None, scale=scale,
                       **cx), k
        return efa(items, k, method=opts.efa_method, rotation=opts.rotation if k > 1 else None, scale=scale), k
    except PsychometricsError as exc:
        if k == 1:
            raise
        # a k-factor solution that cannot be estimated must not stop the validation: say so, show one factor
        notes.append(f"The {k}-factor EFA could not be estimated ({exc}); one factor is shown instead.")
        return efa(None if cx else items, 1, method=opts.efa_method, rotation=None, scale=scale, **cx), 1
