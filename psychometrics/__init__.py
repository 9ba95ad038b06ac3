"""psychometrics: develop and validate psychological measurement scales.

The package follows the validation pipeline, one module per stage::

    scale        declarative scale specification (YAML)
    data         reading and validating response data
    items        item analysis
    reliability  alpha, omega, Guttman's lambdas, split-half
    efa          exploratory factor analysis and factor retention
    cfa          confirmatory factor analysis (single- and multi-group)
    invariance   measurement invariance across groups
    validity     validity evidence (AVE, HTMT, relations to other variables)
    scoring      scoring keys and norms
    report       the validation report (HTML, figures) built from typed results
    pipeline     the whole validation: options, steps, verdict rules, results.json

Shared core modules: ``exceptions``, ``_results`` (result objects) and ``_display``
(number formatting and the Jupyter view of results).

Heavy dependencies are imported lazily so that ``import psychometrics`` and
``psychometrics --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public names re-exported at top level, resolved on first access.
_LAZY_ATTRS = {
    "Scale": "psychometrics.scale",
    "load_responses": "psychometrics.data",
    "polychoric": "psychometrics.ordinal",
    "validate": "psychometrics.pipeline",
}
_SUBMODULES = {
    "scale", "data", "items", "reliability", "efa", "cfa", "invariance", "validity",
    "scoring", "pipeline", "datasets", "exceptions", "simulate", "ordinal", "report", "plan",
    "categorical_invariance",
}

__all__ = ["__version__", *_LAZY_ATTRS, *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"psychometrics.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'psychometrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
