"""Random forests, from stumps to deep trees: opt-in (``--families ...,rf``), as slower than the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tecurate.grid._family import Family

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin


def build(settings: dict[str, Any], seed: int) -> ClassifierMixin:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**settings, random_state=seed)


RF = Family(
    name="rf",
    grid={
        "n_estimators": [25, 100, 200],
        "max_depth": [1, 2, 4, 8, None],
        "min_samples_leaf": [1, 10, 50, 200],
        "max_features": ["sqrt", 0.3, 1.0],
        "class_weight": [None, "balanced"],
    },
    build=build,
    fixed={"n_jobs": 1},
    default=False,
    packages=("scikit-learn", "scipy"),
)
