"""The validation report of a run: its context (:func:`build_context`) and its HTML
(:func:`render_validation_report`).

The run is anything that satisfies :class:`~psychometrics.report.inputs.ValidationRun` (the
pipeline passes its run state); each section is built by a module of
:mod:`psychometrics.report.sections`, and :func:`~psychometrics.report.build.render_report`
renders the context (``docs/report.md`` describes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psychometrics.report.context import Verdict
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.references import ALWAYS_CITED, cited_in, reference_list
from psychometrics.report.sections.cfa import cfa_part
from psychometrics.report.sections.content import content_section, scale_info
from psychometrics.report.sections.crosscheck import crosscheck_part
from psychometrics.report.sections.data_quality import data_quality_section
from psychometrics.report.sections.efa import efa_part
from psychometrics.report.sections.invariance import invariance_part
from psychometrics.report.sections.irt import irt_part
from psychometrics.report.sections.items import item_analysis_part, item_review
from psychometrics.report.sections.relations import relations_section
from psychometrics.report.sections.reliability import reliability_part
from psychometrics.report.sections.scoring import scoring_section
from psychometrics.report.sections.shortform import short_form_part
from psychometrics.report.sections.summary import summary_section

__all__ = ["build_context", "parts_before_irt", "render_validation_report"]


def parts_before_irt(run: ValidationRun) -> dict[str, Any]:
    """The parts of the report context that read no step after validity (not the IRT step, the scoring key
    or the verdicts): the pipeline builds them while the IRT step finishes in its worker process."""
    review = item_review(run)
    parts = {"Item Analysis": item_analysis_part(run, review), "Reliability": reliability_part(run),
             "Exploratory Factor Analysis": efa_part(run), "Confirmatory Factor Analysis": cfa_part(run),
             "Measurement Invariance": invariance_part(run)}
    if getattr(run, "short_form", None) is not None:
        parts["Short Form"] = short_form_part(run.short_form)
    return {"review": review, "parts": parts, "scale": scale_info(run.scale), "content": content_section(run.scale),
            "data_quality": data_quality_section(run), "relations": relations_section(run)}


def build_context(run: ValidationRun, verdicts: Sequence[Verdict], *, title: str | None = None,
                  subtitle: str | None = None, early: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report context (:class:`~psychometrics.report.context.ReportContext`) of ``run``.

    ``verdicts`` are the executive summary's (the pipeline judges them); ``title`` and
    ``subtitle`` default to the scale's name and the samples. ``early``: :func:`parts_before_irt`
    of a run with the same steps up to validity (built before; else built here).
    """
    scale, d, opts = run.scale, run.data, run.options
    e = parts_before_irt(run) if early is None else early
    parts = dict(e["parts"])
    short = parts.pop("Short Form", None)  # (after the IRT part)
    if run.irt is not None:
        parts["Item Response Theory"] = irt_part(run)
    if short is not None:
        parts["Short Form"] = short
    if run.crosscheck is not None:
        parts["Independent Cross-Check"] = crosscheck_part(run.crosscheck)
    cites = cited_in(v.reference for v in verdicts) | ALWAYS_CITED
    for part in parts.values():
        cites |= part.cites
    subsections = [{"title": name, "intro": part.intro, "blocks": part.blocks} for name, part in parts.items()]
    n_an, n_cal, n_val = len(d.analysed), len(d.calibration), len(d.validation)
    return {
        "title": title or f"Validation of the {scale.name}",
        "subtitle": subtitle or (f"{n_an} respondents: calibration (n = {n_cal}) and validation (n = {n_val}) "
                                 f"samples; seed {opts.seed}"),
        "scale": e["scale"],
        "summary": summary_section(run, verdicts, e["review"]),
        "content": e["content"],
        "data_quality": e["data_quality"],
        "internal_structure": {"subsections": subsections},
        "relations": e["relations"],
        "scoring": scoring_section(run),
        "provenance": dict(run.provenance),
        "references": reference_list(cites),
    }


def render_validation_report(run: ValidationRun, verdicts: Sequence[Verdict], *, title: str | None = None,
                             subtitle: str | None = None) -> str:
    """The report of ``run`` as one self-contained HTML document."""
    from psychometrics.report.build import render_report

    return render_report(build_context(run, verdicts, title=title, subtitle=subtitle))
