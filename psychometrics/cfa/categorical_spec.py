"""The parameter table of a categorical CFA (delta parameterization, Wu & Estabrook, 2016).

See :mod:`psychometrics.cfa.categorical` for the model and its identification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from psychometrics.cfa.specification import ModelSpec, Parameter, build_spec
from psychometrics.exceptions import DataError, ModelSyntaxError
from psychometrics._text import quote

__all__ = ["CATEGORICAL_GROUP_EQUAL", "build_categorical_spec"]

CATEGORICAL_GROUP_EQUAL = ("thresholds", "loadings", "intercepts")


def build_categorical_spec(
    model: str,
    n_thresholds: Mapping[str, int],
    *,
    groups: tuple[str, ...] = ("all",),
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> ModelSpec:
    """Parameter table of a categorical CFA (delta parameterization), as lavaan builds it.

    Rows of :func:`~psychometrics.cfa.specification.build_spec` plus thresholds
    (``op = "|"``, ``rhs = "t1", "t2", …``, matrix ``"tau"``) and scaling factors
    (``op = "~*~"``, matrix ``"delta"``); residual variances of the items are fixed
    rows (their value is derived, 1/δ² − (ΛMΛ')_ii); intercepts and factor means are
    fixed to 0 except as the Wu & Estabrook (2016) rules free them (module docstring).

    ``group_partial`` releases single constraints (``"x1|t2"``, ``"f=~x2"``, ``"x3~1"``);
    as ``semTools::measEq.syntax(group.partial = ...)``, an item's scaling factor and
    intercept in groups 2..G then depend on how many of its thresholds stay equal
    (n_eq) and whether its intercept is constrained: δ free iff n_eq ≥ 2 or (n_eq = 1
    and intercept equal); ν free iff n_eq ≥ 1 and the intercept is not constrained.
    """
    group_equal = tuple(group_equal)
    bad = [g for g in group_equal if g not in CATEGORICAL_GROUP_EQUAL]
    if bad:
        raise ModelSyntaxError(
            f"group_equal {', '.join(map(repr, bad))} is not supported with ordinal items; use any of "
            f"{', '.join(CATEGORICAL_GROUP_EQUAL)} (Wu & Estabrook, 2016)"
        )
    G = len(groups)
    if group_equal and G < 2:
        raise ModelSyntaxError("group_equal needs a grouping variable with at least two groups (group=...)")
    if group_equal and not std_lv:
        raise ModelSyntaxError(
            "categorical invariance models are identified as Wu & Estabrook (2016) with std_lv=True "
            "(semTools ID.fac = 'std.lv'); pass std_lv=True"
        )
    base = build_spec(model, groups=groups, std_lv=std_lv, meanstructure=True, orthogonal=orthogonal)
    observed = list(base.observed)
    released = _released(group_partial, n_thresholds, base, group_equal)
    eq = set(group_equal)

    def n_equal(item: str) -> int:
        if "thresholds" not in eq:
            return 0
        return sum((item, "|", f"t{k + 1}") not in released for k in range(n_thresholds[item]))

    def intercept_equal(item: str) -> bool:
        return "intercepts" in eq and (item, "~1", "") not in released

    def delta_free(item: str) -> bool:
        n = n_equal(item)
        return "thresholds" in eq and (n >= 2 or (n == 1 and intercept_equal(item)))

    def nu_free(item: str) -> bool:
        return "thresholds" in eq and n_equal(item) >= 1 and not intercept_equal(item)

    missing = [v for v in observed if v not in n_thresholds]
    if missing:
        raise DataError(f"no thresholds for item(s) {', '.join(map(repr, missing))}")
    for v in observed:
        if group_equal and ("thresholds" in group_equal) and n_thresholds[v] < 2:
            raise DataError(
                f"item {quote(v)} is binary: Wu & Estabrook's identification of threshold invariance for binary "
                "items is not implemented; model it with at least three categories or without group_equal"
            )
    ov_idx = {v: i for i, v in enumerate(observed)}
    rows: list[Parameter] = []
    for p in base.parameters:
        g = p.group
        if p.matrix == "theta" and p.row == p.col:
            if p.user:
                raise ModelSyntaxError(
                    f"'{p.lhs} ~~ {p.rhs}': the residual variance of an ordinal item is not a parameter in the "
                    "delta parameterization (it is 1 − the explained variance); remove it from the model"
                )
            rows.append(_with(p, free=False, value=0.0, label=""))
            continue
        if p.matrix == "nu":
            if p.user:
                raise ModelSyntaxError(f"'{p.lhs} ~ 1': intercepts of ordinal items are fixed by the identification; "
                                       "remove it from the model")
            rows.append(_with(p, free=g > 0 and nu_free(p.lhs), value=0.0))
            continue
        if p.matrix == "alpha" and not p.user:
            rows.append(_with(p, free=g > 0 and "intercepts" in eq, value=0.0))
            continue
        if p.matrix == "psi" and p.row == p.col and std_lv and not p.user:
            rows.append(_with(p, free=g > 0 and "loadings" in eq, value=1.0))
            continue
        rows.append(p)
    for g in range(G):
        for v in observed:
            for k in range(n_thresholds[v]):
                rows.append(Parameter(v, "|", f"t{k + 1}", g, True, matrix="tau", row=ov_idx[v], col=k))
        for v in observed:
            rows.append(Parameter(v, "~*~", v, g, g > 0 and delta_free(v), value=1.0,
                                  matrix="delta", row=ov_idx[v]))
    final, n_free = _share_and_index(rows, eq, released)
    return replace(base, parameters=tuple(final), n_free=n_free, group_equal=group_equal,
                   group_partial=tuple(group_partial), meanstructure=True)


def _with(p: Parameter, **changes) -> Parameter:
    """``dataclasses.replace(p, **changes)`` for a parameter row, without its per-call field handling: the same
    field values (a ladder of invariance models builds thousands of rows; issue 16)."""
    for k in changes:
        if k not in _FIELDS:
            raise TypeError(f"Parameter has no field {k!r}")
    q = object.__new__(Parameter)
    q.__dict__.update(p.__dict__)
    q.__dict__.update(changes)
    return q


_FIELDS = frozenset(Parameter.__dataclass_fields__)


def _released(group_partial: Sequence[str], n_thresholds: Mapping[str, int], base: ModelSpec,
              group_equal: Sequence[str]) -> set[tuple[str, str, str]]:
    """The (lhs, op, rhs) keys that ``group_partial`` releases; an entry that names no
    constrained parameter (``"x1|t2"``, ``"f=~x2"``, ``"x3~1"``) is a :class:`ModelSyntaxError`."""
    observed = list(base.observed)
    released: set[tuple[str, str, str]] = set()
    for entry in group_partial:
        text = str(entry).replace(" ", "")
        if "|" in text:
            item, thr = text.split("|", 1)
            ok = item in n_thresholds and thr.startswith("t") and thr[1:].isdigit() and \
                1 <= int(thr[1:]) <= n_thresholds[item]
            key = (item, "|", thr)
        elif "=~" in text:
            f, item = text.split("=~", 1)
            ok = f in base.latent and item in observed
            key = (f, "=~", item)
        elif text.endswith("~1"):
            item = text[:-2]
            ok = item in observed
            key = (item, "~1", "")
        else:
            ok = False
        if not ok or not group_equal:
            raise ModelSyntaxError(
                f"group_partial entry {quote(entry)} is not a constrained parameter of the model; with ordinal items "
                "write a threshold 'x1|t2', a loading 'f=~x2' or an intercept 'x3~1' (and give group_equal)"
            )
        released.add(key)
    return released


def _share_and_index(rows: list[Parameter], eq: set[str], released: set[tuple[str, str, str]]):
    """Cross-group equality by label sharing with group 1 (as build_spec), then the free-parameter
    indices (equal labels share one). Returns ``(parameters, number of free parameters)``."""
    if eq:
        first = {(p.key, p.matrix): k for k, p in enumerate(rows) if p.group == 0}
        kinds = {"tau": "thresholds", "lambda": "loadings", "beta": "loadings"}
        for k, p in enumerate(rows):
            if p.group == 0 or not p.free or p.label:
                continue
            kind = kinds.get(p.matrix)
            if kind not in eq or p.key in released:
                continue
            k0 = first.get((p.key, p.matrix))
            if k0 is None or not rows[k0].free:
                continue
            if not rows[k0].label:
                rows[k0] = _with(rows[k0], label=f".p{k0 + 1}.")
            rows[k] = _with(p, label=rows[k0].label)
    by_label: dict[str, int] = {}
    n_free = 0
    final: list[Parameter] = []
    for p in rows:
        if not p.free:
            final.append(_with(p, index=-1))
        elif p.label and p.label in by_label:
            final.append(_with(p, index=by_label[p.label]))
        else:
            if p.label:
                by_label[p.label] = n_free
            final.append(_with(p, index=n_free))
            n_free += 1
    return final, n_free
