"""The registry of model families: the one place that lists them (adding one is a module and a line).

Grids deliberately span well-tuned and aggressive settings (strong regularization, tiny
networks, huge or tiny learning rates, very shallow trees): collapse shows at the edges, and
an audit that only tries sensible settings would never see it. Registration order is the
order of the defaults and of the error message listing the families.
"""

from __future__ import annotations

from tecurate.grid._family import Family
from tecurate.grid._logreg import LOGREG
from tecurate.grid._mlp import MLP
from tecurate.grid._rf import RF
from tecurate.grid._xgboost import XGBOOST
from tecurate.registry import Registry

FAMILIES: Registry[Family] = Registry("model family")
FAMILIES.register(LOGREG.name, LOGREG)
FAMILIES.register(XGBOOST.name, XGBOOST)
FAMILIES.register(MLP.name, MLP)
FAMILIES.register(RF.name, RF)


def default_families() -> tuple[str, ...]:
    """The families an audit fits when ``--families`` is not given, in registration order."""
    return tuple(name for name, family in FAMILIES.items() if family.default)
