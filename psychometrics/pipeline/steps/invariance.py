"""Step 6, measurement invariance across the groups: categorical (WLSMV) for ordinal items with
a continuous (ML) fallback, the score tests of the equality constraints, and the decision rule
in words. A problem is a note or a recorded diagnostic, never a crash or a silent gap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import Diagnostic, InvarianceWarning, record
from psychometrics.pipeline.options import ValidationOptions
from psychometrics.pipeline.state import InvarianceStep
from psychometrics.pipeline.steps._common import why
from psychometrics._text import quote

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.scale import Scale

__all__ = ["invariance_step", "rows_with_group", "equality_score_tests", "describe_rule", "RULE_REFERENCES"]

#: Short citation of each built-in decision rule (``psychometrics.invariance.RULES``).
RULE_REFERENCES = {"chen2007": "Chen (2007)", "chen2007_small": "Chen (2007)",
                   "cheung_rensvold2002": "Cheung & Rensvold (2002)",
                   "rutkowski_svetina2014": "Rutkowski & Svetina (2014)", "chisq": "lavaan lavTestLRT"}


@single_thread_blas  # modest matrices: threaded BLAS only adds hand-off cost (the score tests ran outside the limit)
def invariance_step(work: Responses, rows: pd.Index, scale: Scale, opts: ValidationOptions,
                    ordinal: bool = False, est: Any = None, ordinal_rows: Any = None) -> InvarianceStep:
    """Invariance of the declared correlated-factors model across ``opts.group`` on ``rows``
    (``est``: :class:`~psychometrics.pipeline.options.Estimation` of the continuous models; default ML, listwise;
    ``ordinal_rows``: the run's shared codes and tables of the items,
    :class:`~psychometrics.ordinal.shared.OrdinalRows`)."""
    if opts.group is None:
        return InvarianceStep(None, rows, note="No grouping variable was given (--group), so measurement invariance "
                                               "was not assessed.")
    from psychometrics.cfa import models
    from psychometrics.invariance import measurement_invariance

    col = opts.group
    frame = rows_with_group(work, rows, col)
    inv = None
    method = "ML"
    fallback = None
    if ordinal:
        try:
            # an empty category in one group is merged with its lower neighbour in all groups (said in the
            # result's diagnostics) rather than stopping the analysis
            from psychometrics.invariance import categorical
            from psychometrics.pipeline.options import ordinal_missing

            inv = categorical.categorical_invariance(models.correlated_factors(scale), frame, col,
                                                     rule=opts.invariance_rule, empty_categories="collapse",
                                                     missing=ordinal_missing(opts), ordinal_rows=ordinal_rows)
            method = "WLSMV"
        except Exception as exc:  # noqa: BLE001 - fall back to the continuous (ML) invariance, said in the report
            fallback = (f"The categorical (WLSMV) invariance analysis failed ({why(exc)}); the continuous (ML) "
                        "analysis is reported instead.")
    try:
        if inv is None:
            kw = {} if est is None else {"estimator": est.estimator, "missing": est.missing}
            inv = measurement_invariance(models.correlated_factors(scale), frame, col, rule=opts.invariance_rule, **kw)
            method = inv.estimator
    except Exception as exc:  # noqa: BLE001 - reported as "not assessed" with the reason, never a crash
        return InvarianceStep(None, rows, note=f"Measurement invariance could not be assessed: {why(exc)}",
                              fallback=fallback)
    diagnostics: list[Diagnostic] = []
    top = "intercepts" if method == "WLSMV" else "scalar"
    words, reference = describe_rule(inv.rule, inv.rule_citation, diagnostics)
    return InvarianceStep(inv, rows, method=method, fallback=fallback,
                          score_tests=equality_score_tests(inv, top, diagnostics), rule_words=words,
                          rule_reference=reference, diagnostics=tuple(diagnostics))


def rows_with_group(work: Responses, rows: pd.Index, col: str) -> pd.DataFrame:
    """The items of ``rows`` with the group labels (as text) in column ``col``: a new frame (adding the column
    leaves ``work`` alone: copy-on-write). Every analysed row (the default sample) without copying the items —
    at 10⁶ rows 0.12–0.3 s and 0.11 GB of new memory in a serial stretch of the run."""
    whole = rows.equals(work.items.index)
    frame = work.items.copy(deep=False) if whole else work.items.loc[rows]
    frame[col] = (work.group if whole else work.group.loc[rows]).astype(str)
    return frame


def equality_score_tests(inv: Any, top: str, diagnostics: list[Diagnostic]) -> pd.DataFrame | None:
    """Univariate score tests of the equality constraints of model ``top`` (lavTestScore).

    Even where the fit-change rule accepts a level, these show which constraints the data
    resist most; a test significant after Bonferroni correction over all constraints of the
    model marks a candidate for differential item functioning. None when the model was not
    fitted (a lower level failed) or has no constraints; when the tests cannot be computed,
    that is recorded in ``diagnostics`` (an :class:`InvarianceWarning`) and the report shows it.
    """
    if top not in inv.table.index:
        return None
    try:
        tests = inv.fits[top].score_tests()
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and shown, not hidden
        _record(diagnostics, f"the score tests of the equality constraints of the {top} model could not be "
                             f"computed ({why(exc)}); the table of the largest score tests and their verdict "
                             "are missing")
        return None
    if tests is None or tests.empty:
        return None
    tests = tests.sort_values("x2", ascending=False, kind="stable").reset_index(drop=True)
    tests["p_bonferroni"] = np.minimum(tests["pvalue"] * len(tests), 1.0)
    return tests


def describe_rule(name: str, citation: str, diagnostics: list[Diagnostic]) -> tuple[str, str]:
    """(cut-offs in words, short citation) of the deciding invariance rule ``name``.

    A rule the invariance module cannot describe is recorded in ``diagnostics`` and named
    with its own ``citation``; no other rule's text is put in its place.
    """
    from psychometrics.invariance import RULES

    ref = RULE_REFERENCES.get(name, citation)
    rule = RULES.get(name)
    if rule is None:
        _record(diagnostics, f"the decision rule {quote(name)} is not one of the built-in rules "
                             f"({', '.join(RULES)}), so its cut-offs cannot be described here; see the "
                             "invariance table for its decisions")
        return f"rule {quote(name)}", ref
    try:
        return "; ".join(f"{lv}: {rule.describe(lv)}" for lv in ("metric", "scalar")), ref
    except Exception as exc:  # noqa: BLE001 - recorded and shown; the rule is named instead
        _record(diagnostics, f"the cut-offs of the decision rule {quote(name)} could not be described ({why(exc)})")
        return f"rule {quote(name)}", ref


def _record(diagnostics: list[Diagnostic], message: str) -> None:
    record(diagnostics, InvarianceWarning, message)
