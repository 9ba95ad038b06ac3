"""Evidence based on test content: the scale, its items as administered and its facets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from psychometrics.report.text import subscale_name

if TYPE_CHECKING:
    from psychometrics.scale import Scale

__all__ = ["scale_info", "content_section"]


def scale_info(scale: Scale) -> dict[str, Any]:
    """The report's header: name, version, construct and response format."""
    rf = scale.response_format
    labels = ", ".join(f"{k} = {v}" for k, v in rf.labels.items())
    return {"name": scale.name, "version": str(scale.version), "construct": scale.construct or None,
            "response_format": f"{rf.type} {rf.min}–{rf.max}" + (f" ({labels})" if labels else "")}


def content_section(scale: Scale) -> dict[str, Any]:
    """The items (subscale, text, keying) and the facets (name, definition, number of items)."""
    item_ids = list(scale.item_ids)
    items = pd.DataFrame(
        {"Subscale": [subscale_name(scale, scale.subscale_of(i)) for i in item_ids],
         "Text": [scale.item(i).text for i in item_ids],
         "Keyed": ["R" if scale.item(i).reverse else "+" for i in item_ids]},
        index=pd.Index(item_ids, name="Item"))
    facets = pd.DataFrame(
        {"Name": [s.name for s in scale.subscales],
         "Definition": [s.definition or "" for s in scale.subscales],
         "Items": [len(scale.items_of(s.id)) for s in scale.subscales]},
        index=pd.Index([s.id for s in scale.subscales], name="Subscale"))
    return {"items": items, "items_note": "R = reverse-keyed item.", "facets": facets}
