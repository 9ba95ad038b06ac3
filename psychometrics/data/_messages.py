"""Wording shared by the readers and the checks: how rows are quoted, column-name hints."""

from __future__ import annotations
from psychometrics._text import quote

_EXAMPLES = 5  # example rows quoted per problem


def _rows(labels, kind: str) -> str:
    labels = list(labels)
    shown = ", ".join(str(x) for x in labels[:_EXAMPLES]) + (", …" if len(labels) > _EXAMPLES else "")
    if kind == "file":
        return f"data row{'s' if len(labels) != 1 else ''} {shown}"
    return f"index label{'s' if len(labels) != 1 else ''} {shown}"


def _row_note(kind: str) -> str:
    if kind == "file":
        return " (Data row 1 is the first respondent, right below the header; in a spreadsheet that is row 2.)"
    return ""


def _note_prefix(kind: str) -> str:
    note = _row_note(kind).strip()
    return f"{note} " if note else ""


def _suggest_columns(missing: list[str], available: list[str]) -> str:
    import difflib

    hints = []
    lower = {c.lower(): c for c in available}
    for m in missing:
        match = lower.get(m.lower()) or next(iter(difflib.get_close_matches(m, available, n=1, cutoff=0.8)), None)
        if match:
            hints.append(f"{quote(match)} → {quote(m)}")
    return f" Possible matches: {', '.join(hints)}." if hints else ""

