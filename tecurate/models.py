"""The matched model grid: one sampled configuration, fitted on raw features and on embeddings.

Grids deliberately span well-tuned and aggressive settings (strong regularization, tiny
networks, huge or tiny learning rates, very shallow trees): collapse shows at the edges,
and an audit that only tries sensible settings would never see it. The same parameter
dict and the same ``random_state`` are used for both representations, so any difference
between the two fits is due to the representation alone.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import ClassifierMixin
from sklearn.model_selection import ParameterSampler
from threadpoolctl import threadpool_limits

from tecurate.metrics import (
    class_shares,
    is_collapsed,
    majority_class_rate,
    n_predicted_classes,
    prediction_entropy,
    split_metrics,
)
from tecurate.results import REPRESENTATIONS, GridRun, ModelResult, PredictionMetrics

GRIDS: dict[str, dict[str, list[Any]]] = {
    "logreg": {
        "C": [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0],
        "class_weight": [None, "balanced"],
        "max_iter": [50, 300],
    },
    "xgboost": {
        "n_estimators": [10, 50, 150, 300],
        "max_depth": [1, 2, 4, 6],
        "learning_rate": [0.001, 0.01, 0.1, 0.3, 1.0],
        "reg_lambda": [0.0, 1.0, 100.0, 1000.0],
        "min_child_weight": [1, 10, 100],
        "subsample": [0.5, 1.0],
    },
    "mlp": {
        "hidden_layer_sizes": [(2,), (8,), (32,), (64, 32)],
        "alpha": [1e-4, 1e-2, 1.0, 10.0, 100.0],
        "learning_rate_init": [1e-4, 1e-3, 1e-2, 0.1],
        "max_iter": [30, 200],
    },
    "rf": {
        "n_estimators": [25, 100, 200],
        "max_depth": [1, 2, 4, 8, None],
        "min_samples_leaf": [1, 10, 50, 200],
        "max_features": ["sqrt", 0.3, 1.0],
        "class_weight": [None, "balanced"],
    },
}
"""Sampled hyper-parameters per family (edit here to change what an audit explores)."""

FIXED: dict[str, dict[str, Any]] = {
    "logreg": {},
    "xgboost": {"tree_method": "hist", "n_jobs": 1, "verbosity": 0},
    "mlp": {"early_stopping": True, "n_iter_no_change": 10},
    "rf": {"n_jobs": 1},
}
"""Settings that are not explored: thread counts (parallelism is across models) and early stopping."""


@dataclass(frozen=True)
class ModelConfig:
    """One sampled configuration; ``params`` are exactly what both fits receive."""

    family: str
    config_id: str
    params: dict[str, Any]


def sample_configs(families: Sequence[str], n_configs: int, seed: int) -> list[ModelConfig]:
    """``n_configs`` distinct configurations per family, reproducible from ``seed``."""
    configs = []
    for offset, family in enumerate(families):
        sampler = ParameterSampler(GRIDS[family], n_iter=n_configs, random_state=seed + offset)
        for i, params in enumerate(sampler):
            ordered = {k: params[k] for k in sorted(params)}
            configs.append(ModelConfig(family, f"{family}-{i:02d}", ordered))
    return configs


def build_estimator(family: str, params: Mapping[str, Any], seed: int) -> ClassifierMixin:
    """A fresh estimator; imports are local so a run without a family never pays for it."""
    kwargs = {**FIXED[family], **params, "random_state": seed}
    if family == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(**kwargs)
    if family == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(**kwargs)
    if family == "mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(**kwargs)
    if family == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(**kwargs)
    raise ValueError(f"unknown family {family!r}")


def prediction_metrics(y_pred: np.ndarray, n_classes: int, collapse_threshold: float) -> PredictionMetrics:
    """The label-free metrics of one model on an unlabelled split (see :class:`PredictionMetrics`)."""
    return PredictionMetrics(
        majority_class_rate=majority_class_rate(y_pred, n_classes),
        prediction_entropy=prediction_entropy(y_pred, n_classes),
        n_predicted_classes=n_predicted_classes(y_pred),
        collapsed=is_collapsed(y_pred, n_classes, collapse_threshold),
        predicted_distribution=tuple(float(s) for s in class_shares(y_pred, n_classes)),
    )


def fit_and_score(
    config: ModelConfig,
    representation: str,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    tests: Mapping[str, np.ndarray],
    n_classes: int,
    collapse_threshold: float,
    seed: int,
    unlabelled: frozenset[str] = frozenset(),
) -> tuple[ModelResult, dict[str, np.ndarray]]:
    """Fit one (configuration, representation) on ``train`` rows and score every test split.

    Returns the result and the predicted class codes per split (int8: at most 50 classes).
    Splits named in ``unlabelled`` have no labels (their ``y`` entries are meaningless), so they
    get :class:`PredictionMetrics` only. Classes absent from the training rows are re-coded to a
    contiguous range for the estimator (XGBoost insists) and mapped back, so metrics always see
    the global codes.
    """
    present = np.unique(y[train])
    local = np.searchsorted(present, y[train])
    estimator = build_estimator(config.family, config.params, seed)
    start = time.perf_counter()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X[train], local)
        predictions = {name: present[np.asarray(estimator.predict(X[rows])).astype(int)].astype(np.int8)
                       for name, rows in tests.items()}
    seconds = time.perf_counter() - start
    splits = {name: prediction_metrics(predictions[name], n_classes, collapse_threshold)
              if name in unlabelled else
              split_metrics(y[rows], predictions[name], n_classes, collapse_threshold)
              for name, rows in tests.items()}
    result = ModelResult(config.family, config.config_id, dict(config.params), representation,
                         splits, round(seconds, 4))
    return result, predictions


def run_grid(
    configs: Sequence[ModelConfig],
    features: Mapping[str, np.ndarray],
    y: np.ndarray,
    train: np.ndarray,
    tests: Mapping[str, np.ndarray],
    *,
    n_classes: int,
    collapse_threshold: float,
    seed: int,
    unlabelled: frozenset[str] = frozenset(),
    n_jobs: int = -1,
    progress: Callable[[int, int], None] | None = None,
) -> GridRun:
    """Fit every configuration on every representation in ``features`` ("raw", "te").

    Models run in parallel threads, one BLAS/OpenMP thread each, so two cores run two fits
    instead of four threads fighting. Threads, not processes: xgboost, BLAS and the solvers
    release the GIL, and threads skip the worker start-up (every library imported again) and
    the copy of the feature matrices (credit_data grid on 2 shared cores, medians of 3 in two
    sessions: 6.6-8.0 s with threads, 16.5-17.1 s with loky processes, 12.2-12.3 s sequential).
    Results come back in a fixed order (configuration, then representation) whatever order
    the fits finish in.
    """
    tasks = [(cfg, rep) for cfg in configs for rep in REPRESENTATIONS if rep in features]
    total = len(tasks)
    if progress:
        progress(0, total)
    workers = min(effective_n_jobs(n_jobs), total) if total else 1
    calls = (delayed(fit_and_score)(cfg, rep, features[rep], y, train, tests, n_classes,
                                    collapse_threshold, seed, unlabelled) for cfg, rep in tasks)
    run = GridRun(models=[], predictions=[])
    # One limit for the whole grid: the per-fit limit alone would be lifted by the first thread
    # to finish while the other is still fitting.
    with threadpool_limits(limits=1):
        parallel = Parallel(n_jobs=workers, backend="threading", return_as="generator")
        for done, (result, predictions) in enumerate(parallel(calls), 1):
            run.models.append(result)
            run.predictions.append(predictions)
            if progress:
                progress(done, total)
    return run
