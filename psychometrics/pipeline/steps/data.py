"""Step 1, data quality: load the responses and companion measures, then draw the samples."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from psychometrics.exceptions import PsychometricsError, quiet_warnings
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import DataStep, SharedOrdinalRows
from psychometrics.scale import find_companions

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.data.missing import MissingDataDiagnostics
    from psychometrics.scale import Scale

__all__ = ["load_data", "load_scale_rows", "finish_data", "ScaleRows", "split_rows", "subset_responses"]


def load_data(data: str | Path | pd.DataFrame, scale: Scale, opts: ValidationOptions) -> DataStep:
    """Load the responses and the companion measures found, and split the analysed rows.

    :func:`load_scale_rows`, then :func:`finish_data` (the pipeline may run the second part beside
    the model steps, which need only the first).

    Raises
    ------
    SpecError, DataError
        Bad spec or data (from :func:`psychometrics.data.load_responses`).
    PsychometricsError
        A sample would have no more rows than there are items.
    """
    return finish_data(load_scale_rows(data, scale, opts), data, scale, opts)


#: below this many rows the first part of the data step leaves the scale's careless-responding screens and
#: data-quality record to the second (:func:`finish_data`; not when careless rows are excluded, the analysed
#: rows then depend on them): the first part is what every later step waits for, the second may run beside
#: them. From here on the scale's items × rows answers (0.22 GB at 10⁶ rows × 28 items) would be held until
#: then, beside the model steps, where the run's memory is close to its 2 GB target at 10⁶ rows
DEFER_SCREENS_MAX_ROWS = 500_000
#: from this many analysed rows on, freed memory goes back to the operating system after the second part and
#: after each step of ``validate`` (``data.readers.release_freed_memory``, glibc's ``malloc_trim``: at 10⁶ rows
#: without it the run peaked at 2.24–2.30 GB instead of 1.85). Below, the allocator keeps it for the next
#: step's arrays: handing it back and faulting it in again cost ≈ 0.3 CPU-s (≈ 0.1 s wall) of a 10⁵-row run
#: (tenth session, docs/large-samples.md)
TRIM_STEPS_ROWS = 200_000


@dataclasses.dataclass(frozen=True)
class ScaleRows(SharedOrdinalRows):
    """The first part of the data step: the scale's own responses, the analysed rows and the samples —
    all the model steps and the IRT step read (``work``: the analysed rows; its source table still holds
    the measures' item columns until :func:`finish_data` has loaded the companions; below
    :data:`DEFER_SCREENS_MAX_ROWS` rows ``responses.careless`` and ``responses.quality`` are None until
    :func:`finish_data` has screened the rows)."""

    responses: Responses
    work: Responses
    found: dict
    not_found: tuple
    analysed: pd.Index
    careless_excluded: pd.Index
    calibration: pd.Index
    validation: pd.Index


def load_scale_rows(data: str | Path | pd.DataFrame, scale: Scale, opts: ValidationOptions) -> ScaleRows:
    """The scale's responses, checked and screened; the analysed rows and the EFA / CFA samples
    (and the companion specs, checked: a bad spec stops the run here, before any analysis)."""
    from psychometrics.data import load_responses
    from psychometrics.data.responses import deferred_screens

    # the scale's careless screens wait for the second part (which may run beside the model steps) unless the
    # analysed rows depend on them; not from DEFER_SCREENS_MAX_ROWS (their answers would be held till then)
    with deferred_screens(0 if opts.exclude_careless else DEFER_SCREENS_MAX_ROWS):
        resp = load_responses(data, scale, group=opts.group, id_column=opts.id_column,
                              columns=None if opts.columns is None else dict(opts.columns),
                              out_of_range=opts.out_of_range, missing_group=opts.missing_group,
                              sheet=opts.sheet, sep=opts.sep)
    if resp.screens_pending:
        # the screens' χ² tail (scipy.special) imported here as before: worker processes forked after this part
        # (pipeline/_fork.py) inherit it instead of each importing it (≈ 0.2 s CPU: scipy's array-API shim)
        import scipy.special  # noqa: F401
    found, not_found = find_companions(scale, opts.measures)
    if not not_found:
        scale.check_companions(found)
    analysed = resp.items.index
    careless_excluded = pd.Index([])
    if opts.exclude_careless:
        careless_excluded = resp.careless.index[resp.careless["flagged"].to_numpy()]
        analysed = analysed.difference(careless_excluded, sort=False)
    calibration, validation = split_rows(analysed, opts.split, opts.seed)
    n_items = resp.items.shape[1]
    for name, rows in (("calibration", calibration), ("validation", validation)):
        if len(rows) <= n_items:
            raise PsychometricsError(
                f"the {name} sample has {len(rows)} rows, not more than the {n_items} items; "
                f"the data have too few usable rows ({len(analysed)}) for split={opts.split:g} — collect more "
                "data or change the split option (validate --split)")
    return ScaleRows(responses=resp, work=subset_responses(resp, analysed), found=found, not_found=tuple(not_found),
                     analysed=analysed, careless_excluded=careless_excluded, calibration=calibration,
                     validation=validation)


def finish_data(first: ScaleRows, data: str | Path | pd.DataFrame, scale: Scale, opts: ValidationOptions
                ) -> DataStep:
    """The second part of the data step: the companion measures, the source table without the measures'
    item columns, the one-pass Dask statistics (partitioned Parquet) and the missing-data diagnostics."""
    from psychometrics.data.responses import screened, shared_values_buffer

    resp = screened(first.responses)  # the scale's careless screens and quality record, when the first part left them
    comps = {}
    absent = []
    with shared_values_buffer():  # one items × rows scratch for the companions (not new memory for each)
        for cid, comp in first.found.items():
            if any(i in resp.frame.columns for i in comp.item_ids):
                comps[cid] = resp.load_companion(comp)
            else:
                absent.append(cid)
    resp, comps = _without_item_columns(resp, comps, opts)
    analysed = first.analysed
    work = first.work
    if work is first.responses:
        work = resp
    elif resp is not first.responses:  # the analysed rows' answers as they are; the reduced source table
        work = dataclasses.replace(work, frame=resp.frame, extra=resp.extra.loc[analysed]
                                   if len(resp.extra) == len(resp.items) else resp.extra)
    stats, engine = _dask_stats(data, scale, opts)
    missing = _missing_data(work)
    from psychometrics.data.readers import release_freed_memory

    if len(work.items) >= TRIM_STEPS_ROWS:  # (below, the allocator keeps them for the next steps' arrays)
        release_freed_memory()  # the checks' and screens' temporaries, freed but still held by the allocator
    return DataStep(responses=resp, work=work, companions=comps, missing_data=missing,
                    companions_work={k: subset_responses(v, analysed) for k, v in comps.items()},
                    not_found=first.not_found, absent=tuple(absent), analysed=analysed,
                    careless_excluded=first.careless_excluded, calibration=first.calibration,
                    validation=first.validation, stats=stats, stats_engine=engine)


def _without_item_columns(resp: Responses, comps: dict[str, Responses], opts: ValidationOptions
                          ) -> tuple[Responses, dict[str, Responses]]:
    """The loaded measures with the source table (``frame``, ``extra``) reduced to its other columns.

    Every loaded measure's answers are in its ``items`` (float64); the source table's item columns
    (float32 from 10,000 rows on) would be a second copy of every item matrix held to the end of
    the run — 0.28 GB at 10⁶ rows of the demo study. No later step reads them: the companions
    are loaded, and scoring takes a measure's answers from its ``items``. The other columns (ids,
    group labels, anything else) are kept; the item columns' arrays are freed with the table.
    """
    inverse = {item: col for col, item in (opts.columns or {}).items()}  # item id → the scale's data column
    cols = {inverse.get(i, i) for i in resp.items.columns}
    cols.update(i for r in comps.values() for i in r.items.columns)
    drop = [c for c in resp.frame.columns if c in cols]
    if not drop:
        return resp, comps

    def slim(r: Responses) -> Responses:
        return dataclasses.replace(r, frame=r.frame.drop(columns=[c for c in drop if c in r.frame.columns]),
                                   extra=r.extra.drop(columns=[c for c in drop if c in r.extra.columns]))

    return slim(resp), {k: slim(v) for k, v in comps.items()}


def _dask_stats(data: str | Path | pd.DataFrame, scale: Scale, opts: ValidationOptions):
    """One-pass statistics of a partitioned Parquet dataset with Dask (else ``(None, None)``).

    On the cluster at ``opts.scheduler`` or ``DASK_SCHEDULER_ADDRESS``; without one, Dask's
    local in-process scheduler. Raw answers (before reverse keying), per group.
    """
    import os

    from psychometrics.data.readers import is_parquet_dataset

    if not is_parquet_dataset(data):
        return None, None
    from psychometrics.data.sufficient import sufficient_stats_dask

    rf = scale.response_format
    cats = np.arange(rf.min, rf.max + 1) if rf.type == "likert" else np.array([rf.min, rf.max])
    address = opts.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    stats = sufficient_stats_dask(data, list(scale.item_ids), cats, group=opts.group, scheduler=address)
    return stats, address or "local"


def _missing_data(work: Responses) -> MissingDataDiagnostics | None:
    """Missing-data diagnostics of the scale items in the analysed rows (per group when grouped)."""
    from psychometrics.data.missing import missing_data_diagnostics

    frame = work.items.copy(deep=False)  # the new group column only; the items are shared
    group = None
    if work.group is not None:
        group = "__group__"
        frame[group] = work.group.astype(str)
    with quiet_warnings():  # recorded on the result's diagnostics and shown in the report
        try:
            return missing_data_diagnostics(frame, list(work.items.columns), group)
        except PsychometricsError:
            return None


def split_rows(index: pd.Index, share: float, seed: int) -> tuple[pd.Index, pd.Index]:
    """Random calibration/validation split (rows kept in data order within each part)."""
    rng = np.random.default_rng([seed, 0x5B117])  # own stream: independent of the other seeded steps
    n = len(index)
    k = int(round(share * n))
    pick = np.zeros(n, dtype=bool)
    pick[rng.permutation(n)[:k]] = True
    return index[pick], index[~pick]


def subset_responses(resp: Responses, rows: pd.Index) -> Responses:
    """The same Responses restricted to ``rows`` (items, raw, group, ids, careless)."""
    if len(rows) == len(resp.items) and rows.equals(resp.items.index):
        return resp
    return dataclasses.replace(
        resp, items=resp.items.loc[rows], _raw=None if resp._raw is None else resp._raw.loc[rows],
        group=None if resp.group is None else resp.group.loc[rows],
        ids=None if resp.ids is None else resp.ids.loc[rows],
        extra=resp.extra.loc[rows] if len(resp.extra) == len(resp.items) else resp.extra,
        careless=resp.careless.loc[rows],
    )
