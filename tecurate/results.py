"""Plain result records shared by the model grid, the summaries and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tecurate.metrics import SplitMetrics

REPRESENTATIONS = ("raw", "te")
"""The two routes every configuration is fitted on: raw features and text embeddings."""

ID_TEST = "id_test"
"""Name of the held-out in-distribution split; every other split name is an OOD split."""


@dataclass(frozen=True)
class ModelResult:
    """One fitted (configuration, representation) pair and its metrics on every test split."""

    family: str
    config_id: str
    params: dict[str, Any]
    representation: str
    splits: dict[str, SplitMetrics] = field(default_factory=dict)
    fit_seconds: float = 0.0
