"""Simulate's knobs (rows of the settings table, ``commands=("simulate",)``) and its configuration.

Input, split, embedding, seed and collapse-threshold knobs are the audit's own rows
(:data:`SHARED`), resolved into an ``AuditConfig``; the rows here are simulate's alone and
become the fields of :class:`SimulateConfig`.
"""

from __future__ import annotations

import math
from typing import Any

from tecurate.analysis import DEFAULT_REPRESENTATIONS, REPRESENTATIONS_SETTING
from tecurate.grid import FAMILIES
from tecurate.settings import SIMULATE, Setting, require, settle, settings_record
from tecurate.simulate._prior import MODES
from tecurate.simulate._schedule import Schedule, parse_schedule

SYNTHETIC_KINDS = ("labels", "rows")
"""``labels``: real feature rows labelled by the previous model; ``rows``: rows and labels sampled
from the previous generation's generative model (class prior + per-class diagonal Gaussian)."""

SHARED = ("target", "shift_col", "id_values", "min_domain_rows", "synthetic_quantile", "test_size",
          "drop_cols", "max_rows", "input_format", "encoding", "template", "embedder", "device",
          "precision", "batch_size", "cache_dir", "use_cache", "n_jobs", "seed", "collapse_threshold")
"""Audit knobs that simulate takes as they are (same flag, default and meaning)."""


def _family_names() -> tuple[str, ...]:
    return FAMILIES.names()


SETTINGS: tuple[Setting, ...] = (
    Setting("generations", 10, "Generations after generation 0 (which trains on real rows only).", SIMULATE,
            kind="int", low=1, high=200, commands=(SIMULATE,)),
    Setting("real_fraction", ("0", "0.1", "0.5"), "Comma-separated shares α of fresh real rows in each "
            "generation's mixture (the rest is synthetic).", SIMULATE, kind="list", commands=(SIMULATE,)),
    Setting("schedule", ("constant", "linear", "power:0.5"), "Comma-separated sample-size schedules n_t: "
            "constant (n0), linear (n0·(t+1)), power:s (n0·(t+1)^(1+s)).", SIMULATE, kind="list",
            commands=(SIMULATE,)),
    Setting("n0", 1000, "Rows of generation 0, drawn from the real ID-train pool.", SIMULATE, kind="int",
            low=20, commands=(SIMULATE,)),
    Setting("max_rows_per_generation", 10000, "Upper bound on n_t; the report records the generations "
            "where it binds.", SIMULATE, kind="int", low=20, commands=(SIMULATE,)),
    Setting("mode", "replace", "replace: train on the current mixture; accumulate: on every row so far.",
            SIMULATE, choices=MODES, commands=(SIMULATE,)),
    Setting("synthetic", "labels", "labels: real feature rows labelled by the previous model; rows: rows "
            "and labels sampled from the previous model's class prior and per-class Gaussians.", SIMULATE,
            choices=SYNTHETIC_KINDS, commands=(SIMULATE,)),
    Setting("filter", "none", "none, or confidence:p: keep only synthetic rows the previous model "
            "gives their label with probability at least p.", SIMULATE, commands=(SIMULATE,)),
    REPRESENTATIONS_SETTING,
    Setting("sim_families", ("logreg", "xgboost"), "Comma-separated model families.", SIMULATE,
            kind="list", choices=_family_names, item="model family", flag="--families",
            commands=(SIMULATE,)),
    Setting("sim_configs", 1, "Configurations sampled per family; each runs on every route.", SIMULATE,
            kind="int", low=1, high=20, flag="--n-configs", commands=(SIMULATE,)),
    Setting("fail_if_collapse_before", None, "Exit 1 when a route's model collapses (on id_test) before "
            "generation T, for CI.", SIMULATE, kind="int", optional=True, low=1, commands=(SIMULATE,),
            shown_default="off"),
)
"""Simulate's own knobs, in report order."""

_BY_NAME = {s.name: s for s in SETTINGS}


def parse_fraction(text: str) -> float:
    """One ``--real-fraction`` value: a share in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    require(0.0 <= value <= 1.0, f"--real-fraction {text}: each share must be a number between 0 and 1")
    return value


def parse_filter(text: str) -> float | None:
    """``none`` -> None; ``confidence:p`` -> p in (0, 1]."""
    if text.strip() == "none":
        return None
    kind, _, arg = text.strip().partition(":")
    try:
        value = float(arg) if kind == "confidence" else math.nan
    except ValueError:
        value = math.nan
    require(0.0 < value <= 1.0, f"--filter {text}: choose none or confidence:p with p in (0, 1]")
    return value


def _post_init(self: Any) -> None:
    settle(self, SETTINGS)
    require(len(set(self.fractions)) == len(self.fractions), "--real-fraction lists a share twice")
    names = [s.name for s in self.schedules]
    require(len(set(names)) == len(names), "--schedule lists a schedule twice")
    require(self.max_rows_per_generation >= self.n0, "--max-rows-per-generation must be at least --n0")
    parse_filter(self.filter)  # a bad --filter fails now, not after the embedding
    extra = [rep for rep in self.representations if rep not in DEFAULT_REPRESENTATIONS]
    require(not extra, f"simulate runs the {' and '.join(DEFAULT_REPRESENTATIONS)} routes; "
            f"{', '.join(extra)} is an audit route")


def _fractions(self: Any) -> tuple[float, ...]:
    return tuple(parse_fraction(v) for v in self.real_fraction)


def _schedules(self: Any) -> tuple[Schedule, ...]:
    return tuple(parse_schedule(v) for v in self.schedule)


def _confidence(self: Any) -> float | None:
    return parse_filter(self.filter)


SimulateConfig = settings_record(
    "SimulateConfig", "tecurate.simulate", SETTINGS,
    "Simulate's own settings; fields and defaults are the rows of :data:`SETTINGS`.\n\n"
    "Lists take a tuple of names, a comma-separated string or numbers: "
    "``SimulateConfig(real_fraction=(0, 0.5), schedule=\"constant\")``.",
    _post_init, fractions=property(_fractions), schedules=property(_schedules), confidence=property(_confidence))


def simulate_config(given: dict[str, Any]) -> Any:
    """A :class:`SimulateConfig` from the knobs a user passed (None: not given)."""
    return SimulateConfig(**{k: v for k, v in given.items() if k in _BY_NAME and v is not None})
