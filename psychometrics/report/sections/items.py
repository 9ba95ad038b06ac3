"""Item analysis: item statistics, the response distributions, and the items to review (every
flag of the item analysis, the EFA, the CFA modification indices and the invariance analysis)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import PsychometricsError
from psychometrics.report import figures
from psychometrics.report.context import Figure, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part
from psychometrics.report.text import p_text

if TYPE_CHECKING:
    from psychometrics.cfa import CFAResult

__all__ = ["item_analysis_part", "item_review", "modification_indices", "dif_items"]


def modification_indices(fit: CFAResult) -> pd.DataFrame | None:
    """Modification indices, or None when the fit cannot give them (e.g. a singular WLSMV information)."""
    try:
        return fit.modification_indices
    except PsychometricsError:
        return None


def dif_items(tests: pd.DataFrame | None) -> list[tuple[str, str, float]]:
    """(item, what differs, score χ²) of every constraint significant after Bonferroni correction."""
    if tests is None:
        return []
    out = []
    for _, r in tests[tests["p_bonferroni"] < 0.05].iterrows():
        item = r["lhs"] if r["op"] in ("~1", "~~", "|") else r["rhs"]
        what = {"~1": "intercept", "=~": "loading", "|": f"threshold {r['rhs']}"}.get(r["op"], r["op"])
        out.append((str(item), f"{what} not equal across groups ({r['group']} copy; score test, Bonferroni p "
                               f"{p_text(r['p_bonferroni'])})", float(r["x2"])))
    return out


def item_review(run: ValidationRun) -> pd.DataFrame:
    """One row per flag raised on an item by any step (index: item, in scale order)."""
    rows = []
    for _, r in run.items.flags.iterrows():
        cite = str(r.get("citation", "") or "")
        rule = f"{r['description']} ({cite})" if cite else r["description"]
        rows.append({"Item": r["item"], "Source": "item analysis", "Rule": rule, "Value": r["value"]})
    for _, r in run.efa.efa.flags.iterrows():
        rows.append({"Item": r["item"], "Source": "EFA", "Rule": str(r["rule"]).replace("_", " "),
                     "Value": r["value"]})
    main = run.cfa.main
    mi = modification_indices(main) if main is not None else None
    if mi is not None and not mi.empty:
        for _, r in mi[(mi["op"] == "=~") & (mi["mi"] >= 10)].iterrows():
            rows.append({"Item": r["rhs"], "Source": "CFA", "Rule": f"MI for a loading on {r['lhs']} ≥ 10",
                         "Value": r["mi"]})
    rows += _invariance_rows(run)
    for item, rule, value in dif_items(run.invariance.score_tests):
        rows.append({"Item": item, "Source": "invariance", "Rule": rule, "Value": value})
    out = pd.DataFrame(rows, columns=["Item", "Source", "Rule", "Value"])
    order = {i: k for k, i in enumerate(run.scale.item_ids)}
    return out.sort_values(["Item"], key=lambda s: s.map(order), kind="stable").set_index("Item")


def _invariance_rows(run: ValidationRun) -> list[dict[str, Any]]:
    """Parameters released for partial invariance."""
    inv = run.invariance
    if inv.result is None:
        return []
    steps = inv.result.partial_steps
    rows = []
    if len(steps) and "item" in steps:
        for _, r in steps.iterrows():
            rows.append({"Item": str(r["item"]), "Source": "invariance",
                         "Rule": f"{r.get('level', '')}: {r.get('parameter', '')} released ({r.get('released', '')})",
                         "Value": r.get("x2", np.nan)})
    if inv.categorical:
        accepted = inv.released_items
        for _, r in steps.iterrows():
            if r["released"] in accepted:
                rel = str(r["released"])
                rows.append({"Item": accepted[rel], "Source": "invariance",
                             "Rule": f"{r['level']}: {rel} released across groups (partial invariance, WLSMV)",
                             "Value": r.get("x2", np.nan)})
    return rows


def _flag_rules(flags: pd.DataFrame) -> dict[str, str]:
    return {} if flags.empty else dict(zip(flags["rule"], flags["description"]))


def _response_counts(items: pd.DataFrame, ia: Any, cats: list[int]) -> pd.DataFrame:
    """Answers per item (rows) and category (columns ``cats``): the item analysis' counts when it tabulated
    the same rows and categories (integer counts: the same numbers), else every answer compared with every
    category (five passes over the rows; 0.2 s at 10⁶ rows × 28 items)."""
    known = getattr(ia, "_category_counts", None)
    if (known is not None and cats and ia.n_rows == len(items) and list(ia.table.index) == list(items.columns)
            and tuple(ia.response_range) == (cats[0], cats[-1]) and known.shape == (len(items.columns), len(cats))
            and cats == list(range(cats[0], cats[-1] + 1))):
        return pd.DataFrame(known, index=items.columns, columns=cats)
    return pd.DataFrame({c: (items == c).sum() for c in cats})


def item_analysis_part(run: ValidationRun, review: pd.DataFrame) -> Part:
    """The item table, the response-distribution figure and the items to review."""
    scale = run.scale
    rf = scale.response_format
    ia = run.items
    it = ia.table
    cats = list(rf.categories)
    counts = _response_counts(run.data.work.items, ia, cats)
    if isinstance(rf.labels, Mapping) and rf.labels:
        counts.columns = [str(rf.labels.get(c, rf.labels.get(str(c), c))) for c in cats]
    else:
        counts.columns = [str(c) for c in cats]
    stats = pd.DataFrame({"n": it["n"].astype("int64"), "M": it["mean"], "SD": it["sd"], "Skew": it["skew"],
                          "Kurtosis": it["kurtosis"], "% floor": it["pct_floor"], "% ceiling": it["pct_ceiling"],
                          "r_it": it["item_rest_r"], "α if deleted": it["alpha_if_deleted"],
                          "Flags": it["flag_rules"].fillna("")}, index=pd.Index(it.index, name="Item"))
    blocks: list[Any] = [
        Table(stats, "Item Descriptive Statistics and Discrimination",
              note="r_it = corrected item–total (item–rest) correlation within the item's subscale; α if deleted for "
                   "the subscale. Reverse-keyed items are reversed (min + max − x). Flags: "
                   + "; ".join(f"{k} = {v}" for k, v in _flag_rules(ia.flags).items()),
              digits={"n": 0, "% floor": 1, "% ceiling": 1}, no_leading_zero=["r_it", "α if deleted"]),
        Figure(figures.response_distribution(counts), "Distribution of Responses per Item",
               note="Bars are centred on the middle category; percentages of the answered responses."),
        Table(review, "Items to Review",
              note="Every flag raised by the item analysis, the EFA, the CFA modification indices (loadings on "
                   "another factor, MI ≥ 10) and the invariance analysis, each with its rule and source."),
    ]
    sfc = getattr(ia, "score_floor_ceiling", None)
    if sfc is not None and not sfc.empty:
        tab = sfc.rename(columns={"pct_floor": "% floor", "pct_ceiling": "% ceiling"})[["n", "items", "% floor",
                                                                                          "% ceiling"]]
        flagged = [f"{i} ({'floor' if r['floor_flag'] else ''}{'/' if r['floor_flag'] and r['ceiling_flag'] else ''}"
                   f"{'ceiling' if r['ceiling_flag'] else ''})" for i, r in sfc.iterrows()
                   if r["floor_flag"] or r["ceiling_flag"]]
        blocks.insert(1, Table(tab.rename_axis("Score"), "Floor and Ceiling Effects of the Scores",
                               digits={"n": 0, "items": 0, "% floor": 1, "% ceiling": 1},
                               note="Percent of complete respondents at the lowest / highest possible sum score; "
                                    "more than 15 % indicates a floor or ceiling effect (Terwee et al., 2007). "
                                    f"Flagged: {', '.join(flagged) or 'none'}. Single Likert items are not judged "
                                    "by this criterion; their distributions are shown below."))
    return Part(blocks=blocks, cites={"Terwee et al. (2007)", "Linacre (2002)"})
