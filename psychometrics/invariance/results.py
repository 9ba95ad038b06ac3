"""Result objects of measurement invariance (continuous and ordinal items), the fitted levels
they keep, and the rows of their comparison table."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
from scipy import special

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics.exceptions import Diagnostic
from psychometrics.invariance.rules import RULES
from psychometrics._text import quote

__all__ = ["InvarianceResult", "CategoricalInvarianceResult", "FittedLevel", "TABLE_COLS", "delta_fit", "ml_table_row"]


@dataclass
class FittedLevel:
    """One fitted level (engine internals kept for lazy tables)."""

    name: str
    level: str
    group_equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    engine: Any
    fit: dict[str, float]
    converged: bool
    iterations: int


TABLE_COLS = ["level", "partial", "compared_with", "npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
               "rmsea_ci_lower", "rmsea_ci_upper", "srmr", "aic", "bic", "delta_chisq", "delta_df",
               "delta_pvalue", "delta_cfi", "delta_rmsea", "delta_srmr", "holds"]


@dataclass(frozen=True, eq=False)
class InvarianceResult(ResultMixin):
    """Measurement invariance across groups.

    Attributes
    ----------
    model : str
        The lavaan model syntax.
    group : str
        Grouping column; ``groups`` are the labels in model order (the first is the
        reference group: its latent means are fixed to 0).
    nobs : dict
        Rows used per group (complete cases with ``missing="listwise"``; every non-empty row with FIML).
    n_excluded : int
        Rows dropped: by listwise deletion, or (FIML) rows with every model item missing.
    estimator, missing : str
        ``"ML"`` or ``"MLR"``; ``"listwise"`` or ``"ml"`` (FIML). With MLR the table's ``chisq`` and
        ``pvalue`` are the Yuan–Bentler (Mplus) scaled statistic, ``cfi, tli, rmsea`` (and CI) the robust
        indices, ``delta_chisq``/``delta_pvalue`` the Satorra–Bentler (2001; 2010 when the 2001 version is
        not positive) scaled difference test and ``delta_cfi``/``delta_rmsea`` differences of robust indices.
    table : DataFrame
        One row per fitted model, indexed by name (``configural``, ``metric``,
        ``scalar``, ``strict``, and ``"<level> (partial)"`` for accepted partial
        models): ``level, partial`` (released parameters), ``compared_with``,
        ``npar, chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper,
        srmr, aic, bic``, the χ² difference test against ``compared_with``
        (``delta_chisq, delta_df, delta_pvalue``, lavaan's ``lavTestLRT``),
        ``delta_cfi, delta_rmsea, delta_srmr`` and ``holds`` (the rule's verdict).
    decisions : DataFrame
        Verdict of every built-in rule for each compared row (True = invariance holds).
    level : str
        Highest level reached under ``rule`` (``"configural"`` if metric fails;
        with ``partial_level`` True when it needed released constraints).
    partial_level : bool
    rule : str
        Name of the deciding rule; ``rule_citation`` its source and cut-offs,
        ``rule_reason`` why it was chosen.
    partial_steps : DataFrame
        Each release: ``level, step, released`` (lavaan ``group.partial`` name),
        ``item, parameter, x2`` (largest univariate score statistic of that
        parameter), ``chisq, df, cfi, rmsea, srmr, delta_cfi, delta_rmsea,
        delta_srmr, holds`` of the model after the release.
    non_invariant_items : tuple of str
        Items with a parameter released at any step (``partial_steps`` says at which
        level and whether the level then held).
    item_invariance : DataFrame
        Per item and focal group (index (group, item)): parameters released in the
        final scalar-level model (the accepted partial scalar model, else the last one
        tried), loading/intercept in reference and focal group, ``expected_diff``
        (focal − reference expected item score at the focal factor means), pooled SD
        and ``dmacs`` (Nye & Drasgow, 2011) from that model.
    latent_differences : DataFrame or None
        Once scalar (or partial scalar) invariance holds, per focal group and
        factor: ``mean_diff`` (the focal latent mean; the reference's is 0), ``se,
        z, pvalue``, ``std_mean_diff`` (mean difference / pooled latent SD),
        ``var_ref, var_focal, var_ratio, var_diff, var_diff_se, var_diff_z,
        var_diff_pvalue``.
    diagnostics : tuple of Diagnostic
    """

    model: str
    group: str
    groups: tuple[str, ...]
    nobs: dict[str, int]
    n_excluded: int
    table: pd.DataFrame
    decisions: pd.DataFrame
    level: str
    partial_level: bool
    rule: str
    rule_citation: str
    rule_reason: str
    partial_steps: pd.DataFrame
    non_invariant_items: tuple[str, ...]
    item_invariance: pd.DataFrame | None
    latent_differences: pd.DataFrame | None
    diagnostics: tuple[Diagnostic, ...] = ()
    _fits: dict[str, FittedLevel] = field(default_factory=dict, repr=False)
    _final: str = field(default="", repr=False)
    estimator: str = "ML"
    missing: str = "listwise"

    _title = "Measurement invariance"

    # ------------------------------------------------------------- access
    @property
    def fits(self) -> Mapping[str, Any]:
        """Per-model :class:`~psychometrics.cfa.CFAResult` (keys as ``table``'s index), built on first use."""
        return _LazyFits(self)

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """Per-group parameter estimates of the final model (highest level reached), lavaan's
        ``parameterEstimates(fit, standardized = TRUE)``."""
        return self._fits[self._final].engine.estimates()

    @property
    def final_model(self) -> str:
        """Name (``table`` index) of the model of the highest level reached."""
        return self._final

    def delta_chart_data(self) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
        """``(deltas, cutoffs)`` for :func:`psychometrics.report.figures.invariance_delta_chart`.

        ``deltas``: the compared rows of :attr:`table` with columns ``ΔCFI, ΔRMSEA, ΔSRMR``;
        ``cutoffs``: the deciding rule's signed cut-offs per column and row (empty for the
        χ² rule, which has none on these indices).
        """
        rows = self.table[self.table["compared_with"] != ""]
        deltas = rows[["delta_cfi", "delta_rmsea", "delta_srmr"]].set_axis(["ΔCFI", "ΔRMSEA", "ΔSRMR"], axis=1)
        rule = RULES.get(self.rule)
        cutoffs: dict[str, dict[str, float]] = {}
        if rule is not None and rule.mode != "chisq":
            for col, key in (("ΔCFI", "cfi"), ("ΔRMSEA", "rmsea"), ("ΔSRMR", "srmr")):
                per = {name: rule.cutoffs[lv][key] for name, lv in rows["level"].items()
                       if key in rule.cutoffs.get(lv, {})}
                if per:
                    cutoffs[col] = per
        return deltas, cutoffs

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def _scalars(self) -> dict[str, Any]:
        return {"level": self.level + (" (partial)" if self.partial_level else ""), "rule": self.rule,
                "rule_citation": self.rule_citation, "rule_reason": self.rule_reason, "non_invariant_items": ", ".join(self.non_invariant_items) or "none"}

    def _tables(self) -> dict[str, pd.DataFrame]:
        out = {"table": self.table.drop(columns=["level"])}
        if len(self.partial_steps):
            out["partial_steps"] = self.partial_steps
        if self.item_invariance is not None and len(self.non_invariant_items):
            out["item_invariance"] = self.item_invariance
        if self.latent_differences is not None:
            out["latent_differences"] = self.latent_differences
        return out


class _LazyFits(Mapping):
    """Mapping name → CFAResult, each built from the stored engine when first asked for."""

    def __init__(self, result: InvarianceResult):
        self._r = result

    def __getitem__(self, key: str) -> Any:
        fits = self._r._fits
        if key not in fits:
            raise KeyError(f"no model {quote(key)}; models are: {', '.join(fits)}")
        cache = self._r.__dict__.setdefault("_cfa_cache", {})
        if key not in cache:
            cache[key] = _cfa_result(self._r, fits[key])
        return cache[key]

    def __iter__(self):
        return iter(self._r._fits)

    def __len__(self) -> int:
        return len(self._r._fits)


def _cfa_result(res: InvarianceResult, f: FittedLevel) -> Any:
    """A full :class:`CFAResult` from a fitted engine (tables computed now, not during the sequence)."""
    from psychometrics.cfa.engine import ml_result

    return ml_result(f.engine, model=res.model, group=res.group, group_equal=f.group_equal,
                     group_partial=f.group_partial, n_excluded=res.n_excluded, converged=f.converged,
                     iterations=f.iterations, fit=f.fit, estimator=res.estimator, missing=res.missing)



def delta_fit(f: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    dchi = f["chisq"] - ref["chisq"]
    ddf = f["df"] - ref["df"]
    p = float(special.chdtrc(ddf, max(dchi, 0.0))) if ddf > 0 else math.nan
    return {"delta_chisq": dchi, "delta_df": ddf, "delta_pvalue": p, "delta_cfi": f["cfi"] - ref["cfi"],
            "delta_rmsea": f["rmsea"] - ref["rmsea"], "delta_srmr": f["srmr"] - ref["srmr"]}


def ml_table_row(name: str, f: FittedLevel, ref: FittedLevel | None, holds: bool | None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "level": f.level, "partial": ", ".join(f.group_partial),
                           "compared_with": "" if ref is None else ref.name}
    for k in ("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
              "srmr", "aic", "bic"):
        row[k] = f.fit[k]
    d = delta_fit(f.fit, ref.fit) if ref is not None else dict.fromkeys(
        ("delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea", "delta_srmr"), math.nan)
    row.update(d)
    row["holds"] = holds
    return row


@dataclass(frozen=True, eq=False)
class CategoricalInvarianceResult(ResultMixin):
    """Measurement invariance of ordinal items (WLSMV, Wu & Estabrook identification).

    Attributes
    ----------
    model, group, groups, nobs, n_excluded
        As :class:`psychometrics.invariance.InvarianceResult`.
    table : DataFrame
        One row per level (index: ``configural``, ``thresholds``, ``loadings``,
        ``intercepts``), the same columns as the continuous invariance table. For
        WLSMV ``chisq``/``pvalue`` are the scaled-shifted statistic, ``cfi``, ``tli``,
        ``rmsea`` (and CI) the scaled indices, ``aic``/``bic`` NaN (no likelihood);
        ``delta_chisq, delta_df, delta_pvalue`` the scaled-shifted difference test
        against ``compared_with`` (lavaan's ``lavTestLRT``); ``partial`` lists the
        released constraints; an accepted partial model is the row ``"<level> (partial)"``.
    level : str
        Highest level reached (each level compared with the last one that held).
    rule, rule_citation, rule_reason : str
        The deciding rule (see :mod:`psychometrics.invariance`).
    partial_steps : DataFrame
        Each release: ``level, step, released`` (``group.partial`` name), ``x2`` (its
        largest univariate score statistic), the fit after the release and ``holds``.
    fits : dict
        Table row name → :class:`~psychometrics.cfa.CFAResult` (``estimator="WLSMV"``).
    diagnostics : tuple of Diagnostic
    """

    model: str
    group: str
    groups: tuple[str, ...]
    nobs: dict[str, int]
    n_excluded: int
    table: pd.DataFrame
    level: str
    rule: str
    rule_citation: str
    rule_reason: str
    partial_steps: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: tuple[Diagnostic, ...] = ()
    fits: Mapping[str, Any] = field(default_factory=dict, repr=False)

    _title = "Measurement invariance of ordinal items (WLSMV)"

    @property
    def estimates(self) -> pd.DataFrame:
        """Parameter estimates of the model of the highest level reached."""
        return self.fits[self.level].estimates

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "fits"}

    def _scalars(self) -> dict[str, Any]:
        return {"level": self.level, "rule": self.rule, "rule_reason": self.rule_reason}

    def _tables(self) -> dict[str, pd.DataFrame]:
        out = {"table": self.table.drop(columns=["level"])}
        if len(self.partial_steps):
            out["partial_steps"] = self.partial_steps
        return out
