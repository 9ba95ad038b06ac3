"""Study simulator: realistic Likert responses from a declarative population model.

A *study file* (YAML, schema in ``docs/mentorship-scale.md``) names the scale under
validation, its companion measures, a grouping variable and a population model: factor
correlations, standardized loadings, category thresholds, latent mean differences between
groups, and deliberately planted problems (weak and cross-loading items, differential item
functioning, missing values, careless responders). :func:`simulate_study` draws a data set
from it; :func:`load_study` reads and validates it.

The generating model is the common-factor model for ordinal items with a latent response
variable (Muthén, 1984; Bollen, 1989, ch. 9). For respondent *i* in group *g*

.. math::

    \\eta_i \\sim N(\\mu_g, \\Phi), \\qquad
    y^*_{ij} = \\lambda_j^\\top \\eta_i + \\delta_{gj} + \\varepsilon_{ij}, \\qquad
    \\varepsilon_{ij} \\sim N(0, 1 - \\lambda_j^\\top \\Phi \\lambda_j),

so that :math:`\\operatorname{Var}(y^*_{ij}) = 1` in the reference group (standardized
loadings), :math:`\\delta_{gj}` is a DIF shift of item *j* in group *g*, and the scored
category is :math:`\\min + \\#\\{k : y^*_{ij} > \\tau_{jk}\\}`. Everything is expressed in
the *scored* direction (after reverse keying); reverse-keyed items are written out as a
respondent would answer them, ``min + max - scored``, so that
:func:`psychometrics.load_responses` recovers the construct direction.

References
----------
Muthén, B. (1984). A general structural equation model with dichotomous, ordered
categorical, and continuous latent variable indicators. *Psychometrika, 49*, 115–132.
Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.

Modules
-------
spec    the study-file schema (pydantic)
study   :class:`Study` and :func:`load_study`: read, validate, compile the population model
draw    :func:`simulate_study`: one data set from a study
files   the embedded study and scale files; :func:`write_table`
"""

from __future__ import annotations

from psychometrics.simulate.draw import simulate_study
from psychometrics.simulate.files import (  # noqa: F401 - DEFAULT_STUDY_FILE was a module-level name
    DEFAULT_STUDY_FILE,
    OUTPUT_FORMATS,
    default_study_path,
    embedded_scales_dir,
    write_table,
)
from psychometrics.simulate.spec import (  # noqa: F401 - the schema models were module-level names
    CarelessSpec,
    DifSpec,
    GroupLevel,
    GroupSpec,
    MissingSpec,
    PopulationSpec,
    StudySpec,
)
from psychometrics.simulate.study import Study, load_study

__all__ = [
    "Study",
    "StudySpec",
    "load_study",
    "simulate_study",
    "default_study_path",
    "embedded_scales_dir",
    "write_table",
    "OUTPUT_FORMATS",
]
