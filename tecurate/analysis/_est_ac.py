"""Average confidence (AC): the mean top-class probability on the OOD rows.

Right when the model stays calibrated under the shift (Hendrycks & Gimpel 2017's baseline, as
used by Garg et al. 2022); it cannot see a label shift that keeps the model confident.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return weighted_mean(data.prob_ood.max(axis=2), weights)


AC = Estimator("ac", "AC", "average confidence (Hendrycks & Gimpel 2017)", estimate)
