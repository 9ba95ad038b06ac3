"""What a subsection builder returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Part"]


@dataclass
class Part:
    """Introductory paragraphs, blocks, and the short citations the text cites."""

    intro: list[str] = field(default_factory=list)
    blocks: list[Any] = field(default_factory=list)
    cites: set[str] = field(default_factory=set)
