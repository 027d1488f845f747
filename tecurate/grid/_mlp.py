"""A small neural network (scikit-learn's MLP), from 2 hidden units to two layers, weak to heavy decay.

It stops early on its own validation fraction, so it needs no ``eval_set``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tecurate.grid._family import Family

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin


def build(settings: dict[str, Any], seed: int) -> ClassifierMixin:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(**settings, random_state=seed)


MLP = Family(
    name="mlp",
    grid={
        "hidden_layer_sizes": [(2,), (8,), (32,), (64, 32)],
        "alpha": [1e-4, 1e-2, 1.0, 10.0, 100.0],
        "learning_rate_init": [1e-4, 1e-3, 1e-2, 0.1],
        "max_iter": [30, 200],
    },
    build=build,
    fixed={"early_stopping": True, "n_iter_no_change": 10},
    packages=("scikit-learn", "scipy"),
)
