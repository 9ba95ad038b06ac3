"""The options of :func:`~psychometrics.pipeline.validate`: fields, allowed values, config files,
the merge of defaults < config < explicit arguments < options, and the ordinal/continuous choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psychometrics.exceptions import SpecError
from psychometrics._text import quote

if TYPE_CHECKING:
    from psychometrics.scale import Scale

__all__ = ["ValidationOptions", "CHOICES", "option_problems", "load_config", "merge_options", "resolve_ordinal",
           "ORDINAL_MAX_CATEGORIES", "ordinal_missing", "Estimation", "resolve_estimation"]


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
    columns : mapping or None
        Data column → item id for columns not named by item id (``--map COL=ITEM``).
    sheet : str, int or None
        Excel sheet (name or 0-based position; default the first).
    sep : str or None
        Delimiter of a text file (default: by extension, detected for ``.txt``).
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
    scheduler : str or None
        Address of a Dask scheduler (default: ``DASK_SCHEDULER_ADDRESS``, else Dask's local
        in-process scheduler) for the one-pass statistics of a partitioned Parquet dataset
        (``docs/large-samples.md``).
    ordinal : {"auto", "yes", "no"}
        Treat the items as ordinal: polychoric EFA, ordinal α and categorical ω beside
        the usual coefficients, WLSMV CFA and categorical invariance. ``auto`` (default)
        does so when every item has a Likert format with at most 7 categories
        (Rhemtulla, Brosseau-Liard & Savalei, 2012); ``no`` uses the continuous (ML,
        Pearson) methods throughout. An ordinal step that fails falls back to the
        continuous method with a diagnostic saying so.
    crosscheck : bool
        Re-fit the declared CFA model with semopy and the EFA with factor_analyzer on the same
        rows and report the agreement (needs ``pip install "scalevalid[crosscheck]"``).
    template : str or None
        A custom report template folder (``docs/report.md``); ``--template`` overrides it.
    missing : {"auto", "listwise", "fiml", "pairwise"}
        Missing item responses in the structural analyses. ``auto`` (default): FIML for
        continuous items (every row with at least one answered item; EFA and reliability on the
        EM estimate of the covariance matrix), pairwise for ordinal items; ``listwise`` keeps
        the old complete-case analyses.
    estimator : {"auto", "ML", "MLR", "WLSMV"}
        CFA / invariance estimator. ``auto`` (default): MLR (robust ML: sandwich SEs,
        Yuan–Bentler scaled χ², robust CFI/TLI/RMSEA) for continuous items, WLSMV for ordinal
        items; ``ML`` the normal-theory statistics. ``WLSMV`` applies to ordinal items only.
    irt : bool
        Calibrate a graded response model per subscale and for the total (item fit,
        information, sum-score → EAP tables, ordinal logistic regression DIF and, with a
        ``group``, multi-group likelihood-ratio DIF; default True).
    irt_bifactor : bool
        Also calibrate a bifactor GRM of the whole scale (specific factor = subscale) when the
        spec declares a total score. Default False: the bifactor model by marginal ML costs
        several seconds even at the demo's n (two-dimensional quadrature per subscale), more
        than the rest of the IRT section together.
    short_form : int or None
        Choose a short form with this many items per subscale on the calibration sample and
        re-validate it on the validation sample (α/ω, CFA, invariance across ``group``,
        overlap-corrected short–full correlation); a "Short Form" subsection in the report and
        ``short_form`` in results.json. Default None (not run); ``psychometrics shorten`` also
        writes the short form's scale YAML.
    """

    group: str | None = None
    measures: tuple[str, ...] = ()
    split: float = 0.5
    seed: int = 0
    id_column: str | None = None
    out_of_range: str = "error"
    missing_group: str = "error"
    columns: Mapping[str, str] | None = None
    sheet: str | int | None = None
    sep: str | None = None
    exclude_careless: bool = False
    n_boot: int = 200
    parallel_iter: int = 200
    efa_method: str = "minres"
    rotation: str = "oblimin"
    conf_level: float = 0.95
    invariance_sample: str = "full"
    invariance_rule: str = "auto"
    ordinal: str = "auto"
    crosscheck: bool = False
    template: str | None = None
    missing: str = "auto"
    estimator: str = "auto"
    irt: bool = True
    irt_bifactor: bool = False
    scheduler: str | None = None
    short_form: int | None = None

    def __post_init__(self) -> None:
        problems = option_problems(dataclasses.asdict(self))
        if problems:
            raise SpecError("Invalid options: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["measures"] = list(self.measures)
        d["columns"] = None if self.columns is None else dict(self.columns)
        return d


#: Allowed values of the options that take a name.
CHOICES: dict[str, tuple[str, ...]] = {
    "out_of_range": ("error", "missing"),
    "missing_group": ("error", "exclude"),
    "efa_method": ("minres", "ml", "pa"),
    "rotation": ("oblimin", "promax", "geomin", "varimax", "quartimax"),
    "invariance_sample": ("full", "validation"),
    "ordinal": ("auto", "yes", "no"),
    "missing": ("auto", "listwise", "fiml", "pairwise"),
    "estimator": ("auto", "ML", "MLR", "WLSMV"),
    "invariance_rule": ("auto", "chen2007", "chen2007_small", "cheung_rensvold2002", "rutkowski_svetina2014", "chisq"),
}

_FIELDS = frozenset(f.name for f in dataclasses.fields(ValidationOptions))


def _is_int(v: Any) -> bool:
    import numpy as np

    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    import numpy as np

    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def option_problems(d: Mapping[str, Any]) -> list[str]:
    """One sentence per invalid value in ``d`` (option name → value), naming the option."""
    out = []
    for key, choices in CHOICES.items():
        if key in d and d[key] not in choices:
            shown = ", ".join("null (default)" if c is None else c for c in choices)
            out.append(f"{key}: must be one of {shown}, got {quote(d[key])}")
    if "split" in d and not (_is_num(d["split"]) and 0 < float(d["split"]) < 1):
        out.append(f"split: must be a number strictly between 0 and 1, got {quote(d['split'])}")
    if "seed" in d and not (_is_int(d["seed"]) and d["seed"] >= 0):
        out.append(f"seed: must be a non-negative integer, got {quote(d['seed'])}")
    if "n_boot" in d and not (_is_int(d["n_boot"]) and (d["n_boot"] == 0 or d["n_boot"] >= 20)):
        out.append(f"n_boot: must be 0 or an integer ≥ 20, got {quote(d['n_boot'])}")
    if "parallel_iter" in d and not (_is_int(d["parallel_iter"]) and d["parallel_iter"] >= 2):
        out.append(f"parallel_iter: must be an integer ≥ 2, got {quote(d['parallel_iter'])}")
    if "conf_level" in d and not (_is_num(d["conf_level"]) and 0.5 <= float(d["conf_level"]) < 1):
        out.append(f"conf_level: must be a number in [0.5, 1), got {quote(d['conf_level'])}")
    for key in ("exclude_careless", "crosscheck", "irt", "irt_bifactor"):
        if key in d and not isinstance(d[key], bool):
            out.append(f"{key}: must be true or false, got {quote(d[key])}")
    if d.get("template") is not None and not isinstance(d["template"], str):
        out.append(f"template: must be a folder path (text), got {quote(d['template'])}")
    if "columns" in d and d["columns"] is not None and not (
            isinstance(d["columns"], Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in d["columns"].items())):
        out.append(f"columns: must map data column names to item ids (text: text), got {quote(d['columns'])}")
    if "sheet" in d and d["sheet"] is not None and not (isinstance(d["sheet"], str) or _is_int(d["sheet"])):
        out.append(f"sheet: must be a sheet name or a 0-based position, got {quote(d['sheet'])}")
    if "sep" in d and d["sep"] is not None and not (isinstance(d["sep"], str) and d["sep"]):
        out.append(f"sep: must be a delimiter (text), got {quote(d['sep'])}")
    for key in ("group", "id_column"):
        if key in d and d[key] is not None and not isinstance(d[key], str):
            out.append(f"{key}: must be a column name (text), got {quote(d[key])}")
    if "scheduler" in d and d["scheduler"] is not None and not isinstance(d["scheduler"], str):
        out.append(f"scheduler: must be a Dask scheduler address such as tcp://host:8786, got {quote(d['scheduler'])}")
    if d.get("short_form") is not None and not (_is_int(d["short_form"]) and d["short_form"] >= 1):
        out.append(f"short_form: must be a whole number of items per subscale (≥ 1), got {quote(d['short_form'])}")
    if "measures" in d:
        m = d["measures"]
        if isinstance(m, str) or not isinstance(m, (list, tuple)) or not all(isinstance(x, str) for x in m):
            out.append(f"measures: must be a list of file paths, got {quote(m)}")
    return out


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file of :func:`validate` options (``yaml.safe_load``).

    Keys are the fields of :class:`ValidationOptions`; relative ``measures`` paths are
    resolved against the config file's folder. Raises :class:`SpecError` naming the file
    and the field for an unknown key or a bad value.
    """
    import difflib

    from psychometrics._yaml import load_yaml

    path = Path(path)
    data = load_yaml(path, "Config file", SpecError)
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
            hint = f"; did you mean {quote(close[0])}?" if close else ""
            problems.append(f"{key}: unknown option{hint} (allowed: {', '.join(allowed)})")
    problems += option_problems({k: v for k, v in data.items() if k in allowed})
    if problems:
        raise SpecError(f"Invalid config file {path}: {len(problems)} problem{'s' * (len(problems) > 1)}\n  "
                        + "\n  ".join(problems))
    out = dict(data)
    if "measures" in out:
        out["measures"] = [str((path.parent / m).resolve()) if not Path(m).is_absolute() else m
                           for m in out["measures"]]
    return out


def merge_options(config: str | Path | Mapping[str, Any] | None, explicit: Mapping[str, Any],
                  options: Mapping[str, Any] | None) -> ValidationOptions:
    """The options of a run: defaults < ``config`` < ``explicit`` arguments < ``options``.

    An explicit argument overrides the config only when it differs from its default (so
    ``validate(..., config=cfg)`` keeps the config's ``seed``), or when the config does not
    set it. Raises :class:`SpecError` listing every unknown option and invalid value.
    """
    merged: dict[str, Any] = {}
    if config is not None:
        merged.update(load_config(config) if not isinstance(config, Mapping) else dict(config))
        unknown = set(merged) - _FIELDS
        if unknown:
            raise SpecError(f"Invalid options: unknown option(s) {', '.join(sorted(unknown))}")
    defaults = ValidationOptions()
    for k, v in explicit.items():
        if v != getattr(defaults, k) or k not in merged:
            merged[k] = v
    merged.update(options or {})
    if "measures" in merged:
        merged["measures"] = tuple(map(str, merged["measures"]))
    problems = option_problems(merged)
    unknown = set(merged) - _FIELDS
    if unknown:
        problems.append(f"unknown option(s): {', '.join(sorted(unknown))}")
    if problems:
        raise SpecError("Invalid options: " + "; ".join(problems))
    return ValidationOptions(**merged)


#: Most response categories for which ``ordinal: auto`` uses the ordinal methods.
ORDINAL_MAX_CATEGORIES = 7


def resolve_ordinal(scale: Scale, opts: ValidationOptions) -> tuple[bool, str]:
    """Whether the ordinal methods are used, and why (one sentence for the report)."""
    cats = list(scale.response_format.categories)
    if opts.ordinal == "no":
        return False, "continuous methods throughout (option ordinal: no)"
    if not cats:
        why = "the response format is continuous, so continuous methods are used"
        return False, why + (" (option ordinal: yes ignored)" if opts.ordinal == "yes" else "")
    if opts.ordinal == "yes":
        return True, f"ordinal methods (option ordinal: yes; {len(cats)} response categories)"
    if len(cats) <= ORDINAL_MAX_CATEGORIES:
        return True, (f"ordinal methods, because every item has {len(cats)} ≤ {ORDINAL_MAX_CATEGORIES} response "
                      "categories (option ordinal: auto; Rhemtulla et al., 2012)")
    return False, (f"continuous methods, because the items have {len(cats)} > {ORDINAL_MAX_CATEGORIES} response "
                   "categories (option ordinal: auto)")


def ordinal_missing(opts: ValidationOptions) -> str:
    """Missing-value handling of the ordinal steps: ``"pairwise"`` (default) or ``"listwise"``.

    ``missing: fiml`` applies to continuous items; ordinal (WLSMV) steps then use pairwise
    deletion, lavaan's choice for categorical data.
    """
    return "listwise" if opts.missing == "listwise" else "pairwise"


@dataclass(frozen=True)
class Estimation:
    """How the continuous (ML-family) analyses treat missing values and which estimator they use.

    ``estimator``: ``"ML"`` or ``"MLR"``; ``missing``: ``"ml"`` (FIML) or ``"listwise"`` (the names of
    :func:`psychometrics.cfa.fit_cfa`); ``why``: one sentence for the report.
    """

    estimator: str = "MLR"
    missing: str = "ml"
    why: str = ""

    @property
    def fiml(self) -> bool:
        return self.missing == "ml"

    @property
    def label(self) -> str:
        return f"{self.estimator}, {'FIML' if self.fiml else 'listwise deletion'}"


def resolve_estimation(opts: ValidationOptions, ordinal: bool) -> Estimation:
    """The estimator and missing-data method of the continuous analyses (also the ML fallbacks of ordinal ones)."""
    notes = []
    est = opts.estimator
    if est in ("auto", "WLSMV"):
        if est == "WLSMV" and not ordinal:
            notes.append("estimator: WLSMV applies to ordinal items; MLR used for the continuous analyses")
        est = "MLR"
    miss = opts.missing
    if miss == "pairwise" and not ordinal:
        notes.append("missing: pairwise applies to ordinal items; FIML used for the continuous analyses")
    missing = "listwise" if miss == "listwise" else "ml"
    why = (f"{est} with {'FIML (every row with at least one answered item)' if missing == 'ml' else 'listwise deletion'}"
           f" (options estimator: {opts.estimator}, missing: {opts.missing})")
    if notes:
        why += "; " + "; ".join(notes)
    return Estimation(est, missing, why)
