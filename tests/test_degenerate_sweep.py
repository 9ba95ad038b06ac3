"""Sweep of every public function over degenerate data (issue 14, class 5).

How the list of public functions was obtained
--------------------------------------------
Programmatically: the ``__all__`` of each pipeline subpackage in :data:`PACKAGES`
(``psychometrics.scale`` … ``psychometrics.crosscheck``). :func:`test_every_public_name_is_swept_or_exempt`
walks those lists at test time, so a name added to an ``__all__`` without an entry in
:data:`SWEEP` (a call on degenerate data) or :data:`EXEMPT` (with the reason it needs none)
fails the suite. Names that are automatically exempt: constants and modules (not callable),
result containers (subclasses of ``ResultMixin``: they hold numbers, they do not compute
them) and the exception classes. Swept as well although not re-exported by
``psychometrics.irt``: DIF (``irt.dif.ordinal_logistic_dif``), the GPCM and the Rasch-family
CML fit (``irt.cml.fit_cml``), and item fit / local dependence (``irt.fit``).

What is checked
---------------
Each sweep entry is called on good data (it must succeed: the adapter is right) and on
each degenerate case below — constant item, all items constant, identical items, a reversed
copy, a linear combination of two items, one row, zero rows, an all-NaN item and (for
functions with a grouping variable) a group with one row. Matrix-valued functions
(AVE, composite reliability, latent correlations, factor scores, dmacs …) get matrices
computed from the degenerate data (zero variances, NaN, singular covariances). A call may

* raise an error of the package (``PsychometricsError``) — for the item-level cases
  (constant, identical, NaN item …) its message must name one of the items concerned;
* warn with a package warning (``PsychometricsWarning``) or record a diagnostic — for the
  item-level cases one of the new messages must name one of the items concerned;
* or return a result whose numbers are all finite where they were finite on good data (a
  degeneracy that does not matter for the function, e.g. a copied item for ``longstring``).

It fails on any other exception (``ZeroDivisionError``, ``LinAlgError``, ``TypeError`` …),
on any ``RuntimeWarning`` (numpy's "invalid value" / "divide by zero", scipy's
``LinAlgWarning``) and on a *silent* NaN: a NaN/inf in the result where the good-data result
had a finite number, without a new package warning or recorded diagnostic.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.exceptions import PsychometricsError, PsychometricsWarning

MINI = Path(__file__).parent / "data" / "mini_scale.yaml"
PACKAGES = ("scale", "data", "items", "reliability", "efa", "cfa", "invariance", "irt", "validity",
            "scoring", "ordinal", "plan", "simulate", "crosscheck")
ITEMS = ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2"]
BLOCKS = {"alpha": ITEMS[:3], "beta": ITEMS[3:6], "gamma": ITEMS[6:]}
MODEL = "alpha =~ A1 + A2 + A3\nbeta =~ B1 + B2 + B3\ngamma =~ C1 + C2"
BIFACTOR = MODEL + "\ng =~ " + " + ".join(ITEMS)


# --------------------------------------------------------------------- data
@lru_cache(maxsize=1)
def _good() -> pd.DataFrame:
    rng = np.random.default_rng(14)
    n = 90
    f = rng.normal(size=(n, 3)) @ np.linalg.cholesky(np.array([[1, .4, .3], [.4, 1, .35], [.3, .35, 1]])).T
    cols = {}
    for j, item in enumerate(ITEMS):
        factor = "ABC".index(item[0])
        sign = -1 if item in ("A3", "C2") else 1  # the scale's reverse-keyed items
        cols[item] = np.clip(np.round(3 + sign * 1.1 * f[:, factor] + rng.normal(size=n)), 1, 5)
    df = pd.DataFrame(cols)
    df["grp"] = np.where(np.arange(n) % 2, "m", "f")
    return df


def _case(name: str) -> tuple[pd.DataFrame, set[str]]:
    """(data, the items the degeneracy concerns — empty when it concerns rows)."""
    g = _good().copy()
    if name == "good":
        return g, set()
    if name == "constant_item":
        return g.assign(A2=3.0), {"A2"}
    if name == "all_constant":
        return g.assign(**{i: 3.0 for i in ITEMS}), set(ITEMS)
    if name == "identical":
        return g.assign(A2=g["A1"]), {"A1", "A2"}
    if name == "reversed_copy":
        return g.assign(B3=6 - g["B1"]), {"B1", "B3"}
    if name == "linear_combination":
        return g.assign(C1=(g["A1"] + g["B1"]) / 2), {"A1", "B1", "C1"}
    if name == "one_row":
        return g.iloc[:1], set()
    if name == "no_rows":
        return g.iloc[:0], set()
    if name == "nan_item":
        return g.assign(A2=np.nan), {"A2"}
    if name == "one_row_group":
        g.loc[g.index[0], "grp"] = "solo"
        return g, set()
    raise KeyError(name)


CASES = ["constant_item", "all_constant", "identical", "reversed_copy", "linear_combination", "one_row",
         "no_rows", "nan_item"]
GROUP_CASES = CASES + ["one_row_group"]


@lru_cache(maxsize=1)
def _scale():
    from psychometrics.scale import Scale

    return Scale.from_yaml(MINI)


def _quiet(fn):
    """Inputs the adapters compute from degenerate data (means of no rows …) warn in numpy and
    pandas; those warnings are the test's, not the function's under test."""
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return wrapper


@_quiet
def _subscale_scores(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({b: df[items].mean(axis=1) for b, items in BLOCKS.items()})


@_quiet
def _loadings(df: pd.DataFrame) -> pd.DataFrame:
    """Items × subscales: item–subscale-score correlations on the item's own block (0 elsewhere)."""
    scores = _subscale_scores(df)
    out = pd.DataFrame(0.0, index=ITEMS, columns=list(BLOCKS))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b, items in BLOCKS.items():
            for i in items:
                out.loc[i, b] = df[i].corr(scores[b]) if len(df) > 1 else np.nan
    return out


@_quiet
def _cov(df: pd.DataFrame) -> pd.DataFrame:
    return df[ITEMS].cov()


@_quiet
def _latent_cov(df: pd.DataFrame) -> pd.DataFrame:
    return _subscale_scores(df).cov()


@_quiet
def _theta(df: pd.DataFrame) -> pd.DataFrame:
    lam = _loadings(df)
    return pd.DataFrame(np.diag(1 - (lam ** 2).sum(axis=1)), index=ITEMS, columns=ITEMS)


@lru_cache(maxsize=1)
def _good_calibration():
    from psychometrics.irt import calibrate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calibrate(_good()[ITEMS], model="grm")


@lru_cache(maxsize=1)
def _good_norms():
    from psychometrics.scoring import build_norms

    return build_norms(_subscale_scores(_good()))


# ----------------------------------------------------------- the adapters
def _fit(df, model=MODEL, **kw):
    from psychometrics.cfa import fit_cfa

    return fit_cfa(model, df, **kw)


def _categorical_fit(df, grouped=False, model=MODEL):
    from psychometrics.cfa import fit_categorical
    from psychometrics.ordinal import ordinal_sample_stats

    stats, groups = ordinal_sample_stats(df, ITEMS, "grp" if grouped else None)[:2]
    return fit_categorical(model, stats, groups=groups if grouped else None)


# NaN that is part of a function's documented result (checked for the other problems only)
PER_PERSON = ("per-respondent screening index: NaN is its documented value for a respondent whose index is "
              "undefined (e.g. a singular covariance matrix); careless_screens (swept) records the diagnostic")


def _sweep() -> dict[str, tuple]:
    """'package.name' → (callable(df), grouped?[, why a NaN in the result is not silent])."""
    import psychometrics.data as D
    import psychometrics.efa as E
    import psychometrics.invariance as INV
    import psychometrics.irt as IRT
    import psychometrics.items as IT
    import psychometrics.ordinal as O
    import psychometrics.reliability as R
    import psychometrics.scoring as S
    import psychometrics.validity as V
    from psychometrics.cfa import compare, scaled_difference_test
    from psychometrics.irt.cml import fit_cml
    from psychometrics.irt.dif import ordinal_logistic_dif
    from psychometrics.irt.fit import item_fit, local_dependence

    it = lambda d: d[ITEMS]  # noqa: E731
    sc = _scale

    @_quiet
    def dmacs_args(d):
        lam, nu = _loadings(d), d[ITEMS].mean()
        ref, foc = d[d["grp"] == "f"], d[d["grp"] != "f"]
        return (lam.loc["A1", "alpha"], ref["A1"].mean(), _loadings(foc).loc["A1", "alpha"],
                foc["A1"].mean(), 0.0, _latent_cov(foc).loc["alpha", "alpha"], d["A1"].std())

    def dmacs(d):
        return INV.dmacs(*dmacs_args(d))

    def irt_scores(fn):
        return lambda d: fn(_good_calibration(), it(d))

    @_quiet
    def category_props(d):
        return [d[i].value_counts(normalize=True).reindex([1.0, 2, 3, 4, 5]).to_numpy()[None, :] for i in ITEMS]

    def lord_wingersky(d):
        return IRT.lord_wingersky(category_props(d))

    def norms_apply(d):
        return S.apply_norms(_subscale_scores(d), _good_norms())

    def data_dictionary(d):
        return S.data_dictionary(S.score(sc(), it(d)))

    return {
        # data
        "data.load_responses": (lambda d: D.load_responses(d, sc(), "grp"), True),
        "data.careless_screens": (lambda d: D.careless_screens(it(d), it(d), sc()), False),
        "data.longstring": (lambda d: D.longstring(it(d)), False),
        "data.mahalanobis": (lambda d: D.mahalanobis(it(d)), False, PER_PERSON),
        "data.missing_data_diagnostics": (lambda d: D.missing_data_diagnostics(d, ITEMS, "grp"), True),
        "data.little_mcar": (lambda d: D.little_mcar(it(d)), False),
        "data.evenodd": (lambda d: D.evenodd(it(d), sc()), False, PER_PERSON),
        "data.sufficient_stats": (lambda d: D.sufficient_stats(d, ITEMS, [1, 2, 3, 4, 5], group="grp"), True),
        # items
        "items.item_analysis": (lambda d: IT.item_analysis(it(d), sc()), False),
        # reliability
        "reliability.cronbach_alpha": (lambda d: R.cronbach_alpha(it(d)), False),
        "reliability.omega": (lambda d: R.omega(it(d)), False),
        "reliability.omega_cfa": (lambda d: R.omega_cfa(it(d)), False),
        "reliability.omega_bifactor": (lambda d: R.omega_bifactor(_fit(d, BIFACTOR, std_lv=True, orthogonal=True),
                                                                  "g"), False),
        "reliability.guttman": (lambda d: R.guttman(it(d)), False),
        "reliability.split_half": (lambda d: R.split_half(it(d)), False),
        "reliability.standard_error_of_measurement": (lambda d: R.standard_error_of_measurement(it(d)), False),
        "reliability.reliability": (lambda d: R.reliability(it(d), ci=None), False),
        "reliability.scale_reliability": (lambda d: R.scale_reliability(it(d), sc(), ci=None), False),
        # efa
        "efa.kmo": (lambda d: E.kmo(it(d)), False),
        "efa.bartlett": (lambda d: E.bartlett(it(d)), False),
        "efa.efa": (lambda d: E.efa(it(d), n_factors=2), False),
        "efa.efa[ml, promax]": (lambda d: E.efa(it(d), n_factors=2, method="ml", rotation="promax"), False),
        "efa.efa[pa, varimax]": (lambda d: E.efa(it(d), n_factors=2, method="pa", rotation="varimax"), False),
        "efa.item_flags": (lambda d: E.item_flags(_loadings(d), (_loadings(d) ** 2).sum(axis=1)), False),
        "efa.parallel_analysis": (lambda d: E.parallel_analysis(it(d), n_iter=20, seed=0), False),
        "efa.map_test": (lambda d: E.map_test(it(d)), False),
        "efa.scree": (lambda d: E.scree(it(d)), False),
        "efa.kaiser": (lambda d: E.kaiser(it(d)), False),
        "efa.empirical_kaiser": (lambda d: E.empirical_kaiser(it(d)), False),
        "efa.retention_summary": (lambda d: E.retention_summary(it(d), n_iter=20, seed=0), False),
        # cfa
        "cfa.fit_cfa": (lambda d: _fit(d, group="grp"), True),
        "cfa.compare": (lambda d: compare(_fit(d, "g =~ " + " + ".join(ITEMS)), _fit(d)), False),
        "cfa.fit_categorical": (lambda d: _categorical_fit(d, grouped=True), True),
        "cfa.scaled_difference_test": (lambda d: scaled_difference_test(
            _categorical_fit(d), _categorical_fit(d, model="g =~ " + " + ".join(ITEMS))), False),
        # invariance
        "invariance.measurement_invariance": (lambda d: INV.measurement_invariance(
            MODEL, d, "grp", levels=("configural", "metric", "scalar"), partial=False), True),
        "invariance.categorical_invariance": (lambda d: INV.categorical_invariance(
            MODEL, d, "grp", levels=("configural", "thresholds"), partial=False), True),
        "invariance.dmacs": (dmacs, True),
        # irt
        "irt.calibrate": (lambda d: IRT.calibrate(it(d), model="grm"), False),
        "irt.calibrate[gpcm]": (lambda d: IRT.calibrate(it(d), model="gpcm"), False),
        "irt.cml.fit_cml[pcm]": (lambda d: fit_cml(it(d) - 1, model="pcm"), False),
        "irt.fit.item_fit": (irt_scores(item_fit), False),
        "irt.fit.local_dependence": (irt_scores(local_dependence), False),
        "irt.eap_scores": (irt_scores(IRT.eap_scores), False),
        "irt.ml_scores": (irt_scores(IRT.ml_scores), False),
        "irt.information": (lambda d: IRT.information(IRT.calibrate(it(d), model="grm")), False),
        "irt.marginal_reliability": (lambda d: IRT.marginal_reliability(IRT.calibrate(it(d), model="grm")), False),
        "irt.empirical_reliability": (lambda d: IRT.empirical_reliability(
            IRT.eap_scores(_good_calibration(), it(d))), False),
        "irt.lord_wingersky": (lord_wingersky, False),
        "irt.sum_score_table": (lambda d: IRT.sum_score_table(IRT.calibrate(it(d), model="grm")), False),
        "irt.dif.ordinal_logistic_dif": (lambda d: ordinal_logistic_dif(
            it(d), d["grp"], (it(d).mean(axis=1) - it(d).mean(axis=1).mean())), True),
        # validity
        "validity.composite_reliability": (lambda d: V.composite_reliability(_loadings(d)), False),
        "validity.composite_reliability_sem": (lambda d: V.composite_reliability_sem(
            _loadings(d), _latent_cov(d), _cov(d)), False),
        "validity.ave": (lambda d: V.ave(_loadings(d)), False),
        "validity.ave_sem": (lambda d: V.ave_sem(_loadings(d), _latent_cov(d), _cov(d)), False),
        "validity.fornell_larcker": (lambda d: V.fornell_larcker(V.ave(_loadings(d)),
                                                                 _subscale_scores(d).corr()), False),
        "validity.htmt": (lambda d: V.htmt(d, BLOCKS), False),
        "validity.correlate": (lambda d: V.correlate(d["A1"], d["A2"]), False),
        "validity.correlation_table": (lambda d: V.correlation_table(it(d)), False),
        "validity.evaluate_hypotheses": (lambda d: V.evaluate_hypotheses(
            [{"id": "H", "description": "x", "scale_score": "alpha", "measure": "mini", "measure_score": "beta",
              "kind": "convergent", "direction": "positive", "min_abs_r": 0.1}],
            V.observed_scores({"mini": _subscale_scores(d)}), scale_id="mini"), False),
        "validity.observed_scores": (lambda d: V.observed_scores({"mini": _subscale_scores(d)}), False),
        "validity.latent_correlations": (lambda d: V.latent_correlations(_latent_cov(d)), False),
        "validity.construct_validity": (lambda d: V.construct_validity(_fit(d), d), False),
        # scoring
        "scoring.score": (lambda d: S.score(sc(), it(d)), False),
        "scoring.coefficient_alpha": (lambda d: S.coefficient_alpha(it(d)), False),
        "scoring.factor_scores": (lambda d: S.factor_scores(it(d), _loadings(d), _theta(d),
                                                            _subscale_scores(d).corr()), False),
        "scoring.build_norms": (lambda d: S.build_norms(_subscale_scores(d).assign(grp=d["grp"]), "grp"), True),
        "scoring.apply_norms": (norms_apply, False),
        "scoring.ScoringKey": (lambda d: S.ScoringKey.build(sc(), it(d), date="2026-01-01"), False),
        "scoring.data_dictionary": (data_dictionary, False),
        # ordinal
        "ordinal.polychoric": (lambda d: O.polychoric(it(d)), False),
        "ordinal.ordinal_alpha": (lambda d: O.ordinal_alpha(it(d)), False),
        "ordinal.categorical_omega_from_cfa": (lambda d: O.categorical_omega_from_cfa(_categorical_fit(d)), False),
        "ordinal.ordinal_sample_stats": (lambda d: O.ordinal_sample_stats(d, ITEMS, "grp"), True),
        # crosscheck (independent engines)
        "crosscheck.crosscheck_cfa": (lambda d: __import__("psychometrics.crosscheck", fromlist=["x"])
                                      .crosscheck_cfa(MODEL, it(d)), False),
        "crosscheck.crosscheck_efa": (lambda d: __import__("psychometrics.crosscheck", fromlist=["x"])
                                      .crosscheck_efa(it(d), 2), False),
    }


_NO_DATA = "takes no response data (a population/study model); its inputs are checked in test_plan/test_simulate"
EXEMPT = {
    "scale.Scale": "specification model (no arithmetic); hostile specs are fuzzed in test_fuzz_cli",
    "scale.find_companions": "file discovery, no arithmetic; tested in test_cli_hostile (class 6)",
    **{f"scale.{n}": "specification model (no arithmetic)" for n in
       ("Item", "Subscale", "ResponseFormat", "Hierarchy", "Scoring", "ValidityHypothesis")},
    "data.sufficient_stats_dask": "the partition-wise form of data.sufficient_stats (swept); needs a Dask cluster",
    "data.GroupStats": "per-group container filled by sufficient_stats (swept)",
    "cfa.build_spec": "model syntax → parameter table; no data (syntax errors: test_cfa_syntax)",
    "cfa.parse_model": "model syntax parser; no data (syntax errors: test_cfa_syntax)",
    "cfa.ModelSpec": "parameter table built by build_spec; no data",
    "cfa.Parameter": "one row of a ModelSpec; no data",
    "cfa.OrdinalSampleStats": "container filled by ordinal.ordinal_sample_stats (swept)",
    "ordinal.OrdinalSampleStats": "container filled by ordinal.ordinal_sample_stats (swept)",
    "invariance.DecisionRule": "cut-off values of an invariance decision rule; no data",
    "ordinal.bivariate_normal_cdf": "elementwise numeric kernel (NaN in → NaN out); callers (polychoric) are swept",
    "ordinal.categorical_omega": "matrix form; swept through categorical_omega_from_cfa, which calls it",
    "validity.score_key": "string formatting of a column name; no arithmetic",
    "validity.Hypothesis": "a validity hypothesis (spec fields); swept through evaluate_hypotheses",
    "scoring.ScoreDefinition": "a score's items and keys (spec); swept through scoring.score",
    "scoring.ScoringRules": "scoring rules from a spec or key; swept through scoring.score",
    "scoring.FactorScoreModel": "matrices for factor_scores (swept) taken from a fitted CFA",
    "scoring.NormTable": "one norm table of Norms; swept through build_norms/apply_norms",
    "scoring.write_scores": "writes a ScoreResult to a file; no arithmetic (test_scoring, test_io)",
    "scoring.write_data_dictionary": "writes data_dictionary (swept) to a file",
    **{f"plan.{n}": _NO_DATA for n in ("monte_carlo", "Population", "from_study", "from_syntax", "load_population")},
    **{f"simulate.{n}": _NO_DATA for n in ("Study", "StudySpec", "load_study", "simulate_study",
                                           "default_study_path", "embedded_scales_dir")},
    "simulate.write_table": "writes a DataFrame to a file; no arithmetic",
}


def _auto_exempt(obj) -> bool:
    from psychometrics._results import ResultMixin

    if not callable(obj) or inspect.ismodule(obj):
        return True
    return inspect.isclass(obj) and (issubclass(obj, (ResultMixin, BaseException)))


def test_every_public_name_is_swept_or_exempt():
    sweep = _sweep()
    missing = []
    for pkg in PACKAGES:
        module = importlib.import_module(f"psychometrics.{pkg}")
        for name in module.__all__:
            key = f"{pkg}.{name}"
            if key in sweep or key in EXEMPT or _auto_exempt(getattr(module, name)):
                continue
            missing.append(key)
    assert not missing, ("public names neither in the degenerate-input sweep nor exempt (add them to SWEEP "
                         f"in tests/test_degenerate_sweep.py, or to EXEMPT with a reason): {missing}")
    assert not set(EXEMPT) & set(sweep)


# --------------------------------------------------------------- checking
def _nonfinite_paths(obj, path="", depth=0, seen=None) -> set[str]:
    """Where a result holds NaN/inf (paths like 'alpha', 'table[x1,r]')."""
    seen = set() if seen is None else seen
    if depth > 4 or id(obj) in seen:
        return set()
    seen.add(id(obj))
    out: set[str] = set()
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return out
    if isinstance(obj, (float, np.floating)):
        return {path} if not math.isfinite(obj) else out
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        num = obj.select_dtypes("number")
        if num.size:
            bad = ~np.isfinite(num.to_numpy(dtype=float))
            for r, c in zip(*np.nonzero(bad)):
                out.add(f"{path}[{num.index[r]},{num.columns[c]}]")
        return out
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            out |= {f"{path}[{i}]" for i in map(tuple, np.argwhere(~np.isfinite(obj))[:200])}
        return out
    if isinstance(obj, dict):
        for k, v in list(obj.items())[:200]:
            out |= _nonfinite_paths(v, f"{path}.{k}", depth + 1, seen)
        return out
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:200]):
            out |= _nonfinite_paths(v, f"{path}[{i}]", depth + 1, seen)
        return out
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            out |= _nonfinite_paths(getattr(obj, f.name, None), f"{path}.{f.name}", depth + 1, seen)
    return out


def _diagnostics(obj, depth=0) -> list[str]:
    """The messages of the diagnostics recorded on a result (and on results inside it)."""
    if depth > 3 or obj is None:
        return []
    out = [str(getattr(d, "message", d)) for d in (getattr(obj, "diagnostics", None) or ())
           if not isinstance(getattr(obj, "diagnostics", None), (str, bytes))]
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name != "diagnostics":
                out += _diagnostics(getattr(obj, f.name, None), depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj[:20]:
            out += _diagnostics(v, depth + 1)
    return out


def _messages(result, caught) -> set[str]:
    return ({str(w.message) for w in caught if issubclass(w.category, PsychometricsWarning)}
            | set(_diagnostics(result)))


def _call(fn, df):
    """(result or None, exception or None, caught warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # numpy's defaults: divide/invalid/overflow warn, underflow (harmless) is ignored
        np_err = np.seterr(divide="warn", invalid="warn", over="warn", under="ignore")
        try:
            return fn(df), None, caught
        except Exception as exc:  # noqa: BLE001 - classified by the caller
            return None, exc, caught
        finally:
            np.seterr(**np_err)


@lru_cache(maxsize=None)
def _baseline(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """Where the good-data result is NaN/inf, and the warnings it gives."""
    fn = _sweep()[name][0]
    result, exc, caught = _call(fn, _case("good")[0])
    assert exc is None, f"{name} fails on good data (the adapter is wrong): {type(exc).__name__}: {exc}"
    return frozenset(_nonfinite_paths(result)), frozenset(_messages(result, caught))


def _names(name: str, items: set[str]) -> list[str]:
    """How a message may name the items: by name, or by position for functions that take
    unlabelled arrays (lord_wingersky: a list of per-item probability tables)."""
    if name == "irt.lord_wingersky":
        return [f"item {ITEMS.index(i) + 1} " for i in items]
    return list(items)


def _problems(name: str, case: str) -> list[str]:
    fn, _, *nan_ok = _sweep()[name]
    baseline, baseline_messages = _baseline(name)
    df, concerned = _case(case)
    result, exc, caught = _call(fn, df)
    ours = [w for w in caught if issubclass(w.category, PsychometricsWarning)]
    foreign = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    problems = [f"{w.category.__name__}: {str(w.message)[:120]} ({Path(w.filename).name}:{w.lineno})"
                for w in foreign]
    if exc is not None:
        if not isinstance(exc, PsychometricsError):
            problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        elif concerned and not any(i in str(exc) for i in _names(name, concerned)) and "all" not in case:
            problems.append(f"{type(exc).__name__} names none of {sorted(concerned)}: {str(exc)[:200]}")
        return problems
    new_messages = _messages(result, caught) - baseline_messages
    new_nan = _nonfinite_paths(result) - baseline
    if new_nan and not new_messages and not nan_ok:
        problems.append(f"silent NaN/inf at {sorted(new_nan)[:5]}")
    if (concerned and new_messages and "all" not in case
            and not any(i in m for m in new_messages for i in _names(name, concerned))):
        problems.append(f"its warnings name none of {sorted(concerned)}: {sorted(new_messages)[:2]}")
    return problems


@pytest.mark.parametrize("name", sorted(_sweep()))
def test_degenerate_inputs_give_typed_errors_or_warnings(name):
    grouped = _sweep()[name][1]
    failures = {case: p for case in (GROUP_CASES if grouped else CASES) if (p := _problems(name, case))}
    assert not failures, "\n".join(f"{name} on {case}: {'; '.join(p)}" for case, p in failures.items())
