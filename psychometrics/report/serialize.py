"""The report inside ``results.json``, and re-rendering a report from it without recomputing.

``results.json`` carries the normalised report (:func:`~psychometrics.report.build.normalise_report`:
numbered tables as display strings, figures as SVG, the provenance) under ``"report"``, so
``psychometrics report results.json --out report.html [--template DIR] [--tables docx]`` gives the
same report ``validate`` wrote (or one from other templates, or the Word tables) in a second.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from psychometrics._io import announce_replaced, atomic_write_text, check_outputs
from psychometrics.exceptions import SpecError
from psychometrics.report.figures import SVG
from psychometrics._text import quote

__all__ = ["RESULTS_FORMAT_VERSION", "normalised_to_json", "normalised_from_json", "rerender"]

#: version of the results.json layout (2: the normalised report under "report")
RESULTS_FORMAT_VERSION = 2

# SVG markup that could run code or load anything: refused when a results file is read back
_UNSAFE_SVG = re.compile(r"<\s*script|javascript:|<\s*foreignObject|\son[a-z]+\s*=|(?:xlink:)?href\s*=\s*[\"'](?!#)",
                         re.IGNORECASE)


def normalised_to_json(normalised: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised report as plain JSON types (SVG figures become strings)."""
    return json.loads(json.dumps(normalised, allow_nan=False))


def _figures(node: Any, where: str) -> Any:
    if isinstance(node, list):
        return [_figures(x, where) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _figures(v, where) for k, v in node.items()}
    if out.get("type") == "figure":
        svg = str(out.get("svg", ""))
        if not svg.lstrip().startswith("<svg") or _UNSAFE_SVG.search(svg):
            raise SpecError(f"{where}: figure {quote(out.get('title'))} holds markup that is not a plain SVG "
                            "drawing (script, event handler or external link); the file was not written by "
                            "psychometrics or was changed — re-run validate")
        out["svg"] = SVG(svg)
    return out


def normalised_from_json(data: Mapping[str, Any], where: str = "results.json") -> dict[str, Any]:
    """The normalised report back from JSON: figures checked and marked as SVG again."""
    return _figures(dict(data), where)


def rerender(results: str | os.PathLike[str], out: str | os.PathLike[str], *,
             template_dir: str | os.PathLike[str] | None = None, tables: str | None = None,
             overwrite: bool = False) -> Path:
    """Render ``report.html`` (and optionally ``tables.docx`` beside it) from a ``results.json``.

    Parameters
    ----------
    results : path
        A ``results.json`` written by ``validate`` (format version :data:`RESULTS_FORMAT_VERSION`).
    out : path
        The HTML file to write. An existing file is refused unless ``overwrite``; it may
        never be the results file itself (:func:`psychometrics._io.check_outputs`).
    template_dir : path, optional
        A custom template folder (docs/report.md).
    tables : {"docx"}, optional
        Also write ``tables.docx`` next to ``out``.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    from psychometrics.report.build import render_normalised

    src, dest = Path(results), Path(out)
    where = str(src)[:200]
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{where}: cannot be read as a results.json ({type(exc).__name__}: {str(exc)[:120]})") from exc
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != RESULTS_FORMAT_VERSION:
        raise SpecError(f"{where}: results format version {str(version)[:20]}, but this psychometrics reads version "
                        f"{RESULTS_FORMAT_VERSION}; re-run `psychometrics validate` with this version to get a "
                        "results.json it can render")
    if not isinstance(data.get("report"), dict):
        raise SpecError(f"{where}: has no 'report' entry; re-run `psychometrics validate`")
    if tables not in (None, "docx"):
        raise SpecError(f"--tables: must be docx, got {quote(tables)}")
    docx_path = dest.parent / "tables.docx"
    replaced = check_outputs([dest, *([docx_path] if tables == "docx" else [])], [src, template_dir], overwrite)
    normalised = normalised_from_json(data["report"], where)
    html = render_normalised(normalised, template_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, html)
    if tables == "docx":
        from psychometrics.report.docx import write_normalised_docx

        write_normalised_docx(normalised, docx_path)
    announce_replaced(replaced)
    return dest
