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
from typing import TYPE_CHECKING, Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import ClassifierMixin
from sklearn.model_selection import ParameterSampler
from threadpoolctl import threadpool_limits

from tecurate.analysis import (
    REPRESENTATIONS,
    GridRun,
    ModelResult,
    PredictionMetrics,
    class_shares,
    is_collapsed,
    majority_class_rate,
    n_predicted_classes,
    prediction_entropy,
    split_metrics,
)

if TYPE_CHECKING:
    from tecurate.grid._fitcache import FitCache

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
    "xgboost": {"tree_method": "hist", "n_jobs": 1, "verbosity": 0, "early_stopping_rounds": 10},
    "mlp": {"early_stopping": True, "n_iter_no_change": 10},
    "rf": {"n_jobs": 1},
}
"""Settings that are not explored: thread counts (parallelism is across models) and early stopping."""

VALIDATION_FRACTION = 0.1
"""Share of each class's training rows held out to stop XGBoost early, as MLPClassifier's own
early stopping does (its default ``validation_fraction``)."""


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


def fit_predict(
    config: ModelConfig,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    tests: Mapping[str, np.ndarray],
    seed: int,
) -> tuple[dict[str, np.ndarray], float]:
    """Fit on ``train`` rows; return the predicted class codes per test split and the fit time.

    Classes absent from the training rows are re-coded to a contiguous range for the estimator
    (XGBoost insists) and mapped back, so metrics always see the global codes. Families that
    stop early on a validation set (``early_stopping_rounds`` in :data:`FIXED`) get one carved
    from the training rows by :func:`validation_split`, the same rows for raw and te.
    """
    present = np.unique(y[train])
    local = np.searchsorted(present, y[train])
    estimator = build_estimator(config.family, config.params, seed)
    fit_kwargs: dict[str, Any] = {}
    fit_rows = np.arange(train.size)
    if "early_stopping_rounds" in FIXED[config.family]:
        fit_rows, held_out = validation_split(local, seed)
        if held_out.size:
            fit_kwargs = {"eval_set": [(X[train[held_out]], local[held_out])], "verbose": False}
        else:
            estimator.set_params(early_stopping_rounds=None)
    start = time.perf_counter()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X[train[fit_rows]], local[fit_rows], **fit_kwargs)
        predictions = {name: present[np.asarray(estimator.predict(X[rows])).astype(int)].astype(np.int8)
                       for name, rows in tests.items()}
    return predictions, time.perf_counter() - start


def validation_split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions to fit on and to validate on: :data:`VALIDATION_FRACTION` of each class, rounded
    down, so every class keeps a training row and a class with under 10 rows is never held out.
    """
    rng = np.random.default_rng(seed)
    held_out = np.concatenate([
        rng.choice(rows, int(rows.size * VALIDATION_FRACTION), replace=False)
        for rows in (np.flatnonzero(labels == code) for code in np.unique(labels))
    ]) if labels.size else np.zeros(0, dtype=np.intp)
    keep = np.ones(labels.size, dtype=bool)
    keep[held_out] = False
    return np.flatnonzero(keep), np.sort(held_out)


def score(
    config: ModelConfig,
    representation: str,
    predictions: Mapping[str, np.ndarray],
    y: np.ndarray,
    tests: Mapping[str, np.ndarray],
    *,
    n_classes: int,
    collapse_threshold: float,
    unlabelled: frozenset[str] = frozenset(),
    fit_seconds: float = 0.0,
    cached: bool = False,
) -> ModelResult:
    """The metrics of one fit's predictions on every test split."""
    splits = {name: prediction_metrics(predictions[name], n_classes, collapse_threshold)
              if name in unlabelled else
              split_metrics(y[rows], predictions[name], n_classes, collapse_threshold)
              for name, rows in tests.items()}
    return ModelResult(config.family, config.config_id, dict(config.params), representation,
                       splits, round(fit_seconds, 4), cached)


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
    cache: FitCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GridRun:
    """Fit every configuration on every representation in ``features`` ("raw", "te").

    Fits found in ``cache`` are not refitted (their results say ``cached``); new ones are
    stored. Models run in parallel threads, one BLAS/OpenMP thread each, so two cores run two
    fits instead of four threads fighting. Threads, not processes: xgboost, BLAS and the solvers
    release the GIL, and threads skip the worker start-up (every library imported again) and
    the copy of the feature matrices (credit_data grid on 2 shared cores, medians of 3 in two
    sessions: 6.6-8.0 s with threads, 16.5-17.1 s with loky processes, 12.2-12.3 s sequential).
    Results come back in a fixed order (configuration, then representation) whatever order
    the fits finish in.
    """
    tasks = [(cfg, rep) for cfg in configs for rep in REPRESENTATIONS if rep in features]
    total = len(tasks)
    outcomes: list[tuple[dict[str, np.ndarray], float, bool] | None] = [None] * total
    if cache is not None:
        for i, (cfg, rep) in enumerate(tasks):
            hit = cache.load(cfg.family, cfg.params, FIXED[cfg.family], rep)
            if hit is not None:
                outcomes[i] = (*hit, True)
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    done = total - len(todo)
    if progress:
        progress(done, total)
    workers = min(effective_n_jobs(n_jobs), len(todo)) if todo else 1
    calls = (delayed(fit_predict)(tasks[i][0], features[tasks[i][1]], y, train, tests, seed)
             for i in todo)
    # One limit for the whole grid: the per-fit limit alone would be lifted by the first thread
    # to finish while the other is still fitting.
    with threadpool_limits(limits=1):
        parallel = Parallel(n_jobs=workers, backend="threading", return_as="generator")
        for i, (predictions, seconds) in zip(todo, parallel(calls)):
            outcomes[i] = (predictions, seconds, False)
            if cache is not None:
                cfg, rep = tasks[i]
                cache.store(cfg.family, cfg.params, FIXED[cfg.family], rep, predictions, seconds)
            done += 1
            if progress:
                progress(done, total)
    run = GridRun(models=[], predictions=[])
    for (cfg, rep), outcome in zip(tasks, outcomes):
        assert outcome is not None
        predictions, seconds, cached = outcome
        run.models.append(score(cfg, rep, predictions, y, tests, n_classes=n_classes,
                                collapse_threshold=collapse_threshold, unlabelled=unlabelled,
                                fit_seconds=seconds, cached=cached))
        run.predictions.append(predictions)
    return run
