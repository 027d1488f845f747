"""Every model's OOD accuracy without labels: each registered estimator, tecurate's combination, an interval.

For each OOD split, every estimator of :mod:`tecurate.analysis._estimators` estimates every model
of both routes from the same record (:class:`~tecurate.analysis._shift_data.ShiftData`:
ID-test labels, predictions and calibrated probabilities). When the split has
labels, each estimator's mean absolute error is measured against the truth.

**tecurate's estimate** ("tecurate" in the report):

- A collapsed model (on id_test or on the split) gets the collapse-aware prior estimate — the
  estimated OOD share of the class it predicts (:mod:`tecurate.analysis._est_prior`).
- Every other model gets a weighted average of the estimators, each weighted by 1 / (its
  ID-side cross-validation MSE for that model + (0.5 pt)²). The cross-validation needs labelled
  shifts, so it makes three from id_test by importance weights, each shaped like the real OOD
  split as far as unlabelled rows can tell: a label shift to the estimated prior (w = q̂_y / π_y), a
  covariate shift in what the models see (the OOD/ID ratio of rows per bin of the healthy
  models' mean prediction: its class × its confidence quintile), and both at once. Each
  estimator is then run on the reweighted ID rows, whose accuracy is known.
- The interval is the estimate ± z·σ (z for :data:`LEVEL`), clipped to [0, 1], with σ² the sum
  of three variances: the bootstrap over OOD rows (:data:`N_RESAMPLES` Poisson(1) reweightings,
  every estimator rerun with the combination's weights kept), the weighted spread of the
  estimators around the estimate (what the choice of estimator leaves open; for a collapsed
  model, half the gap between the BBSE and PCC priors in the classes it predicts), and the
  estimate's own mean squared error on the ID-side pseudo-shifts.

Cost: no model is fitted; every estimator is a few matrix products over (resamples × rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tecurate._lazy import lazy
from tecurate.analysis._est_prior import PRIOR, bbse_prior, ood_prior, pcc_prior
from tecurate.analysis._estimators import ESTIMATORS
from tecurate.analysis._records import REPRESENTATIONS, GridRun, ModelResult, is_labelled
from tecurate.analysis._shift_data import ShiftData, calibrate, fit_calibration
from tecurate.data import ID_TEST

stats = lazy("scipy.stats")

__all__ = ["LEVEL", "N_RESAMPLES", "TECURATE", "OodModelEstimate", "OodSplitEstimate", "estimate_ood",
           "pseudo_shifts", "shift_data"]

TECURATE = "tecurate"
"""The name of tecurate's own estimate beside the registered estimators' in the report."""
LEVEL = 0.9
"""Nominal coverage of the interval."""
N_RESAMPLES = 100
"""Bootstrap reweightings of the OOD rows per split."""
_FLOOR = 0.005
"""An estimator's ID-side RMSE never counts as below half a point, so no single one takes all the weight."""
_BINS = 5
"""Confidence quantile bins per predicted class of the covariate pseudo-shift."""


@dataclass(frozen=True)
class OodModelEstimate:
    """One model's estimated OOD accuracy on one split: every estimator's, tecurate's and its interval."""

    family: str
    config_id: str
    collapsed: bool
    id_accuracy: float
    ood_accuracy: float | None
    """The truth, when the split has labels."""
    estimates: dict[str, float | None]
    """Per registered estimator (None where it is undefined, e.g. ALine with under 3 healthy models)."""
    estimate: float
    low: float
    high: float
    basis: str
    """``prior`` for a collapsed model, ``combined`` (the weighted average) for the others."""


@dataclass(frozen=True)
class OodSplitEstimate:
    """One route's models on one OOD split, with the class priors and, when labelled, the errors."""

    n_models: int
    n_collapsed: int
    id_prior: tuple[float, ...]
    """Class shares of id_test, in class-code order (as ``target.classes``)."""
    estimated_prior: tuple[float, ...]
    """The estimate of the split's class shares that the prior estimator uses (the midpoint of
    the next two; from the healthy models of both routes)."""
    bbse_prior: tuple[float, ...]
    """Black-box shift estimation's (right under label shift)."""
    pcc_prior: tuple[float, ...]
    """The mean calibrated posterior's (right under covariate shift)."""
    true_prior: tuple[float, ...] | None
    prior_shift_tv: float | None
    """Total variation between id_test's and the split's true class shares: near 0 is covariate-like,
    large is a label shift."""
    estimates: tuple[OodModelEstimate, ...]
    mae_pp: dict[str, float | None] | None
    """Mean absolute error in accuracy points over every model, per estimator and ``tecurate``."""
    mae_pp_collapsed: dict[str, float | None] | None
    """The same over the collapsed models only (None when there are none or no labels)."""
    coverage: float | None
    """Share of models whose interval holds the true accuracy."""


def shift_data(models: Sequence[ModelResult], predictions: Sequence[Mapping[str, np.ndarray]],
               probabilities: Sequence[Mapping[str, np.ndarray]] | None, split: str, y_id: np.ndarray,
               n_classes: int, eps: float, calibration: np.ndarray | None = None) -> ShiftData:
    """The estimators' record of ``split``: ``models`` must all hold it and id_test.

    ``calibration`` is :func:`fit_calibration` of the same models' id_test probabilities, when
    another split already fitted it."""
    def probs(k: int, name: str) -> np.ndarray:
        given = probabilities[k].get(name) if probabilities else None
        pred = np.asarray(predictions[k][name]).astype(int)
        if given is not None and given.shape == (pred.size, n_classes):
            return np.asarray(given, dtype=np.float32)
        return (pred[:, None] == np.arange(n_classes)).astype(np.float32)

    pred_id = np.stack([np.asarray(p[ID_TEST]).astype(int) for p in predictions])
    pred_ood = np.stack([np.asarray(p[split]).astype(int) for p in predictions])
    prob_id = np.stack([probs(k, ID_TEST) for k in range(len(models))])
    prob_ood = np.stack([probs(k, split) for k in range(len(models))])
    y_id = np.asarray(y_id).astype(int)
    theta = fit_calibration(prob_id, y_id) if calibration is None else calibration
    prob_id, prob_ood = calibrate(theta, prob_id), calibrate(theta, prob_ood)
    collapsed = np.array([m.splits[ID_TEST].collapsed or m.splits[split].collapsed for m in models])
    groups = np.array([REPRESENTATIONS.index(m.representation) for m in models])
    return ShiftData(n_classes, y_id, pred_id, pred_ood, prob_id, prob_ood, collapsed, groups, eps, theta)


def pseudo_shifts(data: ShiftData, prior: np.ndarray) -> np.ndarray:
    """(3, n_id) importance weights on id_test: label shift to ``prior``, covariate shift toward the
    OOD rows in the healthy models' mean prediction, and both."""
    label = (prior / np.where(data.prior_id > 0, data.prior_id, 1.0))[data.y_id]
    use = ~data.collapsed if (~data.collapsed).any() else np.ones(data.n_models, dtype=bool)
    mean_id, mean_ood = data.prob_id[use].mean(axis=0), data.prob_ood[use].mean(axis=0)
    edges = np.quantile(mean_id.max(axis=1), np.linspace(0, 1, _BINS + 1)[1:-1])

    def bins(mean: np.ndarray) -> np.ndarray:
        return mean.argmax(axis=1) * _BINS + np.searchsorted(edges, mean.max(axis=1))

    size = data.n_classes * _BINS
    b_id, b_ood = bins(mean_id), bins(mean_ood)
    share_id = (np.bincount(b_id, minlength=size) + 0.5) / (b_id.size + 0.5 * size)
    share_ood = (np.bincount(b_ood, minlength=size) + 0.5) / (b_ood.size + 0.5 * size)
    covariate = (share_ood / share_id)[b_id]
    return np.stack([label, covariate, label * covariate])


def _run_all(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    """(E, R, M) every registered estimator under each weight row."""
    return np.stack([np.clip(est.estimate(data, weights), 0.0, 1.0) for est in ESTIMATORS.values()])


def _combine(values: np.ndarray, weights: np.ndarray, collapsed: np.ndarray, prior_index: int) -> np.ndarray:
    """(R, M) the weighted average of the (E, R, M) ``values``; the prior estimate for collapsed models."""
    filled = np.nan_to_num(values)
    mixed = np.einsum("erm,em->rm", filled, weights)
    return np.where(collapsed[None, :], values[prior_index], mixed)


def _estimator_weights(cv: np.ndarray) -> np.ndarray:
    """(E, M) combination weights from the (E, S, M) pseudo-shift errors; 0 for undefined estimators."""
    mse = np.mean(cv ** 2, axis=1)
    inverse = np.where(np.isfinite(mse), 1.0 / (np.nan_to_num(mse, nan=np.inf) + _FLOOR ** 2), 0.0)
    return inverse / inverse.sum(axis=0, keepdims=True)


@dataclass(frozen=True)
class _Outcome:
    """One split's estimates for every model (M) of both routes."""

    values: np.ndarray
    """(E, M) every estimator's point estimate."""
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    priors: dict[str, np.ndarray]
    """``used``, ``bbse`` and ``pcc`` estimates of the OOD class prior."""


def _estimate_split(data: ShiftData, seed: int) -> _Outcome:
    n_ood = data.pred_ood.shape[1]
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones((1, n_ood)), rng.poisson(1.0, (N_RESAMPLES, n_ood)).astype(float)])
    weights[1:][weights[1:].sum(axis=1) == 0] = 1.0
    values = _run_all(data, weights)
    point_w = weights[:1]
    priors = {"used": ood_prior(data, point_w)[0], "bbse": bbse_prior(data, point_w)[0],
              "pcc": pcc_prior(data, point_w)[0]}
    on_id = data.on_id_rows()
    pseudo = pseudo_shifts(data, priors["used"])
    truth = (pseudo @ on_id.correct_id.T.astype(float)) / pseudo.sum(axis=1)[:, None]
    pseudo_values = _run_all(on_id, pseudo)
    mix = _estimator_weights(pseudo_values - truth[None])
    prior_index = ESTIMATORS.names().index(PRIOR.name)
    chosen = _combine(values, mix, data.collapsed, prior_index)
    chosen_cv = _combine(pseudo_values, mix, data.collapsed, prior_index) - truth
    point = chosen[0]
    spread = np.einsum("em,em->m", mix, (np.nan_to_num(values[:, 0]) - point) ** 2)
    # A collapsed model's estimate is as uncertain as the prior: half the gap between the two
    # assumptions, in the shares of the classes it predicts.
    gap = data.predicted_shares(point_w)[0] @ (priors["bbse"] - priors["pcc"])
    spread = np.where(data.collapsed, gap ** 2, spread)
    sigma = np.sqrt(chosen[1:].var(axis=0) + spread + np.mean(chosen_cv ** 2, axis=0))
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    return _Outcome(values[:, 0], point, np.clip(point - z * sigma, 0, 1), np.clip(point + z * sigma, 0, 1), priors)


def _mae(values: np.ndarray, truth: np.ndarray) -> float | None:
    ok = np.isfinite(values)
    return float(np.mean(np.abs(values[ok] - truth[ok])) * 100.0) if ok.any() else None


def _shares(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _split_record(models: Sequence[ModelResult], split: str, data: ShiftData, rows: np.ndarray,
                  outcome: _Outcome, true_prior: np.ndarray | None) -> OodSplitEstimate:
    values, point, low, high = outcome.values, outcome.estimate, outcome.low, outcome.high
    names = ESTIMATORS.names()
    labelled = all(is_labelled(models[k].splits[split]) for k in rows)
    truth = np.array([models[k].splits[split].accuracy if labelled else np.nan for k in rows])
    records = tuple(OodModelEstimate(
        family=models[k].family, config_id=models[k].config_id, collapsed=bool(data.collapsed[k]),
        id_accuracy=float(data.acc_id[k]), ood_accuracy=float(truth[n]) if labelled else None,
        estimates={name: (float(values[e, k]) if np.isfinite(values[e, k]) else None)
                   for e, name in enumerate(names)},
        estimate=float(point[k]), low=float(low[k]), high=float(high[k]),
        basis=PRIOR.name if data.collapsed[k] else "combined") for n, k in enumerate(rows))
    mae = collapsed_mae = coverage = None
    if labelled:
        table = {**{name: values[e, rows] for e, name in enumerate(names)}, TECURATE: point[rows]}
        mae = {name: _mae(v, truth) for name, v in table.items()}
        gone = data.collapsed[rows]
        collapsed_mae = {name: _mae(v[gone], truth[gone]) for name, v in table.items()} if gone.any() else None
        coverage = float(np.mean((low[rows] <= truth + 1e-12) & (truth <= high[rows] + 1e-12)))
    return OodSplitEstimate(
        n_models=int(rows.size), n_collapsed=int(data.collapsed[rows].sum()),
        id_prior=_shares(data.prior_id), estimated_prior=_shares(outcome.priors["used"]),
        bbse_prior=_shares(outcome.priors["bbse"]), pcc_prior=_shares(outcome.priors["pcc"]),
        true_prior=None if true_prior is None else _shares(true_prior),
        prior_shift_tv=None if true_prior is None else float(0.5 * np.abs(true_prior - data.prior_id).sum()),
        estimates=records, mae_pp=mae, mae_pp_collapsed=collapsed_mae, coverage=coverage)


def estimate_ood(run: GridRun, id_labels: np.ndarray, *, n_classes: int, eps: float, seed: int,
                 class_shares: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, OodSplitEstimate]]:
    """``[representation][ood_split]`` estimates of every model's OOD accuracy (see the module).

    ``id_labels`` are id_test's true class codes, in the grid's row order; ``class_shares`` the
    true class shares of labelled splits (only to report the true prior shift beside the estimate).
    """
    chosen = [k for k, m in enumerate(run.models) if ID_TEST in m.splits]
    splits = dict.fromkeys(s for k in chosen for s in run.models[k].splits if s != ID_TEST)
    out: dict[str, dict[str, OodSplitEstimate]] = {}
    fitted: dict[tuple[int, ...], np.ndarray] = {}
    for offset, split in enumerate(splits):
        members = [k for k in chosen if split in run.models[k].splits]
        models = [run.models[k] for k in members]
        data = shift_data(models, [run.predictions[k] for k in members],
                          [run.probabilities[k] for k in members] if run.probabilities else None,
                          split, id_labels, n_classes, eps, fitted.get(tuple(members)))
        fitted[tuple(members)] = data.calibration
        outcome = _estimate_split(data, seed + offset)
        true_prior = None if class_shares is None or split not in class_shares else np.asarray(class_shares[split])
        for rep in REPRESENTATIONS:
            rows = np.array([n for n, m in enumerate(models) if m.representation == rep], dtype=int)
            if rows.size:
                out.setdefault(rep, {})[split] = _split_record(models, split, data, rows, outcome, true_prior)
    return out
