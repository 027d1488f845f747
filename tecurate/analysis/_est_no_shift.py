"""The no-shift guess: a model is as accurate on the OOD rows as on id_test. The bar to beat."""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return np.broadcast_to(data.acc_id, (weights.shape[0], data.n_models)).copy()


NO_SHIFT = Estimator("no_shift", "no shift", "ID-test accuracy", estimate)
