"""Companion scales: the other measures that a scale's validity hypotheses name."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psychometrics._text import quote
from psychometrics.exceptions import PsychometricsError, PsychometricsWarning, SpecError
from psychometrics.scale.model import Scale


def find_companions(scale: Any, given: Sequence[str | Path] = (),
                    notes: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Companion scales named by the validity hypotheses of ``scale``.

    ``given`` files (or Scale objects) come first; ids still missing are looked up among
    the YAML specs beside the scale file. A file there that is not a spec of a wanted
    measure (another kind of YAML, broken YAML, an ``id`` that is not a string, a file too
    large, an invalid spec) is skipped with a note: appended to ``notes`` when given,
    else issued as a :class:`PsychometricsWarning`. Returns ``({id: Scale}, ids named by
    hypotheses but not found)``.
    """
    from psychometrics._yaml import load_yaml

    wanted = {h.measure for h in scale.validity}
    found: dict[str, Any] = {}
    for p in given:
        companion = p if isinstance(p, Scale) else Scale.from_yaml(p)
        found[companion.id] = companion
    src = scale.source
    skipped: list[str] = []
    if wanted - set(found) and src is not None:
        for sibling in sorted(Path(src).resolve().parent.glob("*.y*ml")):
            if sibling.resolve() == Path(src).resolve() or not sibling.is_file():
                continue
            try:
                head = load_yaml(sibling, "Companion spec", SpecError)
            except PsychometricsError as exc:
                skipped.append(f"skipped {sibling.name} beside the spec: {_first_line(exc)}")
                continue
            cid = head.get("id") if isinstance(head, dict) else None
            if not isinstance(cid, str) or "items" not in head:
                continue  # some other YAML file (a config, a study): not a spec, nothing to say
            if cid not in wanted - set(found):
                continue
            try:
                found[cid] = Scale.from_dict(head, source=sibling)
            except PsychometricsError as exc:
                skipped.append(f"skipped {sibling.name} (id {quote(cid)}) beside the spec: it is not a valid "
                               f"spec: {_first_line(exc)}")
    for note in skipped:
        if notes is not None:
            notes.append(note)
        else:
            warnings.warn(note, PsychometricsWarning, stacklevel=2)
    return found, sorted(wanted - set(found))


def _first_line(exc: Exception) -> str:
    return quote(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200).strip("'\"")
