"""The steps of a validation, in order; each takes typed inputs and returns its frozen result
(:mod:`psychometrics.pipeline.state`).

1. :func:`~.data.load_data` — data quality, companion measures, calibration/validation split (in two
   parts, :func:`~.data.load_scale_rows` and :func:`~.data.finish_data`: the second may run beside steps 2–6)
2. :func:`~.items.analyse_items` — item analysis
3. :func:`~.reliability.reliability_step` — α, ω, …; ordinal α and categorical ω
4. :func:`~.efa.efa_step` — adequacy, retention, EFA (calibration sample)
5. :func:`~.cfa.cfa_step` — competing CFA models (validation sample)
6. :func:`~.invariance.invariance_step` — measurement invariance across groups
   :func:`~.irt.irt_step` — GRM calibrations, item fit, information, IRT DIF (option ``irt``)
7. :func:`~.validity.validity_step` — CR/AVE/HTMT, scores, validity hypotheses
8. :func:`~.scoring.scoring_step` — the scoring key

A new step is a module here with one such function, a result class in ``state.py``, a
call in :func:`psychometrics.pipeline.run.validate`, and (if it is judged) a row in
:mod:`psychometrics.pipeline.verdicts`.
"""

from psychometrics.pipeline.steps.cfa import cfa_step, fit_indices
from psychometrics.pipeline.steps.data import finish_data, load_data, load_scale_rows, split_rows, subset_responses
from psychometrics.pipeline.steps.efa import efa_step
from psychometrics.pipeline.steps.invariance import invariance_step
from psychometrics.pipeline.steps.irt import irt_step
from psychometrics.pipeline.steps.items import analyse_items
from psychometrics.pipeline.steps.reliability import reliability_step
from psychometrics.pipeline.steps.scoring import scoring_step
from psychometrics.pipeline.steps.validity import validity_step

__all__ = ["load_data", "load_scale_rows", "finish_data", "split_rows", "subset_responses", "analyse_items",
           "reliability_step", "efa_step", "cfa_step", "fit_indices", "invariance_step", "irt_step", "validity_step", "scoring_step"]
