"""``analyze``: the whole analysis stage, from the grid's scores to a verdict, in one pure call.

The pipeline calls it on a fresh grid run; the validation calls it again on a report's models
under other settings, so both decide a verdict the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tecurate.analysis._agreement import AgreementFit, fit_agreement
from tecurate.analysis._aotl import AotlFit, SpuriousThresholds, fit_aotl
from tecurate.analysis._gates import Verdict, decide
from tecurate.analysis._ood import OodSplitEstimate, estimate_ood
from tecurate.analysis._records import GridRun, ModelResult
from tecurate.analysis._summary import Summary, summarize
from tecurate.data import ID_TEST

if TYPE_CHECKING:
    from tecurate.config import AuditConfig
    from tecurate.embedding import Truncation


@dataclass(frozen=True)
class Analysis:
    """What the models mean: ``aotl``, ``agreement`` and ``ood_estimates`` are ``[representation][ood_split]``."""

    summary: Summary
    aotl: Mapping[str, Mapping[str, AotlFit]]
    agreement: Mapping[str, Mapping[str, AgreementFit]]
    verdict: Verdict
    ood_estimates: Mapping[str, Mapping[str, OodSplitEstimate]] = field(default_factory=dict)


def analyze(
    models: Sequence[ModelResult],
    class_shares: Mapping[str, np.ndarray],
    config: AuditConfig,
    *,
    predictions: Sequence[dict[str, np.ndarray]] | None = None,
    probabilities: Sequence[dict[str, np.ndarray]] | None = None,
    id_labels: np.ndarray | None = None,
    truncation: Truncation | None = None,
) -> Analysis:
    """Summary, accuracy-on-the-line, agreement-on-the-line and verdict of fitted models.

    ``class_shares`` holds the true class shares of each labelled test split (they place the
    base-rate point of a line). Agreement needs each model's predicted codes (``predictions``,
    aligned with ``models``, as in a grid run); a saved report keeps none, so without them
    ``agreement`` is empty and everything else is unchanged. The label-free OOD estimators
    (``ood_estimates``) need the predictions, id_test's true codes (``id_labels``) and, for the
    confidence-based ones, the class probabilities (``probabilities``; without them each
    prediction counts as certain). ``truncation`` (what the model's
    token limit cut) feeds the truncation gate; without it that gate passes as unknown.
    """
    summary = summarize(models)
    lines = fit_aotl(models, dict(class_shares), thresholds=SpuriousThresholds.from_config(config),
                     eps=config.probit_eps,
                     n_bootstrap=config.n_bootstrap, seed=config.seed)
    agreement = ({} if predictions is None else
                 fit_agreement(GridRun(list(models), list(predictions)), eps=config.probit_eps))
    ood = ({} if predictions is None or id_labels is None or ID_TEST not in class_shares else
           estimate_ood(GridRun(list(models), list(predictions), list(probabilities or [])), id_labels,
                        n_classes=len(class_shares[ID_TEST]), eps=config.probit_eps, seed=config.seed,
                        class_shares=class_shares))
    return Analysis(summary=summary, aotl=lines, agreement=agreement,
                    verdict=decide(summary, lines, config, models, truncation), ood_estimates=ood)
