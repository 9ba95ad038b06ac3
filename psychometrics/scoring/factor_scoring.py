"""Factor scores (regression / Bartlett) from the model matrices of a fitted CFA.

(Named ``factor_scoring`` rather than ``factor_scores`` so that the module does not shadow
the function :func:`factor_scores` re-exported by :mod:`psychometrics.scoring`.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["FactorScoreModel", "factor_scores"]


@dataclass(frozen=True)
class FactorScoreModel:
    """Labelled model matrices of a fitted single-group CFA (continuous indicators).

    Attributes
    ----------
    Lambda : DataFrame
        Loadings, items x factors (a higher-order factor has a column of zeros).
    Theta : DataFrame
        Residual covariances, items x items.
    Psi : DataFrame
        Factor (residual) covariances, factors x factors.
    nu : Series or None
        Item intercepts; None = the sample means of the data scored (lavaan's choice
        for a model without mean structure).
    alpha : Series or None
        Factor (residual) means; None = 0.
    Beta : DataFrame or None
        Regressions among factors (``Beta.loc[lower, higher]`` is the loading of a
        first-order factor on a higher-order factor); None = no higher-order factors.
    """

    Lambda: pd.DataFrame
    Theta: pd.DataFrame
    Psi: pd.DataFrame
    nu: pd.Series | None = None
    alpha: pd.Series | None = None
    Beta: pd.DataFrame | None = None

    @property
    def factors(self) -> list[str]:
        return [str(c) for c in self.Lambda.columns]

    @classmethod
    def from_estimates(cls, estimates: pd.DataFrame, group: str | None = None
                       ) -> FactorScoreModel:
        """From a lavaan-style parameter table (``lhs, op, rhs, est`` [, ``group``]).

        This is the layout of ``CFAResult.estimates`` and of
        ``lavaan::parameterEstimates``. ``=~`` rows give loadings (or, between factors,
        higher-order loadings), ``~~`` rows variances/covariances, ``~1`` rows
        intercepts/means. For a multi-group fit, ``group`` selects the group.
        """
        need = {"lhs", "op", "rhs", "est"}
        if not isinstance(estimates, pd.DataFrame) or not need <= set(estimates.columns):
            raise DataError("a parameter table needs the columns lhs, op, rhs, est")
        pe = estimates
        if "group" in pe.columns:
            labels = list(dict.fromkeys(str(g) for g in pe["group"]))
            if group is None:
                if len(labels) > 1:
                    raise DataError(f"the fit has groups {', '.join(labels)}: choose whose "
                                    "model matrices score the data with "
                                    "FactorScoreModel.from_fit(fit, group=...)")
                group = labels[0]
            if str(group) not in labels:
                raise DataError(f"group {quote(group)} is not in the fit; groups: {', '.join(labels)}")
            pe = pe[pe["group"].astype(str) == str(group)]
        load = pe[pe["op"] == "=~"]
        latent = list(dict.fromkeys(load["lhs"].astype(str)))
        observed = list(dict.fromkeys(r for r in load["rhs"].astype(str) if r not in latent))
        if not latent:
            raise DataError("the parameter table has no loadings (=~ rows)")
        lam = pd.DataFrame(0.0, index=observed, columns=latent)
        beta = pd.DataFrame(0.0, index=latent, columns=latent)
        for r in load.itertuples(index=False):
            if str(r.rhs) in latent:
                beta.loc[str(r.rhs), str(r.lhs)] = float(r.est)
            else:
                lam.loc[str(r.rhs), str(r.lhs)] = float(r.est)
        theta = pd.DataFrame(0.0, index=observed, columns=observed)
        psi = pd.DataFrame(0.0, index=latent, columns=latent)
        for r in pe[pe["op"] == "~~"].itertuples(index=False):
            a, b = str(r.lhs), str(r.rhs)
            target = theta if a in observed else psi
            if a not in target.index or b not in target.index:
                raise DataError(f"covariance {a} ~~ {b} mixes items and factors; factor scores "
                                "need a measurement model")
            target.loc[a, b] = target.loc[b, a] = float(r.est)
        means = pe[pe["op"] == "~1"]
        nu = alpha = None
        if len(means):
            m = {str(a): float(e) for a, e in zip(means["lhs"], means["est"])}
            nu = pd.Series([m.get(i, 0.0) for i in observed], index=observed)
            alpha = pd.Series([m.get(f, 0.0) for f in latent], index=latent)
        other = sorted(set(pe["op"]) - {"=~", "~~", "~1", ":=", "==", "<", ">", "|", "~*~"})
        if other:
            raise DataError(f"factor scores need a measurement model; the fit also has "
                            f"{', '.join(other)} rows")
        return cls(lam, theta, psi, nu, alpha, beta if beta.to_numpy().any() else None)

    @classmethod
    def from_fit(cls, fit: Any, group: str | None = None) -> FactorScoreModel:
        """From a :class:`FactorScoreModel`, a CFA result or a mapping of matrices.

        A CFA result (:class:`psychometrics.cfa.CFAResult`) is read through its
        parameter table ``estimates`` (see :meth:`from_estimates`). A mapping holds
        ``Lambda``/``Theta``/``Psi`` (and optionally ``nu``/``alpha``/``Beta``) as
        labelled frames.
        """
        if isinstance(fit, FactorScoreModel):
            return fit
        est = getattr(fit, "estimates", None)
        if isinstance(est, pd.DataFrame):
            return cls.from_estimates(est, group)
        if isinstance(fit, pd.DataFrame):
            return cls.from_estimates(fit, group)
        if isinstance(fit, Mapping):
            low = {str(k).lower(): v for k, v in fit.items()}
            try:
                return cls(pd.DataFrame(low["lambda"]), pd.DataFrame(low["theta"]),
                           pd.DataFrame(low["psi"]),
                           None if low.get("nu") is None else pd.Series(low["nu"], dtype=float),
                           None if low.get("alpha") is None else
                           pd.Series(low["alpha"], dtype=float),
                           None if low.get("beta") is None else pd.DataFrame(low["beta"]))
            except KeyError as exc:
                raise DataError(f"model matrices lack {quote(exc.args[0])}") from None
        raise DataError(
            f"cannot read a fitted model from {type(fit).__name__}; pass a CFA result, a "
            "parameter table or FactorScoreModel(Lambda, Theta, Psi, nu, alpha)")


def factor_scores(
    data: pd.DataFrame,
    Lambda: pd.DataFrame,
    Theta: pd.DataFrame,
    Psi: pd.DataFrame,
    nu: pd.Series | Sequence[float] | None = None,
    alpha: pd.Series | Sequence[float] | None = None,
    method: str = "regression",
    Beta: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Factor scores from labelled CFA model matrices (regression or Bartlett).

    With ``Sigma = Lambda Psi Lambda' + Theta``, ``mu = nu + Lambda alpha`` and the
    observed part ``o`` of each row ``y`` (missing values are allowed: each missing
    pattern uses the rows/columns of its observed items, as lavaan does with
    ``missing = "ml"``):

    * regression (Thurstone): ``f = alpha + Psi Lambda_o' Sigma_oo^-1 (y_o - mu_o)``
    * Bartlett: ``f = alpha + (Lambda_o' Sigma_oo^-1 Lambda_o)^-1 Lambda_o' Sigma_oo^-1 (y_o - mu_o)``
      (equal to the usual ``Theta^-1`` form and defined also when an error variance
      is zero).

    Parameters
    ----------
    data : DataFrame
        Item responses, columns named as ``Lambda``'s rows (extra columns ignored),
        scored the way the model was fitted (i.e. reverse-keyed if it was).
    Lambda, Theta, Psi : DataFrame
        Loadings (items x factors), residual covariances, factor covariances.
    nu : Series, optional
        Item intercepts; default the column means of ``data`` (lavaan's choice for a
        model without mean structure).
    alpha : Series, optional
        Factor means; default 0.
    method : {"regression", "bartlett"}
    Beta : DataFrame, optional
        Higher-order loadings (``Beta.loc[lower, higher]``); then ``Psi`` and ``alpha``
        are the residual (co)variances and means of the factors and the scores use
        ``Var(eta) = (I - B)^-1 Psi (I - B)^-T`` and ``E(eta) = (I - B)^-1 alpha``.

    Returns
    -------
    DataFrame
        One column per factor, same index as ``data``; rows with no observed item
        are missing. A Bartlett score needs observed indicators of the factor: for a
        higher-order factor it is missing (lavaan reports the factor mean there).

    Raises
    ------
    DataError
        Indicators absent from or non-numeric in ``data``; labels of the matrices that do
        not match; or regressions among factors (``Beta``) with a singular ``I - B``
        (a loop), naming the factors involved.

    Notes
    -----
    Validated against ``lavaan::lavPredict(fit, method = "regression")`` and
    ``method = "Bartlett"`` on Holzinger-Swineford (complete data, ``missing = "ml"``,
    no mean structure, second-order model): ``tests/reference/scoring/hs*_lavpredict_*.csv``.

    References
    ----------
    Bartlett, M. S. (1937). The statistical conception of mental factors. *British
    Journal of Psychology*, 28, 97-104. Thurstone, L. L. (1935). *The Vectors of Mind*.
    """
    model = FactorScoreModel(pd.DataFrame(Lambda), pd.DataFrame(Theta), pd.DataFrame(Psi),
                             None if nu is None else _labelled(nu, Lambda.index, "nu"),
                             None if alpha is None else _labelled(alpha, Lambda.columns, "alpha"),
                             None if Beta is None else pd.DataFrame(Beta))
    return _factor_scores_model(data, model, method)


def _labelled(v: Any, labels: pd.Index, name: str) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.astype(float)
    arr = np.asarray(v, dtype=float).ravel()
    if arr.size != len(labels):
        raise DataError(f"{name} has {arr.size} values but the model has {len(labels)}")
    return pd.Series(arr, index=labels)


def _factor_scores_model(data: pd.DataFrame, model: FactorScoreModel, method: str
                         ) -> pd.DataFrame:
    m = method.lower()
    if m not in ("regression", "bartlett"):
        raise DataError(f"factor-score method must be 'regression' or 'bartlett', not {quote(method)}")
    L = model.Lambda
    ov = [str(i) for i in L.index]
    absent = [i for i in ov if i not in data.columns]
    if absent:
        raise DataError(f"data lack the model's indicator(s) {', '.join(absent)}")
    try:
        theta = model.Theta.loc[L.index, L.index].to_numpy(float)
        psi = model.Psi.loc[L.columns, L.columns].to_numpy(float)
    except KeyError as exc:
        raise DataError(f"Theta/Psi labels do not match Lambda: {exc}") from None
    lam = L.to_numpy(float)
    for name, mat, labels in (("Lambda", lam, ov), ("Theta", theta, ov), ("Psi", psi, [str(c) for c in L.columns])):
        if not np.isfinite(mat).all():
            bad = [labels[i] for i in range(len(labels)) if not np.isfinite(mat[i]).all()]
            raise DataError(f"{name} has missing or infinite entries (rows {', '.join(bad[:12])}); "
                            "factor scores need a complete estimated model")
    try:
        y = data[ov].astype("float64").to_numpy()
    except (TypeError, ValueError):
        bad = [c for c in ov if not pd.api.types.is_numeric_dtype(data[c])]
        raise DataError(f"indicator column(s) {', '.join(bad)} are not numeric") from None
    if model.nu is None:
        unseen = [i for i, seen in zip(ov, (~np.isnan(y)).any(axis=0)) if not seen]
        if unseen:
            raise DataError(f"indicator(s) {', '.join(unseen[:12])} have no observed value: their intercepts "
                            "(column means) are unknown; pass nu= or remove them")
        nu = np.nanmean(y, axis=0)
    else:
        nu = model.nu.reindex(L.index).to_numpy(float)
    al = np.zeros(lam.shape[1]) if model.alpha is None else \
        model.alpha.reindex(L.columns).to_numpy(float)
    if np.isnan(nu).any() or np.isnan(al).any():
        raise DataError("nu/alpha labels do not match the model's items/factors")
    if model.Beta is not None:
        # eta = B eta + zeta: Var(eta) = (I-B)^-1 Psi (I-B)^-T, E(eta) = (I-B)^-1 alpha
        B = model.Beta.reindex(index=L.columns, columns=L.columns).fillna(0.0).to_numpy(float)
        ib = _inv_i_minus_b(B, [str(c) for c in L.columns])
        psi = ib @ psi @ ib.T
        al = ib @ al
    sigma = lam @ psi @ lam.T + theta
    resid = y - (nu + lam @ al)
    obs = ~np.isnan(y)
    out = np.full((len(y), lam.shape[1]), np.nan)
    # one solve per missing-data pattern (vectorised over the rows sharing it)
    patterns, inverse = np.unique(obs, axis=0, return_inverse=True)
    for p, pat in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == p)
        if not pat.any():
            continue
        lo = lam[pat]
        try:
            s_inv_lo = np.linalg.solve(sigma[np.ix_(pat, pat)], lo)  # Sigma_oo^-1 Lambda_o
        except np.linalg.LinAlgError:
            raise DataError(f"the model-implied covariance matrix of items {', '.join(np.array(ov)[pat][:12])} "
                            "is singular; factor scores are undefined") from None
        if m == "regression":
            w = psi @ s_inv_lo.T
            out[rows] = al + resid[np.ix_(rows, pat)] @ w.T
        else:
            # a factor without observed indicators here (a higher-order factor, or all its
            # items missing) has no Bartlett score: left missing
            has = np.abs(lo).sum(axis=0) > 0
            if not has.any():
                continue
            sl = s_inv_lo[:, has]
            w = np.linalg.solve(lo[:, has].T @ sl, sl.T)
            out[np.ix_(rows, np.flatnonzero(has))] = al[has] + resid[np.ix_(rows, pat)] @ w.T
    return pd.DataFrame(out, index=data.index, columns=[str(c) for c in L.columns])



def _inv_i_minus_b(B: np.ndarray, factors: list[str]) -> np.ndarray:
    """``(I - B)^-1``, refusing a singular ``I - B`` with an error naming the factors.

    ``I - B`` is singular when the regressions among factors form a loop whose effects
    cancel (e.g. ``f1`` on ``f2`` and ``f2`` on ``f1``, both 1): then ``Var(eta)`` is
    undefined and there are no factor scores. A higher-order (recursive) model always has
    ``det(I - B) = 1``. The rank tolerance is NumPy's ``matrix_rank`` default
    (``s_max * n * eps``); the factors named are those in the null space of ``I - B``.
    """
    a = np.eye(len(B)) - B
    _, s, vt = np.linalg.svd(a)
    if s[-1] <= s[0] * len(a) * np.finfo(float).eps:
        null = np.abs(vt[-1])
        loop = [f for f, v in zip(factors, null) if v > 1e-8 * null.max()]
        raise DataError(
            f"the regressions among factors {', '.join(loop)} (Beta) form a loop with a singular "
            "I - B, so Var(eta) = (I - B)^-1 Psi (I - B)^-T is undefined and there are no factor "
            "scores; factor scores need a recursive (e.g. higher-order) structure")
    return np.linalg.inv(a)


def _factor_block(items: pd.DataFrame, fit: Any, method: str, groups: pd.Series | None
                  ) -> pd.DataFrame:
    """Factor scores of every row; a multi-group fit scores each row with its group's matrices."""
    est = fit if isinstance(fit, pd.DataFrame) else getattr(fit, "estimates", None)
    labels = (list(dict.fromkeys(str(g) for g in est["group"]))
              if isinstance(est, pd.DataFrame) and "group" in est.columns else [])
    if len(labels) <= 1:
        return _factor_scores_model(items, FactorScoreModel.from_fit(fit), method)
    if groups is None:
        raise DataError(f"the CFA was fitted in groups {', '.join(labels)}: pass group= (the "
                        "grouping column) so that each row is scored with its group's model")
    g = groups.astype("string")
    unknown = sorted(set(g.dropna()) - set(labels))
    if unknown or g.isna().any():
        raise DataError(f"rows of group(s) {', '.join(unknown) or '<missing>'} cannot be "
                        f"factor-scored: the CFA has groups {', '.join(labels)}")
    out: pd.DataFrame | None = None
    for lab in labels:
        rows = (g == lab).to_numpy(dtype=bool)
        if rows.any():
            part = _factor_scores_model(items[rows], FactorScoreModel.from_fit(fit, lab), method)
            if out is None:
                out = pd.DataFrame(np.nan, index=items.index, columns=part.columns)
            out.iloc[np.flatnonzero(rows)] = part.to_numpy()
    if out is None:  # no rows at all
        return _factor_scores_model(items, FactorScoreModel.from_fit(fit, labels[0]), method)
    return out
