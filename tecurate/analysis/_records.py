"""Plain result records shared by the model grid, the summaries and the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tecurate.registry import Registry
from tecurate.settings import AUDIT, SIMULATE, Setting

if TYPE_CHECKING:
    from tecurate.analysis._metrics import SplitMetrics

BASELINE = "raw"
"""The route every other one is compared with (same configurations): the gates are relative to it."""


@dataclass(frozen=True)
class Route:
    """A representation the matched grid fits: which feature blocks it puts side by side.

    The blocks are the pipeline's two stage outputs: ``raw`` (the encoded feature columns,
    :func:`tecurate.grid.encode_raw`) and ``te`` (the row texts' embeddings). A route of two
    blocks is their column-wise concatenation, each block exactly as its own route sees it (no
    block is rescaled), so it differs from either route alone only by the other's columns.
    """

    name: str
    blocks: tuple[str, ...]
    description: str


ROUTES: Registry[Route] = Registry("representation")
"""Every route, in report order (summaries, lines and gates list them so)."""
for _route in (Route("raw", ("raw",), "raw features: standardized numerics, one-hot categoricals"),
               Route("te", ("te",), "text embeddings of the serialized rows"),
               Route("raw+te", ("raw", "te"), "raw features and text embeddings side by side")):
    ROUTES.register(_route.name, _route)

REPRESENTATIONS = ROUTES.names()
"""Every route's name: "raw", "te", "raw+te"."""
DEFAULT_REPRESENTATIONS = ("raw", "te")
"""The routes an audit fits unless ``--representations`` says otherwise."""

REPRESENTATIONS_SETTING = Setting(
    "representations", DEFAULT_REPRESENTATIONS, "Comma-separated routes fitted with the same configurations: "
    "raw (features), te (text embeddings), raw+te (both side by side; audit only). An audit needs raw: its "
    "gates judge every other route against it.", "grid", kind="list", choices=REPRESENTATIONS,
    item="representation", commands=(AUDIT, SIMULATE))


def build_features(names: Sequence[str], blocks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The feature matrix of each named route, in :data:`ROUTES` order, from the stage's blocks."""
    chosen = [route for name, route in ROUTES.items() if name in names]
    return {route.name: blocks[route.blocks[0]] if len(route.blocks) == 1
            else np.hstack([np.asarray(blocks[b], dtype=np.float32) for b in route.blocks])
            for route in chosen}


def route_gate_name(gate: str, route: str) -> str:
    """A per-route gate's result name: the gate's own for te (as before routes could vary),
    ``gate[route]`` for any other route."""
    return gate if route == "te" else f"{gate}[{route}]"


def gate_route(name: str) -> tuple[str, str]:
    """The gate and route of a per-route result or check name: :func:`route_gate_name` undone
    (``"te_only_collapse[raw+te]"`` -> ``("te_only_collapse", "raw+te")``; a bare name is te's)."""
    base, _, route = name.partition("[")
    return base, route.removesuffix("]") or "te"


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
