"""The simulation report: plain JSON data with its own versioned schema, and its summary table.

The summary condenses each route × α × schedule over its configurations: how many collapsed,
the generations to collapse (the lower median over configurations, a censored run counting as
later than any generation; None when that median is censored, i.e. most runs never collapsed),
and the mean id_test TV distance and accuracy of the last generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tecurate.data import ID_TEST
from tecurate.reporting import command_report_dict, packaged_schema
from tecurate.simulate._loop import Trajectory

SCHEMA_VERSION = "1.0"
KIND = "tecurate-simulate"


@dataclass(frozen=True)
class SummaryRow:
    representation: str
    real_fraction: float
    schedule: str
    n_runs: int
    n_collapsed: int
    generations_to_collapse: int | None
    censored: bool
    final_tv: float
    final_accuracy: float
    final_balanced_accuracy: float


def summarize(trajectories: Sequence[Trajectory]) -> list[SummaryRow]:
    """One row per route × α × schedule, in the order the trajectories first name them."""
    groups: dict[tuple[str, float, str], list[Trajectory]] = {}
    for trajectory in trajectories:
        groups.setdefault((trajectory.representation, trajectory.real_fraction, trajectory.schedule),
                          []).append(trajectory)
    rows = []
    for (rep, fraction, schedule), runs in groups.items():
        times = sorted(t.collapse_generation if t.collapse_generation is not None else float("inf") for t in runs)
        median = times[(len(times) - 1) // 2]
        last = [t.generations[-1].splits[ID_TEST] for t in runs]
        rows.append(SummaryRow(rep, fraction, schedule, len(runs), sum(t.collapse_generation is not None for t in runs),
                               None if median == float("inf") else int(median), median == float("inf"),
                               _mean(s.tv for s in last), _mean(s.accuracy for s in last),
                               _mean(s.balanced_accuracy for s in last)))
    return rows


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values)


def collapse_check(trajectories: Sequence[Trajectory], before: int | None) -> dict[str, Any] | None:
    """``--fail-if-collapse-before T``: the runs whose model collapsed at a generation < T."""
    if before is None:
        return None
    early = [{"representation": t.representation, "config_id": t.config_id, "real_fraction": t.real_fraction,
              "schedule": t.schedule, "collapse_generation": t.collapse_generation}
             for t in trajectories if t.collapse_generation is not None and t.collapse_generation < before]
    return {"before": before, "failed": bool(early), "runs": early}


@dataclass(frozen=True)
class SimulationReport:
    """Everything one simulation found; ``to_dict`` gives the JSON contract (``schema()``)."""

    tool_version: str
    created_at: str
    input: dict[str, Any]
    config: dict[str, Any]
    target: dict[str, Any]
    shift: Any
    serialization: dict[str, Any]
    embedding: Any
    trajectories: list[Trajectory]
    summary: list[SummaryRow]
    collapse_check: dict[str, Any] | None
    timings: dict[str, float]
    warnings: list[str]

    @property
    def exit_code(self) -> int:
        """1 when ``--fail-if-collapse-before`` found an early collapse, else 0."""
        return int(bool(self.collapse_check and self.collapse_check["failed"]))

    def to_dict(self) -> dict[str, Any]:
        data = command_report_dict(self, SCHEMA_VERSION, KIND, self.exit_code)
        for trajectory, plain in zip(self.trajectories, data["trajectories"], strict=True):
            plain["collapse_generation"] = trajectory.collapse_generation
            plain["censored"] = trajectory.collapse_generation is None
        return data


def schema() -> dict[str, Any]:
    """The JSON Schema every simulation report validates against (shipped in the package)."""
    return packaged_schema("tecurate.simulate", "simulate.schema.json")
