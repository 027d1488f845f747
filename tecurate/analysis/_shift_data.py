"""What every label-free OOD accuracy estimator reads: one OOD split, every model of both routes.

The estimators (:mod:`tecurate.analysis._estimators`) are functions of this record and of row
weights on the OOD rows, ``weights`` of shape (R, n_ood): R = 1 with all ones is the plain
estimate, Poisson(1) rows are the bootstrap of the interval, and importance weights on the
*ID* rows (the record built by :meth:`ShiftData.on_id_rows`) are the pseudo-shifts on which
tecurate's combination scores each estimator. Weights in, (R, M) estimates out: numpy only.

Calibration: probabilities are temperature-scaled per model (one temperature, the NLL minimum
over a fixed grid) on ``id_test`` — rows the models never trained on; no OOD row is used, so no
OOD label or row leaks into the estimate. One parameter per model fitted on a few hundred rows
barely overfits; it matters for the families whose raw probabilities are far from calibrated
(xgboost with a learning rate of 0.001 outputs ~0.5 for every row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 61))
"""The temperature grid, log-spaced: 0.05 sharpens a timid model 20-fold, 20 softens an overconfident one."""
_FLOOR = 1e-6
"""Probabilities are clipped here before logs, so a certain (one-hot) model stays finite."""


def calibrate(prob_id: np.ndarray, y_id: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Temperature-scale models × rows × K probabilities: fitted on ``prob_id`` against
    ``y_id``, applied to it and to ``others`` (the OOD rows). Returns the scaled arrays and the
    (M,) temperatures last."""
    logp = np.log(np.clip(prob_id, _FLOOR, 1.0))
    rows = np.arange(y_id.size)
    nll = np.empty((_TEMPERATURES.size, logp.shape[0]))
    for g, t in enumerate(_TEMPERATURES):
        scaled = logp / t
        norm = np.logaddexp.reduce(scaled, axis=2)
        nll[g] = (norm - scaled[:, rows, y_id]).mean(axis=1)
    best = _TEMPERATURES[np.argmin(nll, axis=0)]
    return (*(_scale(p, best) for p in (prob_id, *others)), best)


def _scale(prob: np.ndarray, temperature: np.ndarray) -> np.ndarray:
    scaled = np.log(np.clip(prob, _FLOOR, 1.0)) / temperature[:, None, None]
    scaled -= scaled.max(axis=2, keepdims=True)
    out = np.exp(scaled)
    return (out / out.sum(axis=2, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class ShiftData:
    """One OOD split seen by M models (both routes): ID-test labels, predictions, calibrated probabilities.

    ``groups`` numbers the routes: agreement-on-the-line fits one line per group, every other
    estimator is per model. ``collapsed`` marks a model collapsed on id_test or on this split.
    """

    n_classes: int
    y_id: np.ndarray
    pred_id: np.ndarray
    pred_ood: np.ndarray
    prob_id: np.ndarray
    prob_ood: np.ndarray
    collapsed: np.ndarray
    groups: np.ndarray
    eps: float
    temperature: np.ndarray = field(default_factory=lambda: np.ones(0))

    @property
    def n_models(self) -> int:
        return int(self.pred_id.shape[0])

    @cached_property
    def correct_id(self) -> np.ndarray:
        """(M, n_id) whether each model is right on each ID-test row."""
        return self.pred_id == self.y_id[None, :]

    @cached_property
    def acc_id(self) -> np.ndarray:
        return self.correct_id.mean(axis=1)

    @cached_property
    def prior_id(self) -> np.ndarray:
        """Class shares of id_test."""
        return np.bincount(self.y_id, minlength=self.n_classes) / self.y_id.size

    @cached_property
    def confusion(self) -> np.ndarray:
        """(M, K predicted, K true): P_ID(ŷ = k | y), a zero column for a class absent from id_test."""
        k = self.n_classes
        counts = np.zeros((self.n_models, k, k))
        for y in range(k):
            rows = self.y_id == y
            if rows.any():
                counts[:, :, y] = _one_hot(self.pred_id[:, rows], k).mean(axis=1)
        return counts

    @cached_property
    def recall(self) -> np.ndarray:
        """(M, K) P_ID(ŷ = y | y)."""
        return np.diagonal(self.confusion, axis1=1, axis2=2)

    @cached_property
    def onehot_ood(self) -> np.ndarray:
        """(M, n_ood, K) the predicted class of each OOD row, one-hot."""
        return _one_hot(self.pred_ood, self.n_classes)

    def predicted_shares(self, weights: np.ndarray) -> np.ndarray:
        """(R, M, K) weighted share of OOD rows each model puts in each class."""
        return np.einsum("rn,mnk->rmk", weights, self.onehot_ood, optimize=True) / weights.sum(axis=1)[:, None, None]

    def on_id_rows(self) -> ShiftData:
        """The same models with the ID-test rows in place of the OOD rows: weights on it are
        pseudo-shifts with known answers (each model's weighted ID accuracy)."""
        return ShiftData(self.n_classes, self.y_id, self.pred_id, self.pred_id, self.prob_id, self.prob_id,
                         self.collapsed, self.groups, self.eps, self.temperature)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(R, M) weighted row mean of models × rows ``values`` under each of the R weight rows."""
    return (weights @ values.T.astype(float)) / weights.sum(axis=1)[:, None]


def _one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    return (codes[..., None] == np.arange(n_classes)).astype(np.float32)
