"""Item analysis: descriptive statistics, floor/ceiling, response frequencies,
corrected item–total correlations and α if an item is deleted, with flags.

:func:`item_analysis` takes a DataFrame of numeric, already reverse-keyed item
responses (columns = item ids). With a scale (a :class:`psychometrics.scale.Scale`
or a mapping subscale → item ids) the item–rest correlation and α-if-deleted of
each item are computed within its own subscale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._bootstrap import pairwise_from_sums, pairwise_moments
from psychometrics._linalg import single_thread_blas
from psychometrics._results import ResultMixin
from psychometrics._validation import item_matrix, name_list
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, ReliabilityWarning, record
from psychometrics.reliability.alpha import alpha_if_deleted, item_rest_r
from psychometrics.reliability.prepare import prepare_items
from psychometrics.reliability.scale import subscale_map
from psychometrics._text import quote

__all__ = ["ItemAnalysisResult", "item_analysis", "FLAG_RULES", "FLAG_CITATIONS"]

#: Flag rules: name → description (thresholds filled in from the call).
FLAG_RULES = {
    "low_item_rest_r": "item–rest r < {min_item_rest_r:.2f}",
    "sparse_category": "a response category used by < {min_category:.0%} of respondents",
    "dominant_category": "one response category chosen by > {max_category:.0%} of respondents",
    "negative_item_rest_r": "item–rest r < 0 (probably not reverse-keyed)",
    "zero_variance": "zero variance (no information about differences)",
    "no_responses": "no observed responses",
}

#: Why each rule: the source a reviewer can check (``""`` = a plain property of the data).
FLAG_CITATIONS = {
    "low_item_rest_r": "Nunnally & Bernstein (1994)",
    "sparse_category": "Linacre (2002): fewer than about 10 observations per category give unstable thresholds; "
                       "collapse it with its neighbour",
    "dominant_category": "convention of this package (issue 17): an item nearly everyone answers the same way "
                         "carries little information; floor/ceiling > 15 % (Terwee et al., 2007) is judged on the "
                         "subscale and total scores, not on single items",
    "negative_item_rest_r": "",
    "zero_variance": "",
    "no_responses": "",
}


@dataclass(frozen=True, eq=False)
class ItemAnalysisResult(ResultMixin):
    """Item statistics.

    Attributes
    ----------
    table : DataFrame
        Indexed by item id. Columns: ``subscale`` (when a scale is given), ``n``
        (observed responses), ``missing`` (missing responses), ``mean``, ``sd``,
        ``skew``, ``kurtosis`` (psych::describe, type 3), ``pct_floor`` and
        ``pct_ceiling`` (percent of observed responses at the lowest / highest
        response option), ``freq_<category>`` (proportion of observed responses
        in each category, as psych::response.frequencies; with an integer response
        range given or declared by the scale every option in it is listed, also
        unused ones; omitted when more than ``max_categories`` categories), ``item_rest_r`` (corrected
        item–total correlation, psych::alpha's r.drop), ``alpha_if_deleted``
        (psych::alpha's alpha.drop raw_alpha) and ``flag_rules`` (the rules the item
        breaks, ``"; "``-separated, empty when none).
    flags : DataFrame
        One row per raised flag: ``item``, ``rule`` (a key of :data:`FLAG_RULES`),
        ``description`` (the rule with its threshold), ``value`` and ``citation``
        (:data:`FLAG_CITATIONS`).
    score_floor_ceiling : DataFrame
        Per subscale and the total (complete rows): ``n``, ``pct_floor`` / ``pct_ceiling``
        (percent at the lowest / highest possible sum score) and ``floor_flag`` /
        ``ceiling_flag`` (> ``max_floor_ceiling``; Terwee et al., 2007).
    response_range : tuple
        (lowest, highest) response option used for floor / ceiling.
    n_used : dict
        Rows used for the item–rest statistics per subscale (``"all"`` without a scale).
    """

    table: pd.DataFrame
    flags: pd.DataFrame
    response_range: tuple[float, float]
    range_source: str
    missing: str
    n_rows: int
    n_used: dict[str, int]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    score_floor_ceiling: pd.DataFrame | None = None
    #: answers per item and category ``response_range`` lo..hi (items × categories, in ``table``'s order) when
    #: every answer is a whole number (else None): the report's response distribution reads them instead of
    #: comparing every answer with every category again; not part of :meth:`to_dict` (``results.json``)
    _category_counts: np.ndarray | None = field(default=None, repr=False)
    _title = "Item analysis"

    def to_frame(self) -> pd.DataFrame:
        return self.table



#: from this many rows on, item analysis reads whole-number answers once (:func:`_one_pass`) instead of once
#: per statistic; below it every statistic is computed as before (the demo's numbers bit for bit)
ONE_PASS_ROWS = 50_000


@dataclass(frozen=True)
class _OnePass:
    """Sums from one pass over whole-number answers (see :func:`_one_pass`)."""

    counts: np.ndarray                      # items × categories lo..hi
    pair: tuple[np.ndarray, ...]            # pairwise-complete Σ1, Σx_i, Σx_i², Σx_i x_j (as pairwise_moments)
    listwise: dict[str, tuple[int, np.ndarray, np.ndarray]]  # subscale → rows complete on it, Σx, Σxxᵀ
    floor_ceiling: dict[str, tuple[int, int, int]]           # score → complete rows, at floor, at ceiling


def _one_pass(x: np.ndarray, cols: list[str], groups: dict[str, list[str]], lo: float, hi: float,
              block: int = 65_536) -> _OnePass | None:
    """The item table's category counts, the pairwise moments of the copy check, each subscale's listwise
    sums and the sum scores' floor/ceiling counts, from one pass over the rows in blocks.

    Only for whole-number answers in an integer range of at most 21 categories (else ``None``):
    then every sum is an integer below 2⁵³, exact in any order — the counts, the pairwise moments and
    the floor/ceiling counts equal the separate computations bit for bit; the listwise covariance
    (Σxxᵀ − Σx Σxᵀ/n)/(n − 1) equals ``np.cov`` of the complete rows to rounding (≈ 1e-15 relative).
    """
    if lo != round(lo) or hi != round(hi) or hi - lo > 20 or max(abs(lo), abs(hi)) > 2 ** 14:
        return None
    n, k = x.shape
    n_cat = int(hi - lo) + 1
    scores = dict(groups)
    if len(scores) > 1 or "all" not in scores:
        scores["total"] = cols
    pos = {c: j for j, c in enumerate(cols)}
    sets = {g: np.array([pos[i] for i in ids], dtype=np.intp) for g, ids in scores.items()}
    member = np.zeros((k, len(sets)))
    for c, idx in enumerate(sets.values()):
        member[idx, c] = 1.0
    size = member.sum(axis=0)
    counts = np.zeros(k * (n_cat + 1), dtype=np.int64)  # one extra bin per item: missing
    offsets = (np.arange(k) * (n_cat + 1)).astype(np.int16 if k * (n_cat + 1) < 2 ** 15 else np.int64)[None, :]
    mm, sx, sq, sxy = (np.zeros((k, k)) for _ in range(4))
    lw = {g: [0, np.zeros(len(sets[g])), np.zeros((len(sets[g]), len(sets[g])))] for g in groups}
    fc = np.zeros((3, len(sets)), dtype=np.int64)
    # products of answers in float32 (twice as fast): exact while every sum within a block stays below 2²⁴,
    # so the block holds at most 2²⁴ / max|x|² rows; the block sums are added up in float64
    top = max(abs(lo), abs(hi), 1.0)
    block = int(min(block, max(1, 2 ** 24 // int(np.ceil(top * top)))))
    member32 = member.astype(np.float32)
    in_groups = member[:, :len(groups)]  # the subscales come first in ``sets``, in the order of ``lw``
    part = in_groups.argmax(axis=1) if bool((in_groups.sum(axis=1) == 1).all()) else None
    with single_thread_blas(numpy_only=True):
        for s in range(0, n, block):
            blk = x[s:s + block]
            obs = ~np.isnan(blk)
            x0 = np.where(obs, blk, 0.0)
            code = x0.astype(np.int16)  # answers lie in [lo, hi] (checked), so the cast is exact for whole numbers
            if not np.array_equal(code, x0):
                return None  # not whole numbers: the statistics one at a time
            code -= np.int16(lo)
            code[~obs] = n_cat
            counts += np.bincount((code + offsets).ravel(), minlength=counts.size)
            m = obs.astype(np.float32)
            x0 = x0.astype(np.float32)
            mm += m.T @ m
            sx += x0.T @ m
            sq += (x0 * x0).T @ m
            sxy += x0.T @ x0
            complete = (m @ member32) == size
            sums = (x0 @ member32).astype(float)
            fc[0] += complete.sum(axis=0)
            fc[1] += (complete & (sums == lo * size)).sum(axis=0)
            fc[2] += (complete & (sums == hi * size)).sum(axis=0)
            if part is not None:  # subscales partition the items: each item × its subscale's completeness, one product
                y = x0 * complete[:, part].astype(np.float32)
                s1, s2 = y.sum(axis=0), y.T @ x0
                for c, g in enumerate(lw):
                    lw[g][0] += int(complete[:, c].sum())
                    lw[g][1] += s1[sets[g]]
                    lw[g][2] += s2[np.ix_(sets[g], sets[g])]
            else:
                for c, g in enumerate(lw):
                    rows = x0[complete[:, c]][:, sets[g]]
                    lw[g][0] += rows.shape[0]
                    lw[g][1] += rows.sum(axis=0)
                    lw[g][2] += rows.T @ rows
    counts = counts.reshape(k, n_cat + 1)[:, :n_cat]
    return _OnePass(counts, (mm, sx, sq, sxy), {g: (int(v[0]), v[1], v[2]) for g, v in lw.items()},
                    {g: (int(fc[0, c]), int(fc[1, c]), int(fc[2, c])) for c, g in enumerate(sets)})


def _describe(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column n, mean, sd, skew and kurtosis (psych::describe, type 3) ignoring NaN."""
    obs = ~np.isnan(x)
    n = obs.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=0) / n
        dev = np.where(obs, x - mean, 0.0)
        sq = dev * dev  # products, not ``**3``/``**4`` (a generic pow per element: 10× slower at 10⁶ rows)
        m2 = np.sum(sq, axis=0) / n
        m3 = np.sum(sq * dev, axis=0) / n
        m4 = np.sum(sq * sq, axis=0) / n
        sd = np.sqrt(m2 * n / (n - 1))
        # type 3 (psych default; SPSS-free "b1", "b2"): g * ((n − 1)/n)^(3/2) and ^2
        skew = m3 / m2**1.5 * ((n - 1) / n) ** 1.5
        kurt = m4 / m2**2 * ((n - 1) / n) ** 2 - 3.0
    return {"n": n, "mean": mean, "sd": sd, "skew": skew, "kurtosis": kurt}


def _scale_range(scale: Any) -> tuple[float, float] | None:
    for attr in ("response_format", "response_range", "responses"):
        v = getattr(scale, attr, None)
        if v is None:
            continue
        lo = getattr(v, "min", None)
        hi = getattr(v, "max", None)
        if lo is not None and hi is not None:
            return float(lo), float(hi)
        if isinstance(v, Sequence) and len(v) == 2 and all(isinstance(t, (int, float)) for t in v):
            return float(v[0]), float(v[1])
    return None


def item_analysis(
    data: pd.DataFrame,
    scale: Any = None,
    *,
    response_range: tuple[float, float] | None = None,
    missing: Literal["listwise", "pairwise"] = "listwise",
    min_item_rest_r: float = 0.30,
    max_floor_ceiling: float = 0.15,
    max_categories: int = 10,
    min_category: float = 0.01,
    max_category: float = 0.80,
) -> ItemAnalysisResult:
    """Item statistics with flags.

    Parameters
    ----------
    data : DataFrame or Responses
        Item responses (columns = item ids), numeric and already reverse-keyed, or
        loaded responses (:func:`psychometrics.data.load_responses`: its ``.items``
        and ``.scale`` are used).
    scale : Scale or mapping, optional
        Subscale membership: item–rest r and α-if-deleted are computed within each
        item's subscale. A mapping subscale id → item ids also works. The scale's
        ``response_format`` (``min``/``max``) gives the range for floor and ceiling.
    response_range : (low, high), optional
        Lowest and highest response option. Defaults to the scale's range, else
        the smallest and largest value observed in any item.
    missing : {"listwise", "pairwise"}
        Policy for the item–rest statistics (descriptives always use each item's
        observed responses; ``n`` and ``missing`` are per item).
    min_item_rest_r : float
        Flag items whose item–rest correlation is below this (default .30).
    max_floor_ceiling : float
        Flag subscale and total sum scores with more than this proportion at their lowest or
        highest possible value (default .15; Terwee et al., 2007 — a criterion for scale
        scores, so single items are not judged by it).
    min_category, max_category : float
        Flag an item with a response category (in an integer response range) used by fewer
        than ``min_category`` (default 1 %) or more than ``max_category`` (default 80 %) of
        its observed responses.
    max_categories : int
        Response frequencies are tabulated when at most this many distinct values occur.

    Notes
    -----
    item_rest_r_i = (1ᵀCeᵢ − cᵢᵢ) / √(cᵢᵢ (1ᵀC1 − 2·1ᵀCeᵢ + cᵢᵢ)) and α-if-deleted is
    α of the covariance matrix without item i. Validated against psych::describe,
    psych::response.frequencies and psych::alpha (r.drop, alpha.drop) on
    Holzinger–Swineford x1–x9 and the bfi items (per Big-Five subscale), listwise
    and pairwise (``tests/reference/items``).
    """
    if not isinstance(data, pd.DataFrame) and isinstance(getattr(data, "items", None), pd.DataFrame):
        scale = getattr(data, "scale", None) if scale is None else scale  # loaded Responses
        data = data.items
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"item_analysis needs a pandas DataFrame of item responses, got {type(data).__name__}"
        )
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', not {quote(missing)}")
    if data.shape[1] < 1:
        raise DataError("item_analysis needs at least one item column")
    cols = [str(c) for c in data.columns]
    frame = data.copy(deep=False)  # only the column labels change
    frame.columns = cols
    x = item_matrix(frame, "item_analysis")
    diags: list[Diagnostic] = []
    groups = _subscale_groups(scale, cols)
    lo, hi, source = _resolve_range(x, data, cols, scale, response_range)
    one = _one_pass(x, cols, groups, lo, hi) if x.shape[0] >= ONE_PASS_ROWS else None
    counts = _category_counts(x, lo, hi) if one is None else one.counts
    table, d = _item_table(x, cols, groups, lo, hi, source, max_categories, counts)

    # ---- problem items
    flag_rows: list[dict[str, Any]] = []

    def flag(item: str, rule: str, value: float) -> None:
        desc = FLAG_RULES[rule].format(min_item_rest_r=min_item_rest_r, min_category=min_category,
                                       max_category=max_category)
        flag_rows.append({"item": item, "rule": rule, "description": desc, "value": float(value),
                          "citation": FLAG_CITATIONS[rule]})

    no_resp = [c for j, c in enumerate(cols) if d["n"][j] == 0]
    zero_var = [c for j, c in enumerate(cols) if d["n"][j] > 0 and not (d["sd"][j] > 0)]
    for c in no_resp:
        flag(c, "no_responses", 0)
    for c in zero_var:
        flag(c, "zero_variance", 0)
    if no_resp:
        record(diags, DataQualityWarning, f"items {name_list(no_resp)} have no observed responses; they are "
               "left out of the item–rest statistics", stacklevel=2)
    if zero_var:
        record(diags, DataQualityWarning, f"items {name_list(zero_var)} have zero variance (everyone gave the same "
               "response); they are left out of the item–rest statistics", stacklevel=2)

    usable = [c for c in cols if c not in no_resp and c not in zero_var]
    if len(usable) > 1:
        with np.errstate(all="ignore"):  # pairwise Pearson r as pandas' corr(min_periods=3), by blocked products
            idx = [cols.index(c) for c in usable]
            if one is None:
                r, n_pair = pairwise_moments(x[:, idx], "cor")
            else:  # the same sums, from the one pass (bit for bit: integer sums)
                n_pair = one.pair[0][np.ix_(idx, idx)]
                r = pairwise_from_sums(*(a[np.ix_(idx, idx)] for a in one.pair), "cor")
            r[n_pair < 3] = np.nan
        copies = [f"{usable[i]}–{usable[j]}" for i, j in zip(*np.triu_indices(len(usable), 1))
                  if abs(r[i, j]) >= 1 - 1e-12]
        if copies:
            record(diags, DataQualityWarning, f"items correlate perfectly (copies or reversed copies of each other): "
                   f"{name_list(copies)}; the item–rest statistics count the same information twice", stacklevel=2)

    # ---- item–rest r and α if deleted, within each subscale
    rest, aid, n_used = _item_rest(frame, cols, groups, set(no_resp) | set(zero_var), missing, diags,
                                   None if one is None or missing != "listwise" else (one.listwise, max(abs(lo), abs(hi))))
    table["item_rest_r"] = rest.to_numpy()
    table["alpha_if_deleted"] = aid.to_numpy()

    for c in cols:
        r = table.at[c, "item_rest_r"]
        if np.isfinite(r) and r < 0:
            flag(c, "negative_item_rest_r", r)
        if np.isfinite(r) and r < min_item_rest_r:
            flag(c, "low_item_rest_r", r)
    counts = d.get("counts")
    for j, c in enumerate(cols):
        if c in no_resp or c in zero_var:
            share = None
        elif counts is not None:  # the same shares from the category counts
            share = counts[j] / counts[j].sum()
        else:
            share = _category_shares(x[:, j], lo, hi)
        if share is None:
            continue
        if share.min() < min_category:
            flag(c, "sparse_category", 100 * share.min())
        if share.max() > max_category:
            flag(c, "dominant_category", 100 * share.max())
    neg = [f["item"] for f in flag_rows if f["rule"] == "negative_item_rest_r"]
    if neg:
        record(diags, ReliabilityWarning,
               f"items {name_list(neg)} correlate negatively with the rest of their (sub)scale — probably not "
               "reverse-keyed; check the scoring key", stacklevel=2)
    flags = pd.DataFrame(flag_rows, columns=["item", "rule", "description", "value", "citation"])
    table["flag_rules"] = ["; ".join(flags.loc[flags["item"] == c, "description"]) for c in cols]
    return ItemAnalysisResult(
        table=table, flags=flags, response_range=(lo, hi), range_source=source, missing=missing,
        n_rows=int(x.shape[0]), n_used=n_used, diagnostics=tuple(diags),
        score_floor_ceiling=_score_floor_ceiling(x, cols, groups, lo, hi, max_floor_ceiling,
                                                 None if one is None else one.floor_ceiling),
        _category_counts=counts,
    )


def _category_shares(col: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    """Share of the observed responses in each category lo..hi (None: not an integer range or no data)."""
    obs = col[~np.isnan(col)]
    if obs.size == 0 or lo != round(lo) or hi != round(hi) or hi - lo > 20 or np.any(obs != np.round(obs)):
        return None
    counts = np.bincount((obs - lo).astype(int), minlength=int(hi - lo) + 1)
    return counts / obs.size


def _score_floor_ceiling(x: np.ndarray, cols: list[str], groups: dict[str, list[str]], lo: float, hi: float,
                         limit: float, counted: dict[str, tuple[int, int, int]] | None = None) -> pd.DataFrame:
    """Floor/ceiling of the subscale and total sum scores over complete rows (Terwee et al. 2007).

    ``counted``: per score (complete rows, at floor, at ceiling) from :func:`_one_pass`; else counted here.
    """
    scores = dict(groups)
    if len(scores) > 1 or "all" not in scores:
        scores["total"] = cols
    rows = {}
    for sid, ids in scores.items():
        idx = [cols.index(i) for i in ids]
        if counted is not None:
            n, at_floor, at_ceil = counted[sid]
            floor = 100 * (at_floor / n) if n else np.nan  # as np.mean of the 0/1 indicators: count / n
            ceil = 100 * (at_ceil / n) if n else np.nan
        else:
            total = x[:, idx].sum(axis=1)  # NaN unless the row is complete
            complete = ~np.isnan(total)
            n = int(complete.sum())
            total = total[complete]
            floor = 100 * float(np.mean(total == lo * len(idx))) if n else np.nan
            ceil = 100 * float(np.mean(total == hi * len(idx))) if n else np.nan
        rows[sid] = {"n": n, "items": len(idx), "pct_floor": floor, "pct_ceiling": ceil,
                     "floor_flag": bool(floor > 100 * limit), "ceiling_flag": bool(ceil > 100 * limit)}
    return pd.DataFrame.from_dict(rows, orient="index")


def _subscale_groups(scale: Any, cols: list[str]) -> dict[str, list[str]]:
    """Subscale → item ids (``{"all": cols}`` without a scale); unassigned columns form their own group."""
    groups = (subscale_map(scale, cols)[0] or None) if scale is not None else None
    if groups is not None:
        unknown = [i for ids in groups.values() for i in ids if i not in cols]
        if unknown:
            raise DataError(f"items {name_list(unknown)} of the scale are not columns of the data")
        unassigned = [c for c in cols if not any(c in ids for ids in groups.values())]
        if unassigned:
            groups = {**groups, "(unassigned)": unassigned}
    else:
        groups = {"all": cols}
    return groups


def _resolve_range(x: np.ndarray, data: pd.DataFrame, cols: list[str], scale: Any,
                   response_range: tuple[float, float] | None) -> tuple[float, float, str]:
    """(lowest, highest) response option and where it came from (given, scale, observed); values outside fail."""
    if response_range is None and scale is not None and not isinstance(scale, Mapping):
        response_range = _scale_range(scale)
        source = "scale" if response_range is not None else "observed"
    else:
        source = "given" if response_range is not None else "observed"
    if response_range is None:
        if np.all(np.isnan(x)):
            raise DataError(f"no item has an observed response ({name_list(cols)})")
        response_range = (float(np.nanmin(x)), float(np.nanmax(x)))
    lo, hi = (float(response_range[0]), float(response_range[1]))
    if not lo < hi:
        raise DataError(f"response_range must be (low, high) with low < high, got {quote(response_range)}")
    if x.size and np.fmin.reduce(x, axis=None) >= lo and np.fmax.reduce(x, axis=None) <= hi:
        return lo, hi, source  # smallest and largest answer (NaN ignored) inside: no mask of the matrix needed
    outside = (x < lo) | (x > hi)
    if outside.any():
        r, c = np.argwhere(outside)[0]
        raise DataError(
            f"item {cols[c]} has value {x[r, c]:g} in row {quote(data.index[r])} outside the response range "
            f"[{lo:g}, {hi:g}] ({int(outside.sum())} such values); correct the data or the range"
        )
    return lo, hi, source


def _item_table(x: np.ndarray, cols: list[str], groups: dict[str, list[str]], lo: float, hi: float,
                source: str, max_categories: int,
                counts: np.ndarray | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Descriptives, floor / ceiling and response frequencies per item (each on its observed values);
    ``counts``: the item × category counts (:func:`_category_counts` or :func:`_one_pass`), None when
    the answers are not all whole numbers of a short range."""
    sub_of = {i: g for g, ids in groups.items() for i in ids}
    if counts is not None:  # whole-number answers: everything below from the (item × category) counts
        return _item_table_counts(x.shape[0], counts, cols, groups, lo, hi, source, max_categories)
    d = _describe(x)
    obs = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_floor = 100 * np.sum(obs & (x == lo), axis=0) / d["n"]
        pct_ceiling = 100 * np.sum(obs & (x == hi), axis=0) / d["n"]
    table = pd.DataFrame(index=pd.Index(cols, name="item"))
    if len(groups) > 1 or "all" not in groups:
        table["subscale"] = [sub_of[c] for c in cols]
    table["n"] = d["n"].astype(int)
    table["missing"] = (~obs).sum(axis=0)
    for k in ("mean", "sd", "skew", "kurtosis"):
        table[k] = d[k]
    table["pct_floor"] = pct_floor
    table["pct_ceiling"] = pct_ceiling

    # ---- response frequencies (psych::response.frequencies: proportions of observed responses)
    cats = np.sort(pd.unique(x[obs]))  # hashing, not a sort of every answer (as np.unique)
    if (source != "observed" and float(lo).is_integer() and float(hi).is_integer()
            and np.all(cats == np.round(cats)) and hi - lo + 1 <= max_categories):
        cats = np.arange(lo, hi + 1)  # integer response options: show unused categories as 0
    if len(cats) <= max_categories:
        for v in cats:
            label = f"{v:g}"
            with np.errstate(invalid="ignore", divide="ignore"):
                table[f"freq_{label}"] = np.sum(obs & (x == v), axis=0) / d["n"]
    return table, d


def _category_counts(x: np.ndarray, lo: float, hi: float) -> np.ndarray | None:
    """Answers per item and category lo..hi (items × categories), or None unless every answer is a
    whole number of an integer range of at most 21 categories (values outside [lo, hi] were refused)."""
    if lo != round(lo) or hi != round(hi) or hi - lo > 20:
        return None
    k = x.shape[1]
    out = np.empty((k, int(hi - lo) + 1), dtype=np.int64)
    for j in range(k):
        col = x[:, j]
        v = col[~np.isnan(col)]
        iv = v.astype(np.int64)
        if not np.array_equal(iv, v):
            return None
        out[j] = np.bincount(iv - int(lo), minlength=out.shape[1])
    return out


def _item_table_counts(n_rows: int, counts: np.ndarray, cols: list[str], groups: dict[str, list[str]], lo: float,
                       hi: float, source: str, max_categories: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """:func:`_item_table` from the category counts c_iv (one pass over the answers, not one per statistic).

    n_i = Σ_v c_iv; mean = Σ_v c_iv v / n_i; the central moments m_r = Σ_v c_iv (v − mean)^r / n_i
    (the sums over rows regrouped by category: equal to :func:`_describe` to rounding); floor,
    ceiling and frequencies are c_i,lo / n_i, c_i,hi / n_i and c_iv / n_i.
    """
    sub_of = {i: g for g, ids in groups.items() for i in ids}
    values = lo + np.arange(counts.shape[1], dtype=float)
    c = counts.astype(float)
    n = c.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c @ values) / n
        dev = values[None, :] - mean[:, None]
        sq = dev * dev
        m2 = (c * sq).sum(axis=1) / n
        m3 = (c * sq * dev).sum(axis=1) / n
        m4 = (c * sq * sq).sum(axis=1) / n
        sd = np.sqrt(m2 * n / (n - 1))
        skew = m3 / m2**1.5 * ((n - 1) / n) ** 1.5
        kurt = m4 / m2**2 * ((n - 1) / n) ** 2 - 3.0
        freq = c / n[:, None]
    d = {"n": n, "mean": mean, "sd": sd, "skew": skew, "kurtosis": kurt, "counts": counts}
    table = pd.DataFrame(index=pd.Index(cols, name="item"))
    if len(groups) > 1 or "all" not in groups:
        table["subscale"] = [sub_of[c] for c in cols]
    table["n"] = n.astype(int)
    table["missing"] = n_rows - counts.sum(axis=1)
    for k in ("mean", "sd", "skew", "kurtosis"):
        table[k] = d[k]
    table["pct_floor"] = 100 * freq[:, 0]
    table["pct_ceiling"] = 100 * freq[:, -1]
    used = np.flatnonzero(counts.sum(axis=0) > 0)
    if source != "observed" and len(values) <= max_categories:
        used = np.arange(len(values))  # integer response options: show unused categories as 0
    if len(used) <= max_categories:
        for v in used:
            table[f"freq_{values[v]:g}"] = freq[:, v]
    return table, d


def _listwise_cov(listwise: tuple[dict[str, tuple[int, np.ndarray, np.ndarray]], float] | None, g: str,
                  all_usable: bool) -> np.ndarray | None:
    """The listwise covariance of subscale ``g`` from its one-pass sums, (Σxxᵀ − Σx Σxᵀ/n)/(n − 1), or None
    when :func:`prepare_items` must decide (no sums, an item left out, < 3 rows, a variance near 0)."""
    if listwise is None or not all_usable or g not in listwise[0]:
        return None
    n, s1, s2 = listwise[0][g]
    if n < 3:
        return None
    cov = (s2 - np.outer(s1, s1) / n) / (n - 1)
    if not np.diag(cov).min() > 1e-8 * max(1.0, listwise[1] ** 2):  # check_variance's 1e-12, with a margin
        return None
    return cov


def _item_rest(frame: pd.DataFrame, cols: list[str], groups: dict[str, list[str]], unusable: set[str],
               missing: str, diags: list[Diagnostic],
               listwise: tuple[dict[str, tuple[int, np.ndarray, np.ndarray]], float] | None = None,
               ) -> tuple[pd.Series, pd.Series, dict[str, int]]:
    """Item–rest r and α if deleted within each subscale, and the rows used per subscale.

    ``listwise``: each subscale's (complete rows, Σx, Σxxᵀ) from :func:`_one_pass` and the largest
    |answer|; a subscale whose items are all usable then takes its covariance from them — unless
    it has fewer than 3 complete rows or an item (nearly) without variance in them, which
    :func:`prepare_items` reports as before.
    """
    rest = pd.Series(np.nan, index=cols)
    aid = pd.Series(np.nan, index=cols)
    n_used: dict[str, int] = {}
    for g, ids in groups.items():
        usable = [i for i in ids if i not in unusable]
        if len(usable) < 2:
            if ids:
                record(diags, ReliabilityWarning,
                       f"{'subscale ' + g if g != 'all' else 'the item set'} has fewer than two usable items "
                       f"({name_list(usable) or 'none'}); item–rest r and α-if-deleted are not defined",
                       stacklevel=3)
            continue
        cov = _listwise_cov(listwise, g, len(usable) == len(ids))
        if cov is not None:
            n_used[g] = listwise[0][g][0]
            rest[usable] = item_rest_r(cov)
            aid[usable] = alpha_if_deleted(cov)
            continue
        try:
            prep = prepare_items(frame[usable], missing, what="item analysis")
        except DataError as err:
            record(diags, ReliabilityWarning,
                   f"item–rest statistics for {'subscale ' + g if g != 'all' else 'the items'} not computed: {err}",
                   stacklevel=3)
            continue
        n_used[g] = prep.n
        rest[usable] = item_rest_r(prep.cov)
        if len(usable) >= 2:
            aid[usable] = alpha_if_deleted(prep.cov)
    return rest, aid, n_used
