"""ALine-S and ALine-D (Baek et al. 2022, agreement-on-the-line), as label-free estimators of every model.

The agreement line is fitted on healthy pairs only, per route, as in :mod:`tecurate.analysis._agreement`
(whose healthy-model estimates these equal). What is added here: an estimate for collapsed models
too, so every estimator covers every model. ALine-S applies the healthy line to a collapsed
model's ID accuracy; ALine-D solves the healthy pairs' equations first and then each collapsed
model's equations with every healthy partner, averaged. Under row weights the OOD agreement of
each pair is a weighted share, so the bootstrap and the pseudo-shifts reuse one pair × row matrix.
Probits clip to [eps, 1 − eps] (``--probit-eps``) as in :func:`tecurate.analysis.probit`.
"""

from __future__ import annotations

import numpy as np

from tecurate._lazy import lazy
from tecurate.analysis._agreement import pair_mean_solution
from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData

special = lazy("scipy.special")


def _agreements(pred: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(P, n) whether the two models of each pair agree on each row."""
    return pred[i] == pred[j]


def aline(data: ShiftData, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, M) ALine-S and ALine-D estimates; NaN for a route whose healthy line is undefined
    (fewer than 3 healthy models, or no spread in agreement)."""
    return data.memo("aline", weights, lambda: _aline(data, weights))


def _probit(p: np.ndarray, eps: float) -> np.ndarray:
    return special.ndtri(np.clip(p, eps, 1.0 - eps))


def _aline(data: ShiftData, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = weights.shape[0]
    out_s = np.full((r, data.n_models), np.nan)
    out_d = np.full((r, data.n_models), np.nan)
    total = weights.sum(axis=1)[:, None]
    for group in np.unique(data.groups):
        members = np.flatnonzero(data.groups == group)
        healthy = ~data.collapsed[members]
        if healthy.sum() < 3:
            continue
        i, j = np.triu_indices(members.size, 1)
        x = _probit(_agreements(data.pred_id[members], i, j).mean(axis=1), data.eps)
        y = _probit((weights @ _agreements(data.pred_ood[members], i, j).T.astype(np.float32)) / total, data.eps)
        both = healthy[i] & healthy[j]
        xh, yh = x[both], y[:, both]
        if np.ptp(xh) == 0:
            continue
        xc = xh - xh.mean()
        slope = (yh - yh.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
        intercept = yh.mean(axis=1) - slope * xh.mean()
        p_acc = _probit(data.acc_id[members], data.eps)
        out_s[:, members] = special.ndtr(slope[:, None] * p_acc[None, :] + intercept[:, None])
        target = y + slope[:, None] * (0.5 * (p_acc[i] + p_acc[j])[None, :] - x[None, :])
        solved = np.full((r, members.size), np.nan)
        h_idx = np.flatnonzero(healthy)
        local = np.full(members.size, -1)
        local[h_idx] = np.arange(h_idx.size)
        solved[:, h_idx] = pair_mean_solution(target[:, both], local[i[both]], local[j[both]], h_idx.size)
        for c in np.flatnonzero(~healthy):
            with_c = ((i == c) & healthy[j]) | ((j == c) & healthy[i])
            partner = np.where(i[with_c] == c, j[with_c], i[with_c])
            solved[:, c] = (2.0 * target[:, with_c] - solved[:, partner]).mean(axis=1)
        out_d[:, members] = special.ndtr(solved)
    return out_s, out_d


def estimate_s(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return aline(data, weights)[0]


def estimate_d(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    return aline(data, weights)[1]


ALINE_S = Estimator("aline_s", "ALine-S", "Baek et al. 2022", estimate_s)
ALINE_D = Estimator("aline_d", "ALine-D", "Baek et al. 2022", estimate_d)
