"""The sections of the validation report, one module each, built from a validation run
(:class:`psychometrics.report.inputs.ValidationRun`) by :mod:`psychometrics.report.validation`.

``content`` (the items), ``data_quality``, the internal-structure subsections ``items``,
``reliability``, ``efa``, ``cfa`` and ``invariance``, ``relations``, ``scoring`` and
``summary``. A new report section is a module here returning its blocks
(:class:`~.base.Part` for a subsection), added in ``report/validation.py``.
"""
