"""A calibration as plain JSON for the scoring key, and back (score later without refitting)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import ScoringKeyError
from psychometrics.irt._data import quadrature
from psychometrics.irt.results import IRTCalibration
from psychometrics._text import quote

__all__ = ["calibration_to_key", "calibration_from_key"]


def calibration_to_key(cal: IRTCalibration, table: pd.DataFrame | None = None) -> dict[str, Any]:
    """Model, quadrature, per-item slope/intercepts and category values, and the sum-score → EAP table."""
    items = []
    for item, (a, c) in zip(cal.items, cal.item_arrays()):
        items.append({"item": item, "a": float(a), "c": [float(v) for v in c],
                      "categories": [float(v) for v in cal.category_values[item]]})
    metric = "normal ogive (probit)" if cal.link == "probit" else "logistic D = 1"
    out: dict[str, Any] = {"model": cal.model, "link": cal.link, "parameterisation": f"slope-intercept, {metric}, theta ~ N(0, 1)",
                           "quadrature": {"rule": cal.quadrature_rule, "points": cal.quadrature_points},
                           "n": cal.n_obs, "loglik": cal.loglik, "items": items}
    if table is not None:
        out["sum_score_eap"] = {"sum_score": [float(v) for v in table.index], "eap": list(map(float, table["eap"])),
                                "psd": list(map(float, table["psd"]))}
    return out


def calibration_from_key(d: Mapping[str, Any]) -> IRTCalibration:
    """The :class:`IRTCalibration` stored by :func:`calibration_to_key` (no SEs: they are not stored)."""
    try:
        items = [str(it["item"]) for it in d["items"]]
        kmax = max(len(it["c"]) for it in d["items"]) + 1
        rows = {}
        for it in d["items"]:
            row = {"a": float(it["a"])}
            for s in range(1, kmax):
                c = float(it["c"][s - 1]) if s - 1 < len(it["c"]) else np.nan
                row[f"c{s}"] = c
                row[f"b{s}"] = -c / row["a"]
            rows[str(it["item"])] = row
        nodes, weights = quadrature(str(d["quadrature"]["rule"]), int(d["quadrature"]["points"]))
        cats = {str(it["item"]): tuple(float(v) for v in it["categories"]) for it in d["items"]}
        model = str(d["model"])
        link = str(d.get("link", "logit"))
        if link not in ("logit", "probit"):
            raise ValueError(f"link {link!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ScoringKeyError(f"irt calibration in the key is malformed ({quote(exc)})") from None
    params = pd.DataFrame.from_dict(rows, orient="index")
    params.index.name = "item"
    return IRTCalibration(
        model=model, items=tuple(items), n_obs=int(d.get("n", 0)), n_patterns=0, loglik=float(d.get("loglik", np.nan)),
        n_parameters=int(sum(len(v) for v in cats.values())), aic=np.nan, bic=np.nan, converged=True, em_cycles=0,
        newton_steps=0, max_abs_gradient=np.nan, quadrature_rule=str(d["quadrature"]["rule"]),
        quadrature_points=int(d["quadrature"]["points"]), parameters=params, covariance=pd.DataFrame(),
        category_values=cats, nodes=nodes, weights=weights, diagnostics=("read from a scoring key",), link=link)
