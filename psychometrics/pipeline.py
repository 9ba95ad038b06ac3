"""The whole validation: data quality → items → reliability → EFA → CFA → invariance →
validity → scoring key, written as an HTML report, ``results.json`` and a scoring key.

>>> from psychometrics.pipeline import validate                       # doctest: +SKIP
>>> result = validate("scales/mentorship_supportiveness.yaml", "responses.csv",
...                   group="career_stage", out="report-dir")          # doctest: +SKIP

Design
------
* Every step is a call into the analysis modules; this module only chooses the samples,
  the models and the decision rules, and assembles the report context
  (``docs/report.md``) and ``results.json`` from the step results.
* **Samples.** The analysed rows are split at random (``seed``) into a *calibration* part
  (share ``split``) for the exploratory factor analysis and a *validation* part for the
  confirmatory models, so that the CFA tests a structure that was not tuned on the same
  data (cross-validation; Anderson & Gerbing, 1988; Fokkema & Greiff, 2017). Item analysis,
  reliability, validity and the scoring key use all analysed rows. Measurement invariance
  uses all analysed rows too: it asks a different question (whether the declared model
  holds equally across groups, not which model), and its multi-group models need the
  largest group sizes the data give — with half the sample, small groups lose most power
  to detect non-invariant items.
* **Nothing silent.** Rows excluded (a row policy, or ``exclude_careless``), values set
  missing and careless-responding flags are listed in the data-quality section; every
  diagnostic of every step result is shown beside it; a step that cannot run is reported
  as *not assessed* with the reason, never skipped silently.
* **Deterministic.** Same inputs, options and seed → identical ``results.json`` apart from
  ``provenance.generated_at`` (the only clock-dependent value; timings go to stderr only).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import platform
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics.exceptions import Diagnostic, PsychometricsError, SpecError
from psychometrics.scale import find_companions

__all__ = ["ValidationOptions", "ValidationResult", "validate", "load_config", "demo", "find_companions"]

# ----------------------------------------------------------------- references
REFERENCES = {
    "Reise (2012)": "Reise, S. P. (2012). The rediscovery of bifactor measurement models. Multivariate Behavioral "
                    "Research, 47(5), 667–696.",
    "Rhemtulla et al. (2012)": "Rhemtulla, M., Brosseau-Liard, P. É., & Savalei, V. (2012). When can categorical "
                               "variables be treated as continuous? A comparison of robust continuous and categorical "
                               "SEM estimation methods under suboptimal conditions. Psychological Methods, 17(3), "
                               "354–373.",
    "Zumbo et al. (2007)": "Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients "
                           "alpha and theta for Likert rating scales. Journal of Modern Applied Statistical Methods, "
                           "6(1), 21–29.",
    "Green & Yang (2009)": "Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural "
                           "equation modeling: An alternative to coefficient alpha. Psychometrika, 74(1), 155–167.",
    "Muthén et al. (1997)": "Muthén, B. O., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted "
                            "least squares and quadratic estimating equations in latent variable modeling with "
                            "categorical and continuous outcomes. Unpublished manuscript.",
    "Savalei (2021)": "Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical "
                      "data. Multivariate Behavioral Research, 56(3), 390–407.",
    "Wu & Estabrook (2016)": "Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models "
                             "of different levels of invariance for ordered categorical outcomes. Psychometrika, "
                             "81(4), 1014–1045.",
    "Nunnally (1978)": "Nunnally, J. C. (1978). Psychometric theory (2nd ed.). McGraw-Hill.",
    "Nunnally & Bernstein (1994)": "Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric theory (3rd ed.). "
                                   "McGraw-Hill.",
    "Kaiser (1974)": "Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1), 31–36.",
    "Bartlett (1950)": "Bartlett, M. S. (1950). Tests of significance in factor analysis. British Journal of "
                       "Statistical Psychology, 3(2), 77–85.",
    "Horn (1965)": "Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis. "
                   "Psychometrika, 30(2), 179–185.",
    "Velicer (1976)": "Velicer, W. F. (1976). Determining the number of components from the matrix of partial "
                      "correlations. Psychometrika, 41(3), 321–327.",
    "Howard (2016)": "Howard, M. C. (2016). A review of exploratory factor analysis decisions and overview of "
                     "current practices: What we are doing and how can we improve? International Journal of "
                     "Human-Computer Interaction, 32(1), 51–62.",
    "Hu & Bentler (1999)": "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance "
                           "structure analysis: Conventional criteria versus new alternatives. Structural Equation "
                           "Modeling, 6(1), 1–55.",
    "Chen (2007)": "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
                   "Structural Equation Modeling, 14(3), 464–504.",
    "Fornell & Larcker (1981)": "Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with "
                                "unobservable variables and measurement error. Journal of Marketing Research, 18(1), "
                                "39–50.",
    "Henseler et al. (2015)": "Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing "
                              "discriminant validity in variance-based structural equation modeling. Journal of the "
                              "Academy of Marketing Science, 43(1), 115–135.",
    "Cheung & Rensvold (2002)": "Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for "
                                "testing measurement invariance. Structural Equation Modeling, 9(2), 233–255.",
    "Rutkowski & Svetina (2014)": "Rutkowski, L., & Svetina, D. (2014). Assessing the hypothesis of measurement "
                                  "invariance in the context of large-scale international surveys. Educational and "
                                  "Psychological Measurement, 74(1), 31–57.",
    "Nye & Drasgow (2011)": "Nye, C. D., & Drasgow, F. (2011). Effect size indices for analyses of measurement "
                            "equivalence: Understanding the practical importance of differences between groups. "
                            "Journal of Applied Psychology, 96(5), 966–980.",
    "Sörbom (1989)": "Sörbom, D. (1989). Model modification. Psychometrika, 54(3), 371–384.",
    "Campbell & Fiske (1959)": "Campbell, D. T., & Fiske, D. W. (1959). Convergent and discriminant validation by "
                               "the multitrait-multimethod matrix. Psychological Bulletin, 56(2), 81–105.",
    "McDonald (1999)": "McDonald, R. P. (1999). Test theory: A unified treatment. Lawrence Erlbaum.",
    "Cronbach (1951)": "Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. "
                       "Psychometrika, 16(3), 297–334.",
    "Meade & Craig (2012)": "Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data. "
                            "Psychological Methods, 17(3), 437–455.",
    "Anderson & Gerbing (1988)": "Anderson, J. C., & Gerbing, D. W. (1988). Structural equation modeling in "
                                 "practice: A review and recommended two-step approach. Psychological Bulletin, "
                                 "103(3), 411–423.",
}

_STD_VERSION = 1  # version of the results.json layout


# ================================================================== options
@dataclass(frozen=True)
class ValidationOptions:
    """Every option of :func:`validate` (also the keys of a YAML config file).

    Attributes
    ----------
    group : str or None
        Column with group labels; measurement invariance is tested across its groups.
    measures : tuple of str
        Companion measure spec files (their items must be columns of the data); by
        default, YAML specs beside the scale whose id a validity hypothesis names.
    split : float
        Share of the analysed rows in the calibration (EFA) sample; the rest is the
        validation (CFA) sample. Default .5.
    seed : int
        Seed of the split, the bootstrap and the parallel analysis. Default 0.
    id_column : str or None
    out_of_range, missing_group : str
        Row and value policies of :func:`psychometrics.data.load_responses`.
    exclude_careless : bool
        Exclude rows flagged by any careless-responding screen (default False: flag only).
    n_boot : int
        Bootstrap resamples of the (subscale) ω intervals (default 200; 0 = none).
    parallel_iter : int
        Random data sets of the parallel analysis (default 200).
    efa_method, rotation : str
        Extraction method and rotation of the EFA (minres, oblimin).
    conf_level : float
        Confidence level (.95).
    invariance_sample : {"full", "validation"}
        Rows for the invariance models (default all analysed rows; see the module notes).
    invariance_rule : str
        Decision rule of the invariance levels (default ``auto``).
    ordinal : {"auto", "yes", "no"}
        Treat the items as ordinal: polychoric EFA, ordinal α and categorical ω beside
        the usual coefficients, WLSMV CFA and categorical invariance. ``auto`` (default)
        does so when every item has a Likert format with at most 7 categories
        (Rhemtulla, Brosseau-Liard & Savalei, 2012); ``no`` uses the continuous (ML,
        Pearson) methods throughout. An ordinal step that fails falls back to the
        continuous method with a diagnostic saying so.
    """

    group: str | None = None
    measures: tuple[str, ...] = ()
    split: float = 0.5
    seed: int = 0
    id_column: str | None = None
    out_of_range: str = "error"
    missing_group: str = "error"
    exclude_careless: bool = False
    n_boot: int = 200
    parallel_iter: int = 200
    efa_method: str = "minres"
    rotation: str = "oblimin"
    conf_level: float = 0.95
    invariance_sample: str = "full"
    invariance_rule: str = "auto"
    ordinal: str = "auto"

    def __post_init__(self) -> None:
        problems = _option_problems(dataclasses.asdict(self))
        if problems:
            raise SpecError("Invalid options: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["measures"] = list(self.measures)
        return d


_CHOICES = {
    "out_of_range": ("error", "missing"),
    "missing_group": ("error", "exclude"),
    "efa_method": ("minres", "ml", "pa"),
    "rotation": ("oblimin", "promax", "geomin", "varimax", "quartimax"),
    "invariance_sample": ("full", "validation"),
    "ordinal": ("auto", "yes", "no"),
    "invariance_rule": ("auto", "chen2007", "chen2007_small", "cheung_rensvold2002", "rutkowski_svetina2014", "chisq"),
}


def _option_problems(d: Mapping[str, Any]) -> list[str]:
    out = []

    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    def is_num(v: Any) -> bool:
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)

    for key, choices in _CHOICES.items():
        if key in d and d[key] not in choices:
            out.append(f"{key}: must be one of {', '.join(choices)}, got {d[key]!r}")
    if "split" in d and not (is_num(d["split"]) and 0 < float(d["split"]) < 1):
        out.append(f"split: must be a number strictly between 0 and 1, got {d['split']!r}")
    if "seed" in d and not (is_int(d["seed"]) and d["seed"] >= 0):
        out.append(f"seed: must be a non-negative integer, got {d['seed']!r}")
    if "n_boot" in d and not (is_int(d["n_boot"]) and (d["n_boot"] == 0 or d["n_boot"] >= 20)):
        out.append(f"n_boot: must be 0 or an integer ≥ 20, got {d['n_boot']!r}")
    if "parallel_iter" in d and not (is_int(d["parallel_iter"]) and d["parallel_iter"] >= 2):
        out.append(f"parallel_iter: must be an integer ≥ 2, got {d['parallel_iter']!r}")
    if "conf_level" in d and not (is_num(d["conf_level"]) and 0.5 <= float(d["conf_level"]) < 1):
        out.append(f"conf_level: must be a number in [0.5, 1), got {d['conf_level']!r}")
    if "exclude_careless" in d and not isinstance(d["exclude_careless"], bool):
        out.append(f"exclude_careless: must be true or false, got {d['exclude_careless']!r}")
    for key in ("group", "id_column"):
        if key in d and d[key] is not None and not isinstance(d[key], str):
            out.append(f"{key}: must be a column name (text), got {d[key]!r}")
    if "measures" in d:
        m = d["measures"]
        if isinstance(m, str) or not isinstance(m, (list, tuple)) or not all(isinstance(x, str) for x in m):
            out.append(f"measures: must be a list of file paths, got {m!r}")
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file of :func:`validate` options (``yaml.safe_load``).

    Keys are the fields of :class:`ValidationOptions`; relative ``measures`` paths are
    resolved against the config file's folder. Raises :class:`SpecError` naming the file
    and the field for an unknown key or a bad value.
    """
    import difflib

    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"Cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise SpecError(f"Invalid config file {path}: not valid YAML{where}: "
                        f"{getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"Invalid config file {path}: expected a mapping of option: value, got "
                        f"{type(data).__name__}")
    allowed = [f.name for f in dataclasses.fields(ValidationOptions)]
    problems = []
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{key}: unknown option{hint} (allowed: {', '.join(allowed)})")
    problems += _option_problems({k: v for k, v in data.items() if k in allowed})
    if problems:
        raise SpecError(f"Invalid config file {path}: {len(problems)} problem{'s' * (len(problems) > 1)}\n  "
                        + "\n  ".join(problems))
    out = dict(data)
    if "measures" in out:
        out["measures"] = [str((path.parent / m).resolve()) if not Path(m).is_absolute() else m
                           for m in out["measures"]]
    return out


# ================================================================== result
@dataclass(frozen=True, eq=False)
class ValidationResult(ResultMixin):
    """Everything :func:`validate` found.

    Attributes
    ----------
    scale : Scale
    responses : Responses
        The loaded responses (all rows used; see ``analysed``).
    companions : dict
        Companion measure id → its :class:`~psychometrics.data.Responses`.
    analysed : pandas.Index
        Row labels analysed (``responses.items.index`` minus excluded careless rows).
    calibration, validation : pandas.Index
        Row labels of the EFA and CFA samples.
    items : ItemAnalysisResult
    reliability : ScaleReliabilityResult
    kmo, bartlett, parallel, map, efa
        EFA-step results (``parallel``/``map`` None when retention could not run).
    cfa : dict
        Model name → :class:`~psychometrics.cfa.CFAResult` (models that could be fitted).
    cfa_comparison : DataFrame
        Fit of the competing models.
    invariance : object or None
        The result of :func:`psychometrics.invariance.measurement_invariance`.
    construct_validity : ConstructValidity or None
    hypotheses : HypothesisEvaluation or None
    scores : ScoreResult
    scoring_key : ScoringKey
    verdicts : tuple of Verdict
        The executive summary.
    results : dict
        The ``results.json`` content.
    html : str
        The report.
    timings : dict
        Seconds per step (not in ``results.json``, which is deterministic).
    diagnostics : tuple of Diagnostic
        Every step's diagnostics, prefixed with the step.
    """

    scale: Any
    responses: Any
    companions: dict[str, Any]
    analysed: pd.Index
    calibration: pd.Index
    validation: pd.Index
    items: Any
    reliability: Any
    kmo: Any
    bartlett: Any
    parallel: Any
    map: Any
    efa: Any
    cfa: dict[str, Any]
    cfa_comparison: pd.DataFrame
    invariance: Any
    construct_validity: Any
    hypotheses: Any
    scores: Any
    scoring_key: Any
    verdicts: tuple[Any, ...]
    results: dict[str, Any] = field(repr=False)
    html: str = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    out: Path | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    _title = "Validation"

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` content."""
        return self.results

    def to_frame(self) -> pd.DataFrame:
        """The executive summary: one row per criterion."""
        return _verdict_frame(self.verdicts)

    def _scalars(self) -> dict[str, Any]:
        return {"respondents analysed": len(self.analysed), "calibration n": len(self.calibration),
                "validation n": len(self.validation)}

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.to_frame(), "CFA models": self.cfa_comparison}


def _verdict_frame(verdicts: Sequence[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"criterion": v.criterion, "status": v.status, "value": v.value if not isinstance(v.value, float)
          else round(v.value, 3), "rule": v.rule, "reference": v.reference} for v in verdicts],
    )


# =================================================================== steps
class _Runner:
    """Runs steps with timing on stderr (rich) and collects warnings as diagnostics."""

    def __init__(self, quiet: bool, total: int):
        self.quiet = quiet
        self.total = total
        self.k = 0
        self.timings: dict[str, float] = {}
        self.diagnostics: list[Diagnostic] = []
        self.console = None
        if not quiet:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    def run(self, name: str, fn, *args, **kwargs):
        from psychometrics.exceptions import PsychometricsWarning

        self.k += 1
        t0 = time.perf_counter()
        if self.console is not None:
            self.console.print(f"[dim][{self.k}/{self.total}][/] {name} …", end="")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = fn(*args, **kwargs)
            except BaseException:
                if self.console is not None:
                    self.console.print(" [red]failed[/]")
                raise
        dt = time.perf_counter() - t0
        self.timings[name] = dt
        seen = set()
        for w in caught:
            if issubclass(w.category, PsychometricsWarning):
                continue  # recorded on the results as Diagnostic objects
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in seen:
                seen.add(msg)
                self.diagnostics.append(Diagnostic(w.category.__name__, f"{name}: {w.message}"))
        if self.console is not None:
            self.console.print(f" [green]done[/] [dim]{dt:.2f} s[/]")
        return out

    def note(self, text: str) -> None:
        if self.console is not None:
            self.console.print(f"      [yellow]{text}[/]")


_ORDINAL_MAX_CATEGORIES = 7


def _resolve_ordinal(scale: Any, opts: ValidationOptions) -> tuple[bool, str]:
    """Whether the ordinal methods are used, and why (one sentence for the report)."""
    rf = scale.response_format
    cats = list(getattr(rf, "categories", ()) or ())
    if opts.ordinal == "no":
        return False, "continuous methods throughout (option ordinal: no)"
    if not cats:
        why = "the response format is continuous, so continuous methods are used"
        return False, why + (" (option ordinal: yes ignored)" if opts.ordinal == "yes" else "")
    if opts.ordinal == "yes":
        return True, f"ordinal methods (option ordinal: yes; {len(cats)} response categories)"
    if len(cats) <= _ORDINAL_MAX_CATEGORIES:
        return True, (f"ordinal methods, because every item has {len(cats)} ≤ {_ORDINAL_MAX_CATEGORIES} response "
                      "categories (option ordinal: auto; Rhemtulla et al., 2012)")
    return False, (f"continuous methods, because the items have {len(cats)} > {_ORDINAL_MAX_CATEGORIES} response "
                   "categories (option ordinal: auto)")


def _split(index: pd.Index, share: float, seed: int) -> tuple[pd.Index, pd.Index]:
    """Random calibration/validation split (rows kept in data order within each part)."""
    rng = np.random.default_rng([seed, 0x5B117])  # own stream: independent of the other seeded steps
    n = len(index)
    k = int(round(share * n))
    pick = np.zeros(n, dtype=bool)
    pick[rng.permutation(n)[:k]] = True
    return index[pick], index[~pick]


def _subset_responses(resp: Any, rows: pd.Index) -> Any:
    """The same Responses restricted to ``rows`` (items, raw, group, ids, careless)."""
    if len(rows) == len(resp.items) and rows.equals(resp.items.index):
        return resp
    return dataclasses.replace(
        resp, items=resp.items.loc[rows], raw=resp.raw.loc[rows],
        group=None if resp.group is None else resp.group.loc[rows],
        ids=None if resp.ids is None else resp.ids.loc[rows],
        extra=resp.extra.loc[rows] if len(resp.extra) == len(resp.items) else resp.extra,
        careless=resp.careless.loc[rows],
    )


def _diag_list(obj: Any) -> list[Diagnostic]:
    return list(getattr(obj, "diagnostics", ()) or ())


def _fmt(x: Any, digits: int = 2, lead: bool = False) -> str:
    """APA-ish number for verdict text: no leading zero for |x| < 1 unless ``lead``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    s = f"{abs(x):.{digits}f}"
    if not lead and abs(x) < 1:
        s = s.lstrip("0")
    return ("−" if x < 0 and float(s.replace('−', '') or 0) != 0 else "") + s


# ================================================================ validate
def validate(
    scale: Any,
    data: Any,
    group: str | None = None,
    measures: Sequence[str | Path] = (),
    split: float = 0.5,
    seed: int = 0,
    config: str | Path | Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    quiet: bool = False,
    *,
    id_column: str | None = None,
    options: Mapping[str, Any] | None = None,
    command: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    extra_provenance: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Validate a scale on response data: the whole pipeline and its report.

    Parameters
    ----------
    scale : Scale or path
        The scale spec (YAML path or :class:`~psychometrics.scale.Scale`).
    data : path or DataFrame
        Responses (any format :func:`~psychometrics.data.load_responses` reads); companion
        measures' items are read from the same data.
    group : str, optional
        Grouping column for measurement invariance.
    measures : sequence of paths
        Companion measure specs; default: specs beside the scale named by its hypotheses.
    split : float
        Calibration share (EFA); the rest is the validation sample (CFA).
    seed : int
        Seed of everything random.
    config : path or mapping, optional
        Options from a YAML file (:func:`load_config`) or a mapping; explicit arguments
        that differ from their defaults, and ``options``, override it.
    out : path, optional
        Folder to write ``report.html``, ``results.json`` and ``scoring_key.json`` to.
    quiet : bool
        No progress on stderr.
    id_column : str, optional
    options : mapping, optional
        Further :class:`ValidationOptions` fields (e.g. ``{"n_boot": 0}``); they override
        the config.
    command, title, subtitle, extra_provenance
        Recorded in the report (the CLI passes the command line).

    Returns
    -------
    ValidationResult

    Raises
    ------
    SpecError, DataError
        Bad spec, config or data (from the loading step); later steps never raise for
        estimation problems — they are reported as diagnostics or *not assessed*.
    """
    from psychometrics.scale import Scale

    # ---- options: defaults < config < explicit arguments < options
    merged: dict[str, Any] = {}
    if config is not None:
        merged.update(load_config(config) if not isinstance(config, Mapping) else dict(config))
        unknown = set(merged) - {f.name for f in dataclasses.fields(ValidationOptions)}
        if unknown:
            raise SpecError(f"Invalid options: unknown option(s) {', '.join(sorted(unknown))}")
    explicit = {"group": group, "measures": tuple(map(str, measures)), "split": split, "seed": seed,
                "id_column": id_column}
    defaults = ValidationOptions()
    for k, v in explicit.items():
        if v != getattr(defaults, k) or k not in merged:
            merged[k] = v
    merged.update(options or {})
    if "measures" in merged:
        merged["measures"] = tuple(map(str, merged["measures"]))
    problems = _option_problems(merged)
    unknown = set(merged) - {f.name for f in dataclasses.fields(ValidationOptions)}
    if unknown:
        problems.append(f"unknown option(s): {', '.join(sorted(unknown))}")
    if problems:
        raise SpecError("Invalid options: " + "; ".join(problems))
    opts = ValidationOptions(**merged)

    if not isinstance(scale, Scale):
        scale = Scale.from_yaml(scale)
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise SpecError(f"--out {out}: exists and is not a folder; give a folder for the report files")

    ordinal, ordinal_why = _resolve_ordinal(scale, opts)
    run = _Runner(quiet, total=9)
    # "estimation": the method each step actually used (after any fallback), shown in the report
    st: dict[str, Any] = {"ordinal": ordinal, "ordinal_why": ordinal_why, "estimation": {}}

    # ---- 1. data quality
    def load():
        from psychometrics.data import load_responses

        resp = load_responses(data, scale, group=opts.group, id_column=opts.id_column,
                              out_of_range=opts.out_of_range, missing_group=opts.missing_group)
        found, not_found = find_companions(scale, opts.measures)
        scale.check_companions(found) if not not_found else None
        comps = {}
        absent = []
        for cid, comp in found.items():
            if any(i in resp.frame.columns for i in comp.item_ids):
                comps[cid] = resp.load_companion(comp)
            else:
                absent.append(cid)
        return resp, comps, not_found, absent

    resp, comps, not_found, absent = run.run("data quality", load)
    analysed = resp.items.index
    careless_excluded = pd.Index([])
    if opts.exclude_careless:
        careless_excluded = resp.careless.index[resp.careless["flagged"].to_numpy()]
        analysed = analysed.difference(careless_excluded, sort=False)
    work = _subset_responses(resp, analysed)
    comps_w = {k: _subset_responses(v, analysed) for k, v in comps.items()}
    calibration, validation = _split(analysed, opts.split, opts.seed)
    items = work.items
    for name, rows in (("calibration", calibration), ("validation", validation)):
        if len(rows) <= items.shape[1]:
            raise PsychometricsError(
                f"the {name} sample has {len(rows)} rows, not more than the {items.shape[1]} items; "
                f"the data have too few usable rows ({len(analysed)}) for split={opts.split:g} — collect more "
                "data or change --split")
    rng = np.random.default_rng(opts.seed)

    # ---- 2. items
    from psychometrics.items import item_analysis

    st["items"] = run.run("item analysis", item_analysis, items, scale)

    # ---- 3. reliability
    from psychometrics.reliability import scale_reliability

    def reliability():
        rel = scale_reliability(work, scale, n_boot=opts.n_boot, ci=opts.conf_level, seed=rng, progress=False)
        return rel, (_ordinal_reliability_step(items, scale) if ordinal else {})

    st["reliability"], ord_rel = run.run("reliability", reliability)
    st.update(ord_rel)

    # ---- 4. EFA
    efa_out = run.run("exploratory factor analysis", _efa_step, items.loc[calibration], scale, opts, rng, run,
                      ordinal)
    st.update(efa_out)

    # ---- 5. CFA
    cfa_out = run.run("confirmatory factor analysis", _cfa_step, items.loc[validation], scale, run, ordinal)
    st.update(cfa_out)

    # ---- 6. invariance
    inv_rows = analysed if opts.invariance_sample == "full" else validation
    st.update(run.run("measurement invariance", _invariance_step, work, inv_rows, scale, opts, ordinal))

    # ---- 7. validity
    st.update(run.run("validity", _validity_step, work, comps_w, scale, st, validation, opts))

    # ---- 8. scoring key
    st.update(run.run("scoring key", _scoring_step, work, scale, st, opts))

    # ---- 9. report
    provenance = _provenance(scale, resp, opts, command, extra_provenance)
    ctx_bits = dict(resp=resp, work=work, comps=comps, not_found=not_found, absent=absent, opts=opts,
                    analysed=analysed, calibration=calibration, validation=validation,
                    careless_excluded=careless_excluded, provenance=provenance, run=run)

    def assemble():
        verdicts = _verdicts(scale, st, ctx_bits)
        results = _results_json(scale, st, ctx_bits, verdicts)
        ctx = _context(scale, st, ctx_bits, verdicts, title, subtitle)
        from psychometrics.report import render_report

        html = render_report(ctx)
        return verdicts, results, html

    verdicts, results, html = run.run("report", assemble)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.html").write_text(html, encoding="utf-8")
        (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                          encoding="utf-8")
        st["scoring_key"].to_file(out / "scoring_key.json")
        if run.console is not None:
            run.console.print(f"[bold green]Wrote[/] {out / 'report.html'}, results.json, scoring_key.json "
                              f"[dim](total {sum(run.timings.values()):.1f} s)[/]")
    diags = list(run.diagnostics)
    return ValidationResult(
        scale=scale, responses=resp, companions=comps, analysed=analysed, calibration=calibration,
        validation=validation, items=st["items"], reliability=st["reliability"], kmo=st.get("kmo"),
        bartlett=st.get("bartlett"), parallel=st.get("parallel"), map=st.get("map"), efa=st.get("efa"),
        cfa=st["cfa"], cfa_comparison=st["cfa_table"], invariance=st.get("invariance"),
        construct_validity=st.get("construct_validity"), hypotheses=st.get("hypotheses"), scores=st["scores"],
        scoring_key=st["scoring_key"], verdicts=tuple(verdicts), results=results, html=html,
        timings=dict(run.timings), out=out, diagnostics=tuple(diags),
    )


# ------------------------------------------------------------------- EFA step
def _ordinal_reliability_step(items: pd.DataFrame, scale: Any) -> dict[str, Any]:
    """Ordinal α (polychoric matrix) and categorical ω (WLSMV CFA) of every score.

    ``items`` are the scored responses (reverse-keyed items already reversed), so the
    coefficients refer to the scored sum. Failures are notes, never errors.
    """
    from psychometrics.ordinal import categorical_omega_from_cfa, ordinal_alpha, polychoric

    out: dict[str, Any] = {"ordinal_reliability": None, "ordinal_reliability_notes": []}
    rows = {}
    try:
        poly = polychoric(items)
    except Exception as exc:  # noqa: BLE001 - reported; the continuous coefficients stand alone
        out["ordinal_reliability_notes"].append(f"Ordinal α could not be computed (polychoric correlations: "
                                                f"{_why(exc)}); only the continuous coefficients are reported.")
        return out
    for s in scale.subscales:
        ids = list(scale.items_of(s.id))
        rows[s.id] = {"n": poly.n, "ordinal_alpha": ordinal_alpha(poly, ids) if len(ids) > 1 else math.nan}
    rows["total"] = {"n": poly.n, "ordinal_alpha": ordinal_alpha(poly, list(items.columns))}
    tab = pd.DataFrame(rows).T
    tab["categorical_omega"] = math.nan
    try:
        from psychometrics.cfa import fit_cfa, models

        fit = fit_cfa(models.correlated_factors(scale), items, estimator="WLSMV")
        if not fit.converged:
            raise PsychometricsError("the WLSMV CFA did not converge")
        om = categorical_omega_from_cfa(fit)
        for sid, v in om.items():
            if sid in tab.index:
                tab.loc[sid, "categorical_omega"] = float(v)
    except Exception as exc:  # noqa: BLE001 - reported; ordinal α still stands
        out["ordinal_reliability_notes"].append(f"Categorical ω could not be computed ({_why(exc)}).")
    out["ordinal_reliability"] = tab
    out["polychoric_all"] = poly
    return out


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, PsychometricsError) else f"{type(exc).__name__}: {exc}"


def _efa_step(items: pd.DataFrame, scale: Any, opts: ValidationOptions, rng, run: _Runner,
              ordinal: bool = False) -> dict[str, Any]:
    from psychometrics.efa import bartlett, efa, kmo

    out: dict[str, Any] = {"efa_notes": []}
    poly = None
    if ordinal:
        from psychometrics.ordinal import polychoric

        try:
            poly = polychoric(items)
        except Exception as exc:  # noqa: BLE001 - fall back to Pearson correlations, said in the report
            out["efa_notes"].append(f"The polychoric correlations could not be estimated ({_why(exc)}); the EFA "
                                    "falls back to Pearson correlations.")
    # the correlation matrix every EFA step works on (polychoric for ordinal items)
    cx = ({"corr": poly.matrix, "n_obs": poly.n} if poly is not None else {})
    out["efa_corr"] = "polychoric" if poly is not None else "pearson"
    out["efa_n"] = poly.n if poly is not None else len(items)
    out["kmo"] = kmo(corr=poly.matrix) if cx else kmo(items)
    out["bartlett"] = bartlett(**cx) if cx else bartlett(items)
    declared = len(scale.subscales)
    try:
        from psychometrics.efa import map_test, parallel_analysis
    except ImportError:  # retention not available in this build
        parallel_analysis = map_test = None
    pa = mp = None
    if parallel_analysis is not None:
        try:
            if cx:
                pa = parallel_analysis(corr=poly.matrix, n_obs=poly.n, n_iter=opts.parallel_iter, kind="both",
                                       seed=rng, show_progress=False)
                mp = map_test(corr=poly.matrix)
            else:
                pa = parallel_analysis(items, n_iter=opts.parallel_iter, kind="both", seed=rng, show_progress=False)
                mp = map_test(items)
        except PsychometricsError as exc:  # reported; the declared number is used instead
            pa = mp = None
            out["efa_notes"].append(f"Factor retention could not be computed ({exc}); the declared number of "
                                    f"subscales ({declared}) is extracted.")
    if pa is not None:
        k = pa.n_factors or 0
        if k < 1:
            out["efa_notes"].append("Parallel analysis retained no factor; one factor is extracted.")
            k = 1
    elif parallel_analysis is None:
        k = declared
        out["efa_notes"].append("Factor retention (parallel analysis, MAP) is not available in this version of "
                                f"psychometrics; the declared number of subscales ({declared}) is extracted.")
    else:
        k = declared
    p = items.shape[1]
    kmax = max(1, int(math.floor((2 * p + 1 - math.sqrt(8 * p + 1)) / 2)))  # Ledermann bound, df ≥ 0
    if k > kmax:
        out["efa_notes"].append(f"{k} factors exceed the {kmax} that {p} items identify; {kmax} are extracted.")
        k = kmax
    out["parallel"], out["map"] = pa, mp
    out["n_extracted"] = k
    try:
        if cx:
            out["efa"] = efa(None, k, method=opts.efa_method, rotation=opts.rotation if k > 1 else None,
                             scale=scale, **cx)
        else:
            out["efa"] = efa(items, k, method=opts.efa_method, rotation=opts.rotation if k > 1 else None,
                             scale=scale)
    except PsychometricsError as exc:
        if k == 1:
            raise
        # a k-factor solution that cannot be estimated must not stop the validation: say so, show one factor
        out["efa_notes"].append(f"The {k}-factor EFA could not be estimated ({exc}); one factor is shown instead.")
        out["n_extracted"] = 1
        out["efa"] = efa(None if cx else items, 1, method=opts.efa_method, rotation=None, scale=scale, **cx)
    return out


# ------------------------------------------------------------------- CFA step
_MODEL_LABELS = {
    "correlated": "Correlated factors (declared)",
    "higher_order": "Higher-order (declared hierarchy)",
    "one_factor": "One factor",
    "bifactor": "Bifactor",
}


def _mod_indices(fit: Any) -> pd.DataFrame | None:
    """Modification indices, or None when the fit cannot give them (e.g. a singular WLSMV information)."""
    try:
        return fit.modification_indices
    except PsychometricsError:
        return None


def _fit_indices(res: Any) -> dict[str, float]:
    """The fit indices the table and the verdicts use: ML as is; WLSMV the scaled ones.

    For WLSMV, χ², p, CFI, TLI and RMSEA (with its CI) are lavaan's ``*_scaled``
    (mean- and variance-adjusted; Muthén et al., 1997) — what Mplus and most applied
    papers report, and what the Hu & Bentler cut-offs are usually applied to; the robust
    CFI/RMSEA (Savalei, 2021; lavaan's ``*_robust``) are shown beside them.
    """
    f = res.fit
    if getattr(res, "estimator", "ML") != "WLSMV":
        return {k: f[k] for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
                                  "rmsea_ci_upper", "srmr", "aic", "bic")}
    return {"chisq": f["chisq_scaled"], "df": f["df"], "pvalue": f["pvalue_scaled"], "cfi": f["cfi_scaled"],
            "tli": f["tli_scaled"], "rmsea": f["rmsea_scaled"], "rmsea_ci_lower": f["rmsea_ci_lower_scaled"],
            "rmsea_ci_upper": f["rmsea_ci_upper_scaled"], "srmr": f["srmr"], "aic": math.nan, "bic": math.nan,
            "cfi_robust": f.get("cfi_robust", math.nan), "rmsea_robust": f.get("rmsea_robust", math.nan)}


def _cfa_step(items: pd.DataFrame, scale: Any, run: _Runner, ordinal: bool = False) -> dict[str, Any]:
    from psychometrics.cfa import fit_cfa, models

    specs: list[tuple[str, str, dict]] = [("correlated", models.correlated_factors(scale), {})]
    if scale.hierarchy is not None:
        specs.append(("higher_order", models.higher_order(scale), {}))
    specs.append(("one_factor", models.one_factor(scale), {}))
    if len(scale.subscales) >= 2:
        specs.append(("bifactor", models.bifactor(scale), {"std_lv": True}))
    fits: dict[str, Any] = {}
    failed: dict[str, str] = {}
    syntax: dict[str, str] = {}
    notes: list[str] = []
    for name, syn, kw in specs:
        syntax[name] = syn
        if ordinal:
            try:
                fit = fit_cfa(syn, items, estimator="WLSMV", **kw)
                if not fit.converged:
                    raise PsychometricsError("the WLSMV estimation did not converge")
                fits[name] = fit
                continue
            except Exception as exc:  # noqa: BLE001 - fall back to ML for this model, said in the report
                notes.append(f"{_MODEL_LABELS[name]}: WLSMV failed ({_why(exc)}); fitted by maximum likelihood "
                             "instead.")
        try:
            fits[name] = fit_cfa(syn, items, **kw)
        except Exception as exc:  # noqa: BLE001 - one model failing must not stop the validation; reported
            failed[name] = _why(exc)
    rows = []
    for name, syn, _ in specs:
        if name in fits:
            f = _fit_indices(fits[name])
            row = {"Model": _MODEL_LABELS[name], "Estimator": getattr(fits[name], "estimator", "ML"),
                   "χ²": f["chisq"], "df": int(f["df"]), "p": f["pvalue"],
                   "CFI": f["cfi"], "TLI": f["tli"], "RMSEA": f["rmsea"],
                   "90% CI": (f["rmsea_ci_lower"], f["rmsea_ci_upper"]), "SRMR": f["srmr"]}
            if ordinal:
                row.update({"CFI robust": f.get("cfi_robust", math.nan),
                            "RMSEA robust": f.get("rmsea_robust", math.nan)})
            row.update({"AIC": f["aic"], "BIC": f["bic"], "converged": fits[name].converged,
                        "n": int(sum(fits[name].nobs.values()))})
            rows.append(row)
        else:
            rows.append({"Model": _MODEL_LABELS[name], "converged": False})
    table = pd.DataFrame(rows).set_index("Model")
    lrt = None
    if "correlated" in fits and "one_factor" in fits:
        a, b = fits["correlated"], fits["one_factor"]
        try:
            if getattr(a, "estimator", "ML") == "WLSMV" and getattr(b, "estimator", "ML") == "WLSMV":
                from psychometrics.cfa.categorical import scaled_difference_test

                d = scaled_difference_test(a, b)
                lrt = pd.DataFrame([{}, {"delta_chisq": d["chisq_diff"], "delta_df": d["df_diff"],
                                         "delta_pvalue": d["pvalue"],
                                         "delta_cfi": _fit_indices(b)["cfi"] - _fit_indices(a)["cfi"]}],
                                   index=["correlated", "one_factor"])
            elif getattr(a, "estimator", "ML") == getattr(b, "estimator", "ML"):
                from psychometrics.cfa import compare

                lrt = compare(a, b, names=["correlated", "one_factor"]).table
        except (PsychometricsError, KeyError):
            lrt = None
    methods = {getattr(f, "estimator", "ML") for f in fits.values()}
    bifactor_omega = None
    if "bifactor" in fits and getattr(fits["bifactor"], "estimator", "ML") == "ML":
        # ω_t / ω_h of the observed sum score need the ML (covariance) metric; a WLSMV fit's
        # correlations are of the latent responses, so it is left out there.
        from psychometrics.reliability import omega_bifactor

        try:
            bifactor_omega = omega_bifactor(fits["bifactor"])
        except PsychometricsError as exc:
            notes.append(f"ω from the bifactor model could not be computed ({_why(exc)}).")
    return {"cfa": fits, "cfa_failed": failed, "cfa_syntax": syntax, "cfa_table": table, "cfa_lrt": lrt,
            "bifactor_omega": bifactor_omega, "cfa_notes": notes, "cfa_estimator": "WLSMV" if methods == {"WLSMV"} else (
                "ML" if methods <= {"ML"} else "WLSMV (ML for some models)")}


# ------------------------------------------------------------ invariance step
def _invariance_step(work: Any, rows: pd.Index, scale: Any, opts: ValidationOptions,
                     ordinal: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"invariance": None, "invariance_note": None, "invariance_rows": rows,
                           "invariance_fallback": None}
    if opts.group is None:
        out["invariance_note"] = "No grouping variable was given (--group), so measurement invariance was not assessed."
        return out
    try:
        from psychometrics.invariance import measurement_invariance
    except ImportError:
        out["invariance_note"] = ("Measurement invariance was not assessed: this version of psychometrics has no "
                                  "invariance module (psychometrics.invariance).")
        return out
    from psychometrics.cfa import models

    frame = work.items.loc[rows].copy()
    col = opts.group
    frame[col] = work.group.loc[rows].astype(str)
    inv = None
    if ordinal:
        try:
            # an empty category in one group is merged with its lower neighbour in all groups (said in the
            # result's diagnostics) rather than stopping the analysis
            inv = measurement_invariance(models.correlated_factors(scale), frame, col, rule=opts.invariance_rule,
                                         estimator="WLSMV", empty_categories="collapse")
        except Exception as exc:  # noqa: BLE001 - fall back to the continuous (ML) invariance, said in the report
            out["invariance_fallback"] = (f"The categorical (WLSMV) invariance analysis failed ({_why(exc)}); the "
                                          "continuous (ML) analysis is reported instead.")
    try:
        if inv is None:
            inv = measurement_invariance(models.correlated_factors(scale), frame, col, rule=opts.invariance_rule)
    except Exception as exc:  # noqa: BLE001 - reported as "not assessed" with the reason, never a crash
        why = str(exc) if isinstance(exc, PsychometricsError) else f"{type(exc).__name__}: {exc}"
        out["invariance_note"] = f"Measurement invariance could not be assessed: {why}"
        return out
    out["invariance"] = inv
    out["invariance_score_tests"] = _equality_score_tests(inv)
    return out


def _equality_score_tests(inv: Any) -> pd.DataFrame | None:
    """Univariate score tests of the equality constraints of the scalar model (lavTestScore).

    Even where the fit-change rule accepts a level, these show which constraints the data
    resist most; a test significant after Bonferroni correction over all constraints of the
    model marks a candidate for differential item functioning.
    """
    table = getattr(inv, "table", None)
    top = "intercepts" if _is_categorical(inv) else "scalar"
    if not isinstance(table, pd.DataFrame) or top not in table.index:
        return None
    try:
        st = inv.fits[top].score_tests()
    except Exception:  # noqa: BLE001 - optional detail; absent when the invariance module cannot give it
        return None
    if st is None or st.empty:
        return None
    st = st.sort_values("x2", ascending=False, kind="stable").reset_index(drop=True)
    st["p_bonferroni"] = np.minimum(st["pvalue"] * len(st), 1.0)
    return st


# -------------------------------------------------------------- validity step
def _validity_step(work: Any, comps: dict[str, Any], scale: Any, st: dict[str, Any], validation: pd.Index,
                   opts: ValidationOptions) -> dict[str, Any]:
    from psychometrics.scoring import score
    from psychometrics.validity import construct_validity, evaluate_hypotheses

    out: dict[str, Any] = {"construct_validity": None, "hypotheses": None, "validity_notes": []}
    main = st["cfa"].get("correlated")
    if main is not None and not main.converged:
        out["validity_notes"].append("CR/AVE/HTMT were not computed: the correlated-factors CFA did not converge, so "
                                     "its estimates are not interpretable.")
    elif main is not None:
        try:
            out["construct_validity"] = construct_validity(main, work.items.loc[validation])
        except Exception as exc:  # noqa: BLE001 - WLSMV fits may lack what it needs: fall back to ML, say so
            if getattr(main, "estimator", "ML") == "WLSMV":
                try:
                    from psychometrics.cfa import fit_cfa

                    ml = fit_cfa(st["cfa_syntax"]["correlated"], work.items.loc[validation])
                    out["construct_validity"] = construct_validity(ml, work.items.loc[validation])
                    out["validity_notes"].append(
                        f"CR/AVE/HTMT are computed from the maximum-likelihood fit of the declared model: they "
                        f"could not be computed from the WLSMV fit ({_why(exc)}).")
                except Exception as exc2:  # noqa: BLE001 - reported, never a crash
                    out["validity_notes"].append(f"CR/AVE/HTMT could not be computed: {_why(exc2)}")
            else:
                out["validity_notes"].append(f"CR/AVE/HTMT could not be computed: {_why(exc)}")
    else:
        out["validity_notes"].append("CR/AVE/HTMT were not computed: the correlated-factors CFA could not be fitted.")
    scores = score(scale, work)
    out["scores"] = scores
    comp_scores = {}
    for cid, c in comps.items():
        comp_scores[cid] = score(c.scale, c)
    out["companion_scores"] = comp_scores
    if scale.validity:
        from psychometrics.validity import observed_scores

        usable = [h for h in scale.validity if h.measure in comp_scores]
        if usable:
            frames = {scale.id: scores.scores.loc[:, list(scores.score_names)]}
            for cid, sc in comp_scores.items():
                frames[cid] = sc.scores.loc[:, list(sc.score_names)].reindex(scores.scores.index)
            obs = observed_scores(frames)
            try:
                out["hypotheses"] = evaluate_hypotheses(usable, obs, scale_id=scale.id, conf_level=opts.conf_level)
            except PsychometricsError as exc:
                out["validity_notes"].append(f"Validity hypotheses could not be evaluated: {exc}")
    return out


# --------------------------------------------------------------- scoring step
def _scoring_step(work: Any, scale: Any, st: dict[str, Any], opts: ValidationOptions) -> dict[str, Any]:
    from psychometrics.scoring import ScoringKey

    inv = st.get("invariance")
    inv_dict = None
    if inv is not None:
        inv_dict = {"level": _inv_level(inv), "group_variable": opts.group,
                    "groups": [str(g) for g in (getattr(inv, "groups", None) or sorted(work.group.astype(str).unique()))]}
        partial = _inv_freed(inv)
        notes = [f"rule: {getattr(inv, 'rule', '')}"]
        if partial:
            notes.append("released across groups (partial invariance): " + ", ".join(partial))
        if _inv_items(inv):
            notes.append("non-invariant items: " + ", ".join(_inv_items(inv)))
        inv_dict["notes"] = "; ".join(notes)
    elif opts.group is not None:
        inv_dict = {"level": "not assessed", "group_variable": opts.group,
                    "groups": sorted(map(str, work.group.unique())),
                    "notes": st.get("invariance_note") or ""}
    key = ScoringKey.build(scale, work, reliability=st["reliability"], invariance=inv_dict, norms=True,
                           description=(f"all {len(work.items)} respondents analysed by psychometrics validate "
                                        f"(data {Path(str(work.source)).name})"),
                           coefficient="omega_total")
    return {"scoring_key": key}


def _is_categorical(inv: Any) -> bool:
    """Whether an invariance result is the categorical (WLSMV) one."""
    return type(inv).__name__ == "CategoricalInvarianceResult"


def _inv_items(inv: Any) -> list[str]:
    """Non-invariant items: the continuous result lists them; the categorical one releases them."""
    items = list(getattr(inv, "non_invariant_items", ()) or ())
    if items or not _is_categorical(inv):
        return items
    out: list[str] = []
    for rel in _inv_freed(inv):
        # group.partial names: "f=~x" (loading), "x|t1" (threshold), "x~1" (intercept)
        item = rel.split("=~")[-1] if "=~" in rel else rel.split("|")[0].split("~")[0]
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _inv_level(inv: Any) -> str | None:
    """Highest level reached, e.g. ``"scalar (partial)"``."""
    level = getattr(inv, "level", None)
    if level is None:
        return None
    if _is_categorical(inv):
        return str(level)  # already "<level> (partial)" when constraints were released
    return f"{level} (partial)" if getattr(inv, "partial_level", False) else str(level)


def _inv_freed(inv: Any) -> list[str]:
    """Constraints released for partial invariance (lavaan ``group.partial`` names)."""
    if _is_categorical(inv):
        # the releases of the accepted model of the highest level reached
        t = inv.table
        part = str(t.loc[inv.level, "partial"]) if inv.level in t.index else ""
        return [x.strip() for x in part.split(",") if x.strip()]
    steps = getattr(inv, "partial_steps", None)
    if isinstance(steps, pd.DataFrame) and "released" in steps and len(steps):
        return [str(x) for x in steps["released"]]
    return []


_RULE_REFS = {"chen2007": "Chen (2007)", "chen2007_small": "Chen (2007)",
              "cheung_rensvold2002": "Cheung & Rensvold (2002)",
              "rutkowski_svetina2014": "Rutkowski & Svetina (2014)"}


def _inv_rule(inv: Any) -> tuple[str, str]:
    """(rule in words, short reference) of the deciding invariance rule."""
    name = str(getattr(inv, "rule", "") or "")
    ref = _RULE_REFS.get(name, "Chen (2007)" if not name else "lavaan lavTestLRT")
    try:
        from psychometrics.invariance import RULES

        rule = RULES[name]
        words = "; ".join(f"{lv}: {rule.describe(lv)}" for lv in ("metric", "scalar"))
    except Exception:  # noqa: BLE001 - an older or newer invariance module: describe generically
        words = "ΔCFI ≤ −.010 with ΔRMSEA ≥ .015 or ΔSRMR ≥ .030 (metric) / .010 (scalar) rejects"
    return words, ref


# ================================================================ verdicts
def _status(ok: bool, border: bool = False) -> str:
    return "met" if ok else ("borderline" if border else "not met")


def _verdicts(scale: Any, st: dict[str, Any], bits: dict[str, Any]) -> list[Any]:
    from psychometrics.report.context import Verdict

    V: list[Any] = []
    rel = st["reliability"].table
    # internal consistency
    for sid in rel.index:
        a, o = rel.loc[sid, "alpha"], rel.loc[sid, "omega_total"]
        low = min(a, o) if o == o else a
        name = "total score" if sid == "total" else _sub_name(scale, sid)
        V.append(Verdict(f"Internal consistency: {name}", _status(low >= 0.70, low >= 0.60),
                         f"α = {_fmt(a)}, ω = {_fmt(o)}", "α and ω total ≥ .70", "Nunnally (1978)",
                         section="internal-structure-reliability"))
    # item discrimination
    tab = st["items"].table
    if "item_rest_r" in tab:
        weak = tab.loc[tab["item_rest_r"] < 0.30, "item_rest_r"]
        txt = ("all items" if weak.empty else
               f"{len(weak)} below: " + ", ".join(f"{i} ({_fmt(v)})" for i, v in weak.items()))
        V.append(Verdict("Item discrimination (corrected item–total r)", _status(weak.empty, len(weak) <= 1),
                         txt, "every item–rest r ≥ .30 within its subscale", "Nunnally & Bernstein (1994)",
                         section="internal-structure-item-analysis"))
    # sampling adequacy
    kmo = st["kmo"]
    V.append(Verdict("Sampling adequacy (KMO, calibration sample)", _status(kmo.overall >= 0.80, kmo.overall >= 0.60),
                     kmo.overall, "KMO ≥ .80 (≥ .60 borderline)", "Kaiser (1974)",
                     section="internal-structure-exploratory-factor-analysis", digits=3))
    declared = len(scale.subscales)
    pa, mp = st.get("parallel"), st.get("map")
    if pa is not None:
        ok = pa.n_factors == declared and mp.n_factors == declared
        border = declared in (pa.n_factors, mp.n_factors)
        V.append(Verdict("Number of factors", _status(ok, border),
                         f"{pa.n_factors} (parallel analysis), {mp.n_factors} (MAP)",
                         f"matches the {declared} declared subscales", "Horn (1965); Velicer (1976)",
                         section="internal-structure-exploratory-factor-analysis"))
    else:
        V.append(Verdict("Number of factors", "not assessed", None, f"matches the {declared} declared subscales",
                         "Horn (1965); Velicer (1976)", section="internal-structure-exploratory-factor-analysis"))
    e = st["efa"]
    flagged = sorted(set(e.flags["item"])) if not e.flags.empty else []
    V.append(Verdict("EFA item structure", _status(not flagged, len(flagged) <= max(1, len(scale.items) // 10)),
                     "no item flagged" if not flagged else f"{len(flagged)} flagged: {', '.join(flagged)}",
                     "primary loading ≥ .40 on its subscale's factor, cross-loadings < .30, h² ≥ .20",
                     "Howard (2016)", section="internal-structure-exploratory-factor-analysis"))
    # CFA
    fits = st["cfa"]
    for name in ("correlated", "higher_order"):
        if name not in st["cfa_syntax"]:
            continue
        crit = ("CFA fit of the declared correlated-factors model" if name == "correlated"
                else "CFA fit of the declared higher-order model")
        if name in fits and fits[name].converged:
            f = _fit_indices(fits[name])  # WLSMV: the scaled CFI/TLI/RMSEA
            ok = f["cfi"] >= 0.95 and f["rmsea"] <= 0.06 and f["srmr"] <= 0.08
            border = f["cfi"] >= 0.90 and f["rmsea"] <= 0.08 and f["srmr"] <= 0.10
            sc = " (scaled, WLSMV)" if getattr(fits[name], "estimator", "ML") == "WLSMV" else ""
            V.append(Verdict(crit, _status(ok, border),
                             f"CFI = {_fmt(f['cfi'], 3)}, RMSEA = {_fmt(f['rmsea'], 3)}, SRMR = {_fmt(f['srmr'], 3)}{sc}",
                             "CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08", "Hu & Bentler (1999)",
                             section="internal-structure-confirmatory-factor-analysis"))
        else:
            why = "did not converge" if name in fits else "could not be fitted"
            V.append(Verdict(crit, "not assessed", f"the model {why}", "CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08",
                             "Hu & Bentler (1999)", section="internal-structure-confirmatory-factor-analysis"))
    # invariance
    inv = st.get("invariance")
    if inv is None:
        V.append(Verdict(f"Measurement invariance{' across ' + bits['opts'].group if bits['opts'].group else ''}",
                         "not assessed", st.get("invariance_note") or None,
                         "ΔCFI ≤ −.010 with ΔRMSEA ≥ .015 or ΔSRMR ≥ .030 (metric) / .010 (scalar) rejects",
                         "Chen (2007)", section="internal-structure-measurement-invariance"))
    else:
        words, ref = _inv_rule(inv)
        level = str(getattr(inv, "level", "") or "")
        partial = bool(getattr(inv, "partial_level", False))
        steps = getattr(inv, "partial_steps", None)
        released = set(steps["level"]) if isinstance(steps, pd.DataFrame) and "level" in steps else set()
        if _is_categorical(inv):
            # full invariance of thresholds, loadings and intercepts (the ordinal analogue of scalar)
            full = level == "intercepts"
            border = level.split(" (")[0] in ("intercepts", "loadings")
            target = "intercept invariance (thresholds, loadings and intercepts equal; needed to compare means)"
        else:
            # full scalar invariance: reached scalar (or strict) with nothing released at the metric or scalar level
            full = level in ("scalar", "strict") and not (released & {"metric", "scalar"}) and (
                not partial or bool(released))
            border = level in ("scalar", "strict", "metric")
            target = "scalar invariance (needed to compare means)"
        items = ", ".join(_inv_items(inv))
        V.append(Verdict(f"Measurement invariance across {bits['opts'].group}", _status(full, border),
                         (_inv_level(inv) or "") + (f"; non-invariant: {items}" if items else ""),
                         f"{target}; {words}", ref,
                         section="internal-structure-measurement-invariance"))
        dif = _dif_candidates(st.get("invariance_score_tests"))
        if dif is not None:
            V.append(Verdict("Equality constraints across groups (score tests, "
                             f"{'intercepts' if _is_categorical(inv) else 'scalar'} model)", _status(not dif),
                             "none significant" if not dif else "; ".join(dif),
                             "no univariate score test significant at p < .05 after Bonferroni correction",
                             "Sörbom (1989)", section="internal-structure-measurement-invariance"))
    # construct validity
    cv = st.get("construct_validity")
    if cv is not None:
        r = cv.reliability
        low = r["ave"].idxmin()
        cr_ok = bool((r["cr"] >= 0.70).all())
        V.append(Verdict("Convergent validity (AVE)", _status(bool((r["ave"] >= 0.50).all()), cr_ok),
                         f"lowest AVE {_fmt(r.loc[low, 'ave'])} ({_sub_name(scale, low)}); "
                         f"CR {_fmt(r['cr'].min())}–{_fmt(r['cr'].max())}",
                         "AVE ≥ .50 for every factor (borderline: AVE < .50 with CR ≥ .70)",
                         "Fornell & Larcker (1981)", section="relations"))
        pairs = cv.fornell_larcker.pairs
        bad = pairs[pairs["verdict"] != "supported"]
        V.append(Verdict("Discriminant validity (Fornell–Larcker)", _status(bad.empty, len(bad) <= 1),
                         f"{len(pairs) - len(bad)} of {len(pairs)} factor pairs meet it",
                         "√AVE of each factor > its correlations with the other factors",
                         "Fornell & Larcker (1981)", section="relations"))
        if cv.htmt is not None:
            hp = cv.htmt.pairs
            mx = hp["htmt"].max()
            V.append(Verdict("Discriminant validity (HTMT)", _status(mx < 0.85, mx < 0.90),
                             f"largest HTMT {_fmt(mx)}", "HTMT < .85 (< .90 borderline)", "Henseler et al. (2015)",
                             section="relations"))
    else:
        V.append(Verdict("Convergent and discriminant validity", "not assessed",
                         "; ".join(st.get("validity_notes", [])) or None, "AVE ≥ .50; √AVE > r; HTMT < .85",
                         "Fornell & Larcker (1981); Henseler et al. (2015)", section="relations"))
    # hypotheses
    hyp = st.get("hypotheses")
    if hyp is not None:
        t = hyp.table[hyp.table["basis"] == "observed"]
        ok = int((t["verdict"] == "supported").sum())
        V.append(Verdict("Validity hypotheses (relations to other variables)",
                         _status(ok == len(t), ok >= len(t) / 2),
                         f"{ok} of {len(t)} supported", "each 95% CI of r inside the expected region",
                         "Campbell & Fiske (1959)", section="relations"))
    elif scale.validity:
        V.append(Verdict("Validity hypotheses (relations to other variables)", "not assessed",
                         "companion measures not found: " + ", ".join(bits["not_found"] + bits["absent"]),
                         "each 95% CI of r inside the expected region", "Campbell & Fiske (1959)", section="relations"))
    return V


def _dif_candidates(tests: pd.DataFrame | None) -> list[str] | None:
    """Constraints whose score test is significant after Bonferroni correction, as text."""
    if tests is None:
        return None
    sig = tests[tests["p_bonferroni"] < 0.05]
    out = []
    for _, r in sig.iterrows():
        what = f"{r['lhs']} intercept" if r["op"] == "~1" else (
            f"{r['rhs']} loading" if r["op"] == "=~" else (
                f"{r['lhs']} threshold {r['rhs']}" if r["op"] == "|" else f"{r['lhs']} {r['op']} {r['rhs']}"))
        out.append(f"{what}, {r['group']} copy (χ² = {r['x2']:.1f}, Bonferroni p {_p(r['p_bonferroni'])})")
    return out


def _p(p: float) -> str:
    return "< .001" if p < 0.001 else f"= {_fmt(p, 3)}"


def _dif_items(tests: pd.DataFrame | None) -> list[tuple[str, str, float]]:
    if tests is None:
        return []
    out = []
    for _, r in tests[tests["p_bonferroni"] < 0.05].iterrows():
        item = r["lhs"] if r["op"] in ("~1", "~~", "|") else r["rhs"]
        what = {"~1": "intercept", "=~": "loading", "|": f"threshold {r['rhs']}"}.get(r["op"], r["op"])
        out.append((str(item), f"{what} "
                               f"not equal across groups ({r['group']} copy; score test, Bonferroni p {_p(r['p_bonferroni'])})",
                    float(r["x2"])))
    return out


def _sub_name(scale: Any, sid: str) -> str:
    try:
        return scale.subscale(sid).name
    except Exception:  # noqa: BLE001 - e.g. "total" or a factor that is no subscale
        return str(sid)


# ============================================================= provenance
def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("numpy", "scipy", "pandas", "pydantic", "PyYAML", "jinja2", "matplotlib", "rich", "click"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _rel(path: Any) -> Any:
    """A path relative to the working folder when it lies below it (reports stay portable)."""
    if path is None or not isinstance(path, (str, Path)) or str(path).startswith("<"):
        return path
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        pass
    try:  # a spec shipped with the package (the demo's): name it as the package's scales/ folder
        from psychometrics.simulate import embedded_scales_dir

        return "scales/" + resolved.relative_to(Path(embedded_scales_dir()).resolve()).as_posix()
    except Exception:  # noqa: BLE001 - not an embedded file (or no embedded folder): keep the path as given
        return str(path)


def _provenance(scale: Any, resp: Any, opts: ValidationOptions, command: str | None,
                extra: Mapping[str, Any] | None) -> dict[str, Any]:
    from psychometrics import __version__

    options = opts.to_dict()
    options["measures"] = [_rel(m) for m in options["measures"]]

    d = {
        "package": f"scalevalid {__version__}",
        "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": command,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "seed": opts.seed,
        "data_file": _rel(resp.source),
        "data_sha256": resp.sha256,
        "scale_file": _rel(scale.source),
        "scale_hash": scale.content_hash,
        "dependencies": _versions(),
        "options": options,
    }
    if extra:
        d.update(extra)
    return d


# ============================================================ results.json
def _frame_records(df: pd.DataFrame | None) -> Any:
    return None if df is None else to_jsonable(df)


def _estimation(st: dict[str, Any]) -> dict[str, str]:
    """The method each step actually used (after any fallback), in words, per report section."""
    ordinal = st.get("ordinal", False)
    out: dict[str, str] = {}
    if ordinal and st.get("ordinal_reliability") is not None:
        tab = st["ordinal_reliability"]
        omega = bool(tab["categorical_omega"].notna().any())
        out["reliability"] = ("α, ω total (Pearson covariances), plus ordinal α (polychoric correlations; Zumbo et "
                              "al., 2007)" + (" and categorical ω (WLSMV CFA; Green & Yang, 2009)" if omega else ""))
    else:
        out["reliability"] = "α, ω total (Pearson covariances; continuous)" + (
            " — the ordinal coefficients could not be computed" if ordinal else "")
    if st.get("efa_corr") == "polychoric":
        out["efa"] = ("polychoric correlations (ordinal); KMO, Bartlett, parallel analysis, MAP and the EFA use "
                      "the polychoric matrix (parallel analysis compares it with random normal data)")
    else:
        out["efa"] = "Pearson correlations (continuous)" + (" — fallback, see the notes" if ordinal else "")
    est = st.get("cfa_estimator", "ML")
    if est == "WLSMV":
        out["cfa"] = ("WLSMV (ordinal; polychoric correlations, diagonally weighted least squares, mean- and "
                      "variance-adjusted χ²); the verdicts use the scaled CFI/TLI/RMSEA and SRMR")
    elif est == "ML":
        out["cfa"] = "maximum likelihood (continuous)" + (" — fallback, see the diagnostics" if ordinal else "")
    else:
        out["cfa"] = "WLSMV (ordinal), maximum likelihood for the models where WLSMV failed (see the notes)"
    inv = st.get("invariance")
    if inv is None:
        out["invariance"] = "not assessed"
    elif _is_categorical(inv):
        out["invariance"] = ("WLSMV, categorical (configural → thresholds → loadings → intercepts; Wu & Estabrook, "
                             "2016); Δ fit from the scaled CFI/RMSEA and SRMR")
    else:
        out["invariance"] = "maximum likelihood (continuous; configural → metric → scalar → strict)" + (
            " — fallback, see the notes" if ordinal else "")
    return out


def _model_dict(fit: Any) -> dict[str, Any]:
    """A CFA result as JSON; a part the fit cannot give (e.g. MIs with a singular WLSMV information) is noted."""
    try:
        return fit.to_dict()
    except PsychometricsError as exc:
        return {"estimator": getattr(fit, "estimator", None), "converged": fit.converged, "fit": to_jsonable(fit.fit),
                "estimates": to_jsonable(fit.estimates), "note": f"incomplete: {exc}"}


def _results_json(scale: Any, st: dict[str, Any], bits: dict[str, Any], verdicts: list[Any]) -> dict[str, Any]:
    resp = bits["resp"]
    q = resp.quality
    careless = resp.careless
    flagged = careless[careless["flagged"]]
    e = st["efa"]
    efa_d: dict[str, Any] = {
        "sample": "calibration", "n": len(bits["calibration"]),
        "rows": [to_jsonable(i) for i in bits["calibration"]],
        "kmo": st["kmo"].to_dict(), "bartlett": st["bartlett"].to_dict(),
        "parallel_analysis": None if st.get("parallel") is None else st["parallel"].to_dict(),
        "map": None if st.get("map") is None else st["map"].to_dict(),
        "n_factors_extracted": st["n_extracted"], "notes": st["efa_notes"],
        "correlations": st.get("efa_corr", "pearson"),
        "result": e.to_dict(),
    }
    cfa_d = {
        "sample": "validation", "n": len(bits["validation"]),
        "rows": [to_jsonable(i) for i in bits["validation"]],
        "comparison": to_jsonable(st["cfa_table"]),
        "lrt_declared_vs_one_factor": _frame_records(st.get("cfa_lrt")),
        "models": {k: {"syntax": st["cfa_syntax"][k], **_model_dict(v)} for k, v in st["cfa"].items()},
        "failed": st["cfa_failed"],
        "estimator": st.get("cfa_estimator", "ML"),
        "notes": st.get("cfa_notes", []),
        "bifactor_omega": None if st.get("bifactor_omega") is None else st["bifactor_omega"].to_dict(),
        "indices_used_by_verdicts": ("cfi_scaled, tli_scaled, rmsea_scaled, srmr"
                                     if st.get("cfa_estimator", "ML") != "ML" else "cfi, tli, rmsea, srmr"),
    }
    inv = st.get("invariance")
    inv_d = {"assessed": inv is not None, "group": bits["opts"].group, "note": st.get("invariance_note"),
             "sample": bits["opts"].invariance_sample, "n": len(st["invariance_rows"]),
             "result": None if inv is None else to_jsonable(inv),
             "method": "WLSMV" if inv is not None and _is_categorical(inv) else ("ML" if inv is not None else None),
             "fallback": st.get("invariance_fallback"),
             "score_tests_scalar": _frame_records(st.get("invariance_score_tests"))}
    cv = st.get("construct_validity")
    hyp = st.get("hypotheses")
    val_d = {
        "construct_validity": None if cv is None else cv.to_dict(),
        "hypotheses": None if hyp is None else hyp.to_dict(),
        "notes": st.get("validity_notes", []),
        "scores": st["scores"].descriptives.pipe(to_jsonable),
        "companion_measures": {k: {"n": v.n, "sha256": v.sha256, "quality": v.quality.to_dict(),
                                   "scores": to_jsonable(st["companion_scores"][k].descriptives)}
                               for k, v in bits["comps"].items()},
        "companions_not_found": bits["not_found"], "companions_without_data": bits["absent"],
    }
    key = st["scoring_key"].to_dict()
    key.pop("created", None)  # clock-dependent: in scoring_key.json only (results.json stays deterministic)
    if isinstance(key.get("calibration"), dict):
        key["calibration"] = {k: v for k, v in key["calibration"].items() if k != "date"}
    dq = {
        "quality": q.to_dict(),
        "exclusions": to_jsonable(_exclusions(bits)),
        "careless": {"flag_counts": to_jsonable(q.careless_flags), "excluded": bits["opts"].exclude_careless,
                     "rows_excluded": [to_jsonable(i) for i in bits["careless_excluded"]],
                     "flagged_rows": to_jsonable(flagged)},
        "analysed": len(bits["analysed"]), "calibration": len(bits["calibration"]),
        "validation": len(bits["validation"]),
        "diagnostics": [d.to_dict() for d in resp.diagnostics],
    }
    out = {
        "format_version": _STD_VERSION,
        "scale": {"id": scale.id, "name": scale.name, "version": scale.version, "content_hash": scale.content_hash},
        "summary": [to_jsonable(dataclasses.asdict(v)) for v in verdicts],
        "data_quality": dq,
        "items": st["items"].to_dict(),
        "estimation": {"ordinal": bool(st.get("ordinal")), "reason": st.get("ordinal_why"), **_estimation(st)},
        "reliability": {**st["reliability"].to_dict(),
                        "ordinal": _frame_records(st["ordinal_reliability"].rename_axis("score").reset_index())
                        if st.get("ordinal_reliability") is not None else None,
                        "ordinal_notes": st.get("ordinal_reliability_notes", [])},
        "efa": efa_d,
        "cfa": cfa_d,
        "invariance": inv_d,
        "validity": val_d,
        "scoring": key,
        "diagnostics": [d.to_dict() for d in _all_diagnostics(st, bits)],
        "provenance": bits["provenance"],
    }
    # every value must be plain JSON; round-trip to catch anything odd early
    return json.loads(json.dumps(to_jsonable(out), allow_nan=False))


def _all_diagnostics(st: dict[str, Any], bits: dict[str, Any]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out += [Diagnostic(d.category, f"data: {d.message}") for d in bits["resp"].diagnostics]
    for cid, c in bits["comps"].items():
        out += [Diagnostic(d.category, f"{cid} data: {d.message}") for d in c.diagnostics]
    out += [Diagnostic(d.category, f"items: {d.message}") for d in _diag_list(st["items"])]
    out += [Diagnostic(d.category, f"reliability: {d.message}") for d in _diag_list(st["reliability"])]
    for k in ("kmo", "bartlett", "parallel", "map", "efa"):
        out += [Diagnostic(d.category, f"EFA ({k}): {d.message}") for d in _diag_list(st.get(k))]
    for name, fit in st["cfa"].items():
        out += [Diagnostic(d.category, f"CFA {_MODEL_LABELS[name]}: {d.message}") for d in _diag_list(fit)]
    for name, msg in st["cfa_failed"].items():
        out.append(Diagnostic("EstimationError", f"CFA {_MODEL_LABELS[name]}: not fitted: {msg}"))
    out += [Diagnostic(d.category, f"invariance: {d.message}") for d in _diag_list(st.get("invariance"))]
    out += [Diagnostic(d.category, f"validity: {d.message}") for d in _diag_list(st.get("construct_validity"))]
    out += [Diagnostic(d.category, f"hypotheses: {d.message}") for d in _diag_list(st.get("hypotheses"))]
    out += [Diagnostic(d.category, f"scoring: {d.message}") for d in _diag_list(st.get("scores"))]
    out += bits["run"].diagnostics
    return out


def _exclusions(bits: dict[str, Any]) -> pd.DataFrame:
    """One row per excluded row, and per item × reason of values set missing."""
    resp = bits["resp"]
    q = resp.quality
    rows = []
    ids = resp.ids
    for label, r in q.excluded.iterrows():
        rows.append({"Row": str(label), "Respondent": "—", "What": "row excluded",
                     "Rule": str(r.get("reason", "")), "Detail": ""})
    for label in bits["careless_excluded"]:
        c = resp.careless.loc[label]
        which = [n for n in ("longstring", "mahalanobis", "evenodd") if bool(c[f"{n}_flag"])]
        rows.append({"Row": str(label), "Respondent": "—" if ids is None else str(ids.loc[label]),
                     "What": "row excluded", "Rule": "careless-responding flag (exclude_careless)",
                     "Detail": ", ".join(which)})
    sm = q.set_missing
    for item, r in sm.iterrows():
        for reason, n in r.items():
            if n:
                rows.append({"Row": "—", "Respondent": "—", "What": f"{int(n)} value{'s' * (n != 1)} set missing",
                             "Rule": str(reason), "Detail": f"item {item}"})
    return pd.DataFrame(rows, columns=["Row", "Respondent", "What", "Rule", "Detail"])


# ================================================================= context
def _context(scale: Any, st: dict[str, Any], bits: dict[str, Any], verdicts: list[Any],
             title: str | None, subtitle: str | None) -> dict[str, Any]:
    from psychometrics.report import figures
    from psychometrics.report.build import format_value
    from psychometrics.report.context import Diagnostics, Figure, Paragraph, Table, Verdict, Verdicts

    resp, opts = bits["resp"], bits["opts"]
    q = resp.quality
    n_an, n_cal, n_val = len(bits["analysed"]), len(bits["calibration"]), len(bits["validation"])
    rf = scale.response_format
    item_ids = list(scale.item_ids)
    refs = set()
    for v in verdicts:
        for part in str(v.reference).split(";"):
            if part.strip() in REFERENCES:
                refs.add(part.strip())
    refs |= {"Cronbach (1951)", "McDonald (1999)", "Meade & Craig (2012)", "Anderson & Gerbing (1988)",
             "Bartlett (1950)"}

    # ---------------- content
    items_tab = pd.DataFrame(
        {"Subscale": [_sub_name(scale, scale.subscale_of(i)) for i in item_ids],
         "Text": [scale.item(i).text for i in item_ids],
         "Keyed": ["R" if scale.item(i).reverse else "+" for i in item_ids]},
        index=pd.Index(item_ids, name="Item"))
    facets = pd.DataFrame(
        {"Name": [s.name for s in scale.subscales],
         "Definition": [getattr(s, "definition", None) or getattr(s, "description", None) or "" for s in scale.subscales],
         "Items": [len(scale.items_of(s.id)) for s in scale.subscales]},
        index=pd.Index([s.id for s in scale.subscales], name="Subscale"))
    labels = ", ".join(f"{k} = {v}" for k, v in (rf.labels or {}).items()) if isinstance(rf.labels, Mapping) else ""
    fmt = f"{rf.type} {rf.min}–{rf.max}" + (f" ({labels})" if labels else "")

    # ---------------- data quality
    flow_rows = [("Records read", q.rows_read), ("Rows used (after row policies)", q.rows_used)]
    if opts.exclude_careless:
        flow_rows.append(("Not flagged as careless (exclude_careless)", n_an))
    flow_rows += [("Analysed", n_an), ("Calibration sample (EFA)", n_cal), ("Validation sample (CFA)", n_val),
                  ("Complete cases (all items answered)", q.complete_cases)]
    flow = pd.DataFrame({"n": [int(v) for _, v in flow_rows]}, index=pd.Index([k for k, _ in flow_rows], name="Stage"))
    exclusions = _exclusions(bits).set_index("Row")
    careless = resp.careless
    flagged = careless[careless["flagged"]]
    ctab = pd.DataFrame({
        "Respondent": ["—" if resp.ids is None else str(resp.ids.loc[i]) for i in flagged.index],
        "Long-string": flagged["longstring"].astype("int64"),
        "Mahalanobis D²": flagged["mahalanobis_d2"], "p": flagged["mahalanobis_p"],
        "Even–odd r": flagged["evenodd"],
        "Screens": [", ".join(n for n in ("longstring", "mahalanobis", "evenodd") if r[f"{n}_flag"])
                    for _, r in flagged.iterrows()],
    }, index=flagged.index)
    ctab.index = pd.Index([str(i) for i in flagged.index], name="Row")  # after building: labels must align first
    miss = q.to_frame()
    miss_tab = pd.DataFrame({"Missing": miss["missing"].astype("int64"), "Share": miss["missing_share"]})
    miss_tab.index.name = "Item"
    dq_blocks: list[Any] = [
        Paragraph(f"Careless-responding screens flagged {int(q.careless_flags.get('any', len(flagged)))} of "
                  f"{q.rows_used} rows (long-string {int(q.careless_flags.get('longstring', 0))}, Mahalanobis D² "
                  f"{int(q.careless_flags.get('mahalanobis', 0))}, even–odd {int(q.careless_flags.get('evenodd', 0))}; "
                  "Meade & Craig, 2012). "
                  + ("They were excluded from all analyses, as requested (exclude_careless); each is listed above."
                     if opts.exclude_careless else
                     "They are flags, not deletions: the rows stay in every analysis. Pass exclude_careless to "
                     "exclude them.")),
        Table(ctab, "Rows Flagged by the Careless-Responding Screens",
              note="Long-string: longest run of identical answers; Mahalanobis D² with its p (flag at p < .001); "
                   "even–odd: consistency of odd and even half-scale scores (flag below .30 with at least six "
                   "subscales).", digits={"Long-string": 0, "Mahalanobis D²": 1, "Even–odd r": 2}, p_values=["p"],
              no_leading_zero=["Even–odd r"]),
        Table(miss_tab, "Missing Responses per Item", digits={"Missing": 0, "Share": 3}, no_leading_zero=["Share"],
              note=f"Of {q.rows_used} rows used. Missing values are never imputed; each analysis states the n it used."),
    ]
    dq_diags = [d for d in resp.diagnostics] + [d for c in bits["comps"].values() for d in c.diagnostics]
    if dq_diags:
        dq_blocks.append(Diagnostics(dq_diags, title="Data diagnostics"))

    # ---------------- item analysis
    it = st["items"].table
    cats = list(rf.categories) if hasattr(rf, "categories") else sorted(np.unique(resp.items.stack()))
    counts = pd.DataFrame({c: (bits["work"].items == c).sum() for c in cats})
    if isinstance(rf.labels, Mapping) and rf.labels:
        counts.columns = [str(rf.labels.get(c, rf.labels.get(str(c), c))) for c in cats]
    else:
        counts.columns = [str(c) for c in cats]
    istats = pd.DataFrame({"n": it["n"].astype("int64"), "M": it["mean"], "SD": it["sd"], "Skew": it["skew"],
                           "Kurtosis": it["kurtosis"], "% floor": it["pct_floor"], "% ceiling": it["pct_ceiling"],
                           "r_it": it["item_rest_r"], "α if deleted": it["alpha_if_deleted"],
                           "Flags": it["flag_rules"].fillna("")}, index=pd.Index(it.index, name="Item"))
    item_blocks = [
        Table(istats, "Item Descriptive Statistics and Discrimination",
              note="r_it = corrected item–total (item–rest) correlation within the item's subscale; α if deleted for "
                   "the subscale. Reverse-keyed items are reversed (min + max − x). Flags: "
                   + "; ".join(f"{k} = {v}" for k, v in _item_flag_rules(st["items"]).items()),
              digits={"n": 0, "% floor": 1, "% ceiling": 1}, no_leading_zero=["r_it", "α if deleted"]),
        Figure(figures.response_distribution(counts), "Distribution of Responses per Item",
               note="Bars are centred on the middle category; percentages of the answered responses."),
    ]
    item_blocks.append(Table(_item_review(scale, st), "Items to Review",
                             note="Every flag raised by the item analysis, the EFA, the CFA modification indices "
                                  "(loadings on another factor, MI ≥ 10) and the invariance analysis."))

    # ---------------- reliability
    rt = st["reliability"].table
    rel_tab = pd.DataFrame({
        "Items": rt["n_items"].astype("int64"), "n": rt["n"].astype("int64"), "α": rt["alpha"],
        "α 95% CI": list(zip(rt["alpha_low"], rt["alpha_high"])),
        "ω total": rt["omega_total"], "ω 95% CI": list(zip(rt["omega_total_low"], rt["omega_total_high"])),
        "ω_h": rt["omega_hierarchical"], "λ6": rt["lambda6"], "SEM": rt["sem"]}, index=rt.index)
    rel_tab.index = pd.Index([("Total score" if s == "total" else _sub_name(scale, s)) for s in rt.index], name="Score")
    rel_blocks = [Table(rel_tab, "Reliability of the Subscale and Total Scores", digits={"Items": 0, "n": 0, "SEM": 3},
                        no_leading_zero=["α", "α 95% CI", "ω total", "ω 95% CI", "ω_h", "λ6"],
                        note=f"All {n_an} analysed respondents with complete answers to the score's items (listwise). "
                             f"α: Cronbach (1951), Feldt interval; ω total (McDonald, 1999), bootstrap interval "
                             f"({opts.n_boot} resamples; subscales only); ω_h: Schmid–Leiman general-factor "
                             "saturation of the total score; SEM = SD·√(1 − α) in sum-score units (divide by the "
                             "number of items for the mean score).")]
    orl = st.get("ordinal_reliability")
    if orl is not None:
        refs |= {"Zumbo et al. (2007)", "Green & Yang (2009)"}
        ot = pd.DataFrame({"n": orl["n"].astype("int64"), "Ordinal α": orl["ordinal_alpha"].astype(float),
                           "Categorical ω": orl["categorical_omega"].astype(float)})
        ot.index = pd.Index([("Total score" if s_ == "total" else _sub_name(scale, s_)) for s_ in orl.index],
                            name="Score")
        rel_blocks.append(Table(ot, "Ordinal Reliability Coefficients", digits={"n": 0},
                                no_leading_zero=["Ordinal α", "Categorical ω"],
                                note="Ordinal α: α of the polychoric correlation matrix (Zumbo et al., 2007) — the "
                                     "reliability of the latent-response sum. Categorical ω: reliability of the "
                                     "observed sum score from the WLSMV CFA of the declared correlated-factors model "
                                     "(Green & Yang, 2009; semTools::compRelSEM); subscales only. All analysed "
                                     "respondents with complete answers."))
    bo = st.get("bifactor_omega")
    if bo is not None:
        refs |= {"Reise (2012)"}
        rel_blocks.append(Paragraph(
            f"From the bifactor CFA of the validation half (ML): ω total = {format_value(bo.omega_total, no_leading_zero=True)}, "
            f"ω hierarchical = {format_value(bo.omega_hierarchical, no_leading_zero=True)} (the share of total-score variance due "
            f"to the general factor), explained common variance = {format_value(bo.ecv, no_leading_zero=True)} "
            "(Reise, 2012; semTools::compRelSEM definitions)."))
    for note in st.get("ordinal_reliability_notes", []):
        rel_blocks.append(Paragraph(note))
    if st["reliability"].diagnostics:
        rel_blocks.append(Diagnostics(list(st["reliability"].diagnostics), title="Estimation diagnostics"))
    estimation = _estimation(st)
    rel_intro = [f"Estimation: {estimation['reliability']}."]

    # ---------------- EFA
    e = st["efa"]
    kmo, bart = st["kmo"], st["bartlett"]
    adequacy = pd.DataFrame({"KMO": [kmo.overall], "Bartlett χ²": [bart.chisq], "df": [int(bart.df)],
                             "p": [bart.pvalue]}, index=pd.Index([f"Calibration sample (n = {n_cal})"], name="Sample"))
    efa_blocks: list[Any] = [Table(adequacy, "Sampling Adequacy", digits={"KMO": 3, "Bartlett χ²": 1}, p_values=["p"],
                                   no_leading_zero=["KMO"])]
    pa, mp = st.get("parallel"), st.get("map")
    if pa is not None:
        ev = pa.eigenvalues
        observed = pd.DataFrame({"FA": ev["observed_fa"], "PCA": ev["observed_pc"]})
        simulated = pd.DataFrame({"FA": ev["simulated_fa_quantile"], "PCA": ev["simulated_pc_quantile"]})
        efa_blocks.append(Figure(
            figures.scree_plot(observed, simulated, retained=pa.n_factors,
                               simulated_label=f"{pa.quantile:.0%} quantile, random data"),
            "Scree Plot with Parallel Analysis",
            note=f"Factors are retained while the observed eigenvalue exceeds the {pa.quantile:.0%} quantile of the "
                 f"eigenvalues of {pa.n_iter} random normal data sets of the same size (Horn, 1965). Parallel "
                 f"analysis suggests {pa.n_factors} factors ({pa.n_components} components); Velicer's MAP "
                 f"suggests {mp.n_factors}."))
        ret = pd.DataFrame({"Observed FA": ev["observed_fa"], "Random FA q": ev["simulated_fa_quantile"],
                            "Observed PCA": ev["observed_pc"], "Random PCA q": ev["simulated_pc_quantile"],
                            "MAP": mp.values.reindex(ev.index)}).head(min(10, len(ev)))
        ret.index.name = "Factor"
        efa_blocks.append(Table(ret, "Factor Retention", digits={"MAP": 4},
                                note="q = quantile of the random eigenvalues; MAP = average squared partial "
                                     "correlation after removing m components (minimum = suggested number)."))
    loadings = e.loadings.copy()
    fs = e.factor_subscales
    if fs is not None:
        loadings.columns = [f"{c} ({fs[c]})" if fs.get(c) is not None else str(c) for c in loadings.columns]
    mapping = ("; ".join(f"{c} = {fs[c]}" for c in e.loadings.columns if fs is not None and fs.get(c) is not None)
               if fs is not None else "")
    efa_blocks.append(Figure(figures.loading_heatmap(e.loadings, communalities=e.communalities), "Pattern Matrix",
                             note="Bold: |loading| ≥ .30."
                                  + (f" Each factor represents the declared subscale most of its primary items belong "
                                     f"to: {mapping}." if mapping else "")))
    lt = loadings.copy()
    lt["h²"] = e.communalities
    lt.index.name = "Item"
    efa_blocks.append(Table(lt, "Pattern Loadings and Communalities", no_leading_zero=True))
    if e.n_factors > 1:
        phi = e.phi.copy()
        phi.index = phi.columns = list(loadings.columns)
        efa_blocks.append(Table(phi, "Factor Correlations", no_leading_zero=True))
    if not e.flags.empty:
        ef = e.flags.set_index("item")[["rule", "value", "message"]]
        ef.index.name = "Item"
        efa_blocks.append(Table(ef.rename(columns={"rule": "Rule", "value": "Value", "message": "Detail"}),
                                "Items Flagged in the EFA", digits={"Value": 3}))
    efa_diag = [*_diag_list(kmo), *_diag_list(bart), *_diag_list(pa), *_diag_list(mp), *_diag_list(e)]
    if efa_diag:
        efa_blocks.append(Diagnostics(efa_diag, title="Estimation diagnostics"))
    efa_intro = [f"Estimation: {estimation['efa']}.",
                 f"Calibration sample: a random {opts.split:.0%} of the analysed respondents (n = {n_cal}, seed "
                 f"{opts.seed}). {opts.efa_method} extraction of {st['n_extracted']} factor"
                 f"{'s' * (st['n_extracted'] != 1)} from "
                 + ("polychoric correlations (complete cases)" if st.get("efa_corr") == "polychoric"
                    else "pairwise correlations")
                 + f", {opts.rotation if e.n_factors > 1 else 'no'} rotation (psych::fa)."] + list(st["efa_notes"])

    # ---------------- CFA
    fits = st["cfa"]
    ct = st["cfa_table"].drop(columns=["converged", "AIC", "n"], errors="ignore")  # AIC, n in results.json
    cfa_blocks: list[Any] = [
        Table(ct, "Fit of the Competing Models", p_values=["p"],
              digits={"χ²": 1, "df": 0, "AIC": 1, "BIC": 1, "n": 0, "CFI": 3, "TLI": 3, "RMSEA": 3, "SRMR": 3,
                      "90% CI": 3},
              no_leading_zero=["CFI", "TLI", "RMSEA", "90% CI", "SRMR"],
              note=(f"Maximum likelihood, listwise deletion (n = {_cfa_n(fits)} complete cases of the validation "
                    "sample)." if st.get("cfa_estimator", "ML") == "ML" else
                    f"WLSMV for ordinal items, listwise deletion (n = {_cfa_n(fits)} complete cases of the validation "
                    "sample): χ², p, CFI, TLI and RMSEA are lavaan's scaled (mean- and variance-adjusted) values, "
                    "which the verdicts use; CFI robust and RMSEA robust (Savalei, 2021) are shown for comparison; "
                    "AIC/BIC do not exist (no likelihood).")
                   + " The bifactor model has orthogonal factors and unit factor variances. Cut-offs: CFI ≥ .95, "
                     "RMSEA ≤ .06, SRMR ≤ .08 (Hu & Bentler, 1999)."),
    ]
    for note in st.get("cfa_notes", []):
        cfa_blocks.append(Paragraph(note))
    lrt = st.get("cfa_lrt")
    if lrt is not None and len(lrt) == 2:
        r = lrt.iloc[-1]
        cfa_blocks.append(Paragraph(
            f"Declared correlated-factors model vs one factor: Δχ²({int(r['delta_df'])}) = {r['delta_chisq']:.1f}, "
            f"p {'< .001' if r['delta_pvalue'] < 0.001 else '= ' + _fmt(r['delta_pvalue'], 3)}, ΔCFI = "
            f"{_fmt(r['delta_cfi'], 3)}."))
    main = fits.get("correlated")
    if main is not None:
        std = main.std_loadings.replace(0.0, np.nan)
        cfa_blocks.append(Figure(figures.cfa_path_diagram(std, main.latent_cor, residuals=main.std_residual_variances),
                                 "Standardized Solution of the Declared Correlated-Factors Model"))
        lt = std.copy()
        lt["R²"] = main.r_squared.reindex(lt.index)
        lt.index.name = "Item"
        cfa_blocks.append(Table(lt, "Standardized Loadings (Declared Model)", no_leading_zero=True))
        mi = _mod_indices(main)
        if mi is not None and not mi.empty:
            top = mi[mi["op"] == "=~"].head(10)
            if not top.empty:
                mt = pd.DataFrame({"Parameter": [f"{a} =~ {b}" for a, b in zip(top["lhs"], top["rhs"])],
                                   "MI": top["mi"], "EPC": top["epc"], "Std. EPC": top["sepc_all"]}).set_index("Parameter")
                cfa_blocks.append(Table(mt, "Largest Modification Indices for Cross-Loadings (Declared Model)",
                                        digits={"MI": 1},
                                        note="MI: expected drop in χ² (1 df) if the loading were freed; Std. EPC: "
                                             "expected standardized loading."))
    cfa_diag = [Diagnostic(d.category, f"{_MODEL_LABELS[k]}: {d.message}") for k, f in fits.items()
                for d in _diag_list(f)]
    cfa_diag += [Diagnostic("EstimationError", f"{_MODEL_LABELS[k]}: not fitted: {m}") for k, m in st["cfa_failed"].items()]
    cfa_blocks.append(Diagnostics(cfa_diag or ["No estimation problems (all models converged; no Heywood cases)."],
                                  title="Estimation diagnostics"))
    cfa_intro = [f"Estimation: {estimation['cfa']}."]
    if st.get("cfa_estimator", "ML") != "ML":
        refs |= {"Muthén et al. (1997)", "Savalei (2021)"}
    if st.get("ordinal"):
        refs.add("Rhemtulla et al. (2012)")
    cfa_intro.append(f"Validation sample: the other {1 - opts.split:.0%} (n = {n_val}). Competing models: the declared "
                 "correlated-factors structure, " + ("the declared higher-order structure, " if scale.hierarchy else "")
                 + "a single factor, and a bifactor model.")


    # ---------------- invariance
    inv = st.get("invariance")
    inv_blocks: list[Any] = []
    if inv is None:
        inv_intro = [st.get("invariance_note") or "Measurement invariance was not assessed."]
        if st.get("invariance_fallback"):
            inv_intro.insert(0, st["invariance_fallback"])
    elif _is_categorical(inv):
        nobs = getattr(inv, "nobs", None) or {}
        words, ref = _inv_rule(inv)
        refs |= {ref, "Wu & Estabrook (2016)"}
        items_ni = _inv_items(inv)
        inv_intro = [
            f"Estimation: {estimation['invariance']}.",
            f"Across {opts.group} ({', '.join(f'{g} n = {int(n)}' for g, n in nobs.items())} complete cases); "
            f"{'all analysed respondents' if opts.invariance_sample == 'full' else 'validation sample'}: the "
            "invariance models ask whether the declared correlated-factors model holds equally across groups. "
            "For ordinal items: configural → thresholds → loadings → intercepts (Wu & Estabrook, 2016 "
            "identification, as semTools::measEq.syntax); a failing level is made partial by releasing, one at a "
            "time, the constraint with the largest score test. The cut-offs for metric invariance are used for "
            "the thresholds and loadings levels, those for scalar invariance for the intercepts level.",
            f"Decision rule: {getattr(inv, 'rule', '')} ({words}); {getattr(inv, 'rule_reason', '')}. "
            f"Highest level reached: {_inv_level(inv)}."
            + (f" Non-invariant items: {', '.join(items_ni)}." if items_ni else ""),
        ]
    else:
        nobs = getattr(inv, "nobs", None) or {}
        words, ref = _inv_rule(inv)
        refs.add(ref)
        inv_intro = [
            f"Estimation: {estimation['invariance']}." + (
                f" {st['invariance_fallback']}" if st.get("invariance_fallback") else ""),
            f"Across {opts.group} ({', '.join(f'{g} n = {int(n)}' for g, n in nobs.items())} complete cases); "
            f"{'all analysed respondents' if opts.invariance_sample == 'full' else 'validation sample'}: the "
            "invariance models ask whether the declared correlated-factors model holds equally across groups "
            "(not which model), and they need the largest group sizes the data give. Configural → metric "
            "(equal loadings) → scalar (equal intercepts) → strict (equal residual variances); a failing level is "
            "made partial by releasing, one at a time, the constraint with the largest score test.",
            f"Decision rule: {getattr(inv, 'rule', '')} ({words}); {getattr(inv, 'rule_reason', '')}. "
            f"Highest level reached: {_inv_level(inv)}."
            + (f" Non-invariant items: {', '.join(inv.non_invariant_items)}." if getattr(inv, "non_invariant_items", ())
               else ""),
        ]
        table = getattr(inv, "table", None)
        if isinstance(table, pd.DataFrame):
            cols = {"partial": "Released", "chisq": "χ²", "df": "df", "cfi": "CFI", "rmsea": "RMSEA", "srmr": "SRMR",
                    "delta_chisq": "Δχ²", "delta_df": "Δdf", "delta_pvalue": "p (Δχ²)", "delta_cfi": "ΔCFI",
                    "delta_rmsea": "ΔRMSEA", "delta_srmr": "ΔSRMR", "holds": "Holds"}
            it = table[[c for c in cols if c in table.columns]].rename(columns=cols).copy()
            if "Released" in it:
                it["Released"] = it["Released"].map(lambda v: ", ".join(v) if isinstance(v, (list, tuple)) else
                                                    ("" if v is None or v != v else str(v)))
            if "Holds" in it:
                it["Holds"] = it["Holds"].map(lambda v: "—" if v is None or v != v else ("yes" if bool(v) else "no"))
            for c in ("df", "Δdf"):
                if c in it:
                    it[c] = it[c].map(lambda v: "—" if v != v else str(int(v)))
            it.index.name = "Model"
            inv_blocks.append(Table(it, f"Invariance Models Across {opts.group}", p_values=["p (Δχ²)"],
                                    digits={"χ²": 1, "Δχ²": 1, "CFI": 3, "RMSEA": 3, "SRMR": 3, "ΔCFI": 3,
                                            "ΔRMSEA": 3, "ΔSRMR": 3},
                                    no_leading_zero=["CFI", "RMSEA", "SRMR", "ΔCFI", "ΔRMSEA", "ΔSRMR"],
                                    note=("Each model is compared with the last level that held (Δ columns). "
                                          "WLSMV: scaled-shifted χ² and Δχ² (lavTestLRT), scaled CFI/RMSEA; "
                                          "listwise deletion within groups." if _is_categorical(inv) else
                                          "Each model is compared with the previous level (Δ columns). Maximum "
                                          "likelihood, listwise deletion within groups.")))
        if hasattr(inv, "delta_chart_data"):
            try:
                deltas, cutoffs = inv.delta_chart_data()
                if len(deltas):
                    inv_blocks.append(Figure(figures.invariance_delta_chart(deltas.astype(float), cutoffs),
                                             "Change in Fit Between Invariance Levels",
                                             note=f"Dashed lines: cut-offs of the decision rule ({ref}). Red bars "
                                                  "exceed the cut-off."))
            except Exception as exc:  # noqa: BLE001 - the figure is optional; say why it is missing
                inv_blocks.append(Paragraph(f"The Δfit chart could not be drawn: {exc}"))
        steps = getattr(inv, "partial_steps", None)
        if isinstance(steps, pd.DataFrame) and len(steps):
            keep = [c for c in ("level", "step", "released", "item", "parameter", "x2", "cfi", "delta_cfi",
                                "delta_rmsea", "delta_srmr", "holds") if c in steps.columns]
            ps = steps[keep].rename(columns={"x2": "Score χ²", "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA",
                                             "delta_srmr": "ΔSRMR", "cfi": "CFI"})
            if "holds" in ps:
                ps["holds"] = ps["holds"].map(lambda v: "yes" if bool(v) else "no")
            inv_blocks.append(Table(ps, "Constraints Released for Partial Invariance",
                                    digits={"Score χ²": 1, "CFI": 3, "ΔCFI": 3, "ΔRMSEA": 3, "ΔSRMR": 3},
                                    no_leading_zero=["CFI", "ΔCFI", "ΔRMSEA", "ΔSRMR"],
                                    note="Released in every group (lavaan's group.partial), largest univariate "
                                         "score test first (lavTestScore)."))
        sct = st.get("invariance_score_tests")
        if sct is not None and len(sct):
            top = sct.head(10)
            stab = pd.DataFrame({"Constraint": [f"{a} {o} {b}".strip() for a, o, b in zip(top["lhs"], top["op"], top["rhs"])],
                                 "Group": top["group"].astype(str), "Score χ²": top["x2"], "p": top["pvalue"],
                                 "p (Bonferroni)": top["p_bonferroni"], "EPC": top["epc"]})
            stab.index = pd.RangeIndex(1, len(stab) + 1, name="Rank")
            inv_blocks.append(Table(stab, "Largest Score Tests of the Equality Constraints ("
                                    + ("Intercepts Model)" if _is_categorical(inv) else "Scalar Model)"),
                                    digits={"Score χ²": 1, "EPC": 3}, p_values=["p", "p (Bonferroni)"],
                                    note=f"Univariate score tests (lavaan's lavTestScore; Sörbom, 1989) for freeing "
                                         f"one group's copy of a constrained loading (=~) or intercept (~1); "
                                         f"Bonferroni over all {len(sct)} constraints. They show where the groups "
                                         "differ most even when the fit-change rule accepts the level."))
            refs.add("Sörbom (1989)")
        ii = getattr(inv, "item_invariance", None)
        if isinstance(ii, pd.DataFrame) and len(ii) and getattr(inv, "non_invariant_items", ()):
            sel = ii[ii.index.get_level_values(-1).isin(inv.non_invariant_items)] if isinstance(
                ii.index, pd.MultiIndex) else ii
            if len(sel):
                inv_blocks.append(Table(sel, "Non-Invariant Items: Parameters and dMACS", digits=3,
                                        note="dMACS: standardized difference of the expected item scores between "
                                             "the reference and the focal group (Nye & Drasgow, 2011)."))
                refs.add("Nye & Drasgow (2011)")
        ld = getattr(inv, "latent_differences", None)
        if isinstance(ld, pd.DataFrame) and len(ld):
            keep = [c for c in ("mean_diff", "se", "pvalue", "std_mean_diff", "var_ratio", "var_diff_pvalue")
                    if c in ld.columns]
            ld = ld[keep].rename(columns={"mean_diff": "Mean diff.", "se": "SE", "pvalue": "p",
                                          "std_mean_diff": "Std. diff.", "var_ratio": "Variance ratio",
                                          "var_diff_pvalue": "p (variance)"}) if keep else ld
            inv_blocks.append(Table(ld, "Latent Mean and Variance Differences from the Reference Group", digits=3,
                                    p_values=[c for c in ld.columns if str(c).startswith("p") or "pvalue" in str(c)],
                                    note="Focal group minus reference group (whose latent means are fixed to 0), "
                                         "in the final invariance model; Std. diff. = difference / pooled latent SD."))
        if _diag_list(inv):
            inv_blocks.append(Diagnostics(_diag_list(inv), title="Estimation diagnostics"))

    # ---------------- relations
    rel_section: dict[str, Any] = {"blocks": []}
    hyp = st.get("hypotheses")
    rb = rel_section["blocks"]
    if hyp is not None:
        t = hyp.table
        vs = []
        for _, r in t[t["basis"] == "observed"].iterrows():
            status = {"supported": "met", "not supported": "not met", "inconclusive": "borderline"}.get(r["verdict"],
                                                                                                     "not assessed")
            vs.append(Verdict(f"{r['hypothesis']}: {r['description'] or (str(r['score']) + ' ↔ ' + str(r['measure_score']))}",
                              status, (r["r"]), str(r["expected"]), "Campbell & Fiske (1959)"))
        rb.append(Verdicts(vs, "Validity Hypotheses and Their Outcome",
                           note=f"Met: the whole {opts.conf_level:.0%} CI of r lies in the expected region; not met: "
                                "the whole CI lies outside it; borderline: the CI straddles a bound (inconclusive)."))
        ht = t[t["basis"] == "observed"].set_index("hypothesis")
        short = ht["score"].astype(str).str.replace(f"{scale.id}.", "", regex=False)
        corr = pd.DataFrame({"Score": short, "Measure score": ht["measure_score"].astype(str),
                             "r": ht["r"],
                             f"{opts.conf_level:.0%} CI": list(zip(ht["lower"], ht["upper"])),
                             "n": ht["n"].astype("int64"), "p": ht["p"]})
        corr.index.name = "Hypothesis"
        rb.append(Table(corr, "Correlations of the Scores with the Companion Measures", p_values=["p"],
                        digits={"n": 0}, no_leading_zero=["r", f"{opts.conf_level:.0%} CI"],
                        note="Pearson r of observed scores (respondents with both scores), Fisher-z interval."))
    elif scale.validity:
        rb.append(Paragraph("The validity hypotheses were not evaluated: companion measures "
                            + ", ".join(bits["not_found"] + bits["absent"]) + " were not found (pass --measures)."))
    cv = st.get("construct_validity")
    if cv is not None:
        r = cv.reliability
        avetab = pd.DataFrame({"Items": r["n_items"].astype("int64"), "CR": r["cr"], "ω": r["omega"], "AVE": r["ave"],
                               "√AVE": r["sqrt_ave"]})
        avetab.index = pd.Index([_sub_name(scale, f) for f in r.index], name="Factor")
        fl = cv.fornell_larcker.table.copy()
        fl.index.name = "Factor"  # subscale ids: the matrix stays narrow enough for the page
        rb.append(Table(avetab, "Convergent Validity of the Factors (Validation Sample CFA)", digits={"Items": 0},
                        no_leading_zero=["CR", "ω", "AVE", "√AVE"],
                        note="CR = composite reliability (standardized loadings); ω = semTools::compRelSEM; AVE = "
                             "average variance extracted (Fornell & Larcker, 1981)."))
        rb.append(Table(fl, "Fornell–Larcker Criterion", no_leading_zero=True,
                        note="Diagonal: √AVE; off-diagonal: latent correlations. The criterion holds when each "
                             "diagonal value exceeds the correlations in its row and column."))
        if cv.htmt is not None:
            hm = cv.htmt.matrix.copy()
            hm.index.name = "Factor"
            rb.append(Table(hm, "Heterotrait–Monotrait Ratios (HTMT2)", no_leading_zero=True,
                            note="Henseler et al. (2015); discriminant validity when HTMT < .85."))
        if cv.diagnostics:
            rb.append(Diagnostics(list(cv.diagnostics), title="Estimation diagnostics"))
    for note in st.get("validity_notes", []):
        rb.append(Paragraph(note))

    # ---------------- scoring
    key = st["scoring_key"]
    srows = []
    for sd in key.rules.scores:
        d = sd.to_dict()
        its = d.get("items") or []
        rev = set(d.get("reverse") or d.get("reversed") or [])
        srows.append({"Score": d.get("name"),
                      "Items": ", ".join(f"{i}(R)" if i in rev else str(i) for i in its),
                      "Reliability": (key.reliability.get(d.get("name")) or {}).get("value", np.nan)})
    sk = pd.DataFrame(srows).set_index("Score")
    scoring_blocks: list[Any] = [
        Paragraph(f"Score each subscale as the {key.rules.method} of its answered items after reversing reverse-keyed "
                  f"items (min + max − x), when at least {key.rules.min_answered:.0%} of its items are answered. "
                  "The machine-readable key (scoring_key.json) holds the spec, its hash, the reliabilities, the "
                  "invariance level and groups, the calibration sample and norms; psychometrics score uses it."),
        Table(sk, "Scoring Key", no_leading_zero=["Reliability"], digits={"Reliability": 3},
              note="R = reverse-keyed. Reliability: ω total of the calibration sample (α where ω is undefined)."),
    ]
    desc = st["scores"].descriptives.copy()
    desc.index.name = "Score"
    scoring_blocks.append(Table(desc, "Score Descriptives (Calibration Sample of the Key)",
                                digits={"n": 0}))
    if key.invariance:
        scoring_blocks.append(Paragraph(
            f"Invariance across {key.invariance.get('group_variable')}: {key.invariance.get('level')} "
            f"(groups: {', '.join(key.invariance.get('groups') or [])})."))

    # ---------------- summary facts and intro
    met = sum(v.status == "met" for v in verdicts)
    facts = {"Records read": q.rows_read, "Respondents analysed": n_an, "Items": len(item_ids),
             "Subscales": len(scale.subscales), "Calibration / validation n": f"{n_cal} / {n_val}",
             "Careless-responding flags": int(q.careless_flags.get("any", 0)),
             "Factors retained (PA / MAP)": (f"{pa.n_factors} / {mp.n_factors}" if pa is not None else "—"),
             "Estimation": ("ordinal (polychoric EFA, WLSMV CFA and invariance)" if st.get("ordinal")
                            else "continuous (Pearson EFA, ML CFA and invariance)"),
             "Criteria met": f"{met} of {len(verdicts)}"}
    if opts.group:
        facts["Groups"] = " / ".join(map(str, resp.group.astype(str).value_counts().index))
    review = _item_review(scale, st)
    intro = []
    if len(review):
        by_item = {}
        for item, src in zip(review.index, review["Source"]):
            by_item.setdefault(item, [])
            if src not in by_item[item]:
                by_item[item].append(src)
        intro.append("Items to review: " + "; ".join(f"{i} ({', '.join(v)})" for i, v in by_item.items())
                     + " — see Items to Review in the item analysis.")
    intro.append(f"Estimation: {st.get('ordinal_why')}. " + "; ".join(
        f"{k}: {v}" for k, v in _estimation(st).items() if "fallback" in v or "failed" in v or "could not" in v)
        if any("fallback" in v or "failed" in v or "could not" in v for v in _estimation(st).values())
        else f"Estimation: {st.get('ordinal_why')}.")
    inv_txt = (f"Measurement invariance across {opts.group}: {_inv_level(inv)}." if inv is not None else
               (st.get("invariance_note") or ""))
    if inv_txt:
        intro.append(inv_txt)

    all_diags = _all_diagnostics(st, bits)
    prov = dict(bits["provenance"])
    return {
        "title": title or f"Validation of the {scale.name}",
        "subtitle": subtitle or (f"{n_an} respondents: calibration (n = {n_cal}) and validation (n = {n_val}) "
                                 f"samples; seed {opts.seed}"),
        "scale": {"name": scale.name, "version": str(scale.version),
                  "construct": getattr(scale, "construct", None) or None,
                  "description": getattr(scale, "description", None) or None, "response_format": fmt},
        "summary": {"facts": facts, "verdicts": verdicts, "intro": intro,
                    "blocks": [Diagnostics(all_diags, title="All diagnostics")] if all_diags else []},
        "content": {"items": items_tab, "items_note": "R = reverse-keyed item.", "facets": facets},
        "data_quality": {"flow": flow, "exclusions": exclusions, "blocks": dq_blocks},
        "internal_structure": {"subsections": [
            {"title": "Item Analysis", "blocks": item_blocks},
            {"title": "Reliability", "intro": rel_intro, "blocks": rel_blocks},
            {"title": "Exploratory Factor Analysis", "intro": efa_intro, "blocks": efa_blocks},
            {"title": "Confirmatory Factor Analysis", "intro": cfa_intro, "blocks": cfa_blocks},
            {"title": "Measurement Invariance", "intro": inv_intro, "blocks": inv_blocks},
        ]},
        "relations": rel_section,
        "scoring": {"blocks": scoring_blocks},
        "provenance": prov,
        "references": sorted(REFERENCES[r] for r in refs if r in REFERENCES),
    }


def _cfa_n(fits: dict[str, Any]) -> str:
    ns = sorted({int(sum(f.nobs.values())) for f in fits.values()})
    return " / ".join(map(str, ns)) or "—"


def _delta_label(c: Any) -> str:
    s = str(c).lower()
    for k in ("cfi", "rmsea", "srmr"):
        if k in s:
            return "Δ" + k.upper()
    return str(c)


def _item_flag_rules(ia: Any) -> dict[str, str]:
    f = ia.flags
    if f.empty:
        return {}
    return dict(zip(f["rule"], f["description"]))


def _item_review(scale: Any, st: dict[str, Any]) -> pd.DataFrame:
    rows = []
    f = st["items"].flags
    for _, r in f.iterrows():
        if r["rule"] in ("ceiling", "floor"):
            continue  # reported in the item table; a skewed agreement scale has many
        rows.append({"Item": r["item"], "Source": "item analysis", "Rule": r["description"], "Value": r["value"]})
    e = st["efa"]
    for _, r in e.flags.iterrows():
        rows.append({"Item": r["item"], "Source": "EFA", "Rule": str(r["rule"]).replace("_", " "),
                     "Value": r["value"]})
    main = st["cfa"].get("correlated")
    mi = _mod_indices(main) if main is not None else None
    if mi is not None and not mi.empty:
        for _, r in mi[(mi["op"] == "=~") & (mi["mi"] >= 10)].iterrows():
            rows.append({"Item": r["rhs"], "Source": "CFA", "Rule": f"MI for a loading on {r['lhs']} ≥ 10",
                         "Value": r["mi"]})
    inv = st.get("invariance")
    steps = getattr(inv, "partial_steps", None) if inv is not None else None
    if isinstance(steps, pd.DataFrame) and len(steps) and "item" in steps:
        for _, r in steps.iterrows():
            rows.append({"Item": str(r["item"]), "Source": "invariance",
                         "Rule": f"{r.get('level', '')}: {r.get('parameter', '')} released ({r.get('released', '')})",
                         "Value": r.get("x2", np.nan)})
    if inv is not None and _is_categorical(inv) and isinstance(steps, pd.DataFrame):
        accepted = set(_inv_freed(inv))
        for _, r in steps.iterrows():
            if r["released"] in accepted:
                rel = str(r["released"])
                item = rel.split("=~")[-1] if "=~" in rel else rel.split("|")[0].split("~")[0]
                rows.append({"Item": item.strip(), "Source": "invariance",
                             "Rule": f"{r['level']}: {rel} released across groups (partial invariance, WLSMV)",
                             "Value": r.get("x2", np.nan)})
    for item, rule, value in _dif_items(st.get("invariance_score_tests")):
        rows.append({"Item": item, "Source": "invariance", "Rule": rule, "Value": value})
    out = pd.DataFrame(rows, columns=["Item", "Source", "Rule", "Value"])
    order = {i: k for k, i in enumerate(scale.item_ids)}
    out = out.sort_values(["Item"], key=lambda s: s.map(order), kind="stable").set_index("Item")
    return out


# ==================================================================== demo
def demo(out: str | Path, seed: int = 0, n: int | None = None, quiet: bool = False,
         command: str | None = None, options: Mapping[str, Any] | None = None) -> ValidationResult:
    """Simulate the embedded mentorship study and validate it.

    Writes ``out/responses.csv`` (the simulated data) and the validation outputs. The
    scale, companion measures and group come from the study file; the data SHA-256 in
    the report is that of ``responses.csv``, so ``psychometrics validate`` on those files
    reproduces it.
    """
    from psychometrics.simulate import default_study_path, load_study, simulate_study, write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = load_study(default_study_path())
    df = simulate_study(study, n=n, seed=seed)
    data_path = write_table(df, out / "responses.csv")
    files = study.scale_files
    measures = [str(files[m.id]) for m in study.measures]
    planted = study.planted
    return validate(
        files[study.scale.id], data_path, group=study.group_column, measures=measures, seed=seed, out=out,
        quiet=quiet, id_column="id", options=options, command=command,
        subtitle=(f"Simulated demo study '{study.id}' (n = {len(df)}, seed {seed}); planted problems: weak items "
                  f"{', '.join(planted['weak_items']) or 'none'}, cross-loading "
                  f"{', '.join(planted['cross_loading_items']) or 'none'}, DIF "
                  f"{', '.join(d['item'] + ' in ' + d['group'] for d in planted['dif']) or 'none'}"),
        extra_provenance={"simulation": {"study": study.id, "n": len(df), "seed": seed,
                                         "planted": to_jsonable(planted)}},
    )
