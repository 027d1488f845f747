"""Agreement-on-the-line: estimate each model's OOD accuracy from unlabelled OOD rows.

The agreement of two models on a split is the share of its rows where they predict the same
class; it needs no labels. Baek et al. ("Agreement-on-the-Line: Predicting the Performance of
Neural Networks under Distribution Shift", NeurIPS 2022, arXiv 2206.13089) observe that whenever
accuracy is on the line, probit(OOD agreement) against probit(ID agreement) over pairs of models
also lies on a line, with (nearly) the same slope ``a`` and bias ``b`` as the accuracy line. With
Φ⁻¹ the probit, their two estimators of model i's OOD accuracy (their section 4) are:

- **ALine-S**: Φ⁻¹(acc_OOD(i)) ≈ a·Φ⁻¹(acc_ID(i)) + b, with (a, b) the OLS fit of the agreement line.
- **ALine-D**: for every pair (i, j), substituting b = Φ⁻¹(agr_OOD(i,j)) − a·Φ⁻¹(agr_ID(i,j)) into
  the mean of the two models' accuracy-line equations gives one linear equation

      ½(Φ⁻¹(acc_OOD(i)) + Φ⁻¹(acc_OOD(j)))
          = Φ⁻¹(agr_OOD(i,j)) + a·[½(Φ⁻¹(acc_ID(i)) + Φ⁻¹(acc_ID(j))) − Φ⁻¹(agr_ID(i,j))]

  in the n unknowns Φ⁻¹(acc_OOD(·)); the n(n−1)/2 equations are solved by least squares (full
  column rank for n ≥ 3: the pair graph is complete, hence not bipartite).

tecurate's addition: collapsed models predict (almost) one class everywhere, so any two of them
agree (almost) perfectly on ID and on OOD rows. Their pairs pile up at (Φ⁻¹(1−ε), Φ⁻¹(1−ε)) and
fake a line, exactly as collapse fakes accuracy-on-the-line. Every fit is therefore made twice:
over healthy models (the estimate to use) and over all models (to show what collapse does); a
model counts as collapsed when it collapsed on id_test or on the OOD split, as in :mod:`aotl`.
When the OOD split has labels, the error of every estimator is measured against the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tecurate._lazy import lazy
from tecurate.analysis._line import probit
from tecurate.analysis._records import REPRESENTATIONS, GridRun, ModelResult, is_labelled
from tecurate.data import ID_TEST

stats = lazy("scipy.stats")

__all__ = [
    "AgreementFit",
    "AgreementLine",
    "EstimationError",
    "ModelEstimate",
    "aline_estimates",
    "fit_agreement",
    "pairwise_agreement",
]


@dataclass(frozen=True)
class AgreementLine:
    """OLS of probit(OOD agreement) on probit(ID agreement) over every pair of a set of models."""

    n_models: int
    n_pairs: int
    slope: float | None
    intercept: float | None
    r2: float | None
    """How well agreement lies on a line; a low value means the estimates deserve little trust."""


@dataclass(frozen=True)
class ModelEstimate:
    """One model's estimated OOD accuracy; ``*_all`` use the line fitted with collapsed models."""

    family: str
    config_id: str
    collapsed: bool
    id_accuracy: float
    ood_accuracy: float | None
    """The true OOD accuracy, when the split has labels."""
    aline_s: float | None
    """None for collapsed models: they are left out of the healthy fit and need no estimate."""
    aline_d: float | None
    aline_s_all: float | None
    aline_d_all: float | None


@dataclass(frozen=True)
class EstimationError:
    """Mean absolute error, in accuracy points (0-100), of each estimator over healthy models.

    Measured on the same healthy models for both fits, so the ``*_all`` errors show what
    including collapsed models in the agreement line costs.
    """

    n_models: int
    aline_s: float | None
    aline_d: float | None
    aline_s_all: float | None
    aline_d_all: float | None


@dataclass(frozen=True)
class AgreementFit:
    """Agreement-on-the-line for one representation and one OOD split."""

    healthy: AgreementLine
    all: AgreementLine
    n_collapsed: int
    estimates: tuple[ModelEstimate, ...]
    mae_pp: EstimationError | None
    """None when the OOD split has no labels (then the estimates are all there is)."""


def pairwise_agreement(predictions: np.ndarray) -> np.ndarray:
    """Agreement of every pair i < j of rows of ``predictions`` (models × rows), in
    ``np.triu_indices(n, 1)`` order."""
    preds = np.asarray(predictions)
    if preds.ndim != 2 or preds.shape[1] == 0:
        raise ValueError(f"predictions must be a non-empty models x rows matrix, got {preds.shape}")
    return np.concatenate([(preds[i + 1:] == preds[i]).mean(axis=1) for i in range(len(preds))])


def _line(x: np.ndarray, y: np.ndarray, n_models: int) -> AgreementLine:
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return AgreementLine(n_models, int(x.size), None, None, None)
    res = stats.linregress(x, y)
    return AgreementLine(n_models, int(x.size), float(res.slope), float(res.intercept),
                         float(res.rvalue) ** 2)


def aline_estimates(
    pred_id: np.ndarray,
    pred_ood: np.ndarray,
    acc_id: np.ndarray,
    *,
    eps: float,
) -> tuple[AgreementLine, np.ndarray | None, np.ndarray | None]:
    """The agreement line and the ALine-S and ALine-D estimates (None when the line is undefined).

    ``pred_id`` and ``pred_ood`` are models × rows predicted class codes; ``acc_id`` the models'
    ID accuracies. Probits clip to [eps, 1 − eps] as in accuracy-on-the-line.
    """
    acc = np.asarray(acc_id, dtype=float)
    n = acc.size
    if n < 3:
        return AgreementLine(n, n * (n - 1) // 2, None, None, None), None, None
    x = probit(pairwise_agreement(pred_id), eps)
    y = probit(pairwise_agreement(pred_ood), eps)
    line = _line(x, y, n)
    if line.slope is None or line.intercept is None:
        return line, None, None
    p_acc = probit(acc, eps)
    aline_s = stats.norm.cdf(line.slope * p_acc + line.intercept)
    i, j = np.triu_indices(n, 1)
    target = y + line.slope * (0.5 * (p_acc[i] + p_acc[j]) - x)
    return line, aline_s, stats.norm.cdf(pair_mean_solution(target, i, j, n))


def pair_mean_solution(target: np.ndarray, i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """ALine-D's least squares: the per-model values ``s`` whose pair means (s_i + s_j) / 2 best
    fit ``target`` (last axis: every pair ``i < j`` of ``n >= 3`` models, ``np.triu_indices``).

    Over every pair the normal equations are ((n − 2) I + J) s = 4 Dᵀt, whose inverse is known
    ((I − J / (2n − 2)) / (n − 2)), so this is two sums per model instead of a least-squares solve
    (``np.linalg.lstsq``: the same values to 1e-15, ~1 ms a call, and far more on a loaded host).
    """
    incidence = np.zeros((i.size, n))
    incidence[np.arange(i.size), i] = 1.0
    incidence[np.arange(i.size), j] = 1.0
    sums = 0.5 * (np.asarray(target) @ incidence)
    return 4.0 / (n - 2) * (sums - sums.sum(axis=-1, keepdims=True) / (2 * n - 2))


def _mae_pp(estimates: np.ndarray | None, truth: np.ndarray) -> float | None:
    if estimates is None or truth.size == 0:
        return None
    return float(np.mean(np.abs(estimates - truth)) * 100.0)


def _per_model(values: np.ndarray | None, rows: Iterable[int], n: int) -> list[float | None]:
    """Estimates of the models at positions ``rows`` among ``n``; None for the others (or all)."""
    out: list[float | None] = [None] * n
    if values is not None:
        for k, v in zip(rows, values, strict=True):
            out[k] = float(v)
    return out


def _fit_split(
    models: Sequence[ModelResult],
    predictions: Sequence[dict[str, np.ndarray]],
    split: str,
    eps: float,
) -> AgreementFit:
    ids = [m.splits[ID_TEST] for m in models]
    oods = [m.splits[split] for m in models]
    collapsed = np.array([i.collapsed or o.collapsed for i, o in zip(ids, oods, strict=True)])
    acc_id = np.array([i.accuracy for i in ids])
    pred_id = np.stack([p[ID_TEST] for p in predictions])
    pred_ood = np.stack([p[split] for p in predictions])
    healthy = ~collapsed
    line_h, s_h, d_h = aline_estimates(pred_id[healthy], pred_ood[healthy], acc_id[healthy], eps=eps)
    line_a, s_a, d_a = aline_estimates(pred_id, pred_ood, acc_id, eps=eps)

    labelled = all(is_labelled(o) for o in oods)
    truth = [o.accuracy if is_labelled(o) else None for o in oods]
    n, fitted = len(models), np.flatnonzero(healthy)
    columns = (_per_model(s_h, fitted, n), _per_model(d_h, fitted, n),
               _per_model(s_a, range(n), n), _per_model(d_a, range(n), n))
    estimates = tuple(
        ModelEstimate(m.family, m.config_id, bool(c), float(a), t, *(col[k] for col in columns))
        for k, (m, c, a, t) in enumerate(zip(models, collapsed, acc_id, truth, strict=True))
    )
    error = None
    if labelled:
        true_h = np.array(truth, dtype=float)[healthy]
        error = EstimationError(
            n_models=int(healthy.sum()),
            aline_s=_mae_pp(s_h, true_h),
            aline_d=_mae_pp(d_h, true_h),
            aline_s_all=_mae_pp(None if s_a is None else s_a[healthy], true_h),
            aline_d_all=_mae_pp(None if d_a is None else d_a[healthy], true_h),
        )
    return AgreementFit(line_h, line_a, int(collapsed.sum()), estimates, error)


def fit_agreement(run: GridRun, *, eps: float) -> dict[str, dict[str, AgreementFit]]:
    """``[representation][ood_split]`` agreement fits over the models of a grid run."""
    fits: dict[str, dict[str, AgreementFit]] = {}
    for rep in REPRESENTATIONS:
        chosen = [(m, p) for m, p in zip(run.models, run.predictions, strict=True)
                  if m.representation == rep and ID_TEST in m.splits]
        if not chosen:
            continue
        splits = dict.fromkeys(s for m, _ in chosen for s in m.splits if s != ID_TEST)
        for split in splits:
            pairs = [(m, p) for m, p in chosen if split in m.splits]
            fits.setdefault(rep, {})[split] = _fit_split(
                [m for m, _ in pairs], [p for _, p in pairs], split, eps)
    return fits
