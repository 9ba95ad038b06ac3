"""Result objects of the IRT calibrations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin

__all__ = ["IRTCalibration", "CMLResult"]


@dataclass(frozen=True)
class IRTCalibration(ResultMixin):
    """A marginal-ML calibration (GRM, GPCM or 2PL) with θ ~ N(0, 1).

    ``parameters`` has one row per item: slope ``a``, intercepts ``c1..`` (slope–intercept
    form, logistic metric, D = 1), ``b1..`` (GRM/2PL thresholds ``b_k = -c_k/a``; GPCM step
    difficulties ``d_k = -c_k/a``) and the standard errors ``se_*`` (inverse observed
    information by Louis 1982; delta method for ``b``). ``covariance`` is labelled
    ``item:a``, ``item:c1``, ….
    """

    model: str
    items: tuple[str, ...]
    n_obs: int
    n_patterns: int
    loglik: float
    n_parameters: int
    aic: float
    bic: float
    converged: bool
    em_cycles: int
    newton_steps: int
    max_abs_gradient: float
    quadrature_rule: str
    quadrature_points: int
    parameters: pd.DataFrame
    covariance: pd.DataFrame = field(repr=False)
    category_values: dict[str, tuple[float, ...]] = field(repr=False)
    nodes: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    collapsed_categories: tuple[tuple[str, float], ...] = ()
    n_dropped_rows: int = 0
    diagnostics: tuple[str, ...] = ()
    link: str = "logit"  # "probit": normal-ogive GRM/2PL, P(X >= k) = Φ(aθ + c_k) (irt/_probit.py)

    _title = "IRT calibration (marginal maximum likelihood)"

    def to_frame(self) -> pd.DataFrame:
        """The item parameter table."""
        return self.parameters

    @property
    def engine_model(self) -> str:
        """The response function used internally: ``grm`` (also for the 2PL), ``grm_probit`` or ``gpcm``."""
        if self.model == "gpcm":
            return "gpcm"
        return "grm_probit" if self.link == "probit" else "grm"

    @property
    def n_categories(self) -> pd.Series:
        return pd.Series({i: len(self.category_values[i]) for i in self.items}, name="categories")

    def item_arrays(self) -> list[tuple[float, np.ndarray]]:
        """(a, c) per item, in item order (fresh arrays each call). The parameter table is read once per
        calibration (a frozen result: the values are kept beside its fields) — a row lookup per item cost
        ≈ 0.1 ms each and the table's label lookups ≈ 2 ms per read, and the IRT step asks for a calibration's
        (a, c) dozens of times."""
        held = self.__dict__.get("_item_values")
        if held is None:
            ks = [len(self.category_values[item]) for item in self.items]
            cols = ["a"] + [f"c{v}" for v in range(1, max(ks, default=1))]
            rows, at = self.parameters.index.get_indexer(list(self.items)), self.parameters.columns.get_indexer(cols)
            if rows.min(initial=0) < 0 or at.min(initial=0) < 0:
                raise KeyError(f"parameter table without the rows {list(self.items)[:5]} or the columns {cols}")
            held = (self.parameters.to_numpy(dtype=float)[np.ix_(rows, at)], ks)
            object.__setattr__(self, "_item_values", held)  # (not a field: equality and to_dict unchanged)
        vals, ks = held
        return [(float(row[0]), row[1:k].copy()) for row, k in zip(vals, ks)]


@dataclass(frozen=True)
class CMLResult(ResultMixin):
    """Conditional ML calibration of a Rasch-family model (Rasch, PCM, RSM).

    ``betapar`` are eRm's easiness parameters β_jk (P(X_j = k | θ) ∝ exp(kθ + β_jk)),
    normalised to Σ β = 0 (RM, PCM) or with item locations summing to zero and ω_1 = 0
    (RSM); ``thresholds`` the step difficulties −(β_jk − β_j,k−1) with their mean
    ("location").
    """

    model: str
    items: tuple[str, ...]
    n_obs: int
    conditional_loglik: float
    n_parameters: int
    iterations: int
    converged: bool
    betapar: pd.Series
    se_betapar: pd.Series
    thresholds: pd.DataFrame
    eta: pd.Series
    se_eta: pd.Series
    covariance_eta: pd.DataFrame = field(repr=False)
    diagnostics: tuple[str, ...] = ()

    _title = "Rasch-family calibration (conditional maximum likelihood)"

    def to_frame(self) -> pd.DataFrame:
        return self.thresholds
