"""Short form: information-based item selection on the calibration sample, re-validation on the
validation sample, and the short form's scale specification.

Procedure (stated in the result and the report; deterministic — no randomness after the split):

1. Per subscale, a GRM is calibrated on the calibration sample.
2. Items are excluded for misfit (S-X², Benjamini–Hochberg p < .01) and, with a grouping
   variable, for DIF (ordinal logistic regression class B or C); if that leaves fewer items
   than requested, the excluded items with the largest information are taken back (said in
   the notes).
3. Greedy forward selection: at each step the item that most increases the marginal
   reliability ρ̄ = 1 − Σ_q w_q / (I(θ_q) + 1) of the selected set (ties: scale order), until
   ``per_subscale`` items — and further until ``min_reliability`` when given. Every subscale
   keeps at least one item (content coverage).
4. Re-validation on the validation sample: α of the short and full subscales, ω (one-factor
   CFA) of the short subscale, the correlated-factors CFA of the short form, and the
   correlation of short and full scores, raw and corrected for the shared items (Levy 1967):
   the short score's error variance (1 − α_S) σ²_S, contained in both scores, is removed
   from their covariance: r_c = (cov(S, F) − (1 − α_S) σ²_S) / (σ_S σ_F).
   With a grouping variable, measurement invariance of the short form's correlated-factors
   model across the groups on the validation sample with the decision rule ``invariance_rule``:
   for ordinal items (``ordinal=True``) the categorical ladder configural → thresholds →
   loadings → intercepts by WLSMV (:func:`psychometrics.invariance.categorical_invariance`, an
   empty category in one group merged with its neighbour), as the pipeline does for the full
   scale; otherwise — or when the categorical models fail, said in the notes — the ML ladder
   configural → metric → scalar → strict (:func:`psychometrics.invariance.measurement_invariance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics.exceptions import DataError, PsychometricsError, quiet_warnings
from psychometrics.irt.calibrate import calibrate
from psychometrics.irt.results import IRTCalibration
from psychometrics.irt.scores import information

__all__ = ["ShortForm", "select_items", "short_form", "short_scale_spec", "levy_corrected_r"]

PROCEDURE = ("information-based greedy forward selection per subscale on the calibration sample (GRM, marginal "
             "reliability criterion), after excluding items with S-X² misfit (BH p < .01) or IRT DIF class B/C; "
             "re-validated on the validation sample")


@dataclass(frozen=True, eq=False)
class ShortForm(ResultMixin):
    """The chosen items, how they were chosen, and the re-validation on the validation sample."""

    items: dict[str, tuple[str, ...]]
    selection: pd.DataFrame
    revalidation: pd.DataFrame
    cfa_fit: dict[str, float] | None
    procedure: str
    n_calibration: int
    n_validation: int
    notes: tuple[str, ...] = ()
    diagnostics: tuple[str, ...] = field(default=())
    #: invariance ladder of the short form on the validation sample (None without a group)
    invariance: pd.DataFrame | None = None
    #: highest level that holds (``"<level> (partial)"`` when it needed released constraints)
    invariance_level: str | None = None
    #: estimator of the invariance models: ``"WLSMV"`` (categorical) or ``"ML"``
    invariance_method: str | None = None

    _title = "Short form"

    def to_frame(self) -> pd.DataFrame:
        return self.revalidation


def _marginal_rel(info_q: np.ndarray, weights: np.ndarray) -> float:
    return float(1.0 - np.sum(weights / (info_q + 1.0)))


def select_items(
    cal: IRTCalibration, per_subscale: int, exclude: dict[str, str] | None = None, min_reliability: float | None = None
) -> tuple[list[str], pd.DataFrame, list[str]]:
    """Greedy selection within one calibration; returns (chosen, per-item table, notes)."""
    exclude = dict(exclude or {})
    info = information(cal, cal.nodes)[list(cal.items)].to_numpy()  # (Q, J)
    order = list(cal.items)
    notes: list[str] = []
    pool = [i for i in order if i not in exclude]
    if len(pool) < per_subscale:
        back = sorted((i for i in order if i in exclude), key=lambda i: -float(info[:, order.index(i)] @ cal.weights))
        need = per_subscale - len(pool)
        notes.append(f"only {len(pool)} item(s) without misfit/DIF; taken back: {', '.join(back[:need])}")
        pool += back[:need]
        for i in back[:need]:
            exclude.pop(i)
    chosen: list[str] = []
    current = np.zeros(cal.nodes.size)
    rows = {i: {"excluded": exclude.get(i, ""), "step": np.nan, "marginal_reliability_after": np.nan} for i in order}
    while pool:
        enough = len(chosen) >= per_subscale and (
            min_reliability is None or _marginal_rel(current, cal.weights) >= min_reliability)
        if enough:
            break
        gains = [_marginal_rel(current + info[:, order.index(i)], cal.weights) for i in pool]
        best = pool[int(np.argmax(gains))]
        current = current + info[:, order.index(best)]
        chosen.append(best)
        pool.remove(best)
        rows[best].update(step=len(chosen), marginal_reliability_after=max(gains))
    if min_reliability is not None and _marginal_rel(current, cal.weights) < min_reliability:
        notes.append(f"marginal reliability {_marginal_rel(current, cal.weights):.3f} stays below "
                     f"{min_reliability:.2f} with every eligible item")
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["selected"] = table.index.isin(chosen)
    return chosen, table, notes


def levy_corrected_r(short: pd.Series, full: pd.Series, alpha_short: float) -> tuple[float, float]:
    """Raw correlation of short and full scores, and the overlap-corrected one (Levy 1967, see module)."""
    ok = short.notna() & full.notna()
    s, f = short[ok].to_numpy(float), full[ok].to_numpy(float)
    cov = np.cov(s, f)
    raw = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    corr = (cov[0, 1] - (1.0 - alpha_short) * cov[0, 0]) / np.sqrt(cov[0, 0] * cov[1, 1])
    return float(raw), float(corr)


def _alpha(frame: pd.DataFrame) -> float:
    from psychometrics.reliability.alpha import cronbach_alpha

    return float(cronbach_alpha(frame, ci=None).alpha)


def _omega(frame: pd.DataFrame) -> float:
    from psychometrics.reliability.cfa_omega import omega_cfa

    try:
        return float(omega_cfa(frame).omega)
    except PsychometricsError:
        return np.nan


def short_form(
    items: pd.DataFrame,
    subscales: dict[str, list[str]],
    calibration: pd.Index,
    validation: pd.Index,
    *,
    per_subscale: int = 3,
    min_reliability: float | None = None,
    group: pd.Series | None = None,
    invariance_rule: str = "auto",
    ordinal: bool = False,
) -> ShortForm:
    """Select a short form on ``calibration`` rows and re-validate it on ``validation`` rows.

    ``items`` are the scored (reverse-keyed items reversed) responses; ``subscales`` maps
    subscale id → item ids. See the module docstring for the procedure.
    """
    from psychometrics.irt.dif import ordinal_logistic_dif
    from psychometrics.irt.fit import item_fit
    from psychometrics.irt.scores import eap_scores

    if per_subscale < 1:
        raise DataError("per_subscale must be at least 1")
    cal_data = items.loc[calibration]
    val_data = items.loc[validation]
    chosen: dict[str, tuple[str, ...]] = {}
    tables, notes = [], []
    for sid, ids in subscales.items():
        if len(ids) <= per_subscale:
            chosen[sid] = tuple(ids)
            notes.append(f"{sid}: {len(ids)} item(s), all kept")
            tables.append(pd.DataFrame({"subscale": sid, "selected": True, "excluded": "", "step": np.nan,
                                        "marginal_reliability_after": np.nan}, index=ids))
            continue
        with quiet_warnings():
            cal = calibrate(cal_data, ids)
        exclude: dict[str, str] = {}
        fit = item_fit(cal, cal_data)
        for i in fit.index[fit["p_bh"] < 0.01]:
            exclude[i] = "S-X² misfit"
        if group is not None:
            with quiet_warnings():
                dif = ordinal_logistic_dif(cal_data, group.loc[calibration].astype(str),
                                           eap_scores(cal, cal_data)["theta"], ids)
            for i in dif.index[dif["jodoin_gierl"].isin(["B", "C"])]:
                exclude[i] = (exclude.get(i, "") + "; " if i in exclude else "") + f"DIF class {dif.at[i, 'jodoin_gierl']}"
        picked, tab, n = select_items(cal, per_subscale, exclude, min_reliability)
        chosen[sid] = tuple(i for i in ids if i in picked)
        tables.append(tab.assign(subscale=sid))
        notes += [f"{sid}: {x}" for x in n]
    selection = pd.concat(tables)
    selection.index.name = "item"
    rows = {}
    full_total = val_data[[i for ids in subscales.values() for i in ids]].mean(axis=1)
    short_total = val_data[[i for ids in chosen.values() for i in ids]].mean(axis=1)
    for sid, ids in subscales.items():
        short_ids = list(chosen[sid])
        a_short = _alpha(val_data[short_ids]) if len(short_ids) > 1 else np.nan
        raw, corr = levy_corrected_r(val_data[short_ids].mean(axis=1), val_data[ids].mean(axis=1), a_short)
        rows[sid] = {"items_full": len(ids), "items_short": len(short_ids), "alpha_full": _alpha(val_data[ids]),
                     "alpha_short": a_short, "omega_short": _omega(val_data[short_ids]) if len(short_ids) > 2 else np.nan,
                     "r_short_full": raw, "r_short_full_corrected": corr}
    a_tot = _alpha(val_data[[i for ids in chosen.values() for i in ids]])
    raw, corr = levy_corrected_r(short_total, full_total, a_tot)
    rows["total"] = {"items_full": sum(len(v) for v in subscales.values()), "items_short": sum(len(v) for v in chosen.values()),
                     "alpha_full": _alpha(val_data[[i for ids in subscales.values() for i in ids]]), "alpha_short": a_tot,
                     "omega_short": np.nan, "r_short_full": raw, "r_short_full_corrected": corr}
    cfa_fit = _short_cfa(val_data, chosen, notes)
    inv_table, inv_level, inv_method = ((None, None, None) if group is None else
                                        _short_invariance(val_data, chosen, group, notes, invariance_rule, ordinal))
    return ShortForm(items=chosen, selection=selection, revalidation=pd.DataFrame.from_dict(rows, orient="index"),
                     cfa_fit=cfa_fit, procedure=PROCEDURE, n_calibration=len(calibration),
                     n_validation=len(validation), notes=tuple(notes), invariance=inv_table,
                     invariance_level=inv_level, invariance_method=inv_method)


_INV_COLUMNS = ["compared_with", "chisq", "df", "pvalue", "cfi", "rmsea", "srmr", "delta_chisq", "delta_df",
                "delta_pvalue", "delta_cfi", "delta_rmsea", "holds"]


def _short_invariance(val_data: pd.DataFrame, chosen: dict[str, tuple[str, ...]], group: pd.Series,
                      notes: list[str], rule: str = "auto", ordinal: bool = False
                      ) -> tuple[pd.DataFrame | None, str | None, str | None]:
    """Invariance of the short form's correlated-factors model across ``group`` on the validation rows
    (WLSMV categorical ladder for ordinal items, else — or when that fails — the ML ladder)."""
    from psychometrics.cfa import models
    from psychometrics.invariance import categorical_invariance, measurement_invariance

    col = "__group__"
    frame = val_data[[i for ids in chosen.values() for i in ids]].copy()
    frame[col] = group.reindex(frame.index).astype("string")
    missing = int(frame[col].isna().sum())
    if missing:
        notes.append(f"invariance of the short form: {missing} validation row(s) without a group excluded")
        frame = frame.loc[frame[col].notna()]
    frame[col] = frame[col].astype(str)
    model = models.correlated_factors({k: list(v) for k, v in chosen.items()})
    inv, method = None, "ML"
    with quiet_warnings():
        if ordinal:
            try:
                inv = categorical_invariance(model, frame, col, rule=rule, empty_categories="collapse")
                method = "WLSMV"
            except PsychometricsError as exc:
                notes.append(f"categorical (WLSMV) invariance of the short form failed ({exc}); the ML ladder is "
                             "reported instead")
        if inv is None:
            try:
                inv = measurement_invariance(model, frame, col, rule=rule)
            except PsychometricsError as exc:
                notes.append(f"invariance of the short form not assessed ({exc})")
                return None, None, None
    table = inv.table[[c for c in _INV_COLUMNS if c in inv.table.columns]].copy()
    level = f"{inv.level} (partial)" if getattr(inv, "partial_level", False) else str(inv.level)
    notes.append(f"invariance of the short form across {group.name or 'the groups'} (validation sample, {method}, "
                 f"rule {inv.rule}): {level}")
    return table, level, method


def _short_cfa(val_data: pd.DataFrame, chosen: dict[str, tuple[str, ...]], notes: list[str]) -> dict[str, float] | None:
    """Correlated-factors ML CFA of the short form on the validation sample (CFI, TLI, RMSEA, SRMR)."""
    from psychometrics.cfa import fit_cfa, models

    try:
        with quiet_warnings():
            fit = fit_cfa(models.correlated_factors({k: list(v) for k, v in chosen.items()}), val_data)
        return {k: float(fit.fit[k]) for k in ("chisq", "df", "cfi", "tli", "rmsea", "srmr") if k in fit.fit}
    except PsychometricsError as exc:
        notes.append(f"CFA of the short form not estimated ({exc})")
        return None


def short_scale_spec(scale: Any, chosen: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The short form as a scale specification: the chosen items, next major version, '(short form)' name."""
    spec = scale.to_dict()
    keep = {i for ids in chosen.values() for i in ids}
    spec["items"] = [it for it in spec["items"] if it["id"] in keep]
    if spec.get("reverse_keyed"):
        spec["reverse_keyed"] = [i for i in spec["reverse_keyed"] if i in keep]
    major = int(str(spec["version"]).split(".")[0])
    spec["version"] = f"{major + 1}.0.0"
    spec["name"] = f"{spec['name']} (short form)"
    return spec

