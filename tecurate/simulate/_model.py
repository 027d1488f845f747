"""One generation's model: a classifier with class probabilities, and its generative model.

The classifier is the grid's (:class:`tecurate.grid.Family`, same configuration and seed on
every route). Unlike the audit, the loop needs probabilities (the confidence filter) and must
survive an absorbed generation: training labels of one class give a constant model, the end
state of collapse, instead of an error.

The generative model of ``--synthetic rows`` is deliberately simple: the class prior of the
model's own predictions on its training rows, and per predicted class a Gaussian with a
diagonal covariance (mean and variance of those rows, variance floored at 1e-4) in the
route's feature space. A model that collapses thus generates rows of one class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tecurate.grid import FAMILIES, ModelConfig, validation_split

VARIANCE_FLOOR = 1e-4


@dataclass
class Classifier:
    """A fitted model of one generation; ``proba`` has one column per class of the target."""

    estimator: Any
    present: np.ndarray
    """The class codes it was trained on (a constant model: just one)."""
    n_classes: int

    def proba(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), self.n_classes))
        if self.estimator is None:
            out[:, self.present[0]] = 1.0
        else:
            with threadpool_limits(limits=1), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[:, self.present] = self.estimator.predict_proba(X)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.proba(X).argmax(axis=1)


def fit_classifier(config: ModelConfig, X: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> Classifier:
    """Fit ``config`` on (X, y); early-stopping families hold out rows as in the audit's grid."""
    present = np.unique(y)
    if present.size == 1:
        return Classifier(None, present, n_classes)
    family = FAMILIES[config.family]
    local = np.searchsorted(present, y)
    estimator = family.estimator(config.params, seed)
    fit_kwargs: dict[str, Any] = {}
    rows = np.arange(len(y))
    if family.stops_early:
        rows, held_out = validation_split(local, seed)
        if held_out.size:
            fit_kwargs = {"eval_set": [(X[held_out], local[held_out])], "verbose": False}
        else:
            estimator.set_params(**family.without_validation)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X[rows], local[rows], **fit_kwargs)
    return Classifier(estimator, present, n_classes)


@dataclass(frozen=True)
class Generative:
    """Class prior plus one diagonal Gaussian per class, fitted to a model's own predictions."""

    prior: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray, predicted: np.ndarray, n_classes: int) -> Generative:
        prior = np.bincount(predicted, minlength=n_classes) / len(predicted)
        means = np.zeros((n_classes, X.shape[1]))
        stds = np.full((n_classes, X.shape[1]), np.sqrt(VARIANCE_FLOOR))
        for code in np.flatnonzero(prior):
            rows = X[predicted == code]
            means[code] = rows.mean(axis=0)
            stds[code] = np.sqrt(np.maximum(rows.var(axis=0), VARIANCE_FLOOR))
        return cls(prior, means, stds)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` rows and their labels: label from the prior, features from its Gaussian."""
        labels = rng.choice(self.prior.size, size=n, p=self.prior)
        noise = rng.standard_normal((n, self.means.shape[1]))
        return (self.means[labels] + noise * self.stds[labels]).astype(np.float32), labels
