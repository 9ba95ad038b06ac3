"""Pydantic validation errors of a scale spec → one :class:`~psychometrics.exceptions.SpecError`.

Each problem becomes one line ``field path (entry id): plain-language message``, with
"did you mean" hints for misspelt names and the fields allowed where an unknown one
was found. When field-level errors stopped pydantic before the cross-field checks,
those checks are run leniently on the raw mapping so that every problem is listed at
once. Pydantic's own tracebacks never reach the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from psychometrics.exceptions import SpecError
from psychometrics.scale._problems import ITEM_ID, SEMVER, SLUG, Loc, _fmt_loc, _Problems, _suggest
from psychometrics.scale.cross_checks import _lenient_cross_problems
from psychometrics._text import quote


Models = Mapping[str | None, type[BaseModel]]


def _model_for(loc: Loc, models: Models) -> type[BaseModel] | None:
    """The model of the mapping at ``loc``; ``models`` maps the last field name on the path to it."""
    names = [p for p in loc if isinstance(p, str)]
    return models.get(names[-1] if names else None)


def _spec_keys(model: type[BaseModel]) -> list[str]:
    """The keys a spec may use for ``model``: field names, or their alias (``construct``)."""
    return sorted(info.alias or name for name, info in model.model_fields.items())


def _lookup(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _describe_entry(data: Any, loc: Loc) -> str:
    """' (item MSS04)' when the path points into a list entry that has an id."""
    for cut in range(len(loc), 0, -1):
        if isinstance(loc[cut - 1], int) and isinstance(loc[cut - 2] if cut >= 2 else None, str):
            entry = _lookup(data, loc[:cut])
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                kind = {"items": "item", "subscales": "subscale", "validity": "hypothesis"}.get(str(loc[cut - 2]), "entry")
                return f" ({kind} {quote(entry['id'])})"
            return ""
    return ""


def _clean_loc(loc: tuple) -> Loc:
    # Pydantic inserts union branch names ("int", "float", "function-after[...]") into loc.
    return tuple(p for p in loc if not (isinstance(p, str) and (p in {"int", "float"} or "[" in p)))


def _spec_error(exc: ValidationError, data: Any, where: str, models: Models) -> SpecError:
    """One :class:`SpecError` listing every problem of ``exc`` (the validation of ``data`` from ``where``).

    ``models`` maps a field name to the model found under it (``None``: the top level),
    to name the fields allowed where an unknown one was found.
    """
    lines: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = _clean_loc(err["loc"])
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _Problems):
            for rel, msg in ctx_error.problems:
                full = loc + rel
                line = f"{_fmt_loc(full)}: {msg}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
            continue
        kind = err["type"]
        msg = err["msg"]
        value = err.get("input")
        scalar = value is None or isinstance(value, (str, int, float, bool))
        if any(p in ("int", "float") for p in err["loc"]) and kind.startswith(("int_", "float_")):
            msg = f"expected a number, got {quote(value)}"
        elif kind.endswith(("_type", "_parsing")) and scalar and kind not in ("model_type", "dict_type"):
            msg = f"{msg} (got {quote(value)})"
        if kind == "extra_forbidden":
            field = str(loc[-1])
            model = _model_for(loc[:-1], models)
            allowed = _spec_keys(model) if model else []
            msg = f"unknown field {quote(field)}{_suggest(field, allowed)}"
            if allowed:
                msg += f" (allowed here: {', '.join(allowed)})"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern")
            if pattern == SLUG:
                msg = f"{quote(value)} is not a valid id: use lower-case letters, digits and underscores, starting with a letter"
            elif pattern == ITEM_ID:
                msg = (f"{quote(value)} is not a valid item id: use letters, digits, '_' or '.', starting with a letter "
                       "(item ids are data column names and model-syntax names)")
            elif pattern == SEMVER:
                msg = f"{quote(value)} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. \"1.0.0\""
        elif kind == "value_error":
            msg = str(ctx_error) if ctx_error is not None else msg.removeprefix("Value error, ")
        elif kind == "literal_error":
            expected = (err.get("ctx") or {}).get("expected", "")
            msg = f"{quote(value)} is not allowed; expected {expected}"
        elif kind == "too_short" and loc and loc[-1] in ("items", "subscales"):
            msg = f"at least one entry is needed in {loc[-1]}"
        elif kind in ("model_type", "dict_type"):
            msg = f"expected a mapping of fields, got {type(value).__name__}"
        line = f"{_fmt_loc(loc)}{_describe_entry(data, loc)}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if not any(isinstance((e.get("ctx") or {}).get("error"), _Problems) and not _clean_loc(e["loc"])
               for e in exc.errors()) and isinstance(data, Mapping):
        # Field-level errors stopped the cross-field checks: run them leniently on the raw data.
        for rel, msg in _lenient_cross_problems(data):
            line = f"{_fmt_loc(rel)}: {msg}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    n = len(lines)
    header = f"Invalid scale spec {where}: {n} problem{'s' if n != 1 else ''}"
    error = SpecError(header + "\n  " + "\n  ".join(lines) + "\nFix the field(s) named above (see docs/scale-spec.md).")
    error.source = where  # type: ignore[attr-defined]
    error.problems = tuple(lines)  # type: ignore[attr-defined]
    return error

