"""What every label-free OOD accuracy estimator reads: one OOD split, every model of both routes.

The estimators (:mod:`tecurate.analysis._estimators`) are functions of this record and of row
weights on the OOD rows, ``weights`` of shape (R, n_ood): R = 1 with all ones is the plain
estimate, Poisson(1) rows are the bootstrap of the interval, and importance weights on the
*ID* rows (the record built by :meth:`ShiftData.on_id_rows`) are the pseudo-shifts on which
tecurate's combination scores each estimator. Weights in, (R, M) estimates out: numpy only.

Calibration: probabilities are recalibrated per model by bias-corrected temperature scaling
(BCTS, Alexandari et al. 2020, "Maximum Likelihood with Bias-Corrected Calibration is
Hard-To-Beat at Label Shift Adaptation", ICML): softmax(log p / T + b), one temperature and one
bias per class, fitted by maximum likelihood on ``id_test`` — rows the models never trained on;
no OOD row is used, so nothing of the OOD split leaks into the estimate. The bias matters: a
model fitted with ``class_weight="balanced"`` is confident in the wrong class shares, which a
temperature alone cannot undo; the temperature matters for xgboost with a learning rate of
0.001, whose raw probabilities are ~0.5 for every row. K parameters per model on a few hundred
rows barely overfit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

_FLOOR = 1e-6
"""Probabilities are clipped here before logs, so a certain (one-hot) model stays finite."""
_NEWTON_STEPS = 30
_MAX_STEP = 5.0
_SCALE_RANGE = (0.02, 50.0)
"""Bounds of 1/T: from flattening a model 50-fold to sharpening it 50-fold."""


def fit_calibration(prob_id: np.ndarray, y_id: np.ndarray) -> np.ndarray:
    """(M, K) BCTS parameters (1/T, then b_1..b_{K-1}) of models × rows × K probabilities
    against the true codes ``y_id``.

    The likelihood is convex in them, so a damped Newton step for every model at once (a
    step is halved, up to 8 times, until the likelihood does not rise; no coordinate moves by
    more than 5 at once) converges in a few steps; b_0 = 0 fixes softmax's free shift.
    """
    logp = np.log(np.clip(prob_id, _FLOOR, 1.0)).astype(float)
    m, n, k = logp.shape
    onehot = (y_id[:, None] == np.arange(k)).astype(float)
    theta = np.zeros((m, k))
    theta[:, 0] = 1.0
    loss = _nll(theta, logp, onehot)
    jac = np.concatenate([logp[..., None], np.broadcast_to(np.eye(k)[:, 1:], (m, n, k, k - 1))], axis=3)
    for _ in range(_NEWTON_STEPS):
        p = _softmax(_logits(theta, logp))
        grad = np.einsum("mnk,mnkj->mj", p - onehot[None], jac) / n
        pj = np.einsum("mnk,mnkj->mnj", p, jac)
        hess = (np.einsum("mnk,mnki,mnkj->mij", p, jac, jac) - np.einsum("mni,mnj->mij", pj, pj)) / n
        step = np.linalg.solve(hess + 1e-6 * np.eye(k), grad[..., None])[..., 0]
        # A saturated model (one-hot, or nearly) has a vanishing Hessian: cap the step's size.
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(np.abs(step).max(axis=1), 1e-12))[:, None]
        trial = theta - step
        trial[:, 0] = np.clip(trial[:, 0], *_SCALE_RANGE)
        new = _nll(trial, logp, onehot)
        for _ in range(8):  # halve the steps that made it worse, recomputing only those models
            worse = np.flatnonzero(new > loss + 1e-12)
            if not worse.size:
                break
            step[worse] /= 2
            trial[worse] = theta[worse] - step[worse]
            trial[worse, 0] = np.clip(trial[worse, 0], *_SCALE_RANGE)
            new[worse] = _nll(trial[worse], logp[worse], onehot)
        keep = new <= loss + 1e-12
        gain = np.where(keep, loss - new, 0.0).max()
        theta = np.where(keep[:, None], trial, theta)
        loss = np.where(keep, new, loss)
        if gain < 1e-9:
            break
    return theta


def calibrate(theta: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Models × rows × K probabilities recalibrated with :func:`fit_calibration`'s parameters."""
    return _softmax(_logits(theta, np.log(np.clip(prob, _FLOOR, 1.0)).astype(float))).astype(np.float32)


def _logits(theta: np.ndarray, logp: np.ndarray) -> np.ndarray:
    bias = np.concatenate([np.zeros((theta.shape[0], 1)), theta[:, 1:]], axis=1)
    return theta[:, 0, None, None] * logp + bias[:, None, :]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=2, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=2, keepdims=True)


def _nll(theta: np.ndarray, logp: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    z = _logits(theta, logp)
    top = z.max(axis=2, keepdims=True)
    norm = top[..., 0] + np.log(np.exp(z - top).sum(axis=2))
    return (norm - (z * onehot[None]).sum(axis=2)).mean(axis=1)


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
    calibration: np.ndarray = field(default_factory=lambda: np.ones((0, 0)))
    """(M, K) BCTS parameters of :func:`fit_calibration`: 1/T, then the biases."""
    _memo: dict[tuple[str, int], tuple[np.ndarray, Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_models(self) -> int:
        return int(self.pred_id.shape[0])

    @cached_property
    def conf_id(self) -> np.ndarray:
        """(M, n_id) calibrated probability of the class each model predicts: its chance to be right."""
        return np.take_along_axis(self.prob_id, self.pred_id[..., None], axis=2)[..., 0]

    @cached_property
    def conf_ood(self) -> np.ndarray:
        return np.take_along_axis(self.prob_ood, self.pred_ood[..., None], axis=2)[..., 0]

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

    def predicted_shares(self, weights: np.ndarray) -> np.ndarray:
        """(R, M, K) weighted share of OOD rows each model puts in each class."""
        shares = np.stack([weights @ (self.pred_ood == k).T.astype(np.float32) for k in range(self.n_classes)],
                          axis=2)
        return shares / weights.sum(axis=1)[:, None, None]

    def memo(self, key: str, weights: np.ndarray, compute: Callable[[], T]) -> T:
        """``compute()`` once per (``key``, weights array): ALine-S and ALine-D share one fit."""
        found = self._memo.get((key, id(weights)))
        if found is None or found[0] is not weights:
            found = (weights, compute())
            self._memo[(key, id(weights))] = found
        return found[1]

    def on_id_rows(self) -> ShiftData:
        """The same models with the ID-test rows in place of the OOD rows: weights on it are
        pseudo-shifts with known answers (each model's weighted ID accuracy)."""
        return ShiftData(self.n_classes, self.y_id, self.pred_id, self.pred_id, self.prob_id, self.prob_id,
                         self.collapsed, self.groups, self.eps, self.calibration)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(R, M) weighted row mean of models × rows ``values`` under each of the R weight rows."""
    return (weights @ values.T.astype(float)) / weights.sum(axis=1)[:, None]


def _one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    return (codes[..., None] == np.arange(n_classes)).astype(np.float32)
