"""``tecurate simulate``: self-consuming training loops, raw features vs text embeddings.

A model-free core (the class prior as a multinomial resampling chain, checked against closed
forms) and the model loop on a real table.
"""

from tecurate.simulate._prior import MODES, gini, prior_chain
from tecurate.simulate._schedule import SCHEDULE_KINDS, Schedule, parse_schedule
from tecurate.simulate._schedule import sizes as schedule_sizes

__all__ = [
    "MODES",
    "SCHEDULE_KINDS",
    "Schedule",
    "gini",
    "parse_schedule",
    "prior_chain",
    "schedule_sizes",
]
