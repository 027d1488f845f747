"""Sweep's knobs (rows of the settings table, ``commands=("sweep",)``) and its configuration.

Every other audit knob (input, split, grid, gates, ``--repeats``, ``--representations``, the
cache) is the audit's own row and means the same for each combination; the three an audit takes one of — ``template``,
``curations`` and ``embedder`` — are :data:`REPLACED` by the lists here.
"""

from __future__ import annotations

from typing import Any

from tecurate.settings import Setting, require, settle, settings_record

SWEEP = "sweep"
REPLACED = ("template", "curations", "embedder")
"""Audit knobs whose one value the sweep replaces by a list of values to compare."""
DEFAULT_EMBEDDER = "default"
"""In ``--embedders``: the packaged model (the audit's ``embedder`` left unset)."""

SETTINGS: tuple[Setting, ...] = (
    Setting("sweep_templates", ("sentence", "kv", "json"), "Comma-separated templates to compare: sentence, kv, "
            "json or custom texts with {column} fields (a comma inside one: use the Python API).", SWEEP,
            kind="list", flag="--templates", commands=(SWEEP,)),
    Setting("sweep_curations", ("none", "round:3", "describe"), "Comma-separated curations to compare, each "
            "none or operations joined by + (round:3+describe).", SWEEP, kind="list", flag="--curations",
            commands=(SWEEP,)),
    Setting("sweep_embedders", (DEFAULT_EMBEDDER,), "Comma-separated embedders to compare: default (the "
            "packaged model), sentence-transformers names or local folders.", SWEEP, kind="list",
            flag="--embedders", commands=(SWEEP,)),
    Setting("fail_if_best_fails", False, "Exit 1 when the best combination's own audit fails a gate (its "
            "verdict, with --fail-on), for CI.", SWEEP, kind="bool", commands=(SWEEP,)),
)
"""Sweep's own knobs, in report order."""


def _post_init(self: Any) -> None:
    settle(self, SETTINGS)
    for name in ("sweep_templates", "sweep_embedders"):
        values = getattr(self, name)
        require(bool(values), f"--{name[6:]} must name at least one")
        require(len(set(values)) == len(values), f"--{name[6:]} lists one twice")
    require(bool(self.sweep_curations), "--curations must name at least one")


SweepConfig = settings_record(
    "SweepConfig", "tecurate.sweeps", SETTINGS,
    "Sweep's own settings; fields and defaults are the rows of :data:`SETTINGS`. Lists take a tuple "
    "or a comma-separated string.", _post_init)
_NAMES = {s.name for s in SETTINGS}


def sweep_config(given: dict[str, Any]) -> Any:
    """A :class:`SweepConfig` from the knobs a user passed (None: not given)."""
    return SweepConfig(**{k: v for k, v in given.items() if k in _NAMES and v is not None})
