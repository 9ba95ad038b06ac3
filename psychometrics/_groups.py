"""Group labels as the results show them (private, shared by the ML and WLSMV sample statistics
and by invariance's choice of the reference group)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["group_label"]


def group_label(value: Any) -> str:
    """Group label as text; integral floats (a numeric column with NaN) print as integers."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
