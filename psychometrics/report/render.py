"""The jinja2 environment of the validation report, and custom template folders.

Autoescape is always on, so text that comes from users (item texts, labels,
column and group names) is shown as text, never interpreted as HTML. The
report's templates (``templates/``) are chained with the core display's
(:data:`psychometrics._display.TEMPLATES`: the APA table macro and the Jupyter
view of a result), so both draw tables with one macro.

A custom template folder (``--template DIR``) comes first in the chain: its
``report.html.j2`` may extend ``base_report.html.j2`` and override blocks, its
``_text.html.j2`` may replace the fixed text. Custom templates run in jinja2's
sandbox, keep autoescape, and every report must still carry the
Content-Security-Policy (:func:`check_policy`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from psychometrics._display import format_value, render_result, template_loader
from psychometrics.exceptions import SpecError

__all__ = ["environment", "render_result", "check_policy", "CONTENT_SECURITY_POLICY"]

#: the policy every report carries: nothing but inline styles and data: images, no script, no network
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@lru_cache(maxsize=4)
def environment(template_dir: str | None = None):
    """The report's jinja2 environment (autoescape on); ``template_dir`` first in the chain, sandboxed."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    loaders = [jinja2.PackageLoader("psychometrics.report", "templates"), template_loader()]
    cls = jinja2.Environment
    if template_dir is not None:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise SpecError(f"--template {str(folder)[:200]}: not a folder; give a folder of .html.j2 templates "
                            "(docs/report.md shows an example)")
        loaders.insert(0, jinja2.FileSystemLoader(os.fspath(folder)))
        cls = SandboxedEnvironment  # user templates cannot reach Python internals
    env = cls(loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
              trim_blocks=True, lstrip_blocks=True, bytecode_cache=_bytecode_cache() if template_dir is None else None)
    # the package's one number formatter (rounding happens only there)
    env.filters["num"] = lambda value, digits=3: format_value(value, digits=digits)
    return env


def _bytecode_cache():
    """jinja2's cache of compiled templates in the temporary folder (``_jinja2-cache-<uid>``, created
    private by jinja2): compiling the report's twelve templates costs ≈ 0.2 s in every run. An entry
    is used only while its template's source checksum and the Python version match (jinja2 checks
    both); a cache that cannot be read or written is skipped — the templates are then compiled."""
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket):
            try:
                super().load_bytecode(bucket)
            except (OSError, EOFError, ValueError, TypeError):  # unreadable or damaged entry: compile
                bucket.reset()

        def dump_bytecode(self, bucket):
            try:
                super().dump_bytecode(bucket)
            except OSError:  # full or read-only disk: the next run compiles again
                pass

    try:
        return QuietCache()
    except (OSError, RuntimeError):  # no usable temporary folder
        return None


def check_policy(html: str, template_dir: str | None) -> str:
    """Refuse a report whose (custom) templates dropped the Content-Security-Policy."""
    if f'content="{CONTENT_SECURITY_POLICY}"' not in html:
        raise SpecError(f"--template {str(template_dir)[:200]}: the rendered report lacks the Content-Security-Policy "
                        "meta element; extend base_report.html.j2 and override its blocks instead of replacing the "
                        "whole page")
    return html
