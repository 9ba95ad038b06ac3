"""The jinja2 environment of the validation report.

Autoescape is always on, so text that comes from users (item texts, labels,
column and group names) is shown as text, never interpreted as HTML. The
report's templates (``templates/``) are chained with the core display's
(:data:`psychometrics._display.TEMPLATES`: the APA table macro and the Jupyter
view of a result), so both draw tables with one macro.
"""

from __future__ import annotations

from functools import lru_cache

from psychometrics._display import format_value, render_result, template_loader

__all__ = ["environment", "render_result"]


@lru_cache(maxsize=1)
def environment():
    """The report's jinja2 environment (autoescape on, templates from the package)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("psychometrics.report", "templates"), template_loader()]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # the package's one number formatter (rounding happens only there)
    env.filters["num"] = lambda value, digits=3: format_value(value, digits=digits)
    return env
