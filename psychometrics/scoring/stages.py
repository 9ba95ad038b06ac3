"""The stages of scoring, run in order once it is known what the data are scored with.

:func:`run_scoring` is the body of :func:`psychometrics.scoring.score`: options, the data,
the item matrix, raw scores and why rows were not scored, the SEM, key checks, norms,
factor scores, descriptives. ``ScoringKey.build`` runs it on its calibration sample.

Warnings are issued with the stack level of the caller of ``score()`` (record → stage →
run_scoring → score → caller: ``stacklevel=5``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import (
    DataError,
    DataQualityWarning,
    Diagnostic,
    InvarianceWarning,
    PsychometricsWarning,
    ScoringKeyError,
    record,
)
from psychometrics.scoring._input import ScoringInput, ScoringSource, read_input
from psychometrics.scoring.factor_scoring import _factor_block
from psychometrics.scoring.item_matrix import _REASONS, _prepare_items, _score_matrix
from psychometrics.scoring.norm_tables import Norms
from psychometrics.scoring.norms import apply_norms
from psychometrics.scoring.result import KeyView, ScoreResult
from psychometrics.scoring.rules import _check_share
from psychometrics.scoring.sem import _sem_table
from psychometrics._text import quote


def run_scoring(
    source: ScoringSource,
    data: Any,
    *,
    min_answered: float | None = None,
    method: str | None = None,
    id_column: str | None = None,
    factor_scores: Any = None,
    norms: Norms | bool | None = None,
    factor_method: str = "regression",
    reliability: Mapping[str, float] | str | None = "alpha",
    group: str | pd.Series | None = None,
    stanine_from: str = "percentile",
    columns: Mapping[str, str] | None = None,
    read_options: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """Score ``data`` with a resolved source; arguments and defaults as :func:`~psychometrics.scoring.score`."""
    diagnostics: list[Diagnostic] = []
    rules, key = source.rules, source.key
    method, min_answered = _options(source, method, min_answered, diagnostics)
    inp = read_input(source, data, id_column=id_column, group=group, columns=columns, read_options=read_options)
    items, n_codes, arrays = _prepare_items(inp.data, rules, error=source.error,
                                            already_reversed=inp.already_reversed, source=inp.source)
    # the SEM's α needs the pairwise sums of the items: the same pass over the rows gives them
    pairs = reliability == "alpha" and key is None and len(items) >= 10_000
    vals, answered, reasons = _score_matrix(items, rules, min_answered, method, arrays, pairs)
    not_scored = _not_scored(reasons, min_answered, diagnostics)
    desc = _descriptives(vals)
    sem = _sem_table(vals, items, rules, key, reliability, method, diagnostics, arrays, desc)
    if key is not None and inp.groups is not None:
        _warn_uncovered_groups(key, inp.groups, diagnostics)
    out = vals.copy()
    applied_norms = _norms_to_apply(norms, key, method, diagnostics)
    if applied_norms is not None:
        out = pd.concat([out, _normed(vals, applied_norms, inp.groups, stanine_from, diagnostics)],
                        axis=1)
    fnames: tuple[str, ...] = ()
    fm = None
    if factor_scores is not None:
        fs = _factor_columns(inp, items, factor_scores, factor_method)
        fnames, fm = tuple(fs.columns), factor_method
        fs.columns = [f"fs_{c}" for c in fs.columns]
        out = pd.concat([out, fs], axis=1)
    ids = inp.ids
    if ids is not None:
        # text ids keep their string array (an object round trip re-encodes every id: 0.2 s per 10⁶ rows)
        out.insert(0, str(ids.name), ids.array if isinstance(ids.dtype, pd.StringDtype) else ids.to_numpy())
    groups = inp.groups
    return ScoreResult(
        scores=out, n_answered=answered, not_scored=not_scored, sem=sem,
        descriptives=desc, missing_codes=n_codes, definitions=rules.scores,
        method=method, min_answered=min_answered, n_rows=len(out),
        response_min=rules.response_min, response_max=rules.response_max,
        id_column=None if ids is None else str(ids.name), factor_method=fm, factor_names=fnames,
        group=None if groups is None else groups.rename(groups.name or "group"),
        norms=applied_norms, key=key, diagnostics=tuple(diagnostics))


def _options(source: ScoringSource, method: str | None, min_answered: float | None,
             diagnostics: list[Diagnostic]) -> tuple[str, float]:
    """Method and prorating share: given, else the rules'; a key warns when they differ from its own."""
    rules = source.rules
    if method is not None and method not in ("mean", "sum"):
        raise DataError(f"method must be 'mean' or 'sum', not {quote(method)}")
    method = method or rules.method
    if min_answered is None:
        min_answered = rules.min_answered
    try:
        _check_share(min_answered, "min_answered")
    except ScoringKeyError as exc:
        raise DataError(str(exc)) from None
    min_answered = float(min_answered)
    if source.key is not None:
        for name, used, validated in (("method", method, rules.method),
                                      ("min_answered", min_answered, rules.min_answered)):
            if used != validated:
                record(diagnostics, PsychometricsWarning,
                       f"scoring with {name}={quote(used)} although the key was validated with "
                       f"{name}={quote(validated)}", stacklevel=5)
    return method, min_answered


def _not_scored(reasons: pd.DataFrame, min_answered: float, diagnostics: list[Diagnostic]
                ) -> pd.DataFrame:
    """Rows not scored, by score and reason; a diagnostic for each count so reports can say it."""
    codes = reasons.to_numpy()  # one array (the frame is one block): no frame comparison per reason
    not_scored = pd.DataFrame(
        {r: np.count_nonzero(codes == code, axis=0).astype("int64") for code, r in enumerate(_REASONS, 1)},
        index=reasons.columns)
    not_scored.index.name = "score"
    for name, row in not_scored.iterrows():
        if row["too_few_answered"]:
            # counted on the result; a diagnostic so reports can say it
            diagnostics.append(Diagnostic(
                "DataQualityWarning",
                f"{name}: {int(row['too_few_answered'])} row(s) not scored because fewer than "
                f"{min_answered:.0%} of the items were answered"))
        if row["no_items_answered"]:
            diagnostics.append(Diagnostic(
                "DataQualityWarning",
                f"{name}: {int(row['no_items_answered'])} row(s) not scored because no item "
                f"was answered"))
    return not_scored


def _warn_uncovered_groups(key: KeyView, groups: pd.Series, diagnostics: list[Diagnostic]
                           ) -> None:
    present = sorted({str(g) for g in groups.dropna().unique()})
    inv = key.invariance
    if not inv or not inv.get("groups"):
        record(diagnostics, InvarianceWarning,
               f"the scoring key records no measurement-invariance test, so scores of groups "
               f"{', '.join(present)} may not be comparable", stacklevel=5)
        return
    covered = {str(g) for g in inv["groups"]}
    missing = [g for g in present if g not in covered]
    if missing:
        record(diagnostics, InvarianceWarning,
               f"group(s) {', '.join(missing)} were not covered by the invariance testing of "
               f"this key (level {quote(inv.get('level'))} across {inv.get('group_variable') or 'groups'}"
               f" {', '.join(sorted(covered))}); their scores may not be comparable",
               stacklevel=5)


def _norms_to_apply(norms: Norms | bool | None, key: KeyView | None, method: str,
                    diagnostics: list[Diagnostic]) -> Norms | None:
    """The norms to apply: those given, or by default (None or True) the key's own."""
    if norms is True or (norms is None and key is not None and key.norms is not None):
        if key is None or key.norms is None:
            raise DataError("norms=True applies a scoring key's norms, but there are none; "
                            "pass a Norms object (build_norms)")
        if method != key.rules.method:
            record(diagnostics, PsychometricsWarning,
                   f"the key's norms are for {key.rules.method} scores; they are not applied "
                   f"to {method} scores", stacklevel=5)
            return None
        return key.norms
    return norms if isinstance(norms, Norms) else None


def _normed(vals: pd.DataFrame, norms: Norms, groups: pd.Series | None, stanine_from: str,
            diagnostics: list[Diagnostic]) -> pd.DataFrame:
    """Normed score columns; rows of a group without group norms are normed on everyone."""
    ngroups = None
    if groups is not None and norms.groups:
        unknown = sorted({str(v) for v in groups.dropna().unique()} - set(norms.groups))
        if unknown:
            record(diagnostics, DataQualityWarning,
                   f"no group norms for {norms.group_variable or 'group'} = "
                   f"{', '.join(unknown)}; those rows are normed on the whole reference "
                   "sample", stacklevel=5)
        ngroups = groups.where(groups.astype(str).isin(norms.groups))
    return apply_norms(vals, norms, group=ngroups, stanine_from=stanine_from)


def _factor_columns(inp: ScoringInput, items: pd.DataFrame, fit: Any, method: str) -> pd.DataFrame:
    """Factor scores of every row, named by factor."""
    data = inp.data
    # the model's indicators: the (reverse-keyed) scale items, other columns as given
    extra_cols = data.drop(columns=[c for c in items.columns if c in data.columns])
    fs_input = pd.concat([items.reset_index(drop=True), extra_cols.reset_index(drop=True)],
                         axis=1).set_axis(items.index)  # positional: duplicate labels ok
    return _factor_block(fs_input, fit, method, inp.groups)


def _descriptives(vals: pd.DataFrame) -> pd.DataFrame:
    """n, mean, SD (n − 1), min and max of each score (pandas' NaN-skipping reductions)."""
    block = _score_block(vals)
    if block is None:
        desc = pd.DataFrame({
            "n": vals.notna().sum().astype("int64"),
            "mean": vals.mean(), "sd": vals.std(ddof=1), "min": vals.min(), "max": vals.max()})
    else:
        desc = _block_descriptives(block, vals.columns)
    desc.index.name = "score"
    return desc


def _score_block(vals: pd.DataFrame) -> np.ndarray | None:
    """The scores × rows float64 block of ``vals`` from 10,000 rows on (None: pandas reduces it)."""
    if len(vals) < 10_000 or not len(vals.columns) or len(vals._mgr.blocks) != 1:
        return None
    block = vals._mgr.blocks[0].values
    ok = isinstance(block, np.ndarray) and block.dtype == np.float64 and block.flags.c_contiguous
    return block if ok and block.shape == (vals.shape[1], vals.shape[0]) else None


def _block_descriptives(v: np.ndarray, names: pd.Index) -> pd.DataFrame:
    """:func:`_descriptives` of a scores × rows block: the operations of pandas' ``nanmean``/``nanvar``
    (NaN → 0 copy, row sums, two-pass variance) once for all five statistics instead of a masked copy
    per statistic — the same numbers bit for bit (``tests/test_scoring.py::
    test_block_descriptives_equal_pandas``; issue 16: 0.2 s per measure at 10⁶ rows)."""
    mask = np.isnan(v)
    filled = v.copy()
    np.putmask(filled, mask, 0)
    count = (mask.shape[1] - mask.sum(axis=1)).astype(np.float64)
    total = filled.sum(axis=1, dtype=np.float64)
    with np.errstate(all="ignore"):
        mean = total / count
        mean[count == 0] = np.nan
        few = count <= 1
        cnt, d = count.copy(), count - 1.0
        cnt[few] = np.nan
        d[few] = np.nan
        sqr = (np.expand_dims(total / cnt, 1) - filled) ** 2
        np.putmask(sqr, mask, 0)
        sd = np.sqrt(sqr.sum(axis=1, dtype=np.float64) / d)
        lo, hi = np.fmin.reduce(v, axis=1), np.fmax.reduce(v, axis=1)
    return pd.DataFrame({"n": count.astype(np.int64), "mean": mean, "sd": sd, "min": lo, "max": hi},
                        index=names.copy())
