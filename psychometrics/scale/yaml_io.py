"""Reading a scale spec file through the package's bounded YAML loader (:mod:`psychometrics._yaml`).

Every failure becomes a :class:`~psychometrics.exceptions.SpecError` naming the file
(and the line and column for YAML syntax errors); oversized files and alias bombs are
refused before anything walks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psychometrics._yaml import parse_yaml, read_text
from psychometrics.exceptions import SpecError


def _read_text(path: Path) -> str:
    return read_text(path, "Scale spec", SpecError)


def _parse_yaml(text: str, path: Path) -> Any:
    return parse_yaml(text, path, "Scale spec", SpecError)
