"""What a model family is: everything the grid, the fit and the fit cache need to know about it.

A family is data plus one builder, so adding one is a module and a registry line
(:mod:`tecurate.grid._families`) and nothing else changes: sampling, fitting, early stopping
and the fit cache's key all read the spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

Builder = Callable[[dict[str, Any], int], "ClassifierMixin"]
"""``build(settings, seed)``: a fresh estimator; it imports its library itself, so a run that
does not use the family never pays for the import."""


@dataclass(frozen=True)
class Family:
    """One model family of the matched grid."""

    name: str
    grid: Mapping[str, Sequence[Any]]
    """Sampled hyper-parameters (``ParameterSampler`` lists), the settings an audit explores."""
    build: Builder
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Settings that are not explored: thread counts (parallelism is across models), early stopping."""
    stops_early: bool = False
    """Whether ``fit`` takes ``eval_set=[(X, y)]`` (xgboost's convention) of rows held out of
    training, to stop early as MLPClassifier does on its own."""
    without_validation: Mapping[str, Any] = field(default_factory=dict)
    """Settings over ``fixed`` when no rows can be held out (too few per class) to stop early on."""
    default: bool = True
    """Whether an audit fits it unless ``--families`` says otherwise."""
    packages: tuple[str, ...] = ()
    """Installed packages whose upgrade could change its predictions: their versions key the fit cache."""

    @property
    def size(self) -> int:
        """How many distinct configurations the grid holds: no audit can fit more of them."""
        return math.prod(len(values) for values in self.grid.values())

    def estimator(self, params: Mapping[str, Any], seed: int) -> ClassifierMixin:
        """The estimator of one sampled configuration: the fixed settings, then ``params``."""
        return self.build({**self.fixed, **params}, seed)
