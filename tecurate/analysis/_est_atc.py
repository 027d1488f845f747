"""Average thresholded confidence (ATC, Garg et al. 2022, "Leveraging Unlabeled Data to Predict
Out-of-Distribution Performance", ICLR): the share of OOD rows whose score exceeds the threshold
that, on id_test, is exceeded by exactly as many rows as the model gets right.

The score is negative entropy of the calibrated probabilities (their ATC-NE, the better of
their two variants). The threshold is fitted on id_test, the calibration slice.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def negative_entropy(prob: np.ndarray) -> np.ndarray:
    p = np.clip(prob, 1e-12, 1.0)
    return (p * np.log(p)).sum(axis=-1)


def thresholds(data: ShiftData) -> np.ndarray:
    """(M,) the ID-test score quantile at 1 − accuracy: above it lie as many rows as are right."""
    scores = negative_entropy(data.prob_id)
    return np.array([np.quantile(s, 1.0 - a) for s, a in zip(scores, data.acc_id, strict=True)])


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    above = negative_entropy(data.prob_ood) > thresholds(data)[:, None]
    return weighted_mean(above, weights)


ATC = Estimator("atc", "ATC", "Garg et al. 2022 (ATC-NE)", estimate)
