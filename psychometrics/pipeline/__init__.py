"""The whole validation: data quality → items → reliability → EFA → CFA → invariance →
validity → scoring key, written as an HTML report, ``results.json`` and a scoring key.

>>> from psychometrics.pipeline import validate                       # doctest: +SKIP
>>> result = validate("scales/mentorship_supportiveness.yaml", "responses.csv",
...                   group="career_stage", out="report-dir")          # doctest: +SKIP

Layout
------
``options``       the options, config files and their merge (defaults < config < arguments < options)
``steps/``        one module per step; each step takes typed inputs and returns a frozen result
``state``         those results and the run state that holds them
``verdicts``      the verdict rules of the executive summary, one table
``results_json``  ``results.json``
``provenance``    the provenance record
``run``           :func:`validate`, :func:`demo` and the progress runner
``result``        :class:`ValidationResult`

The report is built by :mod:`psychometrics.report` (``report.validation``) from the run
state; this package writes no HTML.

Design
------
* Every step is a call into the analysis modules; this package only chooses the samples,
  the models and the decision rules, and assembles ``results.json`` and the verdicts from
  the step results.
* **Samples.** The analysed rows are split at random (``seed``) into a *calibration* part
  (share ``split``) for the exploratory factor analysis and a *validation* part for the
  confirmatory models, so that the CFA tests a structure that was not tuned on the same
  data (cross-validation; Anderson & Gerbing, 1988; Fokkema & Greiff, 2017). Item analysis,
  reliability, validity and the scoring key use all analysed rows. Measurement invariance
  uses all analysed rows too: it asks a different question (whether the declared model
  holds equally across groups, not which model), and its multi-group models need the
  largest group sizes the data give — with half the sample, small groups lose most power
  to detect non-invariant items.
* **Nothing silent.** Rows excluded (a row policy, or ``exclude_careless``), values set
  missing and careless-responding flags are listed in the data-quality section; every
  diagnostic of every step result is shown beside it; a step that cannot run is reported
  as *not assessed* with the reason, never skipped silently.
* **Deterministic.** Same inputs, options and seed → identical ``results.json`` apart from
  ``provenance.generated_at`` (the only clock-dependent value; timings go to stderr only).
"""

from __future__ import annotations

from psychometrics.pipeline.options import ValidationOptions, load_config
from psychometrics.pipeline.result import ValidationResult
from psychometrics.pipeline.run import demo, validate
from psychometrics.scale import find_companions

__all__ = ["ValidationOptions", "ValidationResult", "validate", "load_config", "demo", "find_companions"]
