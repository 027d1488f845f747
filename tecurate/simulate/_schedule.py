"""Sample-size schedules n_t: how many rows generation t trains on.

Xu, He & Cheng (arXiv 2505.13947): with a constant n the estimate random-walks into collapse;
growing n fast enough (Σ 1/n_t < ∞, e.g. n_t ∝ t^{1+s}) keeps it from drifting away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tecurate.errors import TecurateError

SCHEDULE_KINDS = ("constant", "linear", "power")


@dataclass(frozen=True)
class Schedule:
    """``constant``: n0; ``linear``: n0·(t+1); ``power``: n0·(t+1)^{1+s}."""

    kind: str
    s: float = 0.0

    @property
    def name(self) -> str:
        return f"power:{self.s:g}" if self.kind == "power" else self.kind

    def size(self, t: int, n0: int) -> int:
        """n_t before any cap (t = 0 is generation 0: n0 whatever the kind)."""
        growth = {"constant": 1.0, "linear": t + 1.0, "power": (t + 1.0) ** (1.0 + self.s)}[self.kind]
        return int(round(n0 * growth))


def parse_schedule(text: str) -> Schedule:
    """``constant``, ``linear`` or ``power:s`` with s > 0; anything else is a user error."""
    kind, _, arg = text.strip().partition(":")
    if kind in ("constant", "linear") and not arg:
        return Schedule(kind)
    if kind == "power":
        try:
            s = float(arg)
        except ValueError:
            s = math.nan
        if math.isfinite(s) and 0 < s <= 4:
            return Schedule("power", s)
        raise TecurateError(f"--schedule {text}: power:s needs a number s in (0, 4]")
    raise TecurateError(f"--schedule {text}: choose constant, linear or power:s")


def sizes(schedule: Schedule, n0: int, generations: int, cap: int | None) -> tuple[list[int], list[int]]:
    """n_0..n_T with the cap applied, and the generations at which the cap bound."""
    wanted = [schedule.size(t, n0) for t in range(generations + 1)]
    if cap is None:
        return wanted, []
    return [min(n, cap) for n in wanted], [t for t, n in enumerate(wanted) if n > cap]
