"""Average thresholded confidence (ATC, Garg et al. 2022, "Leveraging Unlabeled Data to Predict
Out-of-Distribution Performance", ICLR): the share of OOD rows whose score exceeds the threshold
that, on id_test, is exceeded by exactly as many rows as the model gets right.

The score is negative entropy of the calibrated probabilities (their ATC-NE, the better of
their two variants). The threshold is fitted on id_test, the calibration slice. Scores tie often
here (a collapsed model, or boosting with a few stumps, gives many rows one probability), so
rows exactly at the threshold count with the fraction that makes the ID-test estimate equal
the ID-test accuracy, instead of all or none.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData, weighted_mean


def negative_entropy(prob: np.ndarray) -> np.ndarray:
    p = np.clip(prob, 1e-12, 1.0)
    return (p * np.log(p)).sum(axis=-1)


def _scores(prob: np.ndarray) -> np.ndarray:
    """Negative entropy rounded to 6 digits, so float noise does not split a tie."""
    return np.round(negative_entropy(prob), 6)


def thresholds(data: ShiftData) -> tuple[np.ndarray, np.ndarray]:
    """(M,) the ID-test score quantile at 1 − accuracy, and the share of the rows exactly at it
    that counts, so that on id_test the estimate is the accuracy."""
    scores = _scores(data.prob_id)
    t = np.array([np.quantile(s, 1.0 - a, method="inverted_cdf") for s, a in zip(scores, data.acc_id, strict=True)])
    above = (scores > t[:, None]).mean(axis=1)
    at = (scores == t[:, None]).mean(axis=1)
    fraction = np.clip((data.acc_id - above) / np.where(at > 0, at, 1.0), 0.0, 1.0)
    return t, np.where(at > 0, fraction, 0.0)


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    t, fraction = thresholds(data)
    scores = _scores(data.prob_ood)
    counted = (scores > t[:, None]) + fraction[:, None] * (scores == t[:, None])
    return weighted_mean(counted, weights)


ATC = Estimator("atc", "ATC", "Garg et al. 2022 (ATC-NE)", estimate)
