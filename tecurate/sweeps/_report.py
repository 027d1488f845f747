"""The sweep report: plain JSON data with its own versioned schema (like simulate's).

One :class:`Combination` per template × curation × embedder, best first; the best one, the
default one (the audit's template, no curation, the first embedder) and what the best improves
on it, in one sentence too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tecurate.reporting import command_report_dict, packaged_schema
from tecurate.sweeps._score import Spread

SCHEMA_VERSION = "1.0"
KIND = "tecurate-sweep"


@dataclass(frozen=True)
class Combination:
    """One combination's audit, scored on every seed (medians over the seeds)."""

    id: str
    """``template | curation | embedder``."""
    template: str
    curation: str
    embedder: str
    is_default: bool
    rank: int
    tie_group: int
    """1: tied with the best (inside its seed spread); equal numbers tie with each other."""
    score: Spread
    terms: dict[str, float]
    """The score's terms (:mod:`tecurate.sweeps._score`), each the median over the seeds."""
    splits: dict[str, dict[str, float | None]]
    """Per test split: raw and te collapse rates, te-only collapse rate, median accuracy gap and
    each route's median model accuracy (medians over the seeds)."""
    status: str
    """The combination's audit verdict (the median seed's, with ``--repeats``)."""
    gates: dict[str, str]
    example: str
    columns: list[str]
    steps: list[dict[str, Any]]
    """What each curation step did (the audit's ``serialization.curation.steps``)."""
    seconds: float


@dataclass(frozen=True)
class SweepReport:
    """Everything one sweep found; ``to_dict`` gives the JSON contract (``schema()``)."""

    tool_version: str
    created_at: str
    input: dict[str, Any]
    config: dict[str, Any]
    target: dict[str, Any]
    shift: dict[str, Any]
    seeds: list[int]
    combinations: list[Combination]
    best: str
    default: str | None
    improvement: dict[str, float] | None
    """Default minus best, for the score and its te-only and gap terms; None without a default."""
    statement: str
    fail_if_best_fails: bool
    best_fails: bool
    timings: dict[str, float]
    warnings: list[str]

    @property
    def exit_code(self) -> int:
        """1 when ``--fail-if-best-fails`` is set and the best combination's audit fails, else 0."""
        return int(self.fail_if_best_fails and self.best_fails)

    def combination(self, key: str) -> Combination:
        return next(c for c in self.combinations if c.id == key)

    def to_dict(self) -> dict[str, Any]:
        return command_report_dict(self, SCHEMA_VERSION, KIND, self.exit_code)


def schema() -> dict[str, Any]:
    """The JSON Schema every sweep report validates against (shipped in the package)."""
    return packaged_schema("tecurate.sweeps", "sweep.schema.json")
