"""Difference of confidences (DoC, Guillory et al. 2021, "Predicting with Confidence on Unseen
Distributions", ICCV): ID-test accuracy moved by the drop in average confidence from id_test to
the OOD rows. Calibrated probabilities make AC and DoC agree on id_test itself.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    conf_id = data.prob_id.max(axis=2).mean(axis=1)
    return np.clip(data.acc_id - conf_id + weighted_mean(data.prob_ood.max(axis=2), weights), 0.0, 1.0)


DOC = Estimator("doc", "DoC", "Guillory et al. 2021", estimate)
