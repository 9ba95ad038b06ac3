"""Planning a validation study: Monte Carlo power and sample size, run on Dask.

>>> from psychometrics.plan import monte_carlo
>>> res = monte_carlo("f =~ 0.7*x1 + 0.7*x2 + 0.6*x3 + 0.6*x4", n=[200, 400], reps=100,
...                   analyses="cfa,reliability")  # doctest: +SKIP

Modules
-------
population  the population model: from a study file or lavaan syntax with values; checks
analyses    the per-replication analyses (a registry: cfa, reliability, invariance, irt)
runner      Dask execution: batches, SeedSequence streams, Parquet batches, resume
summary     per-condition criteria with Monte Carlo SEs; the recommended n
api         :func:`monte_carlo` and :class:`PlanResult`

The HTML report (``plan.html``) is rendered by :mod:`psychometrics.report.plan` (one layer
up); ``psychometrics plan`` writes both. See ``docs/plan.md``.
"""

from psychometrics.plan.api import PlanResult, monte_carlo
from psychometrics.plan.population import Population, from_study, from_syntax, load_population

__all__ = ["monte_carlo", "PlanResult", "Population", "from_study", "from_syntax", "load_population"]
