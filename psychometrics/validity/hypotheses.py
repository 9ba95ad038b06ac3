"""Validity hypotheses of a scale spec, checked against observed (and latent) correlations.

Observed scores are columns named ``"<scale_id>.<score>"`` (:func:`score_key`), combined
from several measures by :func:`observed_scores`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._dist import norm_ppf, norm_sf
from psychometrics._results import ResultMixin
from psychometrics.exceptions import DataError, Diagnostic, ReliabilityWarning, SpecError, record
from psychometrics.validity._input import _check_conf
from psychometrics.validity._status import _status
from psychometrics.validity.correlations import correlate
from psychometrics.validity.latent import (
    ConstructValidity,
    _cfa_n,
    _cfa_vcov,
    _select_group,
    latent_correlations,
)
from psychometrics._text import quote

__all__ = ["score_key", "observed_scores", "Hypothesis", "HypothesisEvaluation", "evaluate_hypotheses"]


def score_key(scale_id: str, score: str) -> str:
    """The column name of an observed score: ``"<scale_id>.<score>"``."""
    return f"{scale_id}.{score}"


def observed_scores(measures: Mapping[str, Any]) -> pd.DataFrame:
    """Combine the scores of several measures into ``"<scale_id>.<score>"`` columns.

    Parameters
    ----------
    measures : mapping
        Scale id → its scores for the same respondents: a
        :class:`~psychometrics.scoring.ScoreResult` (its ``score_names`` columns
        are used) or a DataFrame whose columns are score names (``total``,
        subscale ids). All must have the same row index (same respondents in the
        same order) — rows are never re-aligned or dropped here.

    Returns
    -------
    DataFrame
        One column per score, named by :func:`score_key`.

    Examples
    --------
    >>> from psychometrics.scoring import score                          # doctest: +SKIP
    >>> scores = observed_scores({"mentorship_supportiveness": score(mss, resp),
    ...                           "self_efficacy": score(gse, resp)})      # doctest: +SKIP
    """
    if not isinstance(measures, Mapping) or not measures:
        raise DataError("observed_scores: pass a non-empty mapping {scale_id: scores}")
    frames = []
    first: tuple[str, pd.Index] | None = None
    for sid, sc in measures.items():
        if hasattr(sc, "scores") and hasattr(sc, "score_names"):
            frame = sc.scores.loc[:, list(sc.score_names)]
        elif isinstance(sc, pd.DataFrame):
            frame = sc
        else:
            raise DataError(
                f"observed_scores: scores of {quote(sid)} must be a ScoreResult or a DataFrame, not {type(sc).__name__}"
            )
        if "." in str(sid):
            raise DataError(f"observed_scores: scale id {quote(sid)} must not contain '.' (it separates scale and score)")
        if first is None:
            first = (sid, frame.index)
        elif not frame.index.equals(first[1]):
            raise DataError(
                f"observed_scores: the scores of {quote(sid)} ({len(frame)} rows) do not have the same rows as those "
                f"of {quote(first[0])} ({len(first[1])} rows); companion measures must come from the same "
                "respondents in the same order (align them by respondent id first)"
            )
        frames.append(frame.rename(columns=lambda c, sid=sid: score_key(sid, str(c))))
    out = pd.concat(frames, axis=1)
    if out.columns.has_duplicates:
        raise DataError(f"observed_scores: duplicated score columns {list(out.columns[out.columns.duplicated()])}")
    return out


@dataclass(frozen=True)
class Hypothesis:
    """A validity hypothesis (the ``validity:`` entries of a scale spec).

    ``region`` gives the correlations that support it as closed intervals of ρ:
    ``positive`` → [min, max]; ``negative`` → [−max, −min]; ``any`` → |ρ| in
    [min, max] (two intervals when min > 0). A missing ``min_abs_r`` is 0 and a
    missing ``max_abs_r`` is 1.
    """

    id: str
    description: str
    scale_score: str
    measure: str
    measure_score: str
    kind: str
    direction: str
    min_abs_r: float | None = None
    max_abs_r: float | None = None

    @classmethod
    def coerce(cls, h: Any) -> "Hypothesis":
        """Build from a Scale's hypothesis object, a mapping, or a Hypothesis."""
        if isinstance(h, Hypothesis):
            return h
        get = (lambda k, d=None: h.get(k, d)) if isinstance(h, Mapping) else (lambda k, d=None: getattr(h, k, d))
        hid = get("id")
        if not hid:
            raise SpecError(f"validity hypothesis without an id: {quote(h)}")
        hid = str(hid)
        vals = {}
        for k in ("scale_score", "measure", "measure_score"):
            v = get(k)
            if not v:
                raise SpecError(f"validity hypothesis {hid}: field {quote(k)} is required")
            vals[k] = str(v)
        kind = str(_enum_value(get("kind", "convergent")))
        direction = str(_enum_value(get("direction", "any")))
        if kind not in ("convergent", "discriminant"):
            raise SpecError(f"validity hypothesis {hid}: kind must be 'convergent' or 'discriminant', not {quote(kind)}")
        if direction not in ("positive", "negative", "any"):
            raise SpecError(
                f"validity hypothesis {hid}: direction must be 'positive', 'negative' or 'any', not {quote(direction)}"
            )
        lo, hi = get("min_abs_r"), get("max_abs_r")
        for nm, v in (("min_abs_r", lo), ("max_abs_r", hi)):
            if v is not None and not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise SpecError(f"validity hypothesis {hid}: {nm} must be between 0 and 1, got {quote(v)}")
        if lo is not None and hi is not None and lo > hi:
            raise SpecError(f"validity hypothesis {hid}: min_abs_r ({lo}) exceeds max_abs_r ({hi})")
        if direction == "any" and lo is None and hi is None:
            raise SpecError(
                f"validity hypothesis {hid}: direction 'any' without min_abs_r or max_abs_r makes no testable "
                "claim; give a bound or a direction"
            )
        return cls(
            id=hid,
            description=str(get("description", "") or ""),
            kind=kind,
            direction=direction,
            min_abs_r=None if lo is None else float(lo),
            max_abs_r=None if hi is None else float(hi),
            **vals,
        )

    @property
    def region(self) -> list[tuple[float, float]]:
        lo = self.min_abs_r or 0.0
        hi = 1.0 if self.max_abs_r is None else self.max_abs_r
        if self.direction == "positive":
            return [(lo, hi)]
        if self.direction == "negative":
            return [(-hi, -lo)]
        return [(-hi, -lo), (lo, hi)] if lo > 0 else [(-hi, hi)]

    @property
    def expectation(self) -> str:
        """The supporting region in words, e.g. ``"r ≥ .30"`` or ``"|r| ≤ .30"``."""
        lo, hi = self.min_abs_r, self.max_abs_r

        def f(v: float) -> str:
            return f"{v:.2f}"

        if self.direction == "any":
            if lo is not None and hi is not None:
                return f"{f(lo)} ≤ |r| ≤ {f(hi)}"
            return f"|r| ≥ {f(lo)}" if lo is not None else f"|r| ≤ {f(hi)}"  # type: ignore[arg-type]
        if self.direction == "positive":
            if hi is None:
                return f"r ≥ {f(lo)}" if lo is not None else "r > 0"
            return f"{f(lo) if lo is not None else '0'} ≤ r ≤ {f(hi)}"
        if hi is None:
            return f"r ≤ −{f(lo)}" if lo is not None else "r < 0"
        return f"−{f(hi)} ≤ r ≤ {'−' + f(lo) if lo is not None else '0'}"


def _enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


def _verdict(region: list[tuple[float, float]], lower: float, upper: float) -> str:
    """supported: CI inside the region; not supported: CI disjoint from it; else inconclusive."""
    if any(a <= lower and upper <= b for a, b in region):
        return "supported"
    if all(upper < a or lower > b for a, b in region):
        return "not supported"
    return "inconclusive"


@dataclass(frozen=True, eq=False)
class HypothesisEvaluation(ResultMixin):
    """Validity hypotheses checked against observed-score (and latent) correlations.

    Attributes
    ----------
    table : DataFrame
        One row per hypothesis and basis (``observed``, and ``latent`` when a
        latent correlation was available), with columns ``hypothesis,
        description, kind, basis, score, measure_score, expected, r, lower,
        upper, n, p, verdict, rule``. ``verdict`` is ``"supported"`` when the
        whole CI lies in the expected region, ``"not supported"`` when the whole
        CI lies outside it, and ``"inconclusive"`` when the CI straddles one of
        its bounds (the data cannot decide at this sample size).
    conf_level : float
    diagnostics : tuple of Diagnostic
    """

    table: pd.DataFrame
    conf_level: float
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Validity hypotheses"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def verdicts(self) -> list[dict[str, Any]]:
        """One report verdict per row: supported → met, inconclusive → borderline, else not met."""
        pct = f"{100 * self.conf_level:g}%"
        return [
            {"criterion": f"{r.hypothesis} ({r.basis}): {r.description or r.score + ' vs ' + r.measure_score}",
             "status": _status(r.verdict), "value": r.r,
             "rule": r.rule if r.verdict == "not assessed" else
                     f"{r.expected}; {pct} CI [{r.lower:.2f}, {r.upper:.2f}] inside → met, outside → not met, "
                     "straddling a bound → borderline",
             "reference": f"validity hypothesis {r.hypothesis}"}
            for r in self.table.itertuples(index=False)
        ]


def _latent_table(latent: Any, conf_level: float) -> pd.DataFrame:
    if isinstance(latent, ConstructValidity):
        latent = latent.latent_correlations
    elif not isinstance(latent, pd.DataFrame) and hasattr(latent, "latent_cov"):  # a CFA result
        latent = latent_correlations(_select_group(latent.latent_cov, None), _cfa_vcov(latent),
                                     conf_level=conf_level).assign(n=_cfa_n(latent))
    if not isinstance(latent, pd.DataFrame):
        raise DataError(f"latent must be a DataFrame with columns lhs, rhs, est, se; not {type(latent).__name__}")
    need = {"lhs", "rhs", "est", "se"}
    if not need.issubset(latent.columns):
        raise DataError(f"latent correlations need columns {sorted(need)}; got {list(latent.columns)}")
    return latent


def evaluate_hypotheses(
    hypotheses: Sequence[Any] | Any,
    scores: pd.DataFrame,
    *,
    scale_id: str | None = None,
    latent: pd.DataFrame | None = None,
    factor_of: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    missing_scores: Literal["error", "skip"] = "error",
) -> HypothesisEvaluation:
    """Check validity hypotheses against correlations of observed (and latent) scores.

    For hypothesis *H* of scale *S* the observed correlation is that of the
    score columns ``S.<scale_score>`` and ``<measure>.<measure_score>`` (see
    :func:`score_key`), on the respondents with both scores (``n``), with a
    Fisher-z CI and t-test p (:func:`correlate`).

    Verdict rule (at ``conf_level``): the hypothesis defines a region of ρ
    (:attr:`Hypothesis.region`: ``positive`` → [min_abs_r, max_abs_r],
    ``negative`` → [−max_abs_r, −min_abs_r], ``any`` → min_abs_r ≤ |ρ| ≤
    max_abs_r; a missing min is 0, a missing max is 1). It is

    * **supported** when the whole CI lies inside the region,
    * **not supported** when the whole CI lies outside it,
    * **inconclusive** when the CI straddles a bound of the region.

    Parameters
    ----------
    hypotheses : sequence or Scale
        Hypothesis objects of a Scale's ``validity`` list, mappings with the
        spec fields, or :class:`Hypothesis`; a Scale gives its own list and id.
    scores : DataFrame or mapping
        Score columns named ``"<scale_id>.<score>"``, one row per respondent;
        or a mapping {scale_id: ScoreResult or DataFrame} combined by
        :func:`observed_scores`.
    scale_id : str
        Id of the scale the hypotheses belong to (taken from a Scale).
    latent : DataFrame, CFA result or ConstructValidity, optional
        Latent correlations with columns ``lhs, rhs, est, se`` (optionally ``n``),
        e.g. :func:`latent_correlations` of a CFA of both measures; a fitted
        single-group CFA result or a :class:`ConstructValidity` is converted.
        When both scores of a hypothesis have a factor, a ``latent`` row is
        added with the Wald CI est ± z·se (as lavaan's ``standardizedSolution``).
    factor_of : mapping, optional
        Score key → factor name in ``latent``; by default a factor named like
        the score key or, failing that, like its score part (when unique).
    conf_level : float, default 0.95
    missing_scores : {"error", "skip"}
        What to do when a hypothesis names a score that is not in ``scores``
        (e.g. a companion measure that was not administered): raise (default),
        or keep a row with verdict ``"not assessed"`` (numbers missing) and a
        diagnostic naming the hypothesis.

    Raises
    ------
    SpecError
        A hypothesis is malformed (names its id).
    DataError
        A hypothesis names a score not in ``scores`` (unless
        ``missing_scores="skip"``) or a constant score (names the hypothesis id
        and the column).
    """
    conf_level = _check_conf(conf_level)
    if hasattr(hypotheses, "validity") and hasattr(hypotheses, "id"):
        scale_id = scale_id or hypotheses.id
        hypotheses = hypotheses.validity or []
    if scale_id is None:
        raise DataError("evaluate_hypotheses: scale_id is required (the id of the scale the hypotheses belong to)")
    if isinstance(scores, Mapping):
        scores = observed_scores(scores)
    if not isinstance(scores, pd.DataFrame):
        raise DataError(f"evaluate_hypotheses: scores must be a DataFrame, not {type(scores).__name__}")
    if missing_scores not in ("error", "skip"):
        raise DataError(f"evaluate_hypotheses: missing_scores must be 'error' or 'skip', not {quote(missing_scores)}")
    hyps = [Hypothesis.coerce(h) for h in hypotheses]
    dup = sorted({h.id for h in hyps if sum(g.id == h.id for g in hyps) > 1})
    if dup:
        raise SpecError(f"validity hypotheses ids are not unique: {dup}")
    lat = _latent_table(latent, conf_level) if latent is not None else None
    diagnostics: list[Diagnostic] = []
    zc = norm_ppf(1 - (1 - conf_level) / 2)
    pct = f"{100 * conf_level:g}%"
    rows = []
    for h in hyps:
        a, b = score_key(scale_id, h.scale_score), score_key(h.measure, h.measure_score)
        absent = [k for k in (a, b) if k not in scores.columns]
        if absent and missing_scores == "skip":
            rows.append(_not_assessed_row(h, a, b, absent, diagnostics))
            continue
        if absent:
            raise DataError(
                f"validity hypothesis {h.id}: score column(s) {absent} not found; available scores: "
                f"{sorted(map(str, scores.columns))} (columns are named '<scale_id>.<score>', score = "
                "'total' or a subscale id)"
            )
        try:
            c = correlate(scores[a], scores[b], conf_level=conf_level, x_name=a, y_name=b)
        except DataError as exc:
            raise DataError(f"validity hypothesis {h.id}: {exc}") from None
        base = {
            "hypothesis": h.id, "description": h.description, "kind": h.kind,
            "score": a, "measure_score": b, "expected": h.expectation,
        }
        rows.append(_row(h, base, "observed", c.r, c.ci, c.n, c.p, pct))
        if lat is not None:
            row = _latent_row(h, base, lat, factor_of, zc, pct, diagnostics)
            if row is not None:
                rows.append(row)
    cols = ["hypothesis", "description", "kind", "basis", "score", "measure_score", "expected",
            "r", "lower", "upper", "n", "p", "verdict", "rule"]
    table = pd.DataFrame(rows, columns=cols)
    # Latent rows may have no n: keep Python ints and None (JSON null), not a float NaN.
    table["n"] = pd.Series([None if v is None or pd.isna(v) else int(v) for v in table["n"]], dtype=object)
    return HypothesisEvaluation(table=table, conf_level=conf_level, diagnostics=tuple(diagnostics))


def _not_assessed_row(h: Hypothesis, a: str, b: str, absent: list[str], diagnostics: list[Diagnostic]) -> dict:
    """The row of a hypothesis whose scores are not in the data (``missing_scores="skip"``)."""
    msg = f"validity hypothesis {h.id}: score column(s) {absent} not in the data; not assessed"
    record(diagnostics, ReliabilityWarning, msg, stacklevel=4)
    return {"hypothesis": h.id, "description": h.description, "kind": h.kind, "basis": "observed",
            "score": a, "measure_score": b, "expected": h.expectation, "r": np.nan,
            "lower": np.nan, "upper": np.nan, "n": None, "p": np.nan,
            "verdict": "not assessed", "rule": f"{h.id} ({h.kind}): {msg}"}


def _latent_row(h: Hypothesis, base: dict, lat: pd.DataFrame, factor_of: Mapping[str, str] | None,
                zc: float, pct: str, diagnostics: list[Diagnostic]) -> dict | None:
    """The ``latent`` row of a hypothesis (Wald CI est ± z·se), or None with a diagnostic."""
    a, b = base["score"], base["measure_score"]
    fa, fb = _factor(a, h.scale_score, lat, factor_of), _factor(b, h.measure_score, lat, factor_of)
    hit = None
    if fa is not None and fb is not None:
        sel = ((lat["lhs"] == fa) & (lat["rhs"] == fb)) | ((lat["lhs"] == fb) & (lat["rhs"] == fa))
        if sel.any():
            hit = lat[sel].iloc[0]
    if hit is None:
        record(
            diagnostics, ReliabilityWarning,
            f"validity hypothesis {h.id}: no latent correlation of {a} and {b} in the CFA "
            "(observed-score evidence only)",
            stacklevel=4,
        )
        return None
    est, se = float(hit["est"]), float(hit["se"])
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise DataError(
            f"validity hypothesis {h.id}: the latent correlation of {fa} and {fb} has no usable "
            f"estimate/standard error (est = {est}, se = {se})"
        )
    p = float(2 * norm_sf(abs(est / se)))
    n_lat = int(hit["n"]) if "n" in hit.index and pd.notna(hit["n"]) else None
    return _row(h, base, "latent", est, (est - zc * se, est + zc * se), n_lat, p, pct)


def _factor(key: str, score: str, lat: pd.DataFrame, factor_of: Mapping[str, str] | None) -> str | None:
    names = set(lat["lhs"]) | set(lat["rhs"])
    if factor_of and key in factor_of:
        return factor_of[key] if factor_of[key] in names else None
    if key in names:
        return key
    if factor_of is None and score in names and score != "total":
        return score
    return None


def _row(h: Hypothesis, base: dict, basis: str, r: float, ci: tuple[float, float], n: int | None,
         p: float, pct: str) -> dict:
    lo, hi = ci
    verdict = _verdict(h.region, lo, hi)
    where = {"supported": "lies inside", "not supported": "lies outside",
             "inconclusive": "straddles a bound of"}[verdict]
    rule = (
        f"{h.id} ({h.kind}, {basis}): expects {h.expectation} for r({base['score']}, {base['measure_score']}); "
        f"r = {r:.3f}, {pct} CI [{lo:.3f}, {hi:.3f}] {where} that region → {verdict}"
    )
    return {**base, "basis": basis, "r": r, "lower": lo, "upper": hi, "n": n, "p": p,
            "verdict": verdict, "rule": rule}
