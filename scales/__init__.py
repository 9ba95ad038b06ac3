"""Scale and study files shipped with psychometrics (package data of ``psychometrics.scales``).

The canonical YAML files live in the top-level ``scales/`` folder of the source tree;
``pyproject.toml`` maps this folder to the subpackage ``psychometrics.scales`` so that an
installed package carries them. Use :func:`psychometrics.simulate.embedded_scales_dir` or
:func:`psychometrics.simulate.default_study_path` rather than this module directly.
"""
