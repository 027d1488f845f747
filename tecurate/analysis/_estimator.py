"""What a label-free OOD accuracy estimator is: a name, a label, a reference and one function.

Adding one is a module with an :class:`Estimator` and a line in :mod:`tecurate.analysis._estimators`;
the report, the MAE table and tecurate's combination pick it up from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tecurate.analysis._shift_data import ShiftData

Estimate = Callable[[ShiftData, np.ndarray], np.ndarray]
"""``estimate(data, weights)``: (R, n_ood) row weights in, (R, M) estimated accuracies in [0, 1] out."""


@dataclass(frozen=True)
class Estimator:
    """One published (or tecurate's own) estimator of a model's accuracy on unlabelled rows."""

    name: str
    label: str
    """Short name for tables (``ATC``)."""
    reference: str
    estimate: Estimate
