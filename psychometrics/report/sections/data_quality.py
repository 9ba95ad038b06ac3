"""Data quality: the flow of response records, every exclusion, the careless-responding flags
and the missing responses per item."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psychometrics.report.context import Diagnostics, Paragraph, Table
from psychometrics.report.inputs import ValidationRun

__all__ = ["data_quality_section"]

_SCREENS = ("longstring", "mahalanobis", "evenodd")
#: flagged rows listed in the report's table (all of them are in results.json)
MAX_LISTED = 200


def data_quality_section(run: ValidationRun) -> dict[str, Any]:
    """``{"flow", "exclusions", "blocks"}`` of the data-quality section."""
    d, opts = run.data, run.options
    resp = d.responses
    q = resp.quality
    n_an = len(d.analysed)
    flow_rows = [("Records read", q.rows_read), ("Rows used (after row policies)", q.rows_used)]
    if opts.exclude_careless:
        flow_rows.append(("Not flagged as careless (exclude_careless)", n_an))
    flow_rows += [("Analysed", n_an), ("Calibration sample (EFA)", len(d.calibration)),
                  ("Validation sample (CFA)", len(d.validation)), ("Complete cases (all items answered)",
                                                                   q.complete_cases)]
    flow = pd.DataFrame({"n": [int(v) for _, v in flow_rows]}, index=pd.Index([k for k, _ in flow_rows], name="Stage"))
    careless = resp.careless
    flagged = careless[careless["flagged"]]
    n_flagged = len(flagged)
    flagged = flagged.iloc[:MAX_LISTED]  # the report's size must not grow with n; results.json lists all
    ctab = pd.DataFrame({
        "Respondent": ["—" if resp.ids is None else str(resp.ids.loc[i]) for i in flagged.index],
        "Long-string": flagged["longstring"].astype("int64"),
        "Mahalanobis D²": flagged["mahalanobis_d2"], "p": flagged["mahalanobis_p"],
        "Even–odd r": flagged["evenodd"],
        "Screens": [", ".join(n for n in _SCREENS if r[f"{n}_flag"]) for _, r in flagged.iterrows()],
    }, index=flagged.index)
    ctab.index = pd.Index([str(i) for i in flagged.index], name="Row")  # after building: labels must align first
    miss = q.to_frame()
    miss_tab = pd.DataFrame({"Missing": miss["missing"].astype("int64"), "Share": miss["missing_share"]})
    miss_tab.index.name = "Item"
    flags = q.careless_flags
    blocks: list[Any] = [
        Paragraph(f"Careless-responding screens flagged {int(flags.get('any', n_flagged))} of "
                  f"{q.rows_used} rows (long-string {int(flags.get('longstring', 0))}, Mahalanobis D² "
                  f"{int(flags.get('mahalanobis', 0))}, even–odd {int(flags.get('evenodd', 0))}; "
                  "Meade & Craig, 2012). "
                  + ("They were excluded from all analyses, as requested (exclude_careless); "
                     + ("each is listed above." if n_flagged <= MAX_LISTED else "results.json lists each.")
                     if opts.exclude_careless else
                     "They are flags, not deletions: the rows stay in every analysis. Pass exclude_careless to "
                     "exclude them.")),
        Table(ctab, "Rows Flagged by the Careless-Responding Screens",
              note="Long-string: longest run of identical answers; Mahalanobis D² with its p (flag at p < .001); "
                   "even–odd: consistency of odd and even half-scale scores (flag below .30 with at least six "
                   "subscales)." + (f" The first {MAX_LISTED} of {n_flagged} flagged rows are shown; results.json "
                                    "lists all (data_quality.careless.flagged_rows)." if n_flagged > MAX_LISTED
                                    else ""), digits={"Long-string": 0, "Mahalanobis D²": 1, "Even–odd r": 2}, p_values=["p"],
              no_leading_zero=["Even–odd r"]),
        Table(miss_tab, "Missing Responses per Item", digits={"Missing": 0, "Share": 3}, no_leading_zero=["Share"],
              note=f"Of {q.rows_used} rows used. Missing values are never imputed; each analysis states the n it used."),
    ]
    blocks += _missing_data_blocks(d.missing_data)
    diags = [*resp.diagnostics, *(x for c in d.companions.values() for x in c.diagnostics)]
    if diags:
        blocks.append(Diagnostics(diags, title="Data diagnostics"))
    return {"flow": flow, "exclusions": d.exclusions.set_index("Row"), "blocks": blocks}


def _missing_data_blocks(md: Any) -> list[Any]:
    """Little's MCAR test, coverage and the most frequent missing-data patterns."""
    if md is None:
        return [Paragraph("The missing-data diagnostics could not be computed.")]
    if md.n_patterns <= 1 and float(md.share_missing_item.to_numpy(float).max(initial=0.0)) == 0.0:
        return [Paragraph("No item response is missing: every analysis uses every analysed respondent.")]
    cov = md.coverage.to_numpy(dtype=float)
    off = cov[~np.eye(cov.shape[0], dtype=bool)] if cov.shape[0] > 1 else np.array([1.0])
    text = (f"{md.n_patterns} missing-data pattern(s) among {md.n_rows} analysed rows; "
            f"{md.n_empty} row(s) answered no item. Covariance coverage (share of rows answering both items of a "
            f"pair{', lowest group' if md.coverage_by_group else ''}, as Mplus reports it) ranges from "
            f"{off.min():.3f} to {off.max():.3f}"
            + (f"; {len(md.low_coverage)} pair(s) fall below .10 (see the diagnostics)." if len(md.low_coverage)
               else "; no pair falls below .10."))
    lt = md.little
    if lt is not None:
        p = "< .001" if lt.pvalue < 0.001 else f"= {lt.pvalue:.3f}".replace("0.", ".", 1)
        text += (f" Little's (1988) MCAR test: χ²({lt.df}) = {lt.chisq:.1f}, p {p} ({lt.n_patterns} patterns, "
                 "EM estimates of the means and covariances; a small p says the data are not missing completely at "
                 "random, so listwise deletion could bias the results — the default pairwise and full-information "
                 "methods use every answer).")
    pt = md.patterns.rename(columns={"missing_items": "Missing items", "n": "Rows", "share": "Share"})
    pt = pt.set_index(pd.Index(range(1, len(pt) + 1), name="Pattern"))[["Missing items", "Rows", "Share"]]
    return [Paragraph(text),
            Table(pt, "Most Frequent Missing-Data Patterns", digits={"Rows": 0, "Share": 3}, no_leading_zero=["Share"],
                  note=f"The {len(pt)} most frequent of {md.n_patterns} patterns; '(none)' = all items answered.")]
