"""Parameter table of a (multi-group) CFA model, built as lavaan's ``cfa()`` builds it.

The table has one row per model parameter and group (lavaan's ``partable``):
``lhs, op, rhs, group, free, label, value, start``. Defaults follow lavaan's
``cfa()`` (``lavaanify`` with ``auto.fix.first``, ``auto.var``, ``auto.cov.lv.x``,
``int.ov.free``, ``int.lv.free = FALSE``):

* the first loading of every factor is fixed to 1 (the *marker*), unless
  ``std_lv=True``, which frees all loadings and fixes every latent variance to 1;
* residual variances of the items and latent (residual) variances are free;
* covariances among exogenous factors (those that are not indicators of a
  higher-order factor) are free (``orthogonal=True`` fixes them to 0);
* with a mean structure (always with several groups), item intercepts are free and
  latent means are fixed to 0 — except in groups 2..G when ``"intercepts"`` is in
  ``group_equal``, where latent means are free (lavaan's identification of scalar
  invariance models);
* ``group_equal`` uses lavaan's names: ``"loadings"``, ``"intercepts"``, ``"means"``,
  ``"residuals"``, ``"residual.covariances"``, ``"lv.variances"``, ``"lv.covariances"``;
  ``group_partial`` lists parameters exempt from them (``"visual=~x2"``, ``"x3~1"``).

Equality constraints are implemented by *parameter sharing*: rows with the same
label map to the same entry of the free-parameter vector. This is a
reparameterisation of lavaan's ``==`` constraints and gives identical estimates,
χ² and standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from psychometrics.cfa.syntax import Modifier, Statement, parse_model
from psychometrics.exceptions import ModelSyntaxError
from psychometrics._text import quote

__all__ = ["Parameter", "ModelSpec", "build_spec", "observed_variables", "GROUP_EQUAL_NAMES"]

GROUP_EQUAL_NAMES = (
    "loadings", "intercepts", "means", "residuals", "residual.covariances",
    "lv.variances", "lv.covariances",
)


@dataclass(frozen=True)
class Parameter:
    """One row of the parameter table.

    Attributes
    ----------
    lhs, op, rhs : str
        As in lavaan (``op`` is ``"=~"``, ``"~~"`` or ``"~1"``; ``rhs`` is ``""`` for ``~1``).
    group : int
        0-based group index.
    free : bool
        Estimated (True) or fixed at ``value`` (False).
    label : str
        User label, or lavaan's plabel-style ``".pK."`` when a ``group_equal``
        constraint ties it to another group's parameter; ``""`` otherwise.
    value : float
        Fixed value (fixed rows) — ignored for free rows.
    start : float or None
        User starting value (``start(v)*x``).
    user : bool
        Written in the model syntax (True) or added by the defaults (False).
    index : int
        Position in the free-parameter vector (shared by equal parameters); -1 if fixed.
    matrix : str
        ``"lambda"``, ``"beta"``, ``"psi"``, ``"theta"``, ``"nu"`` or ``"alpha"``.
    row, col : int
        Position in that matrix (``col`` is 0 for the vectors ``nu`` and ``alpha``).
    """

    lhs: str
    op: str
    rhs: str
    group: int
    free: bool
    label: str = ""
    value: float = 0.0
    start: float | None = None
    user: bool = False
    index: int = -1
    matrix: str = ""
    row: int = 0
    col: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.lhs, self.op, self.rhs)


@dataclass(frozen=True)
class ModelSpec:
    """A compiled model: variables, groups and the parameter table."""

    syntax: str
    observed: tuple[str, ...]
    latent: tuple[str, ...]
    groups: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    meanstructure: bool
    std_lv: bool
    group_equal: tuple[str, ...] = ()
    group_partial: tuple[str, ...] = ()
    n_free: int = field(default=0)

    @property
    def ngroups(self) -> int:
        return len(self.groups)

    def free_parameters(self) -> list[Parameter]:
        """The first row of every free parameter, in index order."""
        first: dict[int, Parameter] = {}
        for p in self.parameters:
            if p.free and p.index not in first:
                first[p.index] = p
        return [first[i] for i in range(self.n_free)]


def _norm_partial(entry: str) -> tuple[str, str, str]:
    text = entry.replace(" ", "")
    for op in ("=~", "~~", "~1"):
        if op in text:
            lhs, rhs = text.split(op, 1)
            if op == "~1":
                return (lhs, "~1", "")
            return (lhs, op, rhs)
    raise ModelSyntaxError(
        f"group_partial entry {quote(entry)} is not a parameter such as 'visual=~x2', 'x1~~x1' or 'x3~1'"
    )


def _equal_kind(lhs: str, op: str, rhs: str, observed: set[str]) -> str | None:
    """The ``group_equal`` name that covers parameter ``lhs op rhs``."""
    if op == "=~":
        return "loadings"
    if op == "~1":
        return "intercepts" if lhs in observed else "means"
    if op == "~~":
        if lhs in observed:
            return "residuals" if lhs == rhs else "residual.covariances"
        return "lv.variances" if lhs == rhs else "lv.covariances"
    return None


def _variables(statements: tuple[Statement, ...]) -> tuple[list[str], list[str]]:
    """Latent variables (left of ``=~``) and observed variables, in order of appearance."""
    latent: list[str] = []
    for st in statements:
        if st.op == "=~" and st.lhs not in latent:
            latent.append(st.lhs)
    observed: list[str] = []
    for st in statements:
        if st.op == "=~":
            for t in st.terms:
                if t.name not in latent and t.name not in observed:
                    observed.append(t.name)
    for st in statements:
        if st.op in ("~~", "~1"):
            for n in [st.lhs] + [t.name for t in st.terms if st.op == "~~"]:
                if n not in latent and n not in observed:
                    observed.append(n)
    return latent, observed


def observed_variables(model: str) -> tuple[str, ...]:
    """The observed variables of ``model`` (lavaan syntax), in model order."""
    return tuple(_variables(parse_model(model))[1])


def _check_recursive(statements: list[Statement], lv_set: set[str]) -> None:
    """Factors loading on factors must not form a loop (f1 =~ f2, f2 =~ f1, ...).

    A loop makes the model non-recursive: (I − B) is then not triangular and can be singular
    (it is at the start values, where every such loading is 1), so Σ = Λ(I−B)⁻¹Ψ(I−B)⁻ᵀΛᵀ + Θ
    is undefined. Loadings fixed to 0 in every group are not part of a loop.
    """
    edges: dict[str, list[tuple[str, int]]] = {}
    for st in statements:
        if st.op != "=~":
            continue
        for t in st.terms:
            if t.name in lv_set and not (t.modifiers and all(m.fixed == 0 for m in t.modifiers)):
                edges.setdefault(st.lhs, []).append((t.name, st.line))
    done: set[str] = set()
    path: list[str] = []  # factors on the current depth-first path

    def visit(f: str) -> None:
        path.append(f)
        for g, line in edges.get(f, []):
            if g in path:
                loop = path[path.index(g):] + [g]
                raise ModelSyntaxError(
                    f"line {line}: the factors {' =~ '.join(loop)} load on each other in a loop: the model is "
                    "non-recursive, (I − B) can be singular and the implied covariance matrix is then "
                    "undefined; such models are not supported — remove one of these loadings"
                )
            if g not in done:
                visit(g)
        path.pop()
        done.add(f)

    for f in list(edges):
        if f not in done:
            visit(f)


def build_spec(
    model: str,
    *,
    groups: tuple[str, ...] = ("all",),
    std_lv: bool = False,
    meanstructure: bool | None = None,
    orthogonal: bool = False,
    group_equal: tuple[str, ...] | list[str] = (),
    group_partial: tuple[str, ...] | list[str] = (),
) -> ModelSpec:
    """Build the parameter table for ``model`` (lavaan syntax) and ``groups``.

    The result is immutable and cached: the same arguments return the same object (a
    Monte Carlo study or an invariance ladder builds the same few specifications many times).

    Parameters
    ----------
    model : str
        lavaan model syntax (see :mod:`psychometrics.cfa.syntax`).
    groups : tuple of str
        Group labels (one entry for a single-group model).
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of the first loading.
    meanstructure : bool or None
        Model intercepts and latent means; default True with several groups or when
        the syntax contains ``~ 1``, else False (means saturated, as lavaan).
    orthogonal : bool
        Fix covariances among exogenous factors to 0.
    group_equal, group_partial : sequence of str
        Cross-group equality constraints (lavaan's names) and their exceptions.

    Raises
    ------
    ModelSyntaxError
        For unknown ``group_equal`` names, modifier vectors of the wrong length,
        duplicated parameters, or covariances between an item and a factor.
    """
    key = (model, tuple(groups), bool(std_lv), meanstructure, bool(orthogonal), tuple(group_equal),
           tuple(group_partial))
    try:
        hash(key)
    except TypeError:  # not a hashable model (the parser says what is wrong with it)
        return _build_spec(*key)
    return _build_spec_cached(*key)


@lru_cache(maxsize=256)
def _build_spec_cached(*key: Any) -> ModelSpec:
    return _build_spec(*key)


def _build_spec(
    model: str,
    groups: tuple[str, ...],
    std_lv: bool,
    meanstructure: bool | None,
    orthogonal: bool,
    group_equal: tuple[str, ...],
    group_partial: tuple[str, ...],
) -> ModelSpec:
    """:func:`build_spec` without the cache."""
    statements = parse_model(model)
    G = len(groups)
    group_equal = tuple(group_equal)
    for name in group_equal:
        if name not in GROUP_EQUAL_NAMES:
            raise ModelSyntaxError(
                f"group_equal: unknown name {quote(name)}; use any of {', '.join(GROUP_EQUAL_NAMES)}"
            )
    if group_equal and G < 2:
        raise ModelSyntaxError("group_equal needs a grouping variable with at least two groups (group=...)")
    partial = {_norm_partial(e) for e in group_partial}

    latent, observed = _variables(statements)
    ov_set, lv_set = set(observed), set(latent)

    if meanstructure is None:
        meanstructure = G > 1 or any(s.op == "~1" for s in statements)
    if G > 1 and not meanstructure:
        raise ModelSyntaxError("a multi-group model needs a mean structure (meanstructure=True)")

    # latent variables that are indicators of another latent variable (endogenous)
    endogenous = {t.name for s in statements if s.op == "=~" for t in s.terms if t.name in lv_set}
    _check_recursive(statements, lv_set)

    rows = _rows(statements, groups, observed, latent, endogenous, std_lv=std_lv, orthogonal=orthogonal,
                 meanstructure=meanstructure, group_equal=group_equal)
    placed = _place(rows, observed, latent)
    known = {_key(d) for d in placed} | {(d["rhs"], d["op"], d["lhs"]) for d in placed if d["op"] == "~~"}
    for entry, k in zip(group_partial, [_norm_partial(e) for e in group_partial]):
        if k not in known:
            raise ModelSyntaxError(
                f"group_partial entry {quote(entry)} is not a parameter of the model "
                "(write it as in the parameter table, e.g. 'visual=~x2', 'x1~~x1', 'x3~1')"
            )
    if group_equal:
        _tie_groups(placed, group_equal, partial, ov_set)

    final, n_free = _index(placed)
    return ModelSpec(
        syntax=model,
        observed=tuple(observed),
        latent=tuple(latent),
        groups=tuple(groups),
        parameters=tuple(final),
        meanstructure=bool(meanstructure),
        std_lv=std_lv,
        group_equal=group_equal,
        group_partial=tuple(group_partial),
        n_free=n_free,
    )


def _key(d: dict) -> tuple[str, str, str]:
    return (d["lhs"], d["op"], d["rhs"])


def _place(rows: list[Parameter], observed: list[str], latent: list[str]) -> list[dict]:
    """Matrix and position of every row (rows handled as plain dicts until the final frozen Parameter)."""
    ov_idx = {v: i for i, v in enumerate(observed)}
    lv_idx = {f: i for i, f in enumerate(latent)}
    placed: list[dict] = []
    for p in rows:
        d = dict(p.__dict__)
        if p.op == "=~":
            if p.rhs in lv_idx:
                d.update(matrix="beta", row=lv_idx[p.rhs], col=lv_idx[p.lhs])
            else:
                d.update(matrix="lambda", row=ov_idx[p.rhs], col=lv_idx[p.lhs])
        elif p.op == "~~":
            idx = ov_idx if p.lhs in ov_idx else lv_idx
            i, j = sorted((idx[p.lhs], idx[p.rhs]), reverse=True)
            d.update(matrix="theta" if idx is ov_idx else "psi", row=i, col=j)
        elif p.lhs in ov_idx:
            d.update(matrix="nu", row=ov_idx[p.lhs])
        else:
            d.update(matrix="alpha", row=lv_idx[p.lhs])
        placed.append(d)
    return placed


def _tie_groups(placed: list[dict], group_equal: tuple[str, ...], partial: set, ov_set: set[str]) -> None:
    """Cross-group equality (group_equal): tie free, unlabelled rows of groups 2..G to group 1 (in place)."""
    first_group = {_key(d): k for k, d in enumerate(placed) if d["group"] == 0}
    for d in placed:
        if d["group"] == 0 or not d["free"] or d["label"]:
            continue
        kind = _equal_kind(d["lhs"], d["op"], d["rhs"], ov_set)
        if kind not in group_equal or _key(d) in partial or (d["rhs"], d["op"], d["lhs"]) in partial:
            continue
        k0 = first_group.get(_key(d))
        if k0 is None:
            continue
        d0 = placed[k0]
        if not d0["free"]:
            # equal to a fixed parameter (e.g. "means": latent means equal to group 1's 0)
            d.update(free=False, value=d0["value"])
            continue
        if not d0["label"]:
            d0["label"] = f".p{k0 + 1}."
        d["label"] = d0["label"]


def _index(placed: list[dict]) -> tuple[list[Parameter], int]:
    """Free-parameter indices (equal labels share an index) and the frozen parameters."""
    by_label: dict[str, int] = {}
    n_free = 0
    final: list[Parameter] = []
    for d in placed:
        if not d["free"]:
            d["index"] = -1
        elif d["label"] and d["label"] in by_label:
            d["index"] = by_label[d["label"]]
        else:
            if d["label"]:
                by_label[d["label"]] = n_free
            d["index"] = n_free
            n_free += 1
        final.append(Parameter(**d))
    return final, n_free


def _rows(statements: list[Statement], groups: tuple[str, ...], observed: list[str], latent: list[str],
          endogenous: set[str], *, std_lv: bool, orthogonal: bool, meanstructure: bool,
          group_equal: tuple[str, ...]) -> list[Parameter]:
    """The rows of every group: the model's statements, then lavaan's defaults (``auto.var``,
    ``auto.cov.lv.x``, ``int.ov.free``, ``int.lv.free = FALSE``); duplicates are an error."""
    G = len(groups)
    ov_set = set(observed)

    def modifier(stmt: Statement, mods: tuple[Modifier, ...], g: int) -> Modifier | None:
        if not mods:
            return None
        if len(mods) == 1:
            return mods[0]
        if len(mods) != G:
            raise ModelSyntaxError(
                f"line {stmt.line}: c(...) has {len(mods)} values but the model has {G} group(s)"
                + (f" ({', '.join(groups)})" if G > 1 else "")
            )
        return mods[g]

    rows: list[Parameter] = []
    seen: dict[tuple[str, str, str, int], int] = {}

    def add(p: Parameter, line: int | None = None) -> None:
        key = (p.lhs, p.op, p.rhs, p.group)
        alt = (p.rhs, p.op, p.lhs, p.group) if p.op == "~~" else key
        if key in seen or alt in seen:
            where = f"line {line}: " if line else ""
            raise ModelSyntaxError(f"{where}parameter '{p.lhs} {p.op} {p.rhs}' is specified twice")
        seen[key] = len(rows)
        rows.append(p)

    def from_modifier(base: Parameter, mod: Modifier | None, default_free: bool, default_value: float) -> Parameter:
        if mod is None:
            return replace(base, free=default_free, value=default_value)
        if mod.fixed is not None:
            return replace(base, free=False, value=mod.fixed)
        if mod.label is not None:
            # A label alone does not free a marker loading in lavaan; it names the parameter.
            return replace(base, free=default_free, value=default_value, label=mod.label)
        if mod.free:
            return replace(base, free=True)
        return replace(base, free=default_free, value=default_value, start=mod.start)

    for g in range(G):
        first_done: set[str] = set()
        for s in statements:
            if s.op != "=~":
                continue
            for t in s.terms:
                mod = modifier(s, t.modifiers, g)
                is_first = s.lhs not in first_done
                first_done.add(s.lhs)
                marker = is_first and not std_lv
                base = Parameter(s.lhs, "=~", t.name, g, True, user=True)
                add(from_modifier(base, mod, default_free=not marker, default_value=1.0 if marker else 0.0), s.line)
        for s in statements:
            if s.op == "~~":
                for t in s.terms:
                    a, b = s.lhs, t.name
                    if (a in ov_set) != (b in ov_set):
                        raise ModelSyntaxError(
                            f"line {s.line}: a covariance between item and factor ('{a} ~~ {b}') is not "
                            "supported in a CFA model"
                        )
                    mod = modifier(s, t.modifiers, g)
                    base = Parameter(a, "~~", b, g, True, user=True)
                    add(from_modifier(base, mod, default_free=True, default_value=0.0), s.line)
            elif s.op == "~1":
                mod = modifier(s, s.terms[0].modifiers, g)
                base = Parameter(s.lhs, "~1", "", g, True, user=True)
                add(from_modifier(base, mod, default_free=True, default_value=0.0), s.line)
        # defaults (lavaan: auto.var, auto.cov.lv.x, int.ov.free, int.lv.free = FALSE)
        for v in observed:
            if (v, "~~", v, g) not in seen:
                add(Parameter(v, "~~", v, g, True))
        for f in latent:
            if (f, "~~", f, g) not in seen:
                add(Parameter(f, "~~", f, g, not std_lv, value=1.0 if std_lv else 0.0))
        exo = [f for f in latent if f not in endogenous]
        for i, a in enumerate(exo):
            for b in exo[i + 1:]:
                if (a, "~~", b, g) not in seen and (b, "~~", a, g) not in seen:
                    add(Parameter(a, "~~", b, g, not orthogonal, value=0.0))
        if meanstructure:
            for v in observed:
                if (v, "~1", "", g) not in seen:
                    add(Parameter(v, "~1", "", g, True))
            for f in latent:
                if (f, "~1", "", g) not in seen:
                    free_mean = g > 0 and "intercepts" in group_equal
                    add(Parameter(f, "~1", "", g, free_mean, value=0.0))
    return rows
