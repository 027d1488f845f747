"""Gradient-boosted trees (XGBoost), from one stump with a tiny learning rate to deep, fast boosting.

It stops early on a tenth of the training rows (``eval_set``), the same rows for raw and te.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tecurate.grid._family import Family

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin


def build(settings: dict[str, Any], seed: int) -> ClassifierMixin:
    from xgboost import XGBClassifier

    return XGBClassifier(**settings, random_state=seed)


XGBOOST = Family(
    name="xgboost",
    grid={
        "n_estimators": [10, 50, 150, 300],
        "max_depth": [1, 2, 4, 6],
        "learning_rate": [0.001, 0.01, 0.1, 0.3, 1.0],
        "reg_lambda": [0.0, 1.0, 100.0, 1000.0],
        "min_child_weight": [1, 10, 100],
        "subsample": [0.5, 1.0],
    },
    build=build,
    fixed={"tree_method": "hist", "n_jobs": 1, "verbosity": 0, "early_stopping_rounds": 10},
    stops_early=True,
    without_validation={"early_stopping_rounds": None},
    packages=("xgboost", "xgboost-cpu", "scikit-learn", "scipy"),
)
