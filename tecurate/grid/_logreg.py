"""Logistic regression: the linear baseline. C down to 1e-5 regularizes it into predicting the prior."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tecurate.grid._family import Family

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin


def build(settings: dict[str, Any], seed: int) -> ClassifierMixin:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**settings, random_state=seed)


LOGREG = Family(
    name="logreg",
    grid={
        "C": [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0],
        "class_weight": [None, "balanced"],
        "max_iter": [50, 300],
    },
    build=build,
    packages=("scikit-learn", "scipy"),
)
