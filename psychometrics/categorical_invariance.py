"""Compatibility name of :mod:`psychometrics.invariance.categorical` (measurement invariance of
ordinal items, WLSMV), where the code now lives.

``from psychometrics.categorical_invariance import categorical_invariance`` keeps working:
this name is an alias of that very module object (not a copy of its names), so code that
patches ``psychometrics.categorical_invariance.categorical_invariance`` patches the function
that :func:`psychometrics.invariance.measurement_invariance` calls with ``estimator="WLSMV"``.
"""

import sys

from psychometrics.invariance import categorical as _categorical

sys.modules[__name__] = _categorical
