r"""Measurement invariance of ordinal items: configural → thresholds → loadings → intercepts (WLSMV).

The models are identified as Wu & Estabrook (2016) — exactly the syntax of
``semTools::measEq.syntax(..., ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
parameterization = "delta")`` fitted by lavaan's ``cfa(..., estimator = "WLSMV")``
(see :mod:`psychometrics.cfa.categorical`):

==============  ============================  ==========================================
level           equal across groups           freed in groups 2..G
==============  ============================  ==========================================
configural      —                             (δ = 1, ν = 0, α = 0, ψ_ii = 1 everywhere)
thresholds      thresholds                    scaling factors δ, intercepts ν
loadings        thresholds, loadings          δ, ν, factor variances
intercepts      thresholds, loadings, ν = 0   δ, factor variances, factor means
==============  ============================  ==========================================

Each level is compared with the last level that held by the scaled-shifted χ²
difference test (Satorra, 2000; lavaan's ``lavTestLRT`` for WLSMV) and by the
changes in the *scaled* CFI/RMSEA (``cfi.scaled``/``rmsea.scaled``; lavaan cannot
compute the robust versions once thresholds are constrained) and SRMR. The
decision rules are those of :mod:`psychometrics.invariance`; their cut-offs for
``metric`` are used for the thresholds and loadings levels, those for ``scalar``
for the intercepts level (the published cut-offs were derived for continuous
items; there are no widely accepted ones for ordinal items).

With three categories, threshold invariance is statistically equivalent to the
configural model (same χ² and df; Wu & Estabrook, 2016, Proposition 4): the row
is shown with Δdf = 0 and holds by construction.

Validated against lavaan 0.6-14 + semTools 0.5-6 (fixtures ``tests/reference/wlsmv/inv_*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import DataError, Diagnostic
from psychometrics.invariance.groups import reference_first
from psychometrics.invariance.partial import best_categorical_release
from psychometrics.invariance.results import TABLE_COLS, CategoricalInvarianceResult
from psychometrics.invariance.rules import resolve_rule
from psychometrics._text import quote

__all__ = ["categorical_invariance", "CategoricalInvarianceResult", "CATEGORICAL_LEVELS"]

CATEGORICAL_LEVELS = ("configural", "thresholds", "loadings", "intercepts")
_EQUAL = {
    "configural": (),
    "thresholds": ("thresholds",),
    "loadings": ("thresholds", "loadings"),
    "intercepts": ("thresholds", "loadings", "intercepts"),
}
#: cut-offs of the continuous rules used for each categorical level
_RULE_LEVEL = {"thresholds": "metric", "loadings": "metric", "intercepts": "scalar"}
#: From this many respondents (all groups) each model of the ladder after the first starts from the estimates of
#: the model fitted before it (the previous level, or the previous trial of a partial search; issue 16): the same
#: minimum in fewer Gauss–Newton steps (55 → 47 on the demo study at 100,000 rows), estimates within the
#: convergence tolerance (≈ 1e-9) of the default start's. Below it (the demo, n = 400) every fit starts as before.
WARM_START_ROWS = 10_000


def _row(name: str, fit: dict[str, float]) -> dict[str, Any]:
    return {
        "name": name, "level": name, "partial": "", "npar": fit["npar"], "chisq": fit["chisq_scaled"],
        "df": fit["df"], "pvalue": fit["pvalue_scaled"], "cfi": fit["cfi_scaled"], "tli": fit["tli_scaled"],
        "rmsea": fit["rmsea_scaled"], "rmsea_ci_lower": fit["rmsea_ci_lower_scaled"],
        "rmsea_ci_upper": fit["rmsea_ci_upper_scaled"], "srmr": fit["srmr"], "aic": math.nan, "bic": math.nan,
    }


def categorical_invariance(
    model: Any,
    data: pd.DataFrame,
    group: str,
    levels: Sequence[str] = CATEGORICAL_LEVELS,
    rule: Any = "auto",
    *,
    partial: bool = True,
    alpha: float = 0.05,
    reference: str | None = None,
    min_invariant: int = 2,
    max_releases: int | None = None,
    empty_categories: str = "error",
    max_iter: int = 200,
    missing: str = "listwise",
    ordinal_rows: Any = None,
) -> CategoricalInvarianceResult:
    r"""Test configural, threshold, loading and intercept invariance of ordinal items (WLSMV).

    Parameters
    ----------
    model : str or Scale
        lavaan model syntax (every item is ordinal), or a Scale (its subscales become
        correlated factors).
    data : DataFrame
        Integer-coded item responses and the grouping column.
    group : str
        Grouping column; the first group (or ``reference``) is the reference group.
    levels : sequence of str
        A leading part of ``("configural", "thresholds", "loadings", "intercepts")``.
    rule : str or DecisionRule
        As :func:`psychometrics.invariance.measurement_invariance` (``"auto"``,
        ``"chen2007"``, ``"chen2007_small"``, ``"cheung_rensvold2002"``,
        ``"rutkowski_svetina2014"``, ``"chisq"``), applied to the scaled indices and
        the scaled-shifted χ² difference test.
    partial : bool
        When a level fails, release its constraints one at a time — the parameter with
        the largest univariate score test (lavaan's ``lavTestScore`` for WLSMV; a
        threshold ``"x1|t2"``, loading ``"f=~x2"`` or intercept ``"x3~1"``, freed in every
        group as ``group.partial`` with semTools' Wu & Estabrook rules) — until the rule
        holds; the accepted model is the row ``"<level> (partial)"``.
    alpha : float
        Significance level of the χ² difference test rule.
    reference : str, optional
        Label of the reference group (moved first).
    min_invariant : int
        Keep at least this many items per factor with equal loadings / intercepts.
    max_releases : int, optional
        Stop releasing after this many constraints in total.
    empty_categories : {"error", "collapse"}
        A category that is empty in one group raises :class:`DataError` naming item and
        group, or is merged with its neighbour in every group (``"collapse"``).
    missing : {"listwise", "pairwise"}
        ``"pairwise"``: per-group sample statistics by pairwise deletion (lavaan's
        ``missing = "pairwise"``); only rows with every item missing are excluded.
    ordinal_rows : OrdinalRows, optional
        The pipeline's shared codes and tables of these rows (private; issue 16): the same per-group
        statistics without coding and tabulating the rows again.

    Returns
    -------
    CategoricalInvarianceResult

    Validated against lavaan 0.6-14 ``cfa(measEq.syntax(...), estimator = "WLSMV")`` and
    ``lavTestLRT`` (fixtures ``tests/reference/wlsmv/inv_*.json``, ``inv_lrt.json``; pairwise:
    ``tests/reference/missing/pairwise_*.json``, ``lrt.json``).
    """
    from psychometrics.cfa.categorical import estimates_by_key, fit_categorical
    from psychometrics.cfa.specification import observed_variables
    from psychometrics.ordinal.group_stats import ordinal_sample_stats

    levels = tuple(levels)
    if not levels or levels != CATEGORICAL_LEVELS[: len(levels)]:
        raise DataError(f"levels must be a leading part of {CATEGORICAL_LEVELS}, got {levels}")
    if not isinstance(model, str):
        from psychometrics.cfa.models import correlated_factors

        model = correlated_factors(model)
    if not isinstance(data, pd.DataFrame) or group not in data.columns:
        raise DataError(f"grouping variable {quote(group)} is not a column of the data")
    data = reference_first(data, group, reference)
    diags: list[Diagnostic] = []
    items = list(observed_variables(model))
    with single_thread_blas():
        stats, labels, n_excluded = ordinal_sample_stats(data, items, group, empty_categories=empty_categories,
                                                         diagnostics=diags, missing=missing, coded=ordinal_rows)
        decider, reason = resolve_rule(rule, [s.nobs for s in stats], alpha)

        warm = sum(s.nobs for s in stats) >= WARM_START_ROWS
        last: list[Any] = []  # the model fitted last (its estimates start the next one from WARM_START_ROWS on)
        moments: dict = {}  # the groups' WLS moments, built once for the ladder's fits (the same numbers)

        def fit(lv: str, released: Sequence[str]):
            start = estimates_by_key(last[0]) if warm and last and last[0].converged else None
            f = fit_categorical(model, stats, groups=labels, group=group, std_lv=True, group_equal=_EQUAL[lv],
                                group_partial=tuple(released), max_iter=max_iter, diagnostics=diags, start=start,
                                moments_cache=moments)
            last[:] = [f]
            return f

        rows, steps, fits, reached = _ladder(levels, fit, decider, partial=partial, max_releases=max_releases,
                                             min_invariant=min_invariant)
    table = pd.DataFrame.from_records(rows).set_index("name")[TABLE_COLS]
    table.index.name = None
    partial_steps = pd.DataFrame.from_records(steps, columns=[
        "level", "step", "released", "x2", "chisq", "df", "cfi", "rmsea", "srmr", "delta_cfi", "delta_rmsea",
        "delta_srmr", "delta_pvalue", "holds"])
    return CategoricalInvarianceResult(
        model=model, group=group, groups=tuple(labels), nobs={g: s.nobs for g, s in zip(labels, stats)},
        n_excluded=n_excluded, table=table, level=reached, rule=decider.name, rule_citation=decider.citation,
        rule_reason=reason, partial_steps=partial_steps, diagnostics=tuple(diags), fits=fits,
    )


def _compared_row(name: str, lv: str, f: Any, ref_name: str, ref: Any, decider: Any) -> dict[str, Any]:
    """Table row of fit ``f`` compared with the last level that held (``ref``): the scaled-shifted
    χ² difference test, the changes in the scaled indices and the rule's verdict."""
    from psychometrics.cfa.compare import scaled_difference_test

    row = _row(name, f.fit)
    row["level"] = lv
    test = scaled_difference_test(ref, f)
    d = {"delta_chisq": test["chisq_diff"], "delta_df": test["df_diff"], "delta_pvalue": test["pvalue"],
         "delta_cfi": row["cfi"] - ref.fit["cfi_scaled"], "delta_rmsea": row["rmsea"] - ref.fit["rmsea_scaled"],
         "delta_srmr": row["srmr"] - ref.fit["srmr"]}
    holds = True if test["df_diff"] == 0 else bool(decider.holds(_RULE_LEVEL[lv], d))
    row.update(compared_with=ref_name, holds=holds, **d)
    return row


def _ladder(levels: Sequence[str], fit: Callable[[str, Sequence[str]], Any], decider: Any, *, partial: bool,
            max_releases: int | None, min_invariant: int):
    """Fit the levels in order, each compared with the last one that held; when one fails, release
    its constraints one at a time (largest score test) until it holds.

    Returns ``(table rows, partial steps, fits by row name, highest level reached)``.
    """

    def compare(name: str, lv: str, f: Any, ref_name: str) -> dict[str, Any]:
        return _compared_row(name, lv, f, ref_name, fits[ref_name], decider)

    fits: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    released: list[str] = []  # carried to later levels once accepted
    last_ok = levels[0]
    reached = levels[0]
    chain = True
    n_released = 0
    for lv in levels:
        f = fit(lv, released)
        fits[lv] = f
        if lv == levels[0]:
            row = _row(lv, f.fit)
            row.update(compared_with="", delta_chisq=math.nan, delta_df=math.nan, delta_pvalue=math.nan,
                       delta_cfi=math.nan, delta_rmsea=math.nan, delta_srmr=math.nan, holds=None)
            rows.append(row)
            continue
        row = compare(lv, lv, f, last_ok)
        row["partial"] = ", ".join(released)
        rows.append(row)
        holds = row["holds"]
        trial, current = list(released), f
        step = 0
        while not holds and partial and (max_releases is None or n_released < max_releases):
            cand = best_categorical_release(current, lv, trial, min_invariant)
            if cand is None:
                break
            name_, x2 = cand
            trial.append(name_)
            n_released += 1
            step += 1
            current = fit(lv, trial)
            r = compare(f"{lv} (partial)", lv, current, last_ok)
            holds = r["holds"]
            steps.append({"level": lv, "step": step, "released": name_, "x2": x2, "chisq": r["chisq"],
                          "df": r["df"], "cfi": r["cfi"], "rmsea": r["rmsea"], "srmr": r["srmr"],
                          "delta_cfi": r["delta_cfi"], "delta_rmsea": r["delta_rmsea"],
                          "delta_srmr": r["delta_srmr"], "delta_pvalue": r["delta_pvalue"], "holds": holds})
            if holds:
                r["partial"] = ", ".join(trial)
                rows.append(r)
                fits[f"{lv} (partial)"] = current
        if holds:
            if trial != released:
                released = trial
                last_ok = f"{lv} (partial)"
            else:
                last_ok = lv
            if chain:
                reached = last_ok
        else:
            chain = False
    return rows, steps, fits, reached
