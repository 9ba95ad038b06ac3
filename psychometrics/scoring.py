"""Scoring: subscale and total scores, factor scores, norms and versioned scoring keys.

A validated scale is reused by later studies through a *scoring key*: a file that
holds the scale spec (and its content hash), the item keys, the scoring rules, the
norms and what a later user must know about the validation (reliability per score,
the level of measurement invariance reached and across which groups, the
calibration sample). :func:`score` computes scores exactly as validated and refuses
data that do not fit the key.

Public API
----------
score(scale_or_key, data, ...) -> ScoreResult
    Subscale / total scores (mean or prorated sum), standard errors of measurement,
    optional norms and factor scores.
factor_scores(data, Lambda, Theta, Psi, nu=None, alpha=None, method=...) -> DataFrame
    Regression (Thurstone) or Bartlett factor scores from labelled model matrices.
build_norms(scores, group=None) -> Norms;  apply_norms(scores, norms, group=None)
ScoringKey.build(...), ScoringKey.from_file(path), ScoringKey.to_file(path)
write_scores(result, path), data_dictionary(result), write_data_dictionary(result, path)

Definitions (see ``docs/scoring.md``)
-------------------------------------
* Reverse keying: ``x' = min + max - x`` with the *response range* of the spec
  (``response_format.min``/``max``), not the observed range. ``psych::scoreItems``
  uses the observed minimum and maximum of all items by default; passing
  ``min``/``max`` makes it identical.
* Mean score: mean of the answered (reverse-keyed) items of the score.
* Prorating: a score is computed when at least ``ceil(min_answered * k)`` of its
  ``k`` items are answered (``min_answered`` is a share in [0, 1]); otherwise it is
  missing and counted under ``"too_few_answered"``. A row with no answered item is
  always missing (``"no_items_answered"``). ``min_answered=0`` scores whatever is
  answered (== ``psych::scoreItems(impute = "none")``).
* Sum score: the *prorated* sum ``mean * k``; with every item answered this is the
  plain sum.
* Standard error of measurement: ``SEM = SD * sqrt(1 - reliability)``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics._validation import response_numbers
from psychometrics.exceptions import (
    DataError,
    DataQualityWarning,
    Diagnostic,
    InvarianceWarning,
    PsychometricsWarning,
    ReliabilityWarning,
    ScoringKeyError,
    record,
)

__all__ = [
    "ScoreDefinition",
    "ScoringRules",
    "ScoreResult",
    "score",
    "coefficient_alpha",
    "factor_scores",
    "FactorScoreModel",
    "NormTable",
    "Norms",
    "build_norms",
    "apply_norms",
    "STANINE_PERCENTILE_BOUNDS",
    "ScoringKey",
    "KEY_FORMAT_VERSION",
    "write_scores",
    "data_dictionary",
    "write_data_dictionary",
]

KEY_FORMAT_VERSION = 1
#: Cumulative percentages at which stanines 2..9 start (4-7-12-17-20-17-12-7-4 %).
STANINE_PERCENTILE_BOUNDS = (4.0, 11.0, 23.0, 40.0, 60.0, 77.0, 89.0, 96.0)
_REASONS = ("no_items_answered", "too_few_answered")
# Reference and new scores are equal for percentile ranks when they differ by less
# than this (absolute) -- the same mean computed along another route may differ in
# the last bit.
_EQ_TOL = 1e-9


# =========================================================================== rules
@dataclass(frozen=True)
class ScoreDefinition:
    """One score column: its name, label, items and which items are reverse-keyed.

    Attributes
    ----------
    name : str
        Column name (a subscale id, ``"total"``).
    label : str
        Human-readable label (used as SPSS variable label and in the data dictionary).
    items : tuple of str
        Item ids (data columns) that make up the score, in spec order.
    reverse : tuple of str
        The subset of ``items`` that is reverse-keyed (``min + max - x``).
    """

    name: str
    label: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "items": list(self.items),
                "reverse": list(self.reverse)}


@dataclass(frozen=True)
class ScoringRules:
    """Everything needed to turn item responses into scores.

    Built from a :class:`~psychometrics.scale.Scale` (:meth:`from_scale`), from a
    ``psych``-style keys list (:meth:`from_keys`) or read from a :class:`ScoringKey`.

    Attributes
    ----------
    scores : tuple of ScoreDefinition
    method : {"mean", "sum"}
    min_answered : float
        Minimum share of a score's items that must be answered (0..1).
    response_min, response_max : float or None
        Response range; used for reverse keying and to refuse out-of-range data.
    missing_codes : tuple of float
        Values that mean "missing" in raw data (set to missing and counted).
    likert : bool
        Responses must be integers (ordered categories).
    """

    scores: tuple[ScoreDefinition, ...]
    method: str = "mean"
    min_answered: float = 0.0
    response_min: float | None = None
    response_max: float | None = None
    missing_codes: tuple[float, ...] = ()
    likert: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("mean", "sum"):
            raise ScoringKeyError(f"scoring.method must be 'mean' or 'sum', not {self.method!r}")
        _check_share(self.min_answered, "scoring.min_answered")
        if not self.scores:
            raise ScoringKeyError("no scores defined: the scale has no items")
        names = [s.name for s in self.scores]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ScoringKeyError(f"score names must be unique; repeated: {', '.join(dup)}")
        for sd in self.scores:
            rep = sorted({i for i in sd.items if sd.items.count(i) > 1})
            if rep:
                raise ScoringKeyError(f"score {sd.name!r} lists item(s) {', '.join(rep)} twice")
            stray = [i for i in sd.reverse if i not in sd.items]
            if stray:
                raise ScoringKeyError(f"score {sd.name!r}: reverse-keyed {', '.join(stray)} "
                                      "not among its items")
        rev_all = {i for sd in self.scores for i in sd.reverse}
        mixed = sorted({i for sd in self.scores for i in sd.items
                        if i in rev_all and i not in sd.reverse})
        if mixed:
            raise ScoringKeyError(f"item(s) {', '.join(mixed)} are reverse-keyed in one score "
                                  "but not in another")
        has_reverse = any(s.reverse for s in self.scores)
        if has_reverse and (self.response_min is None or self.response_max is None):
            raise ScoringKeyError(
                "reverse-keyed items need the response range (min and max): pass "
                "response_range=(min, max)")
        if (self.response_min is not None and self.response_max is not None
                and not self.response_min < self.response_max):
            raise ScoringKeyError(
                f"response range min={self.response_min} must be below max={self.response_max}")

    @property
    def items(self) -> tuple[str, ...]:
        """All items used by any score, in first-seen order."""
        seen: dict[str, None] = {}
        for s in self.scores:
            for i in s.items:
                seen.setdefault(i, None)
        return tuple(seen)

    @property
    def reverse_items(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for s in self.scores:
            for i in s.reverse:
                seen.setdefault(i, None)
        return tuple(seen)

    @classmethod
    def from_keys(
        cls,
        keys: Mapping[str, Sequence[str]],
        *,
        response_range: tuple[float, float] | None = None,
        method: str = "mean",
        min_answered: float = 0.0,
        missing_codes: Sequence[float] = (),
        total: bool = False,
        likert: bool = True,
    ) -> ScoringRules:
        """Rules from a ``psych``-style keys list: ``{"agree": ["-A1", "A2", ...]}``.

        A leading ``-`` marks a reverse-keyed item (as in ``psych::make.keys``).
        An item must be keyed the same way in every score it appears in.
        """
        scores = []
        direction: dict[str, bool] = {}
        for name, entries in keys.items():
            items, rev = [], []
            if isinstance(entries, str) or not len(entries):
                raise ScoringKeyError(f"keys[{name!r}] must be a non-empty list of item names")
            for e in entries:
                e = str(e)
                neg = e.startswith("-")
                item = e[1:] if neg else e
                if direction.setdefault(item, neg) != neg:
                    raise ScoringKeyError(
                        f"item {item!r} is keyed forward in one score and reversed in another")
                items.append(item)
                if neg:
                    rev.append(item)
            scores.append(ScoreDefinition(str(name), str(name), tuple(items), tuple(rev)))
        if total:
            all_items = list(dict.fromkeys(i for s in scores for i in s.items))
            scores.append(ScoreDefinition("total", "Total", tuple(all_items),
                                          tuple(i for i in all_items if direction[i])))
        lo, hi = response_range if response_range is not None else (None, None)
        return cls(tuple(scores), method, float(min_answered),
                   None if lo is None else float(lo), None if hi is None else float(hi),
                   tuple(float(c) for c in missing_codes), likert)

    @classmethod
    def from_scale(cls, scale: Any) -> ScoringRules:
        """Rules from a :class:`psychometrics.scale.Scale` (spec order of subscales/items)."""
        view = _scale_view(scale)
        return cls.from_spec_dict(view)

    @classmethod
    def from_spec_dict(cls, spec: Mapping[str, Any], *, where: str = "scale") -> ScoringRules:
        """Rules from a scale spec as a plain dictionary (the YAML structure)."""
        rf = _get(spec, "response_format", Mapping, where)
        items = _get(spec, "items", list, where)
        subscales = spec.get("subscales") or []
        sc = spec.get("scoring") or {}
        if not isinstance(sc, Mapping):
            raise ScoringKeyError(f"{where}.scoring must be a mapping")
        by_sub: dict[str, list[Mapping[str, Any]]] = {}
        sub_names: dict[str, str] = {}
        for j, s in enumerate(subscales):
            sid = _get(s, "id", str, f"{where}.subscales[{j}]")
            sub_names[sid] = str(s.get("name") or sid)
            by_sub[sid] = []
        for j, it in enumerate(items):
            w = f"{where}.items[{j}]"
            _get(it, "id", str, w)
            sub = it.get("subscale")
            if sub is None:
                continue
            if sub not in by_sub:
                raise ScoringKeyError(f"{w}.subscale {sub!r} is not a declared subscale")
            by_sub[sub].append(it)
        defs = []
        for sid, its in by_sub.items():
            if not its:
                continue
            ids = tuple(str(i["id"]) for i in its)
            rev = tuple(str(i["id"]) for i in its if i.get("reverse", False))
            defs.append(ScoreDefinition(sid, sub_names[sid], ids, rev))
        if not defs:  # a unidimensional scale without subscales
            ids = tuple(str(i["id"]) for i in items)
            defs.append(ScoreDefinition(str(spec.get("id", "score")), str(spec.get("name") or
                        spec.get("id", "score")), ids,
                        tuple(str(i["id"]) for i in items if i.get("reverse", False))))
        if sc.get("total", True):  # also for one subscale: 'total' is always a score name
            ids = tuple(str(i["id"]) for i in items)
            rev = tuple(str(i["id"]) for i in items if i.get("reverse", False))
            hier = spec.get("hierarchy") or {}
            label = str(hier.get("name") or f"{spec.get('name', 'Scale')} (total)")
            defs.append(ScoreDefinition("total", label, ids, rev))
        rtype = rf.get("type", "likert")
        lo, hi = rf.get("min"), rf.get("max")
        try:
            lo = None if lo is None else float(lo)
            hi = None if hi is None else float(hi)
            codes = tuple(float(c) for c in (rf.get("missing_codes") or ()))
            min_answered = float(sc.get("min_answered", 1.0))  # the spec's default
        except (TypeError, ValueError) as exc:
            raise ScoringKeyError(f"{where}.response_format/scoring holds a non-number: {exc}") from None
        return cls(tuple(defs), str(sc.get("method", "mean")), min_answered, lo, hi, codes,
                   rtype == "likert")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "min_answered": self.min_answered,
            "response_min": self.response_min,
            "response_max": self.response_max,
            "missing_codes": list(self.missing_codes),
            "likert": self.likert,
            "scores": [s.to_dict() for s in self.scores],
        }


def _check_share(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            0.0 <= float(value) <= 1.0):
        raise ScoringKeyError(f"{name} must be a share between 0 and 1, not {value!r}")


def _get(d: Any, key: str, typ: type | tuple[type, ...], where: str) -> Any:
    """A required field of a mapping, with an error naming the field path."""
    if not isinstance(d, Mapping):
        raise ScoringKeyError(f"{where} must be a mapping, not {type(d).__name__}")
    if key not in d:
        raise ScoringKeyError(f"{where}.{key} is missing")
    v = d[key]
    if typ is float:
        typ = (int, float)
    if not isinstance(v, typ) or (typ in ((int, float), int) and isinstance(v, bool)):
        tname = typ.__name__ if isinstance(typ, type) else "number"
        raise ScoringKeyError(f"{where}.{key} must be a {tname}, not {type(v).__name__} ({v!r})")
    return v


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    v = getattr(obj, name, default)
    return v() if callable(v) and not isinstance(v, type) else v


def _scale_view(scale: Any) -> dict[str, Any]:
    """The scale spec as a plain dict (via ``Scale.to_dict()`` or attributes)."""
    if isinstance(scale, Mapping):  # plain JSON types, as the key file will hold them
        return json.loads(json.dumps(to_jsonable(dict(scale))))
    if hasattr(scale, "to_dict"):
        d = scale.to_dict()
        if isinstance(d, Mapping) and "items" in d:
            return json.loads(json.dumps(to_jsonable(d)))
    if hasattr(scale, "model_dump"):
        return json.loads(json.dumps(to_jsonable(scale.model_dump(mode="json"))))
    raise ScoringKeyError(f"cannot read a scale spec from {type(scale).__name__}")


def _as_scale(scale: Any) -> Any:
    """A spec given as a mapping becomes a validated :class:`~psychometrics.scale.Scale`."""
    if isinstance(scale, Mapping):
        from psychometrics.scale import Scale

        return Scale.from_dict(scale)
    return scale


def _scale_hash(scale: Any) -> str | None:
    h = _attr(scale, "content_hash")
    return None if h is None else str(h)


# ===================================================================== item matrix
def _prepare_items(
    data: pd.DataFrame,
    rules: ScoringRules,
    *,
    error: type[Exception],
    already_reversed: bool = False,
    source: str = "data",
) -> tuple[pd.DataFrame, pd.Series]:
    """Check the item columns and return reverse-keyed items (float) and missing-code counts.

    Raises ``error`` naming items, rows and values for missing columns, non-numbers,
    non-integers (Likert) and values outside the response range.
    """
    items = list(rules.items)
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise error(
            f"{source} lacks item column(s) {', '.join(map(repr, absent))} that the "
            f"{'key' if error is ScoringKeyError else 'scale'} scores; columns present: "
            f"{', '.join(map(str, list(data.columns)[:30]))}"
            f"{' ...' if len(data.columns) > 30 else ''}")
    raw = data[items]
    cols: list[np.ndarray] = []
    for item in items:
        col = raw[item]
        if pd.api.types.is_bool_dtype(col.dtype):
            raise error(f"{source}: item {item!r} holds true/false values, not responses")
        x, bad = response_numbers(col)
        if bad.any():
            raise error(
                f"{source}: item {item!r} holds non-numeric value(s) {_few(list(col[bad]))} "
                f"in row(s) {_few(list(data.index[bad]))}; recode them or declare numeric "
                "missing codes")
        cols.append(x)
    x = np.column_stack(cols) if cols else np.empty((len(data), 0))
    # declared missing codes -> NaN, counted per item
    if rules.missing_codes:
        code_mask = np.isin(x, np.asarray(rules.missing_codes, dtype=float))
        x[code_mask] = np.nan
        n_codes = code_mask.sum(axis=0)
    else:
        n_codes = np.zeros(len(items), dtype=np.int64)
    ok = ~np.isnan(x)
    problems = np.isinf(x)
    if problems.any():
        j = int(np.flatnonzero(problems.any(axis=0))[0])
        raise error(f"{source}: item {items[j]!r} holds infinite value(s) in row(s) "
                    f"{_few(list(data.index[problems[:, j]]))}")
    if rules.likert and not already_reversed:
        frac = ok & (x != np.round(np.where(ok, x, 0.0)))
        if frac.any():
            j = int(np.flatnonzero(frac.any(axis=0))[0])
            rows = frac[:, j]
            raise error(
                f"{source}: item {items[j]!r} holds non-integer response(s) "
                f"{_few(x[rows, j].tolist())} in row(s) {_few(list(data.index[rows]))}; a Likert "
                "item takes integer categories")
    lo, hi = rules.response_min, rules.response_max
    if lo is not None and hi is not None:
        with np.errstate(invalid="ignore"):
            out_r = ok & ((x < lo) | (x > hi))
        if out_r.any():
            j = int(np.flatnonzero(out_r.any(axis=0))[0])
            rows = out_r[:, j]
            others = [items[k] for k in np.flatnonzero(out_r.any(axis=0))[1:]]
            raise error(
                f"{source}: item {items[j]!r} holds value(s) {_few(x[rows, j].tolist())} outside "
                f"the response range {_num(lo)}..{_num(hi)} in row(s) {_few(list(data.index[rows]))}"
                + (f" (also items {', '.join(map(repr, others))})" if others else "")
                + (f"; declared missing codes: {[_num(c) for c in rules.missing_codes]}"
                   if rules.missing_codes else
                   "; if these are missing-value codes, declare them in "
                   "response_format.missing_codes"))
    if not already_reversed and rules.reverse_items:
        rev = [items.index(i) for i in rules.reverse_items]
        x[:, rev] = rules.response_min + rules.response_max - x[:, rev]
    frame = pd.DataFrame(x, index=data.index, columns=items)
    return frame, pd.Series(np.asarray(n_codes, dtype=np.int64), index=items, name="missing_codes")


def _few(values: Sequence[Any], k: int = 5) -> str:
    vals = [_num(v) if isinstance(v, (float, np.floating)) else v for v in list(values)]
    shown = ", ".join(map(str, vals[:k]))
    return shown + (f" ... ({len(vals)} in all)" if len(vals) > k else "")


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _score_matrix(
    items: pd.DataFrame, rules: ScoringRules, min_answered: float, method: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scores, answered counts and per-row reason codes (0 ok, 1 none, 2 too few)."""
    scores, answered, reasons = {}, {}, {}
    xall = items.to_numpy()
    pos = {c: j for j, c in enumerate(items.columns)}
    okall = ~np.isnan(xall)
    zall = np.where(okall, xall, 0.0)
    for d in rules.scores:
        cols = [pos[i] for i in d.items]
        k = len(cols)
        n = okall[:, cols].sum(axis=1)
        total = zall[:, cols].sum(axis=1)
        need = max(1, math.ceil(min_answered * k - 1e-9))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
            if method == "mean":
                val = mean
            else:  # prorated sum; exact plain sum when every item is answered
                val = np.where(n == k, total, mean * k)
        reason = np.where(n == 0, 1, np.where(n < need, 2, 0))
        scores[d.name] = np.where(reason == 0, val, np.nan)
        answered[d.name] = n
        reasons[d.name] = reason
    idx = items.index
    return (pd.DataFrame(scores, index=idx), pd.DataFrame(answered, index=idx),
            pd.DataFrame(reasons, index=idx))


def coefficient_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha from the pairwise-complete item covariance matrix.

    ``alpha = k / (k - 1) * (1 - sum(diag C) / sum(C))`` with ``C`` the covariance
    matrix of the (reverse-keyed) items computed from pairwise-complete cases, which
    is what ``psych::scoreItems`` reports as ``alpha`` (validated against it on bfi,
    ``tests/reference/scoring/provenance.json``: ``scoreitems_alpha``).
    """
    k = items.shape[1]
    if k < 2:
        return float("nan")
    from psychometrics.reliability import _alpha_batch

    c = items.cov().to_numpy()  # pairwise complete, ddof = 1 (as R's cov(use="pairwise"))
    total = c.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(_alpha_batch(c))


# ========================================================================== result
@dataclass(frozen=True, eq=False)
class ScoreResult(ResultMixin):
    """Scores of one data set.

    Attributes
    ----------
    scores : DataFrame
        One row per input row, same index and order as the input; the id column
        first (when given), then one column per score (``definitions``), then norm
        columns ``<score>_z``, ``<score>_T``, ``<score>_pr``, ``<score>_stanine``
        (when norms are applied), then factor scores ``fs_<factor>`` (when requested).
    n_answered : DataFrame
        Number of answered items per row and score.
    not_scored : DataFrame
        Rows left missing, by score (index) and reason (columns
        ``no_items_answered``, ``too_few_answered``).
    sem : DataFrame
        Per score: ``sd``, ``reliability``, ``coefficient``, ``sem``
        (= sd * sqrt(1 - reliability)) and ``source`` of sd and reliability
        (``"key"`` = calibration sample of the scoring key, ``"data"`` = these data,
        ``"given"`` = passed by the caller).
    descriptives : DataFrame
        Per score: n scored, mean, sd, min, max in these data.
    missing_codes : Series
        Per item: how many declared missing codes were set to missing.
    definitions : tuple of ScoreDefinition
    method : str
    min_answered : float
    n_rows : int
    factor_method : str or None
    factor_names : tuple of str
    group : Series or None
        The group label of each row, when a group was given (or found: the group of a
        ``Responses`` object, the key's invariance grouping variable).
    norms : Norms or None
        The norms applied (if any).
    key : ScoringKey or None
        The key the data were scored with (if any).
    diagnostics : tuple of Diagnostic
    """

    scores: pd.DataFrame
    n_answered: pd.DataFrame
    not_scored: pd.DataFrame
    sem: pd.DataFrame
    descriptives: pd.DataFrame
    missing_codes: pd.Series
    definitions: tuple[ScoreDefinition, ...]
    method: str
    min_answered: float
    n_rows: int
    response_min: float | None = None
    response_max: float | None = None
    id_column: str | None = None
    factor_method: str | None = None
    factor_names: tuple[str, ...] = ()
    group: pd.Series | None = None
    norms: Norms | None = None
    key: ScoringKey | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Scores"

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def _tables(self) -> dict[str, pd.DataFrame]:  # per-row tables are too long to print
        return {"descriptives": self.descriptives, "not_scored": self.not_scored,
                "sem": self.sem}

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["key"] = None if self.key is None else self.key.to_dict()
        return d

    @property
    def score_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.definitions)


# =========================================================================== score
def score(
    scale_or_key: Any,
    data: Any,
    min_answered: float | None = None,
    method: str | None = None,
    id_column: str | None = None,
    factor_scores: Any = None,
    norms: Norms | bool | None = None,
    *,
    factor_method: str = "regression",
    reliability: Mapping[str, float] | str | None = "alpha",
    group: str | pd.Series | None = None,
    response_range: tuple[float, float] | None = None,
    total: bool = False,
    stanine_from: str = "percentile",
    columns: Mapping[str, str] | None = None,
) -> ScoreResult:
    """Score item responses: subscale and total scores, SEM, norms, factor scores.

    Parameters
    ----------
    scale_or_key : Scale, ScoringKey, ScoringRules, mapping or path
        What to score with. A :class:`~psychometrics.scale.Scale`; a
        :class:`ScoringKey` (then data are checked against the key); a path to a
        scoring key file (name starts with ``scoring_key``) or to a scale YAML; or a
        ``psych``-style keys mapping ``{"score": ["item", "-reversed_item", ...]}``
        (then pass ``response_range`` when items are reverse-keyed).
    data : DataFrame, Responses or path
        Raw item responses (one column per item id; other columns are ignored), a
        :class:`~psychometrics.data.Responses` (its already reverse-keyed ``items``
        and ``ids`` are used) or a path to a data file.
    min_answered : float, optional
        Minimum share (0..1) of a score's items that must be answered for the score
        to be computed (prorating). Default: the spec's / key's ``scoring.min_answered``.
        ``0`` scores whatever is answered.
    method : {"mean", "sum"}, optional
        Default: the spec's / key's ``scoring.method``. ``"sum"`` is the prorated sum
        ``mean * k``.
    id_column : str, optional
        A data column passed through as the first column of ``scores``.
    factor_scores : CFA result or FactorScoreModel, optional
        Add factor scores computed from a fitted CFA (see :func:`factor_scores`).
    norms : Norms or bool, optional
        Norms to apply. Default (None or True) with a key: the key's norms when it has
        any (not when ``method`` differs from the key's). ``False`` applies none.
    factor_method : {"regression", "bartlett"}
    reliability : mapping, "alpha" or None
        Reliability per score for the SEM. With a key, the key's reliabilities are
        used. Otherwise a mapping ``{score: value}``, or ``"alpha"`` (default):
        coefficient alpha of these data (:func:`coefficient_alpha`), or None (no SEM).
    group : str or Series, optional
        Grouping column (or values): selects group norms and, with a key, warns
        (:class:`~psychometrics.exceptions.InvarianceWarning`) for groups the key's
        invariance testing did not cover.
    response_range : (min, max), optional
        Response range for a keys mapping.
    total : bool
        For a keys mapping: also score a total over all items.
    stanine_from : {"percentile", "z"}
        How stanines are derived when norms are applied (see :func:`apply_norms`).
    columns : mapping, optional
        Data column -> item id, for data whose columns are not named by item id
        (e.g. ``{"q3": "MSS03"}``).

    Returns
    -------
    ScoreResult

    Raises
    ------
    ScoringKeyError
        Scoring with a key and the data lack key items, hold values outside the key's
        response range, or were loaded with a different scale version / content.
    DataError
        The same problems when scoring with a scale, or an unusable id/group column.

    Notes
    -----
    Mean scores with ``min_answered=0`` equal ``psych::scoreItems(keys, items,
    impute = "none", min = <response min>, max = <response max>)``; validated to 1e-10
    on bfi (``tests/reference/scoring/bfi_scoreitems_none.csv``).
    """
    diagnostics: list[Diagnostic] = []
    key: ScoringKey | None = None
    scale_hash: str | None = None
    if isinstance(scale_or_key, (str, Path)):
        scale_or_key = _load_scale_or_key(Path(scale_or_key))
    if isinstance(scale_or_key, ScoringKey):
        key = scale_or_key
        rules = key.rules
        error: type[Exception] = ScoringKeyError
    elif isinstance(scale_or_key, ScoringRules):
        rules = scale_or_key
        error = DataError
    elif isinstance(scale_or_key, Mapping) and "items" not in scale_or_key:
        rules = ScoringRules.from_keys(scale_or_key, response_range=response_range, total=total)
        error = DataError
    else:
        scale_or_key = _as_scale(scale_or_key)
        rules = ScoringRules.from_scale(scale_or_key)
        scale_hash = _scale_hash(scale_or_key)
        error = DataError
    if method is not None and method not in ("mean", "sum"):
        raise DataError(f"method must be 'mean' or 'sum', not {method!r}")
    method = method or rules.method
    if min_answered is None:
        min_answered = rules.min_answered
    try:
        _check_share(min_answered, "min_answered")
    except ScoringKeyError as exc:
        raise DataError(str(exc)) from None
    min_answered = float(min_answered)
    if key is not None:
        for name, used, validated in (("method", method, rules.method),
                                      ("min_answered", min_answered, rules.min_answered)):
            if used != validated:
                record(diagnostics, PsychometricsWarning,
                       f"scoring with {name}={used!r} although the key was validated with "
                       f"{name}={validated!r}", stacklevel=3)

    # ------------------------------------------------------------- the data
    already_reversed = False
    ids: pd.Series | None = None
    source = "data"
    if isinstance(data, (str, Path)):
        scale_obj = key.scale() if key is not None else (
            None if isinstance(scale_or_key, (ScoringRules, Mapping)) else scale_or_key)
        data = _load_file(Path(data), scale_obj, id_column, key is not None, columns)
    elif columns and isinstance(data, pd.DataFrame):
        clash = [c for c, i in columns.items() if i in data.columns and i != c]
        if clash:
            raise DataError(f"cannot rename {', '.join(clash)}: the data already have columns "
                            f"named {', '.join(str(columns[c]) for c in clash)}")
        absent = [c for c in columns if c not in data.columns]
        if absent:
            raise DataError(f"columns to rename not in the data: {', '.join(map(str, absent))}")
        data = data.rename(columns=dict(columns))
    if _is_responses(data):
        resp = data
        resp_scale = getattr(resp, "scale", None)
        if key is not None and resp_scale is not None:
            key.check_scale(resp_scale)
        elif resp_scale is not None and scale_hash is not None:
            h = _scale_hash(resp_scale)
            if h is not None and h != scale_hash:
                raise DataError(
                    "the responses were loaded with a different version or content of the "
                    f"scale (content hash {h[:12]}... vs {scale_hash[:12]}...); load them with "
                    "the scale you score with")
        frame = resp.items
        already_reversed = True  # Responses.items are reverse-keyed already
        source = str(getattr(resp, "source", "responses"))
        extra = getattr(resp, "extra", None)
        extra = extra if isinstance(extra, pd.DataFrame) else pd.DataFrame(index=frame.index)
        rid = getattr(resp, "ids", None)
        if isinstance(rid, pd.Series) and (id_column is None or rid.name == id_column):
            ids = rid.rename(rid.name or "id")
        elif id_column is not None:
            if id_column not in extra.columns:
                raise DataError(f"id column {id_column!r} is not in {source}")
            ids = extra[id_column]
        rgroup = getattr(resp, "group", None)
        if group is None and isinstance(rgroup, pd.Series):
            group = rgroup
        elif isinstance(group, str):
            if isinstance(rgroup, pd.Series) and rgroup.name == group:
                group = rgroup
            elif group in extra.columns:
                group = extra[group]
            else:
                raise DataError(f"group column {group!r} is not in {source}")
        data = frame.join(extra.drop(columns=[c for c in extra.columns if c in frame.columns]))
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a DataFrame, a Responses object or a file path, not "
                        f"{type(data).__name__}")
    if id_column is not None and ids is None:
        if id_column not in data.columns:
            raise DataError(f"id column {id_column!r} is not in the data; columns: "
                            f"{', '.join(map(str, list(data.columns)[:30]))}")
        ids = data[id_column]
    if ids is not None and ids.name in [d.name for d in rules.scores]:
        raise DataError(f"id column {ids.name!r} has the name of a score; rename it")
    if group is None and key is not None and key.invariance:
        gv = key.invariance.get("group_variable")
        if isinstance(gv, str) and gv in data.columns and gv not in rules.items:
            group = gv  # check the groups against the invariance testing of the key
    groups = _group_values(group, data)

    items, n_codes = _prepare_items(data, rules, error=error, already_reversed=already_reversed,
                                    source=source)
    vals, answered, reasons = _score_matrix(items, rules, min_answered, method)
    not_scored = pd.DataFrame(
        {r: (reasons == code).sum(axis=0).astype("int64") for code, r in enumerate(_REASONS, 1)})
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

    # ------------------------------------------------------------- SEM
    sem = _sem_table(vals, items, rules, key, reliability, method, diagnostics)

    # ------------------------------------------------------------- key checks
    if key is not None and groups is not None:
        _warn_uncovered_groups(key, groups, diagnostics)

    out = vals.copy()
    applied_norms: Norms | None = None
    if norms is True or (norms is None and key is not None and key.norms is not None):
        if key is None or key.norms is None:
            raise DataError("norms=True applies a scoring key's norms, but there are none; "
                            "pass a Norms object (build_norms)")
        if method != key.rules.method:
            record(diagnostics, PsychometricsWarning,
                   f"the key's norms are for {key.rules.method} scores; they are not applied "
                   f"to {method} scores", stacklevel=3)
            norms = None
        else:
            norms = key.norms
    if isinstance(norms, Norms):
        ngroups = None
        if groups is not None and norms.groups:
            unknown = sorted({str(v) for v in groups.dropna().unique()} - set(norms.groups))
            if unknown:
                record(diagnostics, DataQualityWarning,
                       f"no group norms for {norms.group_variable or 'group'} = "
                       f"{', '.join(unknown)}; those rows are normed on the whole reference "
                       "sample", stacklevel=3)
            ngroups = groups.where(groups.astype(str).isin(norms.groups))
        normed = apply_norms(vals, norms, group=ngroups, stanine_from=stanine_from)
        out = pd.concat([out, normed], axis=1)
        applied_norms = norms
    fnames: tuple[str, ...] = ()
    fm = None
    if factor_scores is not None:
        # the model's indicators: the (reverse-keyed) scale items, other columns as given
        extra_cols = data.drop(columns=[c for c in items.columns if c in data.columns])
        fs_input = pd.concat([items.reset_index(drop=True), extra_cols.reset_index(drop=True)],
                             axis=1).set_axis(items.index)  # positional: duplicate labels ok
        fs = _factor_block(fs_input, factor_scores, factor_method, groups)
        fnames, fm = tuple(fs.columns), factor_method
        fs.columns = [f"fs_{c}" for c in fs.columns]
        out = pd.concat([out, fs], axis=1)
    if ids is not None:
        out.insert(0, str(ids.name), ids.to_numpy())

    desc = pd.DataFrame({
        "n": vals.notna().sum().astype("int64"),
        "mean": vals.mean(), "sd": vals.std(ddof=1), "min": vals.min(), "max": vals.max()})
    desc.index.name = "score"
    return ScoreResult(
        scores=out, n_answered=answered, not_scored=not_scored, sem=sem, descriptives=desc,
        missing_codes=n_codes, definitions=rules.scores, method=method,
        min_answered=min_answered, n_rows=len(out), response_min=rules.response_min,
        response_max=rules.response_max, id_column=None if ids is None else str(ids.name),
        factor_method=fm, factor_names=fnames,
        group=None if groups is None else groups.rename(groups.name or "group"),
        norms=applied_norms, key=key,
        diagnostics=tuple(diagnostics))


def _factor_block(items: pd.DataFrame, fit: Any, method: str, groups: pd.Series | None
                  ) -> pd.DataFrame:
    """Factor scores of every row; a multi-group fit scores each row with its group's matrices."""
    est = fit if isinstance(fit, pd.DataFrame) else getattr(fit, "estimates", None)
    labels = (list(dict.fromkeys(str(g) for g in est["group"]))
              if isinstance(est, pd.DataFrame) and "group" in est.columns else [])
    if len(labels) <= 1:
        return _factor_scores_model(items, FactorScoreModel.from_fit(fit), method)
    if groups is None:
        raise DataError(f"the CFA was fitted in groups {', '.join(labels)}: pass group= (the "
                        "grouping column) so that each row is scored with its group's model")
    g = groups.astype("string")
    unknown = sorted(set(g.dropna()) - set(labels))
    if unknown or g.isna().any():
        raise DataError(f"rows of group(s) {', '.join(unknown) or '<missing>'} cannot be "
                        f"factor-scored: the CFA has groups {', '.join(labels)}")
    out: pd.DataFrame | None = None
    for lab in labels:
        rows = (g == lab).to_numpy(dtype=bool)
        if rows.any():
            part = _factor_scores_model(items[rows], FactorScoreModel.from_fit(fit, lab), method)
            if out is None:
                out = pd.DataFrame(np.nan, index=items.index, columns=part.columns)
            out.iloc[np.flatnonzero(rows)] = part.to_numpy()
    if out is None:  # no rows at all
        return _factor_scores_model(items, FactorScoreModel.from_fit(fit, labels[0]), method)
    return out


def _group_values(group: Any, data: pd.DataFrame | None) -> pd.Series | None:
    if group is None:
        return None
    if isinstance(group, str):
        if data is None or group not in data.columns:
            raise DataError(f"group column {group!r} is not in the data")
        return data[group]
    g = pd.Series(group)
    if data is not None:
        if len(g) != len(data):
            raise DataError(f"group has {len(g)} values but the data have {len(data)} rows")
        g.index = data.index
    return g


def _sem_table(vals: pd.DataFrame, items: pd.DataFrame, rules: ScoringRules,
               key: ScoringKey | None, reliability: Any, method: str,
               diagnostics: list[Diagnostic]) -> pd.DataFrame:
    rows = {}
    for d in rules.scores:
        sd_src = "data"
        sd = float(vals[d.name].std(ddof=1)) if vals[d.name].notna().sum() > 1 else float("nan")
        rel, coef, rel_src = float("nan"), None, None
        if key is not None:
            info = key.reliability.get(d.name)
            if info is not None:
                rel, coef, rel_src = float(info["value"]), info.get("coefficient"), "key"
            if key.norms is not None and d.name in key.norms.scores:
                t = key.norms.table(d.name)
                if key.rules.method == method:
                    sd, sd_src = t.sd, "key"
        elif isinstance(reliability, Mapping):
            if d.name in reliability:
                v = reliability[d.name]
                if isinstance(v, Mapping):
                    rel, coef = float(v["value"]), v.get("coefficient")
                else:
                    rel, coef = float(v), None
                rel_src = "given"
        elif reliability == "alpha":
            rel, coef, rel_src = coefficient_alpha(items[list(d.items)]), "alpha", "data"
        elif reliability is not None:
            raise DataError(f"reliability must be a mapping, 'alpha' or None, not {reliability!r}")
        if rel == rel and not 0.0 <= rel <= 1.0:
            record(diagnostics, ReliabilityWarning,
                   f"{d.name}: reliability {rel:.3f} ({coef or 'given'}) is outside [0, 1]; "
                   "no standard error of measurement", stacklevel=4)
            sem = float("nan")
        else:
            sem = sd * math.sqrt(1.0 - rel)  # NaN when reliability is unknown (None)
        rows[d.name] = {"sd": sd, "reliability": rel, "coefficient": coef, "sem": sem,
                        "sd_source": sd_src, "reliability_source": rel_src}
    t = pd.DataFrame.from_dict(rows, orient="index")
    t.index.name = "score"
    return t


def _warn_uncovered_groups(key: ScoringKey, groups: pd.Series, diagnostics: list[Diagnostic]
                           ) -> None:
    present = sorted({str(g) for g in groups.dropna().unique()})
    inv = key.invariance
    if not inv or not inv.get("groups"):
        record(diagnostics, InvarianceWarning,
               f"the scoring key records no measurement-invariance test, so scores of groups "
               f"{', '.join(present)} may not be comparable", stacklevel=4)
        return
    covered = {str(g) for g in inv["groups"]}
    missing = [g for g in present if g not in covered]
    if missing:
        record(diagnostics, InvarianceWarning,
               f"group(s) {', '.join(missing)} were not covered by the invariance testing of "
               f"this key (level {inv.get('level')!r} across {inv.get('group_variable') or 'groups'}"
               f" {', '.join(sorted(covered))}); their scores may not be comparable",
               stacklevel=4)


def _is_responses(obj: Any) -> bool:
    return (not isinstance(obj, pd.DataFrame) and isinstance(getattr(obj, "items", None),
            pd.DataFrame) and hasattr(obj, "raw"))


def _load_file(path: Path, scale: Any, id_column: str | None, with_key: bool,
               columns: Mapping[str, str] | None = None) -> Any:
    """Read a data file: through :func:`psychometrics.data.load_responses` when a scale is
    known (all its formats, SPSS user-missing values, row numbers in messages), else as a
    plain table. With a key, a mismatch is reported as a :class:`ScoringKeyError`."""
    if scale is None:
        frame = _read_table(path)
        return frame.rename(columns=dict(columns)) if columns else frame
    from psychometrics.data import load_responses

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resp = load_responses(path, scale, id_column=id_column, columns=columns)
    except DataError as exc:
        if with_key:
            raise ScoringKeyError(f"the data do not match the scoring key: {exc}") from None
        raise
    for w in caught:  # re-issue data-quality warnings from here
        warnings.warn(w.message, w.category, stacklevel=4)
    return resp


def _read_table(path: Path) -> pd.DataFrame:
    """Read a data file (CSV/TSV, Excel, Parquet, SPSS) for scoring."""
    if not path.exists():
        raise DataError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".sav":
            import pyreadstat

            df, _ = pyreadstat.read_sav(str(path))
            return df
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file {str(path)!r}: {exc}") from None
    raise DataError(f"data file {str(path)!r}: unknown format {suffix!r}; use .csv, .tsv, "
                    ".xlsx, .parquet or .sav")


def _load_scale_or_key(path: Path) -> Any:
    if not path.exists():
        raise ScoringKeyError(f"file {str(path)!r} does not exist")
    if path.name.startswith("scoring_key"):
        return ScoringKey.from_file(path)
    from psychometrics.scale import Scale

    return Scale.from_yaml(path)


# ==================================================================== factor scores
@dataclass(frozen=True)
class FactorScoreModel:
    """Labelled model matrices of a fitted single-group CFA (continuous indicators).

    Attributes
    ----------
    Lambda : DataFrame
        Loadings, items x factors (a higher-order factor has a column of zeros).
    Theta : DataFrame
        Residual covariances, items x items.
    Psi : DataFrame
        Factor (residual) covariances, factors x factors.
    nu : Series or None
        Item intercepts; None = the sample means of the data scored (lavaan's choice
        for a model without mean structure).
    alpha : Series or None
        Factor (residual) means; None = 0.
    Beta : DataFrame or None
        Regressions among factors (``Beta.loc[lower, higher]`` is the loading of a
        first-order factor on a higher-order factor); None = no higher-order factors.
    """

    Lambda: pd.DataFrame
    Theta: pd.DataFrame
    Psi: pd.DataFrame
    nu: pd.Series | None = None
    alpha: pd.Series | None = None
    Beta: pd.DataFrame | None = None

    @property
    def factors(self) -> list[str]:
        return [str(c) for c in self.Lambda.columns]

    @classmethod
    def from_estimates(cls, estimates: pd.DataFrame, group: str | None = None
                       ) -> FactorScoreModel:
        """From a lavaan-style parameter table (``lhs, op, rhs, est`` [, ``group``]).

        This is the layout of ``CFAResult.estimates`` and of
        ``lavaan::parameterEstimates``. ``=~`` rows give loadings (or, between factors,
        higher-order loadings), ``~~`` rows variances/covariances, ``~1`` rows
        intercepts/means. For a multi-group fit, ``group`` selects the group.
        """
        need = {"lhs", "op", "rhs", "est"}
        if not isinstance(estimates, pd.DataFrame) or not need <= set(estimates.columns):
            raise DataError("a parameter table needs the columns lhs, op, rhs, est")
        pe = estimates
        if "group" in pe.columns:
            labels = list(dict.fromkeys(str(g) for g in pe["group"]))
            if group is None:
                if len(labels) > 1:
                    raise DataError(f"the fit has groups {', '.join(labels)}: choose whose "
                                    "model matrices score the data with "
                                    "FactorScoreModel.from_fit(fit, group=...)")
                group = labels[0]
            if str(group) not in labels:
                raise DataError(f"group {group!r} is not in the fit; groups: {', '.join(labels)}")
            pe = pe[pe["group"].astype(str) == str(group)]
        load = pe[pe["op"] == "=~"]
        latent = list(dict.fromkeys(load["lhs"].astype(str)))
        observed = list(dict.fromkeys(r for r in load["rhs"].astype(str) if r not in latent))
        if not latent:
            raise DataError("the parameter table has no loadings (=~ rows)")
        lam = pd.DataFrame(0.0, index=observed, columns=latent)
        beta = pd.DataFrame(0.0, index=latent, columns=latent)
        for r in load.itertuples(index=False):
            if str(r.rhs) in latent:
                beta.loc[str(r.rhs), str(r.lhs)] = float(r.est)
            else:
                lam.loc[str(r.rhs), str(r.lhs)] = float(r.est)
        theta = pd.DataFrame(0.0, index=observed, columns=observed)
        psi = pd.DataFrame(0.0, index=latent, columns=latent)
        for r in pe[pe["op"] == "~~"].itertuples(index=False):
            a, b = str(r.lhs), str(r.rhs)
            target = theta if a in observed else psi
            if a not in target.index or b not in target.index:
                raise DataError(f"covariance {a} ~~ {b} mixes items and factors; factor scores "
                                "need a measurement model")
            target.loc[a, b] = target.loc[b, a] = float(r.est)
        means = pe[pe["op"] == "~1"]
        nu = alpha = None
        if len(means):
            m = {str(a): float(e) for a, e in zip(means["lhs"], means["est"])}
            nu = pd.Series([m.get(i, 0.0) for i in observed], index=observed)
            alpha = pd.Series([m.get(f, 0.0) for f in latent], index=latent)
        other = sorted(set(pe["op"]) - {"=~", "~~", "~1", ":=", "==", "<", ">", "|", "~*~"})
        if other:
            raise DataError(f"factor scores need a measurement model; the fit also has "
                            f"{', '.join(other)} rows")
        return cls(lam, theta, psi, nu, alpha, beta if beta.to_numpy().any() else None)

    @classmethod
    def from_fit(cls, fit: Any, group: str | None = None) -> FactorScoreModel:
        """From a :class:`FactorScoreModel`, a CFA result or a mapping of matrices.

        A CFA result (:class:`psychometrics.cfa.CFAResult`) is read through its
        parameter table ``estimates`` (see :meth:`from_estimates`). A mapping holds
        ``Lambda``/``Theta``/``Psi`` (and optionally ``nu``/``alpha``/``Beta``) as
        labelled frames.
        """
        if isinstance(fit, FactorScoreModel):
            return fit
        est = getattr(fit, "estimates", None)
        if isinstance(est, pd.DataFrame):
            return cls.from_estimates(est, group)
        if isinstance(fit, pd.DataFrame):
            return cls.from_estimates(fit, group)
        if isinstance(fit, Mapping):
            low = {str(k).lower(): v for k, v in fit.items()}
            try:
                return cls(pd.DataFrame(low["lambda"]), pd.DataFrame(low["theta"]),
                           pd.DataFrame(low["psi"]),
                           None if low.get("nu") is None else pd.Series(low["nu"], dtype=float),
                           None if low.get("alpha") is None else
                           pd.Series(low["alpha"], dtype=float),
                           None if low.get("beta") is None else pd.DataFrame(low["beta"]))
            except KeyError as exc:
                raise DataError(f"model matrices lack {exc.args[0]!r}") from None
        raise DataError(
            f"cannot read a fitted model from {type(fit).__name__}; pass a CFA result, a "
            "parameter table or FactorScoreModel(Lambda, Theta, Psi, nu, alpha)")


def factor_scores(
    data: pd.DataFrame,
    Lambda: pd.DataFrame,
    Theta: pd.DataFrame,
    Psi: pd.DataFrame,
    nu: pd.Series | Sequence[float] | None = None,
    alpha: pd.Series | Sequence[float] | None = None,
    method: str = "regression",
    Beta: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Factor scores from labelled CFA model matrices (regression or Bartlett).

    With ``Sigma = Lambda Psi Lambda' + Theta``, ``mu = nu + Lambda alpha`` and the
    observed part ``o`` of each row ``y`` (missing values are allowed: each missing
    pattern uses the rows/columns of its observed items, as lavaan does with
    ``missing = "ml"``):

    * regression (Thurstone): ``f = alpha + Psi Lambda_o' Sigma_oo^-1 (y_o - mu_o)``
    * Bartlett: ``f = alpha + (Lambda_o' Sigma_oo^-1 Lambda_o)^-1 Lambda_o' Sigma_oo^-1 (y_o - mu_o)``
      (equal to the usual ``Theta^-1`` form and defined also when an error variance
      is zero).

    Parameters
    ----------
    data : DataFrame
        Item responses, columns named as ``Lambda``'s rows (extra columns ignored),
        scored the way the model was fitted (i.e. reverse-keyed if it was).
    Lambda, Theta, Psi : DataFrame
        Loadings (items x factors), residual covariances, factor covariances.
    nu : Series, optional
        Item intercepts; default the column means of ``data`` (lavaan's choice for a
        model without mean structure).
    alpha : Series, optional
        Factor means; default 0.
    method : {"regression", "bartlett"}
    Beta : DataFrame, optional
        Higher-order loadings (``Beta.loc[lower, higher]``); then ``Psi`` and ``alpha``
        are the residual (co)variances and means of the factors and the scores use
        ``Var(eta) = (I - B)^-1 Psi (I - B)^-T`` and ``E(eta) = (I - B)^-1 alpha``.

    Returns
    -------
    DataFrame
        One column per factor, same index as ``data``; rows with no observed item
        are missing. A Bartlett score needs observed indicators of the factor: for a
        higher-order factor it is missing (lavaan reports the factor mean there).

    Notes
    -----
    Validated against ``lavaan::lavPredict(fit, method = "regression")`` and
    ``method = "Bartlett"`` on Holzinger-Swineford (complete data, ``missing = "ml"``,
    no mean structure, second-order model): ``tests/reference/scoring/hs*_lavpredict_*.csv``.

    References
    ----------
    Bartlett, M. S. (1937). The statistical conception of mental factors. *British
    Journal of Psychology*, 28, 97-104. Thurstone, L. L. (1935). *The Vectors of Mind*.
    """
    model = FactorScoreModel(pd.DataFrame(Lambda), pd.DataFrame(Theta), pd.DataFrame(Psi),
                             None if nu is None else _labelled(nu, Lambda.index, "nu"),
                             None if alpha is None else _labelled(alpha, Lambda.columns, "alpha"),
                             None if Beta is None else pd.DataFrame(Beta))
    return _factor_scores_model(data, model, method)


def _labelled(v: Any, labels: pd.Index, name: str) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.astype(float)
    arr = np.asarray(v, dtype=float).ravel()
    if arr.size != len(labels):
        raise DataError(f"{name} has {arr.size} values but the model has {len(labels)}")
    return pd.Series(arr, index=labels)


def _factor_scores_model(data: pd.DataFrame, model: FactorScoreModel, method: str
                         ) -> pd.DataFrame:
    m = method.lower()
    if m not in ("regression", "bartlett"):
        raise DataError(f"factor-score method must be 'regression' or 'bartlett', not {method!r}")
    L = model.Lambda
    ov = [str(i) for i in L.index]
    absent = [i for i in ov if i not in data.columns]
    if absent:
        raise DataError(f"data lack the model's indicator(s) {', '.join(absent)}")
    try:
        theta = model.Theta.loc[L.index, L.index].to_numpy(float)
        psi = model.Psi.loc[L.columns, L.columns].to_numpy(float)
    except KeyError as exc:
        raise DataError(f"Theta/Psi labels do not match Lambda: {exc}") from None
    lam = L.to_numpy(float)
    try:
        y = data[ov].astype("float64").to_numpy()
    except (TypeError, ValueError):
        bad = [c for c in ov if not pd.api.types.is_numeric_dtype(data[c])]
        raise DataError(f"indicator column(s) {', '.join(bad)} are not numeric") from None
    nu = (np.nanmean(y, axis=0) if model.nu is None
          else model.nu.reindex(L.index).to_numpy(float))
    al = np.zeros(lam.shape[1]) if model.alpha is None else \
        model.alpha.reindex(L.columns).to_numpy(float)
    if np.isnan(nu).any() or np.isnan(al).any():
        raise DataError("nu/alpha labels do not match the model's items/factors")
    if model.Beta is not None:
        # eta = B eta + zeta: Var(eta) = (I-B)^-1 Psi (I-B)^-T, E(eta) = (I-B)^-1 alpha
        B = model.Beta.reindex(index=L.columns, columns=L.columns).fillna(0.0).to_numpy(float)
        ib = np.linalg.inv(np.eye(len(B)) - B)
        psi = ib @ psi @ ib.T
        al = ib @ al
    sigma = lam @ psi @ lam.T + theta
    resid = y - (nu + lam @ al)
    obs = ~np.isnan(y)
    out = np.full((len(y), lam.shape[1]), np.nan)
    # one solve per missing-data pattern (vectorised over the rows sharing it)
    patterns, inverse = np.unique(obs, axis=0, return_inverse=True)
    for p, pat in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == p)
        if not pat.any():
            continue
        lo = lam[pat]
        s_inv_lo = np.linalg.solve(sigma[np.ix_(pat, pat)], lo)  # Sigma_oo^-1 Lambda_o
        if m == "regression":
            w = psi @ s_inv_lo.T
            out[rows] = al + resid[np.ix_(rows, pat)] @ w.T
        else:
            # a factor without observed indicators here (a higher-order factor, or all its
            # items missing) has no Bartlett score: left missing
            has = np.abs(lo).sum(axis=0) > 0
            if not has.any():
                continue
            sl = s_inv_lo[:, has]
            w = np.linalg.solve(lo[:, has].T @ sl, sl.T)
            out[np.ix_(rows, np.flatnonzero(has))] = al[has] + resid[np.ix_(rows, pat)] @ w.T
    return pd.DataFrame(out, index=data.index, columns=[str(c) for c in L.columns])


# ============================================================================ norms
@dataclass(frozen=True)
class NormTable:
    """Reference distribution of one score (in one group).

    The frequency table of the distinct reference values is kept (not the raw
    scores), which is enough for exact mid-rank percentile ranks.

    Attributes
    ----------
    score, group : str
        ``group`` is ``"all"`` for the whole reference sample.
    n : int
    mean, sd : float
        ``sd`` with denominator n - 1.
    values : tuple of float
        Distinct reference values, ascending.
    counts : tuple of int
        Their frequencies.
    """

    score: str
    group: str
    n: int
    mean: float
    sd: float
    values: tuple[float, ...]
    counts: tuple[int, ...]

    def percentile_rank(self, x: Any) -> np.ndarray:
        """Mid-rank percentile ``PR(x) = 100 * (#{ref < x} + #{ref == x} / 2) / n``."""
        x = np.asarray(x, dtype=float)
        v = np.asarray(self.values, dtype=float)
        cum = np.concatenate([[0], np.cumsum(self.counts)])
        tol = _EQ_TOL * np.maximum(1.0, np.abs(x))
        below = cum[np.searchsorted(v, x - tol, side="left")]
        upto = cum[np.searchsorted(v, x + tol, side="right")]
        pr = 100.0 * (below + (upto - below) / 2.0) / self.n
        return np.where(np.isnan(x), np.nan, pr)

    def percentile_table(self) -> pd.DataFrame:
        """Value, frequency, cumulative frequency and percentile rank of each value."""
        cum = np.cumsum(self.counts)
        return pd.DataFrame({
            "value": self.values, "frequency": self.counts, "cumulative": cum,
            "percentile_rank": self.percentile_rank(self.values)})

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd,
                "values": list(self.values), "counts": list(self.counts)}


@dataclass(frozen=True, eq=False)
class Norms(ResultMixin):
    """Norms of several scores, overall (``"all"``) and optionally by group.

    Attributes
    ----------
    tables : dict
        ``tables[score][group]`` -> :class:`NormTable`; ``group == "all"`` always.
    group_variable : str or None
        Name of the grouping variable when norms were built by group.
    description : str
        Free text describing the reference sample.
    """

    tables: dict[str, dict[str, NormTable]]
    group_variable: str | None = None
    description: str = ""

    _title = "Norms"

    @property
    def scores(self) -> tuple[str, ...]:
        return tuple(self.tables)

    @property
    def groups(self) -> tuple[str, ...]:
        first = next(iter(self.tables.values()), {})
        return tuple(g for g in first if g != "all")

    def table(self, score: str, group: str = "all") -> NormTable:
        try:
            return self.tables[score][group]
        except KeyError:
            raise DataError(f"no norms for score {score!r} in group {group!r}") from None

    def to_frame(self) -> pd.DataFrame:
        rows = [{"score": s, "group": g, "n": t.n, "mean": t.mean, "sd": t.sd}
                for s, by in self.tables.items() for g, t in by.items()]
        return pd.DataFrame(rows).set_index(["score", "group"])

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"norms": self.to_frame()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_variable": self.group_variable,
            "description": self.description,
            "percentile_rank": "mid-rank: 100 * (#below + #equal / 2) / n",
            "tables": {s: {g: t.to_dict() for g, t in by.items()} for s, by in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "norms") -> Norms:
        tables_in = _get(d, "tables", Mapping, where)
        tables: dict[str, dict[str, NormTable]] = {}
        for s, by in tables_in.items():
            if not isinstance(by, Mapping) or "all" not in by:
                raise ScoringKeyError(f"{where}.tables.{s} must map groups (with 'all') to tables")
            tables[str(s)] = {}
            for g, t in by.items():
                w = f"{where}.tables.{s}.{g}"
                n = _get(t, "n", int, w)
                vals = _get(t, "values", list, w)
                counts = _get(t, "counts", list, w)
                if len(vals) != len(counts) or sum(counts) != n or \
                        any(not isinstance(c, int) or c <= 0 for c in counts):
                    raise ScoringKeyError(f"{w}: values/counts do not form a frequency table of n={n}")
                if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in vals) or \
                        list(vals) != sorted(vals):
                    raise ScoringKeyError(f"{w}.values must be ascending numbers")
                sd = t.get("sd")
                tables[str(s)][str(g)] = NormTable(
                    str(s), str(g), n, float(_get(t, "mean", float, w)),
                    float("nan") if sd is None else float(sd),
                    tuple(float(v) for v in vals), tuple(int(c) for c in counts))
        gv = d.get("group_variable")
        return cls(tables, None if gv is None else str(gv), str(d.get("description") or ""))


def build_norms(
    scores: pd.DataFrame | ScoreResult,
    group: str | pd.Series | None = None,
    *,
    columns: Sequence[str] | None = None,
    description: str = "",
    min_n: int = 2,
) -> Norms:
    """Norms from the scores of a reference sample.

    Parameters
    ----------
    scores : DataFrame or ScoreResult
        Reference scores (one column per score). Missing scores are left out (the n
        of each table counts the scored rows only).
    group : str or Series, optional
        Grouping column in ``scores`` (or values aligned with it): norms are built
        for every group and for the whole sample (``"all"``).
    columns : sequence of str, optional
        Which columns to norm; default the score columns of a ScoreResult, or every
        numeric column.
    description : str
        Text describing the reference sample (kept in the scoring key).
    min_n : int
        Smallest group size accepted (a norm needs an SD).

    Returns
    -------
    Norms
        Per score and group: n, mean, sd (n - 1 denominator) and the frequency table
        of the reference values (for percentile ranks).
    """
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    if columns is None:
        if isinstance(scores, ScoreResult):
            columns = list(scores.score_names)
        else:
            columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                       and not (isinstance(group, str) and c == group)]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"scores lack column(s) {', '.join(map(str, absent))}")
    g = _group_values(group, frame) if group is not None else None
    gname = (group if isinstance(group, str) else (None if g is None else (g.name or "group")))
    tables: dict[str, dict[str, NormTable]] = {}
    for c in columns:
        col = pd.to_numeric(frame[c], errors="coerce")
        tables[str(c)] = {"all": _norm_table(str(c), "all", col, min_n)}
        if g is not None:
            for lvl in sorted(g.dropna().unique(), key=str):
                tables[str(c)][str(lvl)] = _norm_table(str(c), str(lvl), col[g == lvl], min_n)
    return Norms(tables, None if gname is None else str(gname), description)


def _norm_table(score: str, group: str, x: pd.Series, min_n: int) -> NormTable:
    v = x.dropna().to_numpy(float)
    if len(v) < max(2, min_n):
        raise DataError(f"norms for {score!r} in group {group!r}: only {len(v)} scored row(s); "
                        f"at least {max(2, min_n)} are needed")
    vals, counts = np.unique(v, return_counts=True)
    return NormTable(score, group, int(len(v)), float(v.mean()), float(v.std(ddof=1)),
                     tuple(float(a) for a in vals), tuple(int(b) for b in counts))


def apply_norms(
    scores: pd.DataFrame | ScoreResult,
    norms: Norms,
    group: str | pd.Series | None = None,
    *,
    stanine_from: str = "percentile",
) -> pd.DataFrame:
    """Normed scores: z, T, percentile rank and stanine of each score.

    For each score ``x`` with reference mean ``m``, SD ``s`` (n - 1) and reference
    frequency table:

    * ``z = (x - m) / s``; ``T = 50 + 10 z`` (linear T);
    * percentile rank (mid-rank): ``PR = 100 * (#{ref < x} + #{ref == x} / 2) / n``,
      in (0, 100); values beyond the reference range get 0 or 100;
    * stanine, ``stanine_from="percentile"`` (default, distribution-free): 1 if
      PR < 4, 2 if 4 <= PR < 11, then 23, 40, 60, 77, 89, 96 as the lower bounds of
      stanines 3..9 (the 4-7-12-17-20-17-12-7-4 % split);
      ``stanine_from="z"``: ``clip(floor(2 z + 5.5), 1, 9)`` (stanine 5 is
      -0.25 <= z < 0.25, each stanine half an SD wide).

    Parameters
    ----------
    scores : DataFrame or ScoreResult
    norms : Norms
    group : str or Series, optional
        Use each row's group norms (the norms must have been built by group); rows
        whose group is missing use the overall norms.
    stanine_from : {"percentile", "z"}

    Returns
    -------
    DataFrame
        Columns ``<score>_z``, ``<score>_T``, ``<score>_pr``, ``<score>_stanine``
        (nullable integer) for each score present in both; same index as ``scores``.
    """
    if stanine_from not in ("percentile", "z"):
        raise DataError(f"stanine_from must be 'percentile' or 'z', not {stanine_from!r}")
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    g = _group_values(group, frame) if group is not None else None
    if g is not None:
        if not norms.groups:
            raise DataError("these norms were not built by group; apply them without a group")
        unknown = sorted({str(v) for v in g.dropna().unique()} - set(norms.groups))
        if unknown:
            raise DataError(
                f"no norms for group(s) {', '.join(unknown)} of {norms.group_variable or 'group'}; "
                f"norm groups: {', '.join(norms.groups)}")
        gstr = g.map(lambda v: "all" if pd.isna(v) else str(v))
    cols: dict[str, Any] = {}
    for s in norms.scores:
        if s not in frame.columns:
            continue
        x = pd.to_numeric(frame[s], errors="coerce").to_numpy(float)
        z = np.full(len(x), np.nan)
        pr = np.full(len(x), np.nan)
        keys = ["all"] if g is None else list(dict.fromkeys(gstr))
        for k in keys:
            t = norms.table(s, k)
            sel = slice(None) if g is None else (gstr == k).to_numpy()
            z[sel] = (x[sel] - t.mean) / t.sd
            pr[sel] = t.percentile_rank(x[sel])
        if stanine_from == "z":
            st = np.clip(np.floor(2.0 * z + 5.5), 1, 9)
        else:
            st = 1.0 + np.searchsorted(np.asarray(STANINE_PERCENTILE_BOUNDS), pr, side="right")
        st = np.where(np.isnan(x), np.nan, st)
        cols[f"{s}_z"] = z
        cols[f"{s}_T"] = 50.0 + 10.0 * z
        cols[f"{s}_pr"] = pr
        cols[f"{s}_stanine"] = pd.array(np.where(np.isnan(st), pd.NA, st), dtype="Int64") \
            if np.isnan(st).any() else st.astype("int64")
    return pd.DataFrame(cols, index=frame.index)


# ==================================================================== scoring key
@dataclass(frozen=True, eq=False)
class ScoringKey(ResultMixin):
    """A versioned scoring key: how to score a validated scale, and what was validated.

    Written to / read from JSON or YAML (by file extension); the file name must start
    with ``scoring_key``. Reading uses ``json`` / ``yaml.safe_load`` only.

    Attributes
    ----------
    scale_spec : dict
        The full scale spec (YAML structure).
    scale_hash : str
        Content hash of the spec (``Scale.content_hash``).
    scale_id, scale_version : str
    rules : ScoringRules
        Item keys (which items, reversed or not, per score) and scoring rules.
    reliability : dict
        ``{score: {"coefficient": "alpha" | "omega" | ..., "value": float}}``.
    invariance : dict or None
        ``{"level": "configural" | "metric" | "scalar" | "strict" | "partial scalar" ...,
        "group_variable": str, "groups": [...], "notes": str}``.
    calibration : dict
        ``{"n": int, "date": "YYYY-MM-DD", "data_sha256": str, "description": str}``.
    norms : Norms or None
    created : str
        ISO timestamp of building.
    package_version : str
    format_version : int
    """

    scale_spec: dict[str, Any]
    scale_hash: str | None
    scale_id: str
    scale_version: str
    rules: ScoringRules
    reliability: dict[str, dict[str, Any]] = field(default_factory=dict)
    invariance: dict[str, Any] | None = None
    calibration: dict[str, Any] = field(default_factory=dict)
    norms: Norms | None = None
    created: str = ""
    package_version: str = ""
    format_version: int = KEY_FORMAT_VERSION

    _title = "Scoring key"

    # ----------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        scale: Any,
        responses: Any = None,
        reliability: Mapping[str, Any] | str | None = "alpha",
        invariance: Any = None,
        norms: Norms | bool | None = True,
        *,
        group: str | pd.Series | None = None,
        description: str = "",
        date: str | None = None,
        data_sha256: str | None = None,
        coefficient: str = "omega_total",
    ) -> ScoringKey:
        """Build a key from a scale and (optionally) its calibration sample.

        Parameters
        ----------
        scale : Scale
            The validated scale (its spec, content hash and version go into the key).
        responses : Responses or DataFrame, optional
            The calibration sample. When given: n, date and the data SHA-256 are
            recorded, reliability (``"alpha"``) and norms are computed from it.
        reliability : mapping, result, "alpha" or None
            ``{score: value}`` or ``{score: {"coefficient": ..., "value": ...}}``, or the
            result of :func:`psychometrics.reliability.scale_reliability` (its
            ``table`` column ``coefficient``, alpha where that is missing); ``"alpha"``
            computes coefficient alpha per score from ``responses``.
        invariance : mapping or invariance result, optional
            ``{"level": ..., "group_variable": ..., "groups": [...]}``; a result object
            is read through its ``level`` / ``highest_level``, ``group`` and ``groups``
            attributes.
        norms : Norms, True or None
            Norms to store; ``True`` builds them from ``responses`` (by ``group`` if
            given); None stores none.
        group : str or Series, optional
            Grouping variable for group norms.
        description : str
            Description of the calibration sample.
        date : str, optional
            Date of the calibration data (default: today).
        data_sha256 : str, optional
            SHA-256 of the calibration data file; by default taken from the responses
            (if they carry one) or computed from the item responses written as CSV.
        coefficient : str
            Which column of a reliability result's table to store (default
            ``"omega_total"``; e.g. ``"alpha"``).
        """
        from psychometrics import __version__

        scale = _as_scale(scale)
        spec = _scale_view(scale)
        rules = ScoringRules.from_spec_dict(spec)
        scale_hash = _scale_hash(scale)
        calibration: dict[str, Any] = {"description": description}
        rel: dict[str, dict[str, Any]] = {}
        norm_obj: Norms | None = norms if isinstance(norms, Norms) else None
        if responses is not None:
            res = score(scale, responses, group=group, norms=False,
                        reliability="alpha" if reliability == "alpha" else None)
            calibration["n"] = int(res.n_rows)
            calibration["n_scored"] = {k: int(v) for k, v in res.descriptives["n"].items()}
            calibration["date"] = date or _dt.date.today().isoformat()
            calibration["data_sha256"] = data_sha256 or _data_sha256(responses)
            if reliability == "alpha":
                rel = {s: {"coefficient": "alpha", "value": float(r["reliability"])}
                       for s, r in res.sem.iterrows() if r["reliability"] == r["reliability"]}
            if norms is True:
                gv = None if group is None else res.group
                norm_obj = build_norms(res, gv, description=description)
        elif norms is True:
            norm_obj = None
        else:
            if date:
                calibration["date"] = date
            if data_sha256:
                calibration["data_sha256"] = data_sha256
        if isinstance(reliability, Mapping):
            rel = _reliability_dict(reliability)
        elif reliability not in ("alpha", None):
            rel = _reliability_dict(_reliability_from_result(reliability, coefficient))
        return cls(
            scale_spec=spec, scale_hash=scale_hash, scale_id=str(spec.get("id", "")),
            scale_version=str(spec.get("version", "")), rules=rules, reliability=rel,
            invariance=_invariance_dict(invariance), calibration=calibration, norms=norm_obj,
            created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            package_version=__version__)

    # ------------------------------------------------------------- checks
    def check_scale(self, scale: Any) -> None:
        """Refuse a scale whose id, version or content differs from the key's."""
        sid = _attr(scale, "id")
        ver = _attr(scale, "version")
        h = _scale_hash(scale)
        if sid is not None and str(sid) != self.scale_id:
            raise ScoringKeyError(f"the data belong to scale {sid!r}, but this key scores "
                                  f"{self.scale_id!r}")
        if ver is not None and str(ver) != self.scale_version:
            raise ScoringKeyError(
                f"the data were loaded with version {ver} of {self.scale_id!r}, but this key "
                f"was built for version {self.scale_version}; score them with the matching key")
        if h is not None and self.scale_hash is not None and h != self.scale_hash:
            raise ScoringKeyError(
                f"the scale spec the data were loaded with differs from the key's (content "
                f"hash {h[:12]}... vs {self.scale_hash[:12]}...), although both say version "
                f"{self.scale_version}; use the spec stored in the key")

    # ------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "kind": "psychometrics scoring key",
            "created": self.created,
            "package_version": self.package_version,
            "scale": {"id": self.scale_id, "version": self.scale_version,
                      "content_hash": self.scale_hash, "spec": self.scale_spec},
            "scoring": {"method": self.rules.method, "min_answered": self.rules.min_answered,
                        "score_rule": ("prorated sum = mean of answered items x number of items"
                                       if self.rules.method == "sum" else
                                       "mean of answered items"),
                        "reverse_rule": "min + max - x"},
            "response_format": {"min": self.rules.response_min, "max": self.rules.response_max,
                                "missing_codes": list(self.rules.missing_codes),
                                "likert": self.rules.likert},
            "scores": [s.to_dict() for s in self.rules.scores],
            "reliability": self.reliability,
            "invariance": self.invariance,
            "calibration": self.calibration,
            "norms": None if self.norms is None else self.norms.to_dict(),
        }

    def to_file(self, path: str | Path) -> Path:
        """Write the key as JSON (``.json``) or YAML (``.yaml``/``.yml``)."""
        path = Path(path)
        _check_key_name(path)
        d = to_jsonable(self.to_dict())
        if path.suffix.lower() == ".json":
            text = json.dumps(d, indent=2, ensure_ascii=False) + "\n"
        else:
            import yaml

            text = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> ScoringKey:
        """Read a key file; a malformed key raises :class:`ScoringKeyError` naming the field."""
        path = Path(path)
        _check_key_name(path)
        if not path.exists():
            raise ScoringKeyError(f"scoring key {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".json":
                d = json.loads(text)
            else:
                import yaml

                d = yaml.safe_load(text)
        except Exception as exc:  # json.JSONDecodeError / yaml.YAMLError
            raise ScoringKeyError(f"scoring key {str(path)!r} cannot be parsed: {exc}") from None
        try:
            return cls.from_dict(d)
        except ScoringKeyError as exc:
            raise ScoringKeyError(f"scoring key {str(path)!r}: {exc}") from None

    @classmethod
    def from_dict(cls, d: Any) -> ScoringKey:
        if not isinstance(d, Mapping):
            raise ScoringKeyError("the key must be a mapping at top level")
        fv = _get(d, "format_version", int, "key")
        if fv > KEY_FORMAT_VERSION:
            raise ScoringKeyError(f"format_version {fv} is newer than this package reads "
                                  f"({KEY_FORMAT_VERSION}); upgrade psychometrics")
        sc = _get(d, "scale", Mapping, "key")
        spec = _get(sc, "spec", Mapping, "scale")
        scoring = _get(d, "scoring", Mapping, "key")
        rf = _get(d, "response_format", Mapping, "key")
        scores_in = _get(d, "scores", list, "key")
        defs = []
        for j, s in enumerate(scores_in):
            w = f"scores[{j}]"
            items = _get(s, "items", list, w)
            rev = s.get("reverse", [])
            if not all(isinstance(i, str) for i in items) or not items:
                raise ScoringKeyError(f"{w}.items must be a non-empty list of item ids")
            if not isinstance(rev, list) or any(r not in items for r in rev):
                raise ScoringKeyError(f"{w}.reverse must list items of {w}.items")
            defs.append(ScoreDefinition(_get(s, "name", str, w), str(s.get("label") or s["name"]),
                                        tuple(items), tuple(rev)))
        method = _get(scoring, "method", str, "scoring")
        ma = _get(scoring, "min_answered", float, "scoring")
        lo = rf.get("min")
        hi = rf.get("max")
        for nm, v in (("min", lo), ("max", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ScoringKeyError(f"response_format.{nm} must be a number, not {v!r}")
        codes = rf.get("missing_codes") or []
        if not isinstance(codes, list) or any(isinstance(c, bool) or not isinstance(c, (int, float))
                                               for c in codes):
            raise ScoringKeyError("response_format.missing_codes must be a list of numbers")
        rules = ScoringRules(tuple(defs), method, float(ma), None if lo is None else float(lo),
                             None if hi is None else float(hi), tuple(float(c) for c in codes),
                             bool(rf.get("likert", True)))
        rel = d.get("reliability") or {}
        if not isinstance(rel, Mapping):
            raise ScoringKeyError("reliability must map scores to {coefficient, value}")
        for s, r in rel.items():
            if not isinstance(r, Mapping) or isinstance(r.get("value"), bool) or \
                    not isinstance(r.get("value"), (int, float)):
                raise ScoringKeyError(f"reliability.{s}.value must be a number")
        inv = d.get("invariance")
        if inv is not None:
            if not isinstance(inv, Mapping):
                raise ScoringKeyError("invariance must be a mapping or null")
            if "groups" in inv and not isinstance(inv["groups"], list):
                raise ScoringKeyError("invariance.groups must be a list")
        cal = d.get("calibration") or {}
        if not isinstance(cal, Mapping):
            raise ScoringKeyError("calibration must be a mapping")
        if "n" in cal:
            _get(cal, "n", int, "calibration")
        nd = d.get("norms")
        norms = None if nd is None else Norms.from_dict(nd)
        if norms is not None:
            unknown = [s for s in norms.scores if s not in {x.name for x in defs}]
            if unknown:
                raise ScoringKeyError(f"norms.tables has score(s) {unknown} the key does not define")
        key = cls(
            scale_spec=dict(spec), scale_hash=None if sc.get("content_hash") is None else
            str(sc["content_hash"]), scale_id=str(_get(sc, "id", str, "scale")),
            scale_version=str(sc.get("version", "")), rules=rules,
            reliability={str(k): dict(v) for k, v in rel.items()},
            invariance=None if inv is None else dict(inv), calibration=dict(cal), norms=norms,
            created=str(d.get("created", "")), package_version=str(d.get("package_version", "")),
            format_version=fv)
        key._check_spec_consistency()
        return key

    def _check_spec_consistency(self) -> None:
        """The stored spec must still produce the stored item keys and hash (no hand edits)."""
        try:
            from_spec = ScoringRules.from_spec_dict(self.scale_spec, where="scale.spec")
        except ScoringKeyError:
            raise
        if [s.to_dict() for s in from_spec.scores] != [s.to_dict() for s in self.rules.scores]:
            raise ScoringKeyError(
                "scores (item keys) do not match scale.spec: the key was edited by hand; "
                "rebuild it with ScoringKey.build")
        if self.scale_hash is None:
            return
        try:
            from psychometrics.scale import Scale
        except ImportError:  # the spec module is not available: nothing to re-hash with
            return
        h = _spec_hash(Scale, self.scale_spec)
        if h is not None and h != self.scale_hash:
            raise ScoringKeyError(
                f"scale.content_hash {self.scale_hash[:12]}... does not match the stored "
                f"scale.spec (hash {h[:12]}...): the key was edited; rebuild it")

    def scale(self) -> Any:
        """The scale spec as a :class:`~psychometrics.scale.Scale`."""
        from psychometrics.scale import Scale

        return _scale_from_dict(Scale, self.scale_spec)

    def _scalars(self) -> dict[str, Any]:
        return {"scale": self.scale_id, "version": self.scale_version,
                "method": self.rules.method, "min_answered": self.rules.min_answered,
                "calibration_n": self.calibration.get("n", ""),
                "invariance": (self.invariance or {}).get("level", "not tested")}

    def _tables(self) -> dict[str, pd.DataFrame]:
        t = pd.DataFrame(
            [{"score": s.name, "items": len(s.items), "reverse": ", ".join(s.reverse),
              "reliability": self.reliability.get(s.name, {}).get("value", float("nan"))}
             for s in self.rules.scores]).set_index("score")
        return {"scores": t}


def _scale_from_dict(Scale: Any, spec: Mapping[str, Any]) -> Any:
    for name in ("from_dict", "model_validate"):
        f = getattr(Scale, name, None)
        if f is not None:
            return f(dict(spec))
    return Scale(**spec)


def _spec_hash(Scale: Any, spec: Mapping[str, Any]) -> str | None:
    try:
        return _scale_hash(_scale_from_dict(Scale, spec))
    except Exception as exc:  # a spec the current schema rejects
        raise ScoringKeyError(f"scale.spec is not a valid scale spec: {exc}") from None


def _check_key_name(path: Path) -> None:
    if not path.name.startswith("scoring_key"):
        raise ScoringKeyError(f"a scoring key file name must start with 'scoring_key', not "
                              f"{path.name!r}")
    if path.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise ScoringKeyError(f"scoring key {path.name!r}: use a .json, .yaml or .yml extension")


def _reliability_dict(rel: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for k, v in rel.items():
        if isinstance(v, Mapping):
            out[str(k)] = {"coefficient": v.get("coefficient"), "value": float(v["value"])}
        else:
            out[str(k)] = {"coefficient": None, "value": float(v)}
    return out


def _reliability_from_result(obj: Any, coefficient: str = "alpha") -> Mapping[str, Any]:
    """Per-score reliabilities from a result, e.g. ``reliability.scale_reliability``'s
    ``table`` (one row per subscale and ``total``; column ``coefficient``, falling back
    to ``alpha`` where it is missing)."""
    table = getattr(obj, "table", None)
    if isinstance(table, pd.DataFrame):
        if coefficient not in table.columns:
            raise DataError(f"the reliability table has no column {coefficient!r}; columns: "
                            f"{', '.join(map(str, table.columns))}")
        out: dict[str, Any] = {}
        for name, row in table.iterrows():
            v, c = row[coefficient], coefficient
            if not v == v and "alpha" in table.columns:  # e.g. omega needs three items
                v, c = row["alpha"], "alpha"
            if v == v:
                out[str(name)] = {"coefficient": c, "value": float(v)}
        return out
    for name in ("by_score", "values", "estimates"):
        v = _attr(obj, name)
        if isinstance(v, Mapping):
            return v
        if isinstance(v, pd.Series):
            return v.to_dict()
    raise DataError(f"cannot read per-score reliabilities from {type(obj).__name__}; pass a "
                    "mapping {score: value}")


def _invariance_dict(inv: Any) -> dict[str, Any] | None:
    if inv is None:
        return None
    if isinstance(inv, Mapping):
        d = dict(inv)
    else:
        level = _attr(inv, "level") or _attr(inv, "highest_level") or _attr(inv, "reached")
        d = {"level": None if level is None else str(level),
             "group_variable": _attr(inv, "group") or _attr(inv, "group_variable"),
             "groups": [str(g) for g in (_attr(inv, "groups") or [])]}
    if "groups" in d:
        d["groups"] = [str(g) for g in d["groups"]]
    return json.loads(json.dumps(to_jsonable(d)))


def _data_sha256(responses: Any) -> str:
    for name in ("sha256", "data_sha256", "source_sha256"):
        v = _attr(responses, name)
        if isinstance(v, str):
            return v
    q = getattr(responses, "quality", None)
    for name in ("sha256", "data_sha256", "source_sha256"):
        v = _attr(q, name) if q is not None else None
        if isinstance(v, str):
            return v
    frame = responses if isinstance(responses, pd.DataFrame) else getattr(responses, "raw", None)
    if not isinstance(frame, pd.DataFrame):
        frame = getattr(responses, "items")
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


# ========================================================================== output
def data_dictionary(result: ScoreResult) -> pd.DataFrame:
    """One row per output column: column, label, method, items, range, reverse items."""
    rows = []
    lo, hi = result.response_min, result.response_max
    if result.id_column:
        rows.append({"column": result.id_column, "label": "Identifier (passed through)",
                     "method": "", "items": "", "n_items": None, "range": "",
                     "reverse_items": ""})
    for d in result.definitions:
        k = len(d.items)
        if lo is None or hi is None:
            rng = ""
        elif result.method == "mean":
            rng = f"{_num(lo)}-{_num(hi)}"
        else:
            rng = f"{_num(lo * k)}-{_num(hi * k)}"
        rule = ("mean of answered items" if result.method == "mean" else
                "prorated sum (mean of answered items x number of items)")
        rows.append({"column": d.name, "label": d.label,
                     "method": f"{rule}; missing if fewer than {result.min_answered:.0%} "
                               f"of items answered",
                     "items": ", ".join(d.items), "n_items": k, "range": rng,
                     "reverse_items": ", ".join(d.reverse)})
        if result.norms is not None and d.name in result.norms.scores:
            for suffix, lab, rng2 in (
                    ("z", "z score (reference mean and SD)", ""),
                    ("T", "T score, 50 + 10 z", ""),
                    ("pr", "percentile rank (mid-rank) in the reference sample", "0-100"),
                    ("stanine", "stanine", "1-9")):
                rows.append({"column": f"{d.name}_{suffix}", "label": f"{d.label}: {lab}",
                             "method": "norms", "items": "", "n_items": None, "range": rng2,
                             "reverse_items": ""})
    for f in result.factor_names:
        rows.append({"column": f"fs_{f}", "label": f"Factor score {f}",
                     "method": f"{result.factor_method} factor score from the fitted CFA",
                     "items": "", "n_items": None, "range": "", "reverse_items": ""})
    return pd.DataFrame(rows)


def write_data_dictionary(result: ScoreResult, path: str | Path) -> Path:
    """Write :func:`data_dictionary` as CSV (``.csv``) or Markdown (``.md``)."""
    path = Path(path)
    dd = data_dictionary(result)
    if path.suffix.lower() == ".csv":
        dd.to_csv(path, index=False)
    elif path.suffix.lower() in (".md", ".markdown"):
        cols = list(dd.columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row in dd.itertuples(index=False):
            cells = ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else
                     str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in row]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        raise DataError(f"data dictionary {path.name!r}: use .csv or .md")
    return path


def write_scores(result: ScoreResult, path: str | Path) -> Path:
    """Write the scores as CSV, Parquet or SPSS ``.sav`` (chosen by extension).

    SPSS files carry the variable labels of :func:`data_dictionary`.
    """
    path = Path(path)
    df = result.scores.reset_index(drop=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif suffix == ".sav":
        import pyreadstat

        dd = data_dictionary(result)
        labels = dict(zip(dd["column"], dd["label"]))
        bad = [c for c in df.columns if not _spss_name_ok(str(c))]
        if bad:
            raise DataError(f"column name(s) {bad} are not valid SPSS variable names (letters, "
                            "digits, _ . @ #, at most 64 characters, starting with a letter)")
        out = df.copy()
        for c in out.columns:
            if isinstance(out[c].dtype, pd.Int64Dtype):
                out[c] = out[c].astype("float64")
            elif out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
                out[c] = out[c].astype("string").astype(object).where(out[c].notna(), "")
        pyreadstat.write_sav(out, str(path),
                             column_labels={str(c): labels.get(c, str(c))[:255] for c in out.columns})
    else:
        raise DataError(f"output {path.name!r}: use .csv, .parquet or .sav")
    return path


def _spss_name_ok(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z@][A-Za-z0-9_.@#$]{0,63}", name)) and not name.endswith(".")
