"""The collapse-aware prior estimate: tecurate's own, from two published prior estimators.

The OOD class prior q is estimated without labels twice, under the two assumptions a real
shift mixes:

- **BBSE** (Lipton et al. 2018, "Detecting and Correcting for Label Shift with Black Box
  Predictors", ICML) assumes label shift: each model's OOD predicted shares are μ = C q, with
  C[k, y] = P_ID(ŷ = k | y) its ID-test confusion. The equations of every healthy model of both
  routes are stacked (they share the rows), each model's weighted by how much its predictions
  tell the classes apart (balanced ID accuracy above 1/K: a model near the prior says nothing
  about q and only adds noise), and solved by least squares with Σq = 1, then clipped to q ≥ 0
  and renormalized. When P(x | y) shifts too, inverting C over-reacts.
- **PCC** (probabilistic classify-and-count, Bella et al. 2010) assumes covariate shift: the
  mean calibrated posterior of the healthy models over the OOD rows. Under label shift it
  under-reacts (it stays between the ID prior and the truth).

The estimate used is their midpoint, a hedge between the two assumptions (chosen after looking
at the real shifts of ``validation/ood_estimates.py``, whose RESULTS section says which shifts
were held out of that choice). With q̂ a model's accuracy follows:

- a **collapsed** model predicts (almost) one class c, so its accuracy is (almost) the OOD share
  of c: Σ_k p̂_k q̂_k with p̂ its own OOD predicted shares, exact when it predicts one class
  only (and then whatever its ID confusion looked like: a model may collapse on OOD rows only);
- a **healthy** model keeps its ID recall per class under label shift, so its accuracy is
  Σ_y q̂_y · recall_y: the label-shift correction of the no-shift guess.
"""

from __future__ import annotations

import numpy as np

from tecurate.analysis._estimator import Estimator
from tecurate.analysis._shift_data import ShiftData

_SUM_WEIGHT = 10.0
"""Weight of the Σq = 1 row against the stacked confusion equations (each a share in [0, 1])."""


def _informative(data: ShiftData) -> np.ndarray:
    """The healthy models (every model when none is)."""
    return ~data.collapsed if (~data.collapsed).any() else np.ones(data.n_models, dtype=bool)


def bbse_prior(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    """(R, K) the OOD class prior by BBSE from the healthy models."""
    use = _informative(data)
    k = data.n_classes
    present = data.prior_id > 0
    skill = np.clip(data.recall[:, present].mean(axis=1) - 1.0 / present.sum(), 0.0, None)[use]
    scale = np.repeat(skill / skill.max() if skill.max() > 0 else np.ones_like(skill), k)
    design = np.concatenate([data.confusion[use].reshape(-1, k) * scale[:, None], np.full((1, k), _SUM_WEIGHT)])
    shares = data.predicted_shares(weights)[:, use].reshape(weights.shape[0], -1) * scale[None, :]
    target = np.concatenate([shares, np.full((weights.shape[0], 1), _SUM_WEIGHT)], axis=1)
    q = np.clip(target @ np.linalg.pinv(design).T, 0.0, None)
    q[:, data.prior_id == 0] = 0.0
    total = q.sum(axis=1, keepdims=True)
    return np.where(total > 0, q / np.where(total > 0, total, 1.0), data.prior_id[None, :])


def pcc_prior(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    """(R, K) the OOD class prior by PCC: the healthy models' mean calibrated posterior."""
    mean = data.prob_ood[_informative(data)].mean(axis=0)
    return (weights @ mean) / weights.sum(axis=1)[:, None]


def ood_prior(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    """(R, K) the prior the estimate uses: the midpoint of BBSE and PCC."""
    return data.memo("prior", weights, lambda: 0.5 * (bbse_prior(data, weights) + pcc_prior(data, weights)))


def estimate(data: ShiftData, weights: np.ndarray) -> np.ndarray:
    q = ood_prior(data, weights)
    healthy = q @ data.recall.T
    collapsed = np.einsum("rmk,rk->rm", data.predicted_shares(weights), q)
    return np.where(data.collapsed[None, :], collapsed, healthy)


PRIOR = Estimator("prior", "prior", "tecurate: midpoint of BBSE (Lipton et al. 2018) and PCC priors, collapse-aware",
                  estimate)
