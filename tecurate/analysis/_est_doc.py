"""Difference of confidences (DoC, Guillory et al. 2021, "Predicting with Confidence on Unseen
Distributions", ICCV): ID-test accuracy moved by the drop in average confidence from id_test to
the OOD rows (confidence: the calibrated probability of the predicted class). Calibrated
probabilities make AC and DoC agree on id_test itself.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return np.clip(data.acc_id - data.conf_id.mean(axis=1) + weighted_mean(data.conf_ood, weights), 0.0, 1.0)


DOC = Estimator("doc", "DoC", "Guillory et al. 2021", estimate)
