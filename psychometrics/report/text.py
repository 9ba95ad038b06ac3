"""Numbers and names in running text (verdict evidence, notes, paragraphs).

Tables go through :func:`psychometrics._display.format_value`; these helpers write the
compact numbers of sentences such as "α = .85, ω = .87" or "Bonferroni p < .001".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psychometrics.scale import Scale

__all__ = ["fmt_number", "p_text", "subscale_name"]


def fmt_number(x: Any, digits: int = 2, lead: bool = False) -> str:
    """APA-ish number for text: no leading zero for |x| < 1 unless ``lead``; "—" for missing.

    >>> fmt_number(0.8512), fmt_number(-0.004, 3), fmt_number(1.5)
    ('.85', '−.004', '1.50')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    s = f"{abs(x):.{digits}f}"
    if not lead and abs(x) < 1:
        s = s.lstrip("0")
    return ("−" if x < 0 and float(s.replace('−', '') or 0) != 0 else "") + s


def p_text(p: float) -> str:
    """``"< .001"`` or ``"= .034"`` (to follow a "p")."""
    return "< .001" if p < 0.001 else f"= {fmt_number(p, 3)}"


def subscale_name(scale: Scale, sid: str) -> str:
    """The subscale's name, or ``sid`` itself (e.g. ``"total"`` or a factor that is no subscale)."""
    for s in scale.subscales:
        if s.id == sid:
            return s.name
    return str(sid)
