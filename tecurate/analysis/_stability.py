"""Stability across seeds: would another split and another grid sample give the same verdict?

One seed decides the row sample, the ID-train/ID-test split, the sampled configurations and the
models' own randomness. ``--repeats K`` runs the whole audit with seeds seed, seed+1, …,
seed+K−1 (the embedding cache makes a repeat cost little more than its fits) and reports the
spread (min / median / max) of every headline figure. The verdict then states its own stability:

- the report shows the *median seed*: the first seed whose status is the upper median of the K
  statuses (ordered pass < warn < fail; ties go to the more severe status), so its models,
  summary, lines and gates are one real, coherent run;
- a ``stability`` gate warns when the seeds disagree ("unstable across 5 seeds: pass on 2,
  fail on 3") instead of pretending one seed speaks for all; with ``--fail-on warn`` that exits 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from tecurate.analysis._gate import GateResult
from tecurate.analysis._gates import combine
from tecurate.status import STATUSES, severity

if TYPE_CHECKING:
    from tecurate.config import AuditConfig
    from tecurate.reporting import AuditReport

__all__ = ["STABILITY_GATE", "Spread", "Stability", "assess_stability", "headline_figures", "median_seed"]

STABILITY_GATE = "stability"

FigureKey = tuple[str, str | None, str | None]
"""(figure, representation, split); representation or split is None where it does not apply."""


@dataclass(frozen=True)
class Spread:
    """One headline figure over the seeds; ``values`` has one entry per seed (None: undefined)."""

    figure: str
    representation: str | None
    split: str | None
    n: int
    """Seeds on which the figure is defined."""
    min: float | None
    median: float | None
    max: float | None
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Stability:
    """How the audit varies over ``repeats`` seeds."""

    repeats: int
    seeds: tuple[int, ...]
    statuses: tuple[str, ...]
    """The verdict status of each seed, in seed order."""
    reported_seed: int
    """The median seed, whose run the report shows."""
    verdict_flips: int
    """Seeds whose status differs from the reported one; 0 means the verdict is stable."""
    stable: bool
    figures: tuple[Spread, ...]


def headline_figures(report: AuditReport) -> dict[FigureKey, float | None]:
    """The numbers a reader quotes from one audit, keyed for comparison across seeds."""
    figures: dict[FigureKey, float | None] = {}
    for rep, per_split in report.summary.representations.items():
        for split, s in per_split.items():
            figures[("collapse_rate", rep, split)] = s.collapse_rate
    for split, p in report.summary.paired.items():
        figures[("te_only_collapse_rate", None, split)] = p.te_only_collapse_rate
        figures[("excess_collapse_rate", None, split)] = p.excess_collapse_rate
        figures[("median_accuracy_gap", None, split)] = p.median_accuracy_gap
    for route, per_split in report.summary.paired_routes.items():
        for split, p in per_split.items():
            figures[("te_only_collapse_rate", route, split)] = p.te_only_collapse_rate
            figures[("excess_collapse_rate", route, split)] = p.excess_collapse_rate
            figures[("median_accuracy_gap", route, split)] = p.median_accuracy_gap
    for rep, fits in report.aotl.items():
        for split, fit in fits.items():
            figures[("aotl_r2_all", rep, split)] = fit.all.r2
            figures[("aotl_r2_healthy", rep, split)] = fit.healthy.r2
            figures[("spurious", rep, split)] = float(fit.spurious)
    for rep, fits in report.agreement.items():
        for split, fit in fits.items():
            if fit.mae_pp is not None:
                figures[("aline_s_mae_pp", rep, split)] = fit.mae_pp.aline_s
                figures[("aline_s_all_mae_pp", rep, split)] = fit.mae_pp.aline_s_all
    figures[("fail", None, None)] = float(report.verdict.status == "fail")
    return figures


def _spread(key: FigureKey, values: list[float | None]) -> Spread:
    defined = np.array([v for v in values if v is not None], dtype=float)
    stats = (float(defined.min()), float(np.median(defined)), float(defined.max())) if defined.size \
        else (None, None, None)
    return Spread(*key, int(defined.size), *stats, tuple(values))


def median_seed(statuses: Sequence[str]) -> int:
    """Index of the first seed whose status is the upper median of ``statuses``."""
    if not statuses:
        raise ValueError("no statuses")
    ordered = sorted(statuses, key=severity)
    return list(statuses).index(ordered[len(ordered) // 2])


def _describe(statuses: Sequence[str]) -> str:
    counts = Counter(statuses)
    return ", ".join(f"{s} on {counts[s]}" for s in STATUSES if counts[s])


def assess_stability(reports: Sequence[AuditReport], config: AuditConfig) -> AuditReport:
    """The median seed's report with a ``stability`` section and gate added to its verdict."""
    if len(reports) < 2:
        raise ValueError("stability needs at least two seeds")
    statuses = tuple(r.verdict.status for r in reports)
    seeds = tuple(int(r.config["seed"]) for r in reports)
    chosen = median_seed(statuses)
    flips = sum(s != statuses[chosen] for s in statuses)
    if flips:
        gate = GateResult(STABILITY_GATE, "warn",
                          f"unstable across {len(reports)} seeds: {_describe(statuses)}; this report "
                          f"shows seed {seeds[chosen]}, the median verdict", flips / len(reports), 0.0)
    else:
        gate = GateResult(STABILITY_GATE, "pass",
                          f"the verdict is {statuses[0]} on all {len(reports)} seeds", 0.0, 0.0)
    per_seed = [headline_figures(r) for r in reports]
    keys = list(dict.fromkeys(k for figures in per_seed for k in figures))
    spreads = tuple(_spread(k, [figures.get(k) for figures in per_seed]) for k in keys)
    stability = Stability(len(reports), seeds, statuses, seeds[chosen], flips, flips == 0, spreads)
    base = reports[chosen]
    timings = {**base.timings, "total": round(sum(r.timings["total"] for r in reports), 3)}
    return replace(base, verdict=combine((*base.verdict.gates, gate), config), stability=stability,
                   timings=timings)
