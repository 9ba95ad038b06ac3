"""The run's diagnostics grouped by cause: one line per cause with the steps, scores and groups
it affected, ordered by what a reviewer must act on first.

A run's diagnostics repeat: the same listwise deletion is recorded for every CFA model, the
same empty cells for every group pair. :func:`group_by_cause` keeps one entry per cause; the
full list stays in ``results.json["diagnostics"]`` and behind a ``<details>`` in the report.

Each message is ``"<step>: <text>"`` (the prefixes of the run state's ``diagnostics``). Its
cause is the first rule of :data:`CAUSES` whose pattern matches the text; a message no rule
knows is its own cause after numbers and quoted values are blanked out (so "12 rows" and
"7 rows" of the same sentence fall together).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

__all__ = ["DiagnosticCause", "CAUSES", "TIERS", "group_by_cause"]

#: Tiers of urgency, in the order a reviewer should read them.
TIERS: tuple[tuple[str, str], ...] = (
    ("act", "estimation failed or gave an improper solution: results of these steps are not trustworthy"),
    ("check", "data or models were changed to make an analysis possible: check that this is acceptable"),
    ("note", "documented handling (missing data, sparse tables, unscored rows): no action needed"),
)
_TIER = {name: k for k, (name, _) in enumerate(TIERS)}

#: (regular expression on the text, cause shown, tier), first match wins.
CAUSES: tuple[tuple[str, str, str], ...] = (
    (r"did not converge|not converged|failed to converge", "an estimation did not converge", "act"),
    (r"could not be (fitted|computed|estimated)|failed\b|fell back|fallback",
     "an analysis could not be computed (or fell back to another method)", "act"),
    (r"Heywood|negative (residual )?variance|exceeds 1|standardized loading above 1",
     "improper solution (Heywood case: a negative variance or a loading beyond 1)", "act"),
    (r"not positive definite", "a covariance or correlation matrix is not positive definite", "act"),
    (r"not identified|under-identified|Ledermann", "a model is not (empirically) identified", "act"),
    (r"alpha = .* is negative|correlate negatively with", "items correlate negatively with their score", "act"),
    (r"load negatively on the general factor|reversed for ω",
     "items load negatively on the general factor (reversed for ω)", "check"),
    (r"excluded \d+ row", "rows excluded", "check"),
    (r"set \d+ value\(s\) .* to missing", "values set missing", "check"),
    (r"merged into", "empty response categories merged (the same in every group)", "check"),
    (r"listwise deletion", "listwise deletion: rows with a missing answer on a model's items are not used",
     "note"),
    (r"pairwise-complete", "pairwise-complete correlations: rows with missing answers used pair by pair", "note"),
    (r"empty cells in their bivariate table",
     "item pairs with empty cells in their bivariate table (0.5 added to empty cells, as lavaan)", "note"),
    (r"not scored because fewer than", "rows not scored: fewer than the minimum share of a score's items answered",
     "note"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), cause, tier) for p, cause, tier in CAUSES)
_CATEGORY_TIER = {"ConvergenceWarning": "act", "HeywoodCaseWarning": "act", "NotPositiveDefiniteWarning": "act",
                  "IdentificationWarning": "act", "ReliabilityWarning": "check", "InvarianceWarning": "check"}
_GROUP = re.compile(r"\bgroups? '([^']{1,80})'")
_SCOPE = re.compile(r"^([A-Za-z_][\w.\-]{0,60}): ")


@dataclass(frozen=True)
class DiagnosticCause:
    """One cause of diagnostics: what happened, how urgent, where, and every message behind it.

    Attributes
    ----------
    cause : str
        The cause in words (one line).
    tier : {"act", "check", "note"}
        What a reviewer must do (see :data:`TIERS`); causes are ordered by it.
    category : str
        The warning class of the first message.
    steps : tuple of str
        The steps (and models) whose diagnostics have this cause, in run order.
    scopes : tuple of str
        Scores, items or parts named at the start of the messages (e.g. the subscales of
        "encouragement: 10 row(s) not scored …").
    groups : tuple of str
        Groups the messages name.
    messages : tuple of str
        The full messages, step prefix included.
    indices : tuple of int
        Their positions in the list grouped (``results.json["diagnostics"]``).
    """

    cause: str
    tier: str
    category: str
    steps: tuple[str, ...]
    scopes: tuple[str, ...]
    groups: tuple[str, ...]
    messages: tuple[str, ...]
    indices: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return len(self.messages)

    def line(self) -> str:
        """The cause as one line: cause — steps (scopes) — groups — count."""
        where = ", ".join(self.steps)
        if self.scopes:
            where += f" ({', '.join(self.scopes)})"
        out = f"{self.cause} — {where}"
        if self.groups:
            out += f"; groups: {', '.join(self.groups)}"
        return out + f" [{self.count}×]" if self.count > 1 else out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``diagnostics``: the indices of the full messages in the list grouped)."""
        return {"cause": self.cause, "tier": self.tier, "category": self.category, "steps": list(self.steps),
                "scopes": list(self.scopes), "groups": list(self.groups), "count": self.count,
                "line": self.line(), "diagnostics": list(self.indices)}


def _as_pair(d: Any) -> tuple[str, str]:
    """(category, message) of a ``Diagnostic``, a mapping or a text."""
    if is_dataclass(d) and not isinstance(d, type):
        x = asdict(d)
        return str(x.get("category", "")), str(x.get("message", ""))
    if isinstance(d, Mapping):
        return str(d.get("category", "")), str(d.get("message", ""))
    return "", str(d)


def _split_step(message: str) -> tuple[str, str]:
    step, sep, text = message.partition(": ")
    if not sep or len(step) > 80:
        return "", message
    return step, text


def _classify(category: str, text: str) -> tuple[str, str, str]:
    """(key, cause, tier) of a message text."""
    for rx, cause, tier in _COMPILED:
        if rx.search(text):
            return cause, cause, tier
    short = _SCOPE.sub("", _split_step(text)[1], count=1)  # without the step and a leading score or item
    key = re.sub(r"'[^']*'", "'…'", re.sub(r"\d+(\.\d+)?", "#", short))
    cause = short if len(short) <= 160 else short[:159] + "…"
    return key, cause, _CATEGORY_TIER.get(category, "check")


def group_by_cause(diagnostics: Iterable[Any]) -> list[DiagnosticCause]:
    """The diagnostics grouped by cause, most urgent tier first (run order within a tier)."""
    order: list[str] = []
    acc: dict[str, dict[str, Any]] = {}
    for i, d in enumerate(diagnostics):
        category, message = _as_pair(d)
        step, text = _split_step(message)
        key, cause, tier = _classify(category, message)
        if key not in acc:
            order.append(key)
            acc[key] = {"cause": cause, "tier": tier, "category": category, "steps": [], "scopes": [],
                        "groups": [], "messages": [], "indices": []}
        a = acc[key]
        if step and step not in a["steps"]:
            a["steps"].append(step)
        m = _SCOPE.match(text)
        if m and m.group(1) not in a["scopes"] and m.group(1) != step:
            a["scopes"].append(m.group(1))
        for g in _GROUP.findall(text):
            if g not in a["groups"]:
                a["groups"].append(g)
        a["messages"].append(message)
        a["indices"].append(i)
    causes = [DiagnosticCause(a["cause"], a["tier"], a["category"], tuple(a["steps"]), tuple(a["scopes"]),
                              tuple(a["groups"]), tuple(a["messages"]), tuple(a["indices"])) for a in (acc[k] for k in order)]
    return sorted(causes, key=lambda c: _TIER[c.tier])  # stable: run order within a tier
