"""Average confidence (AC): the mean calibrated probability of the predicted class on the OOD rows.

Right when the model stays calibrated under the shift (Hendrycks & Gimpel 2017's baseline, as
used by Garg et al. 2022); it cannot see a label shift that keeps the model confident.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return weighted_mean(data.conf_ood, weights)


AC = Estimator("ac", "AC", "average confidence (Hendrycks & Gimpel 2017)", estimate)
