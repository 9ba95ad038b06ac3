"""``results.json``: every number of a validation as plain JSON, one section per step.

Deterministic: the same inputs, options and seed give the same file apart from
``provenance.generated_at`` (the scoring key's creation date is left out; timings go to
stderr only). Numbers are unrounded; NaN and infinities are ``null``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from psychometrics._results import _column_jsonable, to_jsonable
from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.state import RunState
from psychometrics.report.diagnostic_causes import group_by_cause

from psychometrics.report.serialize import RESULTS_FORMAT_VERSION

if TYPE_CHECKING:
    from psychometrics.cfa import CFAResult
    from psychometrics.report.context import Verdict

__all__ = ["results_json", "sections_before_irt", "FORMAT_VERSION"]

#: Version of the results.json layout (defined beside the reader that checks it).
FORMAT_VERSION = RESULTS_FORMAT_VERSION


def _frame_records(df: pd.DataFrame | None) -> Any:
    return None if df is None else to_jsonable(df)


def _model_dict(fit: CFAResult) -> dict[str, Any]:
    """A CFA result as JSON; a part the fit cannot give (e.g. MIs with a singular WLSMV information) is noted."""
    try:
        return fit.to_dict()
    except PsychometricsError as exc:
        return {"estimator": fit.estimator, "converged": fit.converged, "fit": to_jsonable(fit.fit),
                "estimates": to_jsonable(fit.estimates), "note": f"incomplete: {exc}"}


def _data_quality(st: RunState) -> dict[str, Any]:
    d = st.data
    q = d.responses.quality
    careless = d.responses.careless
    out = {
        "quality": q.to_dict(),
        "exclusions": to_jsonable(d.exclusions),
        "careless": {"flag_counts": to_jsonable(q.careless_flags), "excluded": st.options.exclude_careless,
                     "rows_excluded": [to_jsonable(i) for i in d.careless_excluded],
                     "flagged_rows": to_jsonable(careless[careless["flagged"]])},
        "analysed": len(d.analysed), "calibration": len(d.calibration), "validation": len(d.validation),
        "diagnostics": [x.to_dict() for x in d.responses.diagnostics],
        "missing_data": _missing_data(d.missing_data),
    }
    if d.stats is not None:  # partitioned Parquet input: the one-pass statistics computed with Dask
        out["one_pass"] = {"engine": d.stats_engine, "n": d.stats.n,
                           "groups": {k: {"n": g.n, "complete": g.complete} for k, g in d.stats.groups.items()},
                           "items": d.stats.to_frame().reset_index().to_dict(orient="records")}
    return out


def _missing_data(md: Any) -> dict[str, Any] | None:
    """Patterns, shares, coverage summary and Little's test (the full coverage matrix is p × p: left out)."""
    if md is None:
        return None
    lt = md.little
    return {
        "n_rows": md.n_rows, "n_empty": md.n_empty, "n_patterns": md.n_patterns,
        "share_missing_item": to_jsonable(md.share_missing_item),
        "rows_by_items_missing": _frame_records(md.rows_by_share),
        "patterns": _frame_records(md.patterns),
        "min_coverage": to_jsonable(md.to_frame()["min_coverage"]),
        "low_coverage": _frame_records(md.low_coverage),
        "little_mcar": None if lt is None else {"chisq": lt.chisq, "df": lt.df, "pvalue": lt.pvalue, "n": lt.n,
                                                "n_patterns": lt.n_patterns},
        "diagnostics": [x.to_dict() for x in md.diagnostics],
    }


def _reliability(st: RunState) -> dict[str, Any]:
    rel = st.reliability
    return {**rel.result.to_dict(),
            "ordinal": _frame_records(rel.ordinal_table.rename_axis("score").reset_index())
            if rel.ordinal_table is not None else None,
            "ordinal_notes": list(rel.ordinal_notes)}


def _row_labels(index: Any) -> list[Any]:
    """Row labels as JSON values (an integer index in one call: 10⁶ labels one by one took seconds)."""
    if getattr(getattr(index, "dtype", None), "kind", "") in ("i", "u"):
        return index.tolist()
    if isinstance(index, pd.Index):
        return _column_jsonable(index)  # text ids: the whole column at once when every label is a str
    return [to_jsonable(i) for i in index]


def _efa(st: RunState) -> dict[str, Any]:
    e = st.efa
    return {
        "sample": "calibration", "n": len(st.data.calibration),
        "rows": _row_labels(st.data.calibration),
        "kmo": e.kmo.to_dict(), "bartlett": e.bartlett.to_dict(),
        "parallel_analysis": None if e.parallel is None else e.parallel.to_dict(),
        "map": None if e.map is None else e.map.to_dict(),
        "n_factors_extracted": e.n_extracted, "notes": list(e.notes),
        "correlations": e.correlations,
        "result": e.efa.to_dict(),
    }


def _cfa(st: RunState) -> dict[str, Any]:
    c = st.cfa
    return {
        "sample": "validation", "n": len(st.data.validation),
        "rows": _row_labels(st.data.validation),
        "comparison": to_jsonable(c.table),
        "lrt_declared_vs_one_factor": _frame_records(c.lrt),
        "models": {k: {"syntax": c.syntax[k], **_model_dict(v)} for k, v in c.fits.items()},
        "failed": dict(c.failed),
        "estimator": c.estimator,
        "notes": list(c.notes),
        "bifactor_omega": None if c.bifactor_omega is None else c.bifactor_omega.to_dict(),
        "indices_used_by_verdicts": "cfi_scaled, tli_scaled, rmsea_scaled, srmr" if c.estimator != "ML"
        else "cfi, tli, rmsea, srmr",
    }


def _invariance(st: RunState) -> dict[str, Any]:
    inv = st.invariance
    return {"assessed": inv.result is not None, "group": st.options.group, "note": inv.note,
            "sample": st.options.invariance_sample, "n": len(inv.rows),
            "result": None if inv.result is None else to_jsonable(inv.result),
            "method": inv.method if inv.result is not None else None,
            "fallback": inv.fallback,
            "score_tests_scalar": _frame_records(inv.score_tests)}


def _validity(st: RunState) -> dict[str, Any]:
    v = st.validity
    return {
        "construct_validity": None if v.construct_validity is None else v.construct_validity.to_dict(),
        "n": v.n,
        "hypotheses": None if v.hypotheses is None else v.hypotheses.to_dict(),
        "notes": list(v.notes),
        "scores": v.scores.descriptives.pipe(to_jsonable),
        "companion_measures": {k: {"n": c.n, "sha256": c.sha256, "quality": c.quality.to_dict(),
                                   "scores": to_jsonable(v.companion_scores[k].descriptives)}
                               for k, c in st.data.companions.items()},
        "companions_not_found": list(st.data.not_found), "companions_without_data": list(st.data.absent),
    }


def _irt(st: RunState) -> dict[str, Any] | None:
    irt = st.irt
    if irt is None:
        return None
    models = {}
    for sid, cal in irt.calibrations.items():
        models[sid] = {
            "model": cal.model, "n": cal.n_obs, "loglik": cal.loglik, "n_parameters": cal.n_parameters,
            "aic": cal.aic, "bic": cal.bic, "converged": cal.converged,
            "quadrature": {"rule": cal.quadrature_rule, "points": cal.quadrature_points},
            "parameters": _frame_records(cal.parameters.reset_index()),
            "category_values": {k: list(v) for k, v in cal.category_values.items()},
            "marginal_reliability": irt.marginal_reliability.get(sid),
            "item_fit": _frame_records(irt.item_fit[sid].reset_index()) if sid in irt.item_fit else None,
            "limited_information_fit": irt.global_fit.get(sid),
            "local_dependence": _frame_records(irt.local_dependence[sid]) if sid in irt.local_dependence else None,
            "sum_score_eap": _frame_records(irt.sum_scores[sid].reset_index()),
            "information": _frame_records(irt.information[sid][["test_information", "conditional_se",
                                                                 "conditional_reliability"]].reset_index()),
            "diagnostics": list(cal.diagnostics),
        }
    return {"method": "graded response model (Samejima 1969), marginal ML by Bock-Aitkin EM + Newton, "
                      "theta ~ N(0, 1), Gauss-Hermite quadrature; SEs from the observed (Louis) information",
            "models": models,
            "dif": None if irt.dif is None else _frame_records(irt.dif.rename_axis("item").reset_index()),
            "dif_method": "ordinal logistic regression (Crane et al. 2006), subscale EAP as matching variable; "
                          "Jodoin-Gierl classes on McFadden Delta R2 (1 vs 3) with chi2 (2 df per group contrast) "
                          "at alpha = .01; lr_*: multi-group GRM likelihood-ratio DIF per subscale, all others as "
                          "anchors then purified anchors, Benjamini-Hochberg q < .05 (lr_flag)",
            "lr_dif": {sid: _lr_dif(r) for sid, r in irt.lr_dif.items()},
            "bifactor": None if irt.bifactor is None else _bifactor(irt.bifactor),
            "notes": list(irt.notes)}


def _short_form(st: RunState) -> dict[str, Any] | None:
    step = st.short_form
    if step is None:
        return None
    sf = step.result
    if sf is None:
        return {"per_subscale": step.per_subscale, "note": step.note}
    return {"per_subscale": step.per_subscale, "procedure": sf.procedure, "items": {k: list(v) for k, v in sf.items.items()},
            "n_calibration": sf.n_calibration, "n_validation": sf.n_validation,
            "selection": _frame_records(sf.selection), "revalidation": _frame_records(sf.revalidation),
            "cfa_fit": sf.cfa_fit, "invariance_level": sf.invariance_level, "invariance_method": sf.invariance_method,
            "invariance": _frame_records(sf.invariance),
            "notes": list(sf.notes)}


def _lr_dif(r: Any) -> dict[str, Any]:
    return {"groups": list(r.groups), "n": list(r.n_obs), "reference_group": r.groups[0], "alpha": r.alpha,
            "anchors": list(r.anchors), "rounds": r.rounds, "n_fits": r.n_fits,
            "quadrature_points": r.quadrature_points, "collapsed": dict(r.collapsed),
            "n_dropped_rows": r.n_dropped_rows,
            "latent": _frame_records(r.latent.reset_index()),
            "stage1": _frame_records(r.stage1.reset_index()),
            "stage2": None if r.stage2 is None else _frame_records(r.stage2.reset_index()),
            "diagnostics": list(r.diagnostics)}


def _bifactor(b: Any) -> dict[str, Any]:
    return {"method": "bifactor graded response model, marginal ML with the Gibbons-Hedeker reduction, "
                      f"{b.quadrature_points} Gauss-Hermite points per dimension; SEs: {b.se_method}",
            "n": b.n_obs, "loglik": b.loglik, "n_parameters": b.n_parameters, "aic": b.aic, "bic": b.bic,
            "converged": b.converged, "specific": dict(b.specific),
            "parameters": _frame_records(b.parameters.reset_index()),
            "loadings": _frame_records(b.loadings.reset_index()), "reliability": dict(b.reliability),
            "diagnostics": list(b.diagnostics)}


def _scoring(st: RunState) -> dict[str, Any]:
    key = st.scoring_key.to_dict()
    key.pop("created", None)  # clock-dependent: in scoring_key.json only (results.json stays deterministic)
    if isinstance(key.get("calibration"), dict):
        key["calibration"] = {k: v for k, v in key["calibration"].items() if k != "date"}
    return key


def sections_before_irt(st: RunState) -> dict[str, Any]:
    """The sections of ``results.json`` that read no step after validity (not the IRT step, the scoring key
    or the verdicts), as plain JSON: ``validate`` builds them while the IRT step finishes in its worker."""
    return to_jsonable({
        "data_quality": _data_quality(st),
        "items": st.items.to_dict(),
        "estimation": {"ordinal": bool(st.ordinal), "reason": st.ordinal_why, **st.estimation},
        "reliability": _reliability(st),
        "efa": _efa(st),
        "cfa": _cfa(st),
        "invariance": _invariance(st),
        "short_form": _short_form(st),
        "validity": _validity(st),
    })


def results_json(st: RunState, verdicts: Sequence[Verdict], early: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The content of ``results.json`` (plain JSON types only). ``early``: :func:`sections_before_irt` of a
    state with the same steps up to validity (built before; else built here)."""
    scale = st.scale
    e = sections_before_irt(st) if early is None else early
    out = {
        "format_version": FORMAT_VERSION,
        "scale": {"id": scale.id, "name": scale.name, "version": scale.version, "content_hash": scale.content_hash},
        "summary": [to_jsonable(dataclasses.asdict(v)) for v in verdicts],
        **{k: e[k] for k in ("data_quality", "items", "estimation", "reliability", "efa", "cfa", "invariance")},
        "irt": to_jsonable(_irt(st)),
        "short_form": e["short_form"],
        "validity": e["validity"],
        "scoring": _scoring(st),
        "diagnostics": [d.to_dict() for d in st.diagnostics],
        # one entry per cause, most urgent first; "diagnostics" holds indices into the list above
        "diagnostics_by_cause": [c.to_dict() for c in group_by_cause(st.diagnostics)],
        "provenance": dict(st.provenance),
    }
    if st.crosscheck is not None:
        out["crosscheck"] = {"results": [r.to_dict() for r in st.crosscheck.results],
                             "notes": list(st.crosscheck.notes)}
    # every value plain JSON: to_jsonable returns new dicts and lists of str/int/bool/None/finite floats only
    # (a json.dumps/json.loads round trip of the result gave the same values: 0.7 s at 10⁶ rows, issue 16);
    # the early sections are that already (not walked again)
    return {k: v if k in e else to_jsonable(v) for k, v in out.items()}
