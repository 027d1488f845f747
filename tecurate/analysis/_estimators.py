"""Every label-free OOD accuracy estimator, registered in ``ESTIMATORS`` in the order reports list them."""

from __future__ import annotations

from tecurate.analysis._est_ac import AC
from tecurate.analysis._est_aline import ALINE_D, ALINE_S
from tecurate.analysis._est_atc import ATC
from tecurate.analysis._est_doc import DOC
from tecurate.analysis._est_no_shift import NO_SHIFT
from tecurate.analysis._est_prior import PRIOR
from tecurate.analysis._estimator import Estimator
from tecurate.registry import Registry

ESTIMATORS: Registry[Estimator] = Registry("OOD accuracy estimator")
ESTIMATORS.register(NO_SHIFT.name, NO_SHIFT)
ESTIMATORS.register(AC.name, AC)
ESTIMATORS.register(ATC.name, ATC)
ESTIMATORS.register(DOC.name, DOC)
ESTIMATORS.register(ALINE_S.name, ALINE_S)
ESTIMATORS.register(ALINE_D.name, ALINE_D)
ESTIMATORS.register(PRIOR.name, PRIOR)
