"""``analyze``: the whole analysis stage, from the grid's scores to a verdict, in one pure call.

The pipeline calls it on a fresh grid run; the validation calls it again on a report's models
under other settings, so both decide a verdict the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tecurate.analysis._agreement import AgreementFit, fit_agreement
from tecurate.analysis._aotl import AotlFit, SpuriousThresholds, fit_aotl
from tecurate.analysis._gates import Verdict, decide
from tecurate.analysis._records import GridRun, ModelResult
from tecurate.analysis._summary import Summary, summarize

if TYPE_CHECKING:
    from tecurate.config import AuditConfig
    from tecurate.embedding import Truncation


@dataclass(frozen=True)
class Analysis:
    """What the models mean: ``aotl`` and ``agreement`` are ``[representation][ood_split]``."""

    summary: Summary
    aotl: Mapping[str, Mapping[str, AotlFit]]
    agreement: Mapping[str, Mapping[str, AgreementFit]]
    verdict: Verdict


def analyze(
    models: Sequence[ModelResult],
    class_shares: Mapping[str, np.ndarray],
    config: AuditConfig,
    *,
    predictions: Sequence[dict[str, np.ndarray]] | None = None,
    truncation: Truncation | None = None,
) -> Analysis:
    """Summary, accuracy-on-the-line, agreement-on-the-line and verdict of fitted models.

    ``class_shares`` holds the true class shares of each labelled test split (they place the
    base-rate point of a line). Agreement needs each model's predicted codes (``predictions``,
    aligned with ``models``, as in a grid run); a saved report keeps none, so without them
    ``agreement`` is empty and everything else is unchanged. ``truncation`` (what the model's
    token limit cut) feeds the truncation gate; without it that gate passes as unknown.
    """
    summary = summarize(models)
    lines = fit_aotl(models, dict(class_shares), thresholds=SpuriousThresholds.from_config(config),
                     eps=config.probit_eps,
                     n_bootstrap=config.n_bootstrap, seed=config.seed)
    agreement = ({} if predictions is None else
                 fit_agreement(GridRun(list(models), list(predictions)), eps=config.probit_eps))
    return Analysis(summary=summary, aotl=lines, agreement=agreement, verdict=decide(summary, lines, config, models, truncation))
