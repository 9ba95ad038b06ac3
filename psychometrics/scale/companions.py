"""Companion scales: the other measures that a scale's validity hypotheses name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psychometrics.scale.model import Scale


def find_companions(scale: Any, given: Sequence[str | Path] = ()) -> tuple[dict[str, Any], list[str]]:
    """Companion scales named by the validity hypotheses of ``scale``.

    ``given`` files (or Scale objects) come first; ids still missing are looked up among
    the YAML specs beside the scale file. Returns ``({id: Scale}, ids named by hypotheses
    but not found)``.
    """
    import yaml

    wanted = {h.measure for h in scale.validity}
    found: dict[str, Any] = {}
    for p in given:
        companion = p if isinstance(p, Scale) else Scale.from_yaml(p)
        found[companion.id] = companion
    src = scale.source
    if wanted - set(found) and src is not None:
        for sibling in sorted(Path(src).resolve().parent.glob("*.y*ml")):
            if sibling.resolve() == Path(src).resolve():
                continue
            try:
                head = yaml.safe_load(sibling.read_text(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - unrelated or broken files are not companions
                continue
            if isinstance(head, dict) and head.get("id") in wanted - set(found) and "items" in head:
                found[head["id"]] = Scale.from_yaml(sibling)
    return found, sorted(wanted - set(found))
