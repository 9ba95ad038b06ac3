"""The typed state of a validation run: one frozen result per step and the run that holds them.

Each step of :mod:`psychometrics.pipeline.steps` returns one of these objects; the verdict
rules (:mod:`~psychometrics.pipeline.verdicts`), ``results.json``
(:mod:`~psychometrics.pipeline.results_json`) and the report
(:func:`psychometrics.report.validation.render_validation_report`, which reads them through
the protocols of :mod:`psychometrics.report.inputs`) only read them. What a reader needs to
know about a step result is a property here, not a probe of the analysis objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

import pandas as pd

from psychometrics.exceptions import Diagnostic
from psychometrics.pipeline.options import ValidationOptions

if TYPE_CHECKING:
    from psychometrics.categorical_invariance import CategoricalInvarianceResult
    from psychometrics.cfa import CFAResult
    from psychometrics.crosscheck import CrosscheckResult
    from psychometrics.data import Responses
    from psychometrics.data.missing import MissingDataDiagnostics
    from psychometrics.data.sufficient import SufficientStats
    from psychometrics.efa import BartlettResult, EFAResult, KMOResult, MAPResult, ParallelAnalysisResult
    from psychometrics.invariance import InvarianceResult
    from psychometrics.items import ItemAnalysisResult
    from psychometrics.ordinal import PolychoricResult
    from psychometrics.ordinal.shared import OrdinalRows
    from psychometrics.reliability import OmegaBifactorResult, ScaleReliabilityResult
    from psychometrics.scale import Scale
    from psychometrics.scoring import ScoreResult, ScoringKey
    from psychometrics.validity import ConstructValidity, HypothesisEvaluation

__all__ = ["DataStep", "ReliabilityStep", "EFAStep", "CFAStep", "InvarianceStep", "ValidityStep", "CrosscheckStep",
           "IRTStep", "SharedOrdinalRows",
           "RunState"]

_SCREENS = ("longstring", "mahalanobis", "evenodd")


# ----------------------------------------------------------------------- data
class SharedOrdinalRows:
    """``ordinal_rows()`` of a data step (or its first part): both hold the analysed rows (``work``) and the
    ``calibration`` / ``validation`` samples."""

    def ordinal_rows(self) -> OrdinalRows:
        """The analysed rows' items coded once, with their bivariate category tables per (calibration /
        validation) × group cell computed on first use, for the ordinal steps (reliability, EFA, CFA,
        invariance; :class:`~psychometrics.ordinal.shared.OrdinalRows`, thread-safe). A new object per call."""
        from psychometrics.ordinal.shared import OrdinalRows

        return OrdinalRows(self.work.items, (self.calibration, self.validation), self.work.group)


@dataclass(frozen=True, eq=False)
class DataStep(SharedOrdinalRows):
    """The loaded responses and the samples every later step uses.

    Attributes
    ----------
    responses : Responses
        All rows used after the row policies. Its ``frame`` and ``extra`` (and the companions')
        hold the source table's other columns only: the loaded measures' item columns are dropped
        once the companions are loaded (each measure's answers are in its ``items``; one copy).
    work : Responses
        The analysed rows (``responses`` minus careless rows when ``exclude_careless``).
    companions, companions_work : dict
        Companion measure id → its responses (all rows / analysed rows).
    not_found, absent : tuple of str
        Companion measures a hypothesis names whose spec was not found / whose items are
        not in the data.
    analysed, careless_excluded, calibration, validation : pandas.Index
        Row labels analysed, excluded as careless, and of the EFA and CFA samples.
    missing_data : MissingDataDiagnostics or None
        Patterns, shares missing, coverage (per group) and Little's MCAR test of the scale
        items in the analysed rows (None when it could not be computed).
    stats : SufficientStats or None
        One-pass per-group statistics of the scale's items computed with Dask when the data
        are a partitioned Parquet dataset (:func:`psychometrics.data.sufficient_stats_dask`);
        ``stats_engine`` says where (the scheduler address or ``"local"``).
    """

    responses: Responses
    work: Responses
    companions: Mapping[str, Responses]
    companions_work: Mapping[str, Responses]
    not_found: tuple[str, ...]
    absent: tuple[str, ...]
    analysed: pd.Index
    careless_excluded: pd.Index
    calibration: pd.Index
    validation: pd.Index
    missing_data: MissingDataDiagnostics | None = None
    stats: SufficientStats | None = None
    stats_engine: str | None = None

    @property
    def missing_companions(self) -> tuple[str, ...]:
        """Companion measures whose hypotheses could not be evaluated (no spec, or no data)."""
        return self.not_found + self.absent

    @property
    def exclusions(self) -> pd.DataFrame:
        """One row per excluded row, and per item × reason of values set missing."""
        resp = self.responses
        q = resp.quality
        rows = []
        ids = resp.ids
        for label, r in q.excluded.iterrows():
            rows.append({"Row": str(label), "Respondent": "—", "What": "row excluded",
                         "Rule": str(r.get("reason", "")), "Detail": ""})
        for label in self.careless_excluded:
            c = resp.careless.loc[label]
            which = [n for n in _SCREENS if bool(c[f"{n}_flag"])]
            rows.append({"Row": str(label), "Respondent": "—" if ids is None else str(ids.loc[label]),
                         "What": "row excluded", "Rule": "careless-responding flag (exclude_careless)",
                         "Detail": ", ".join(which)})
        for item, r in q.set_missing.iterrows():
            for reason, n in r.items():
                if n:
                    rows.append({"Row": "—", "Respondent": "—",
                                 "What": f"{int(n)} value{'s' * (n != 1)} set missing",
                                 "Rule": str(reason), "Detail": f"item {item}"})
        return pd.DataFrame(rows, columns=["Row", "Respondent", "What", "Rule", "Detail"])


# ---------------------------------------------------------------- reliability
@dataclass(frozen=True, eq=False)
class ReliabilityStep:
    """α, ω and the other coefficients of every score, and the ordinal ones when used.

    Attributes
    ----------
    result : ScaleReliabilityResult
    ordinal_table : DataFrame or None
        Per score: ``n, ordinal_alpha, categorical_omega`` (None when the ordinal methods
        are not used or the polychoric correlations failed).
    ordinal_notes : tuple of str
        Why an ordinal coefficient is missing.
    polychoric : PolychoricResult or None
        The polychoric correlations of all analysed rows (ordinal α's input).
    """

    result: ScaleReliabilityResult
    ordinal_table: pd.DataFrame | None = None
    ordinal_notes: tuple[str, ...] = ()
    polychoric: PolychoricResult | None = None


# ------------------------------------------------------------------------ EFA
@dataclass(frozen=True, eq=False)
class EFAStep:
    """Adequacy, factor retention and the EFA of the calibration sample.

    ``parallel`` and ``map`` are None when retention could not run; ``correlations`` is
    ``"polychoric"``, ``"em"`` (continuous items with missing values under FIML: the EM estimate of the
    saturated model) or ``"pearson"`` (after any fallback); ``n`` the rows behind the matrix.
    """

    kmo: KMOResult
    bartlett: BartlettResult
    parallel: ParallelAnalysisResult | None
    map: MAPResult | None
    efa: EFAResult
    n_extracted: int
    correlations: str
    n: int
    notes: tuple[str, ...] = ()

    @property
    def diagnostics(self) -> tuple[tuple[str, Diagnostic], ...]:
        """(part, diagnostic) of every EFA-step result, in step order."""
        parts = (("kmo", self.kmo), ("bartlett", self.bartlett), ("parallel", self.parallel), ("map", self.map),
                 ("efa", self.efa))
        return tuple((k, d) for k, r in parts if r is not None for d in r.diagnostics)


# ------------------------------------------------------------------------ CFA
@dataclass(frozen=True, eq=False)
class CFAStep:
    """The competing CFA models of the validation sample.

    Attributes
    ----------
    fits : dict
        Model key (``correlated``, ``higher_order``, ``one_factor``, ``bifactor``) →
        :class:`~psychometrics.cfa.CFAResult`, for the models that could be fitted.
    failed : dict
        Model key → why it could not be fitted.
    syntax : dict
        Model key → lavaan syntax (every model tried).
    table : DataFrame
        Fit of the models (index: :attr:`LABELS`); WLSMV rows hold the scaled indices.
    lrt : DataFrame or None
        Declared correlated-factors model vs one factor.
    bifactor_omega : OmegaBifactorResult or None
        ω total / ω_h / ECV from the ML bifactor fit.
    notes : tuple of str
        Fallbacks and parts that could not be computed.
    estimator : str
        ``"WLSMV"``, ``"ML"``, ``"MLR"`` or ``"WLSMV (ML for some models)"``.
    missing : str
        Missing-data method of the ML-family fits: ``"ml"`` (FIML) or ``"listwise"``.
    """

    LABELS: ClassVar[dict[str, str]] = {
        "correlated": "Correlated factors (declared)",
        "higher_order": "Higher-order (declared hierarchy)",
        "one_factor": "One factor",
        "bifactor": "Bifactor",
    }

    fits: Mapping[str, CFAResult]
    failed: Mapping[str, str]
    syntax: Mapping[str, str]
    table: pd.DataFrame
    lrt: pd.DataFrame | None
    bifactor_omega: OmegaBifactorResult | None
    notes: tuple[str, ...]
    estimator: str
    missing: str = "listwise"

    @property
    def main(self) -> CFAResult | None:
        """The declared correlated-factors model, when it could be fitted."""
        return self.fits.get("correlated")

    @property
    def model_diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every model's diagnostics and every model not fitted, prefixed with the model's label."""
        out = [Diagnostic(d.category, f"{self.LABELS[k]}: {d.message}") for k, f in self.fits.items()
               for d in f.diagnostics]
        out += [Diagnostic("EstimationError", f"{self.LABELS[k]}: not fitted: {m}") for k, m in self.failed.items()]
        return tuple(out)


# ----------------------------------------------------------------- invariance
@dataclass(frozen=True, eq=False)
class InvarianceStep:
    """Measurement invariance across the groups, or why it was not assessed.

    Attributes
    ----------
    result : InvarianceResult, CategoricalInvarianceResult or None
    rows : pandas.Index
        Rows of the invariance models.
    method : {"WLSMV", "ML"} or None
        The analysis that gave ``result`` (after any fallback).
    note : str or None
        Why invariance was not assessed.
    fallback : str or None
        Why the categorical analysis was replaced by the continuous one.
    score_tests : DataFrame or None
        Univariate score tests of the equality constraints of the highest full model.
    rule_words, rule_reference : str
        The deciding rule's cut-offs in words and its short citation.
    diagnostics : tuple of Diagnostic
        Problems of this step itself (e.g. score tests that could not be computed).
    """

    result: InvarianceResult | CategoricalInvarianceResult | None
    rows: pd.Index
    method: str | None = None
    note: str | None = None
    fallback: str | None = None
    score_tests: pd.DataFrame | None = None
    rule_words: str = ""
    rule_reference: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def categorical(self) -> bool:
        """Whether the result is the categorical (WLSMV) analysis."""
        return self.method == "WLSMV"

    @property
    def full_model(self) -> str:
        """Row of the highest model with every constraint (its score tests are shown)."""
        return "intercepts" if self.categorical else "scalar"

    @property
    def level_text(self) -> str:
        """Highest level reached, e.g. ``"scalar (partial)"`` ("" when not assessed)."""
        inv = self.result
        if inv is None:
            return ""
        if self.categorical:
            return str(inv.level)  # already "<level> (partial)" when constraints were released
        inv = cast("InvarianceResult", inv)
        return f"{inv.level} (partial)" if inv.partial_level else str(inv.level)

    @property
    def released(self) -> list[str]:
        """Constraints released for partial invariance (lavaan ``group.partial`` names)."""
        inv = self.result
        if inv is None:
            return []
        if self.categorical:
            # the releases of the accepted model of the highest level reached
            t = inv.table
            part = str(t.loc[inv.level, "partial"]) if inv.level in t.index else ""
            return [x.strip() for x in part.split(",") if x.strip()]
        steps = inv.partial_steps
        if "released" in steps and len(steps):
            return [str(x) for x in steps["released"]]
        return []

    @property
    def released_items(self) -> dict[str, str]:
        """Each released constraint (:attr:`released`) → its item."""
        return {rel: item_of_release(rel) for rel in self.released}

    @property
    def non_invariant_items(self) -> list[str]:
        """Non-invariant items: the continuous result lists them; the categorical one releases them."""
        inv = self.result
        if inv is None:
            return []
        if not self.categorical:
            return list(cast("InvarianceResult", inv).non_invariant_items)
        out: list[str] = []
        for item in self.released_items.values():
            if item and item not in out:
                out.append(item)
        return out


def item_of_release(released: str) -> str:
    """The item of a ``group.partial`` name: ``"f=~x"`` (loading), ``"x|t1"`` (threshold), ``"x~1"``."""
    item = released.split("=~")[-1] if "=~" in released else released.split("|")[0].split("~")[0]
    return item.strip()


# ------------------------------------------------------------------- validity
@dataclass(frozen=True, eq=False)
class ValidityStep:
    """CR/AVE/HTMT of the declared model, the scores and the validity hypotheses."""

    construct_validity: ConstructValidity | None
    hypotheses: HypothesisEvaluation | None
    notes: tuple[str, ...]
    scores: ScoreResult
    companion_scores: Mapping[str, ScoreResult]
    n: int | None = None  # rows behind CR/AVE/HTMT (the declared CFA's n)


# ------------------------------------------------------------------------ IRT
@dataclass(frozen=True, eq=False)
class IRTStep:
    """Unidimensional GRM calibrations of every subscale and the total, with fit, information and DIF.

    Attributes
    ----------
    calibrations : mapping
        Score id → :class:`~psychometrics.irt.IRTCalibration` (all analysed rows).
    item_fit : mapping
        Score id → S-X² table (:func:`psychometrics.irt.fit.item_fit`).
    sum_scores : mapping
        Score id → sum score → EAP table (Lord–Wingersky; Thissen et al. 1995).
    information : mapping
        Score id → item and test information, conditional SE and reliability on a θ grid.
    marginal_reliability : mapping
        Score id → marginal reliability of the EAP scores.
    dif : DataFrame or None
        Ordinal logistic regression DIF per item (subscale θ as matching variable), the
        multi-group likelihood-ratio DIF columns ``lr_*`` and the CFA-based verdict beside them
        (``cfa_non_invariant``); None without a grouping variable.
    lr_dif : mapping
        Subscale id → :class:`~psychometrics.irt.lrdif.LRDIFResult` (empty without a group).
    bifactor : BifactorCalibration or None
        Bifactor GRM of the whole scale (specific factors = subscales) when a total is declared.
    notes : tuple of str
    diagnostics : tuple of Diagnostic
    global_fit : mapping
        Subscale id → M2 (binary) / C2 (polytomous) with df, p and RMSEA2
        (:func:`psychometrics.irt.m2.limited_information_fit`).
    local_dependence : mapping
        Subscale id → LD χ² and Q3 / Q3* per item pair (:func:`psychometrics.irt.fit.local_dependence`).
    """

    calibrations: Mapping[str, Any]
    item_fit: Mapping[str, pd.DataFrame]
    sum_scores: Mapping[str, pd.DataFrame]
    information: Mapping[str, pd.DataFrame]
    marginal_reliability: Mapping[str, float]
    dif: pd.DataFrame | None = None
    lr_dif: Mapping[str, Any] = field(default_factory=dict)
    bifactor: Any = None
    notes: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    global_fit: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    local_dependence: Mapping[str, pd.DataFrame] = field(default_factory=dict)


# ------------------------------------------------------------------------ run
@dataclass(frozen=True, eq=False)
class CrosscheckStep:
    """The declared CFA model and the EFA re-fitted by independent libraries (``--crosscheck``).

    ``cfa`` / ``efa`` are None where that cross-check could not run; ``notes`` say why.
    """

    cfa: CrosscheckResult | None
    efa: CrosscheckResult | None
    notes: tuple[str, ...] = ()

    @property
    def results(self) -> tuple[CrosscheckResult, ...]:
        """The cross-checks that ran, CFA first."""
        return tuple(r for r in (self.cfa, self.efa) if r is not None)


@dataclass(frozen=True, eq=False)
class RunState:
    """Everything the steps of one validation found (what verdicts, results.json and the report read).

    ``runner_diagnostics`` are the Python warnings the steps issued that are no
    :class:`~psychometrics.exceptions.PsychometricsWarning` (those are on the results).
    """

    scale: Scale
    options: ValidationOptions
    ordinal: bool
    ordinal_why: str
    data: DataStep
    items: ItemAnalysisResult
    reliability: ReliabilityStep
    efa: EFAStep
    cfa: CFAStep
    invariance: InvarianceStep
    validity: ValidityStep
    scoring_key: ScoringKey
    provenance: Mapping[str, Any]
    runner_diagnostics: tuple[Diagnostic, ...] = ()
    crosscheck: CrosscheckStep | None = None
    irt: IRTStep | None = None
    short_form: Any = None  # steps.shortform.ShortFormStep when option short_form is set

    @property
    def estimation(self) -> dict[str, str]:
        """The method each step actually used (after any fallback), in words, per report section,
        with the missing-data handling and the n behind it."""
        ordinal = self.ordinal
        out: dict[str, str] = {}
        pairwise = self.options.missing != "listwise"
        tab = self.reliability.ordinal_table
        rel = self.reliability.result
        if rel.missing == "fiml":
            n_rel = int(rel.table["n"].max()) if len(rel.table) else 0
            cont = (f"Pearson covariances estimated by EM (the FIML saturated model) from all {n_rel} rows with at "
                    "least one answered item; the bootstrap re-runs the EM on every resample")
        else:
            cont = "Pearson covariances, listwise per score"
        if ordinal and tab is not None:
            omega = bool(tab["categorical_omega"].notna().any())
            poly = self.reliability.polychoric
            out["reliability"] = (f"α, ω total ({cont}), plus ordinal α (polychoric "
                                  "correlations; Zumbo et al., 2007)" + (" and categorical ω (WLSMV CFA; Green & "
                                                                          "Yang, 2009)" if omega else "")
                                  + (f"; the ordinal coefficients use {_missing_words(pairwise, poly.n)}"
                                     if poly is not None else ""))
        else:
            out["reliability"] = f"α, ω total ({cont}; continuous)" + (
                " — the ordinal coefficients could not be computed" if ordinal else "")
        if self.efa.correlations == "polychoric":
            out["efa"] = ("polychoric correlations (ordinal); KMO, Bartlett, parallel analysis, MAP and the EFA use "
                          "the polychoric matrix (parallel analysis compares it with random normal data); "
                          + _missing_words(pairwise, self.efa.n))
        elif self.efa.correlations == "em":
            out["efa"] = (f"Pearson correlations estimated by EM (the FIML saturated model) from all {self.efa.n} "
                          "calibration rows with at least one answered item (continuous); KMO, Bartlett, parallel "
                          "analysis, MAP and the EFA use this matrix")
        else:
            out["efa"] = "Pearson correlations (continuous)" + (" — fallback, see the notes" if ordinal else "")
        est = self.cfa.estimator
        n_cfa = max((int(sum(f.nobs.values())) for f in self.cfa.fits.values() if f.estimator == "WLSMV"), default=0)
        if est == "WLSMV":
            out["cfa"] = ("WLSMV (ordinal; polychoric correlations, diagonally weighted least squares, mean- and "
                          "variance-adjusted χ²); the verdicts use the scaled CFI/TLI/RMSEA and SRMR; "
                          + _missing_words(pairwise, n_cfa))
        elif est in ("ML", "MLR"):
            n = int(sum(self.cfa.main.nobs.values())) if self.cfa.main is not None else len(self.data.validation)
            miss = (f"FIML: all {n} rows of the validation sample with at least one answered item"
                    if self.cfa.missing == "ml" else f"listwise deletion: n = {n} complete cases")
            words = ("robust maximum likelihood (MLR: Huber–White standard errors, Yuan–Bentler scaled χ², robust "
                     "CFI/TLI/RMSEA)" if est == "MLR" else "maximum likelihood")
            out["cfa"] = f"{words} (continuous; {miss})" + (" — fallback, see the diagnostics" if ordinal else "")
        else:
            out["cfa"] = ("WLSMV (ordinal), maximum likelihood for the models where WLSMV failed (see the notes); "
                          "WLSMV models: " + _missing_words(pairwise, n_cfa))
        inv = self.invariance
        if inv.result is None:
            out["invariance"] = "not assessed"
        elif inv.categorical:
            n_inv = int(sum((inv.result.nobs or {}).values()))
            out["invariance"] = ("WLSMV, categorical (configural → thresholds → loadings → intercepts; Wu & "
                                 "Estabrook, 2016); Δ fit from the scaled CFI/RMSEA and SRMR; "
                                 + _missing_words(pairwise, n_inv) + ", within groups")
        else:
            r = inv.result
            n = int(sum(r.nobs.values()))
            words = ("robust maximum likelihood (MLR; scaled χ², Satorra–Bentler scaled difference tests, robust "
                     "CFI/RMSEA)" if getattr(r, "estimator", "ML") == "MLR" else "maximum likelihood")
            miss = (f"FIML, n = {n} rows" if getattr(r, "missing", "listwise") == "ml"
                    else f"listwise deletion, n = {n} complete cases")
            out["invariance"] = f"{words} (continuous; {miss}; configural → metric → scalar → strict)" + (
                " — fallback, see the notes" if ordinal else "")
        return out

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every step's diagnostics, prefixed with the step (results.json and the report's list)."""
        d = self.data
        out = [Diagnostic(x.category, f"data: {x.message}") for x in d.responses.diagnostics]
        if d.missing_data is not None:
            out += [Diagnostic(x.category, f"missing data: {x.message}") for x in d.missing_data.diagnostics]
        for cid, c in d.companions.items():
            out += [Diagnostic(x.category, f"{cid} data: {x.message}") for x in c.diagnostics]
        out += [Diagnostic(x.category, f"items: {x.message}") for x in self.items.diagnostics]
        out += [Diagnostic(x.category, f"reliability: {x.message}") for x in self.reliability.result.diagnostics]
        out += [Diagnostic(x.category, f"EFA ({k}): {x.message}") for k, x in self.efa.diagnostics]
        out += [Diagnostic(x.category, f"CFA {x.message}") for x in self.cfa.model_diagnostics]
        inv = self.invariance
        inv_diags = (*(inv.result.diagnostics if inv.result is not None else ()), *inv.diagnostics)
        out += [Diagnostic(x.category, f"invariance: {x.message}") for x in inv_diags]
        v = self.validity
        if v.construct_validity is not None:
            out += [Diagnostic(x.category, f"validity: {x.message}") for x in v.construct_validity.diagnostics]
        if v.hypotheses is not None:
            out += [Diagnostic(x.category, f"hypotheses: {x.message}") for x in v.hypotheses.diagnostics]
        out += [Diagnostic(x.category, f"scoring: {x.message}") for x in v.scores.diagnostics]
        if self.irt is not None:
            out += [Diagnostic(x.category, f"IRT: {x.message}") for x in self.irt.diagnostics]
        out += self.runner_diagnostics
        return out


def _missing_words(pairwise: bool, n: int) -> str:
    """How an ordinal step handled missing answers, with its n (report and results.json)."""
    if pairwise:
        return (f"pairwise deletion, n = {n} (every respondent with at least one answer; thresholds from each "
                "item's available answers, polychorics from the rows answering both items; lavaan's "
                "missing = \"pairwise\")")
    return f"listwise deletion, n = {n} (complete cases only)"
