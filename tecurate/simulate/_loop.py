"""The self-consuming loop: generation after generation of models trained on their own outputs.

Generation 0 trains on n0 real rows of the ID-train pool. Generation t trains on n_t rows
(:mod:`tecurate.simulate._schedule`, capped): round(α·n_t) fresh real labelled rows from the
pool and the rest synthetic, made by generation t−1 (``labels``: pool feature rows labelled by
its predictions; each label drawn from its predicted class distribution for the row;
``rows``: rows and labels sampled from its generative model,
:class:`tecurate.simulate._model.Generative`), optionally kept only where t−1 gives the label a
probability of at least p (``--filter confidence:p``). A generation whose mixture is empty (α = 0
and the filter kept nothing) keeps the previous model and its rows. Drawing labels, not taking the
argmax, is what makes the loop a random walk whose step shrinks with n_t (Xu, He & Cheng): with an
uninformative representation the model predicts the class prior, and the labels of ``replace``
then follow the multinomial chain of :mod:`tecurate.simulate._prior`. ``replace`` trains on the mixture alone,
``accumulate`` on every row so far. Rows are drawn with replacement: the pool stands for the
real distribution.

Matched, like the audit: every route gets the same configuration, the same model seed
(seed + t) and the same random stream per (configuration, α, schedule, generation), so the real
rows (and, unfiltered, the pool rows that get synthetic labels) are the same on raw and te.
Generation 0 is shared by every α and schedule of a route and configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tecurate.analysis import split_metrics
from tecurate.data import ID_TEST
from tecurate.grid import ModelConfig
from tecurate.simulate._data import Pool
from tecurate.simulate._model import Classifier, Generative, fit_classifier
from tecurate.simulate._prior import gini
from tecurate.simulate._schedule import Schedule, sizes

_FILTER_ROUNDS = 5
"""Batches of generated rows tried per generation to find enough that pass the filter."""


@dataclass(frozen=True)
class SplitResult:
    """One generation's model on one fixed real test split."""

    accuracy: float
    balanced_accuracy: float
    majority_class_rate: float
    prediction_entropy: float
    collapsed: bool
    tv: float
    """Total-variation distance of the predicted class shares to the split's true shares."""


@dataclass(frozen=True)
class GenerationResult:
    generation: int
    n_rows: int
    """n_t: rows of this generation's mixture (after the cap)."""
    n_real: int
    n_synthetic: int
    n_train: int
    """Rows trained on: n_t under ``replace``, every row so far under ``accumulate``."""
    capped: bool
    filter_pass_rate: float | None
    """Share of synthetic candidates the confidence filter kept; None without a filter."""
    train_majority_rate: float
    train_gini: float
    splits: dict[str, SplitResult]

    @property
    def collapsed(self) -> bool:
        return self.splits[ID_TEST].collapsed


@dataclass(frozen=True)
class Trajectory:
    """One route, configuration, α and schedule through every generation."""

    representation: str
    family: str
    config_id: str
    params: dict[str, Any]
    real_fraction: float
    schedule: str
    generations: list[GenerationResult]

    @property
    def collapse_generation(self) -> int | None:
        """First generation whose model collapses on id_test; None: censored at the last one."""
        return next((g.generation for g in self.generations if g.collapsed), None)


@dataclass(frozen=True)
class LoopSettings:
    generations: int
    n0: int
    cap: int
    mode: str
    synthetic: str
    confidence: float | None
    collapse_threshold: float
    seed: int


@dataclass
class _State:
    model: Classifier
    X: np.ndarray
    y: np.ndarray


def run_loops(pool: Pool, representations: Sequence[str], configs: Sequence[ModelConfig],
              fractions: Sequence[float], schedules: Sequence[Schedule], settings: LoopSettings, *,
              n_jobs: int = -1, progress: Callable[[int, int], None] | None = None) -> list[Trajectory]:
    """Every route × configuration × α × schedule, in that order whatever order they finish in."""
    from joblib import Parallel, delayed, effective_n_jobs

    notify = progress or (lambda done, total: None)
    starts = [(rep, ci) for rep in representations for ci in range(len(configs))]
    chains = [(rep, ci, ai, si) for rep, ci in starts for ai in range(len(fractions)) for si in range(len(schedules))]
    total, done = len(starts) + len(chains), 0
    workers = min(effective_n_jobs(n_jobs), len(chains))
    notify(0, total)
    first: dict[tuple[str, int], tuple[_State, GenerationResult]] = {}
    with Parallel(n_jobs=workers, backend="threading", return_as="generator") as parallel:
        for key, out in zip(starts, parallel(delayed(_generation_zero)(pool, rep, configs[ci], ci, settings)
                                              for rep, ci in starts)):
            first[key] = out
            done += 1
            notify(done, total)
        trajectories = []
        jobs = (delayed(_chain)(pool, rep, configs[ci], ci, fractions[ai], ai, schedules[si], si, settings,
                                first[rep, ci]) for rep, ci, ai, si in chains)
        for trajectory in parallel(jobs):
            trajectories.append(trajectory)
            done += 1
            notify(done, total)
    return trajectories


def _generation_zero(pool: Pool, rep: str, config: ModelConfig, ci: int,
                     settings: LoopSettings) -> tuple[_State, GenerationResult]:
    rng = np.random.default_rng([settings.seed, ci])
    rows = pool.train[rng.integers(0, pool.train.size, settings.n0)]
    X, y = pool.features[rep][rows], pool.codes[rows]
    model = fit_classifier(config, X, y, len(pool.target.classes), settings.seed)
    result = _evaluate(pool, rep, model, y, settings, generation=0, n_rows=settings.n0, n_real=settings.n0,
                       capped=False, pass_rate=None)
    return _State(model, X, y), result


def _chain(pool: Pool, rep: str, config: ModelConfig, ci: int, fraction: float, ai: int, schedule: Schedule,
           si: int, settings: LoopSettings, start: tuple[_State, GenerationResult]) -> Trajectory:
    state, zero = start
    n_t, capped = sizes(schedule, settings.n0, settings.generations, settings.cap)
    features, n_classes = pool.features[rep], len(pool.target.classes)
    results = [zero]
    for t in range(1, settings.generations + 1):
        rng = np.random.default_rng([settings.seed, ci, ai, si, t])
        n_real = int(round(fraction * n_t[t]))
        real = pool.train[rng.integers(0, pool.train.size, n_real)]
        X_syn, y_syn, pass_rate = _synthetic(pool, features, state, n_t[t] - n_real, settings, rng)
        X_new = np.concatenate([features[real], X_syn])
        y_new = np.concatenate([pool.codes[real], y_syn])
        if settings.mode == "accumulate":
            X_new, y_new = np.concatenate([state.X, X_new]), np.concatenate([state.y, y_new])
        if not y_new.size:  # α = 0 and the filter kept nothing: nothing to learn from
            X_new, y_new = state.X, state.y
            model = state.model
        else:
            model = fit_classifier(config, X_new, y_new, n_classes, settings.seed + t)
        results.append(_evaluate(pool, rep, model, y_new, settings, generation=t, n_rows=n_t[t], n_real=n_real,
                                 n_synthetic=len(y_syn), capped=t in capped, pass_rate=pass_rate))
        state = _State(model, X_new, y_new)
    return Trajectory(rep, config.family, config.config_id, dict(config.params), fraction, schedule.name, results)


def _synthetic(pool: Pool, features: np.ndarray, state: _State, n: int, settings: LoopSettings,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``n`` synthetic rows made by the previous generation, filtered; fewer when too few pass.

    A filtered generation draws batches of ``n`` candidates until ``n`` pass or
    :data:`_FILTER_ROUNDS` batches were tried; the pass rate is over every candidate drawn.
    """
    if settings.synthetic == "labels":
        def candidates() -> tuple[np.ndarray, np.ndarray]:
            X = features[pool.train[rng.integers(0, pool.train.size, n)]]
            return X, sample_labels(state.model.proba(X), rng)
    else:
        generative = Generative.fit(state.X, state.model.predict(state.X), len(pool.target.classes))

        def candidates() -> tuple[np.ndarray, np.ndarray]:
            return generative.sample(n, rng)
    if settings.confidence is None:
        return (*candidates(), None)
    kept_X, kept_y, tried, kept = [], [], 0, 0
    while kept < n and tried < _FILTER_ROUNDS * n:
        X, y = candidates()
        ok = state.model.proba(X)[np.arange(n), y] >= settings.confidence
        kept_X.append(X[ok])
        kept_y.append(y[ok])
        tried, kept = tried + n, kept + int(ok.sum())
    rate = kept / tried if tried else 1.0
    if not kept_y:
        return features[:0], pool.codes[:0], rate
    return np.concatenate(kept_X)[:n], np.concatenate(kept_y)[:n], rate


def sample_labels(proba: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One label per row drawn from the row's predicted class distribution (one uniform per row,
    so routes given the same stream draw alike)."""
    u = rng.random(len(proba))
    return np.minimum((np.cumsum(proba, axis=1) < u[:, None]).sum(axis=1), proba.shape[1] - 1)


def _evaluate(pool: Pool, rep: str, model: Classifier, y_train: np.ndarray, settings: LoopSettings, *,
              generation: int, n_rows: int, n_real: int, capped: bool, pass_rate: float | None,
              n_synthetic: int = 0) -> GenerationResult:
    n_classes = len(pool.target.classes)
    splits = {}
    for name, rows in pool.tests.items():
        m = split_metrics(pool.codes[rows], model.predict(pool.features[rep][rows]), n_classes,
                          settings.collapse_threshold)
        splits[name] = SplitResult(m.accuracy, m.balanced_accuracy, m.majority_class_rate, m.prediction_entropy,
                                   m.collapsed, m.prediction_shift_tv)
    shares = np.bincount(y_train, minlength=n_classes) / y_train.size
    return GenerationResult(generation, n_rows, n_real, n_synthetic, int(y_train.size), capped, pass_rate,
                            float(shares.max()), float(gini(shares)), splits)
