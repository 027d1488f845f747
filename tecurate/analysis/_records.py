"""Plain result records shared by the model grid, the summaries and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tecurate.analysis._metrics import SplitMetrics

REPRESENTATIONS = ("raw", "te")
"""The two routes every configuration is fitted on: raw features and text embeddings."""

@dataclass(frozen=True)
class ModelResult:
    """One fitted (configuration, representation) pair and its metrics on every test split."""

    family: str
    config_id: str
    params: dict[str, Any]
    representation: str
    splits: dict[str, SplitMetrics | PredictionMetrics] = field(default_factory=dict)
    """Labelled splits hold :class:`SplitMetrics`; unlabelled OOD splits :class:`PredictionMetrics`."""
    fit_seconds: float = 0.0
    """The fit's own time; for a ``cached`` result, that of the run that fitted it."""
    cached: bool = False
    """True when the predictions came from the fit cache instead of a fit in this run."""


@dataclass(frozen=True)
class PredictionMetrics:
    """A model on an unlabelled split: only what its predictions alone can tell (no accuracy).

    Collapse needs no labels, so an unlabelled OOD split still shows which models collapse there.
    """

    majority_class_rate: float
    prediction_entropy: float
    n_predicted_classes: int
    collapsed: bool
    predicted_distribution: tuple[float, ...]
    """p̂ in class-code order, length K."""


def is_labelled(metrics: SplitMetrics | PredictionMetrics) -> bool:
    """Whether accuracy-type metrics exist for this split (it had labels)."""
    return not isinstance(metrics, PredictionMetrics)


@dataclass(frozen=True)
class GridRun:
    """Every fitted model and, aligned with it, its predicted class codes per test split.

    Predictions (int8 codes) feed agreement-on-the-line, probabilities (rows × K, float32) the
    other label-free OOD estimators; both stay out of the JSON report, which must remain small.
    """

    models: list[ModelResult]
    predictions: list[dict[str, np.ndarray]]
    probabilities: list[dict[str, np.ndarray]] = field(default_factory=list)
    """Empty where a caller kept only predicted codes (then the estimators that need
    probabilities treat each prediction as certain)."""
