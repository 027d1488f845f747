"""The matched model grid: one configuration of the design, fitted on raw features and on embeddings.

The same parameter dict and the same seed are used for both representations, so any
difference between the two fits is due to the representation alone. What a family's grid and
estimator are lives in its spec (:mod:`tecurate.grid._families`); this module only samples,
fits and scores.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
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
from tecurate.grid._design import DESIGN_SEED, design_points
from tecurate.grid._families import FAMILIES

if TYPE_CHECKING:
    from tecurate.grid._fitcache import FitCache


Fitted = tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]
"""One fit's predicted class codes and class probabilities (rows × K, float32) per test split,
and its fit time: what :func:`fit_predict` returns."""
Outcome = tuple[dict[str, np.ndarray], dict[str, np.ndarray], float, bool]
"""A :data:`Fitted` and whether it came from the cache."""
FitMany = Callable[..., Iterable[tuple[int, Fitted]]]
"""``fit_many(tasks, *, features, y, train, tests, seed, n_classes, n_jobs)`` fits every
(configuration, representation) task with :func:`fit_predict` and yields ``(position in tasks,
result)`` in any order: threads here by default, an engine's workers elsewhere (:mod:`tecurate.engines`)."""


@dataclass(frozen=True)
class ModelConfig:
    """One sampled configuration; ``params`` are exactly what both fits receive."""

    family: str
    config_id: str
    params: dict[str, Any]


MAX_SEED = 2**32 - 1
"""The largest seed numpy and scikit-learn accept; the settings table bounds ``--seed`` by it."""


def sample_configs(families: Sequence[str], n_configs: int, seed: int = DESIGN_SEED) -> list[ModelConfig]:
    """``n_configs`` distinct configurations per family (its whole grid when that is smaller).

    They are the points of the fixed design (:mod:`tecurate.grid._design`), so ``seed`` is the
    design's own seed, not the audit's: every audit seed and every dataset fits the same ones.
    """
    return [ModelConfig(family, f"{family}-{i:02d}", params)
            for family in families
            for i, params in enumerate(design_points(FAMILIES[family].grid, n_configs, seed))]


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
    *,
    n_classes: int | None = None,
) -> Fitted:
    """Fit on ``train`` rows; return the predicted class codes and the class probabilities per
    test split, and the fit time.

    Probabilities have one column per global class code (``n_classes``, by default one past the
    largest training code), 0 for classes absent from training; they feed the label-free OOD
    accuracy estimators (:mod:`tecurate.analysis._ood`). An estimator without ``predict_proba``
    gives its predictions one-hot (which the estimators' calibration turns into its ID precision
    per predicted class).

    Classes absent from the training rows are re-coded to a contiguous range for the estimator
    (XGBoost insists) and mapped back, so metrics always see the global codes. Families that
    stop early on a validation set (:attr:`Family.stops_early`) get one carved from the training
    rows by :func:`validation_split`, the same rows for raw and te.
    """
    family = FAMILIES[config.family]
    present = np.unique(y[train])
    local = np.searchsorted(present, y[train])
    estimator = family.estimator(config.params, seed)
    fit_kwargs: dict[str, Any] = {}
    fit_rows = np.arange(train.size)
    if family.stops_early:
        fit_rows, held_out = validation_split(local, seed)
        if held_out.size:
            fit_kwargs = {"eval_set": [(X[train[held_out]], local[held_out])], "verbose": False}
        else:
            estimator.set_params(**family.without_validation)
    width = int(present.max()) + 1 if n_classes is None else n_classes
    start = time.perf_counter()
    with threadpool_limits(limits=1):
        estimator.fit(X[train[fit_rows]], local[fit_rows], **fit_kwargs)
        predictions = {name: present[np.asarray(estimator.predict(X[rows])).astype(int)].astype(np.int8)
                       for name, rows in tests.items()}
        probabilities = {name: _probabilities(estimator, X[rows], predictions[name], present, width)
                         for name, rows in tests.items()}
    return predictions, probabilities, time.perf_counter() - start


def _probabilities(estimator: Any, X: np.ndarray, predicted: np.ndarray, present: np.ndarray,
                   n_classes: int) -> np.ndarray:
    """Rows × ``n_classes`` probabilities in global class codes (one-hot predictions without
    ``predict_proba``)."""
    out = np.zeros((X.shape[0], n_classes), dtype=np.float32)
    if hasattr(estimator, "predict_proba"):
        out[:, present] = np.asarray(estimator.predict_proba(X), dtype=np.float32)
    else:
        out[np.arange(X.shape[0]), predicted.astype(int)] = 1.0
    return out


def fit_rows(train: np.ndarray, y: np.ndarray, budget: int | None, seed: int) -> np.ndarray:
    """The ID-train rows every model is fitted on: all of them up to ``budget``, above it a
    stratified, seeded sample of ``budget`` rows (the same for raw and te and for every model).

    Why: at 50k-100k rows the grid, not the embedding, dominates a cold audit, and a model of this
    grid learns little more from the rows beyond a few ten thousand (``benchmarks/RESULTS.md``).
    Every test row is still scored. At or below the budget ``train`` itself comes back, so small
    audits are exactly what they were.
    """
    if budget is None or train.size <= budget:
        return train
    rng = np.random.default_rng([seed, 0xB0D6E7])
    labels = np.asarray(y)[train]
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * budget / train.size
    quotas = np.floor(exact).astype(int)
    quotas[np.argsort(quotas - exact)[: budget - quotas.sum()]] += 1  # largest remainders: budget rows
    quotas = np.maximum(1, quotas)  # every class keeps a row (one more than the budget at worst)
    chosen = [rng.choice(np.flatnonzero(labels == code), min(quota, count), replace=False)
              for code, quota, count in zip(classes, quotas, counts)]
    return np.sort(train[np.concatenate(chosen)])


def validation_split(labels: np.ndarray, seed: int, fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Positions to fit on and to validate on: ``fraction`` of each class, rounded down, so every
    class keeps a training row and a class with under 10 rows is never held out. The default 0.1
    is MLPClassifier's own ``validation_fraction``, so every family that stops early holds out alike.
    """
    rng = np.random.default_rng(seed)
    held_out = np.concatenate([
        rng.choice(rows, int(rows.size * fraction), replace=False)
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
    fit_many: FitMany | None = None,
) -> GridRun:
    """Fit every configuration on every representation in ``features`` (named as in ``ROUTES``).

    Fits found in ``cache`` are not refitted (their results say ``cached``); new ones are
    stored. Results come back in a fixed order (configuration, then representation) whatever
    order the fits finish in. ``fit_many`` fits elsewhere (default: :func:`fit_in_threads`).
    """
    tasks = [(cfg, rep) for cfg in configs for rep in REPRESENTATIONS if rep in features]
    outcomes = _look_up(tasks, cache)
    fit = partial(fit_many or fit_in_threads, features=features, y=y, train=train, tests=tests, seed=seed,
                  n_classes=n_classes, n_jobs=n_jobs)
    # The grid's edges are meant to underfit (max_iter 50, C 1e-5): their ConvergenceWarnings are
    # expected, not news. Warning filters are process-wide, so they are set once here, around
    # every thread; set inside each fitting thread they raced, let warnings through and left
    # "ignore all" installed in the caller's process.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit_missing(tasks, outcomes, fit, cache, progress or (lambda done, total: None))
    return _score_all(tasks, outcomes, y, tests, n_classes=n_classes,
                      collapse_threshold=collapse_threshold, unlabelled=unlabelled)


def _look_up(tasks: Sequence[tuple[ModelConfig, str]], cache: FitCache | None) -> list[Outcome | None]:
    """The cached outcome of each task, None where it must be fitted."""
    if cache is None:
        return [None] * len(tasks)
    hits = (cache.load(cfg, rep) for cfg, rep in tasks)
    return [None if hit is None else (*hit, True) for hit in hits]


def fit_in_threads(tasks: Sequence[tuple[ModelConfig, str]], *, features: Mapping[str, np.ndarray],
                   y: np.ndarray, train: np.ndarray, tests: Mapping[str, np.ndarray], seed: int,
                   n_classes: int, n_jobs: int) -> Iterable[tuple[int, Fitted]]:
    """The tasks in parallel threads of this process, one BLAS/OpenMP thread each, in task order.

    Two cores run two fits instead of four threads fighting. Threads, not processes: xgboost, BLAS
    and the solvers release the GIL, and threads skip the worker start-up (every library imported
    again) and the copy of the feature matrices (credit_data grid on 2 shared cores, medians of 3 in
    two sessions: 6.6-8.0 s with threads, 16.5-17.1 s with loky processes, 12.2-12.3 s sequential).
    """
    from joblib import Parallel, delayed, effective_n_jobs

    workers = min(effective_n_jobs(n_jobs), len(tasks)) if tasks else 1
    # One limit for the whole grid: the per-fit limit alone would be lifted by the first thread
    # to finish while the other is still fitting.
    with threadpool_limits(limits=1):
        parallel = Parallel(n_jobs=workers, backend="threading", return_as="generator")
        yield from enumerate(parallel(delayed(fit_predict)(config, features[representation], y, train, tests, seed,
                                                           n_classes=n_classes)
                                      for config, representation in tasks))


def _fit_missing(
    tasks: Sequence[tuple[ModelConfig, str]],
    outcomes: list[Outcome | None],
    fit: Callable[[Sequence[tuple[ModelConfig, str]]], Iterable[tuple[int, Fitted]]],
    cache: FitCache | None,
    progress: Callable[[int, int], None],
) -> None:
    """Fit the tasks without an outcome, filling ``outcomes`` and the cache as each one finishes."""
    todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
    done = len(tasks) - len(todo)
    progress(done, len(tasks))
    if not todo:
        return
    for k, (predictions, probabilities, seconds) in fit([tasks[i] for i in todo]):
        i = todo[k]
        outcomes[i] = (predictions, probabilities, seconds, False)
        if cache is not None:
            cache.store(*tasks[i], predictions, seconds, probabilities)
        done += 1
        progress(done, len(tasks))


def _score_all(tasks: Sequence[tuple[ModelConfig, str]], outcomes: Sequence[Outcome | None],
               y: np.ndarray, tests: Mapping[str, np.ndarray], **scoring: Any) -> GridRun:
    """Every task's metrics, and its predictions and probabilities for the OOD estimators, in task order."""
    run = GridRun(models=[], predictions=[], probabilities=[])
    for (cfg, rep), outcome in zip(tasks, outcomes, strict=True):
        assert outcome is not None, "every task is cached or fitted before scoring"
        predictions, probabilities, seconds, cached = outcome
        run.models.append(score(cfg, rep, predictions, y, tests, fit_seconds=seconds, cached=cached,
                                **scoring))
        run.predictions.append(predictions)
        run.probabilities.append(probabilities)
    return run
