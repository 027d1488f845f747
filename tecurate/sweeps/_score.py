"""The sweep's score of one audit, and the ranking of combinations by it.

Lower is better; every term is a rate or an accuracy difference in [0, 1] (−1 for a gap where
the embeddings beat the raw features), averaged over the test splits (id_test and every OOD
split) of the same rows and configurations for every combination:

    score = te_only + excess + gap + SPURIOUS_WEIGHT · spurious + truncated

- ``te_only``: share of configurations whose te model collapsed while the raw one did not;
- ``excess``: te collapse rate above the raw collapse rate (0 when te collapses less);
- ``gap``: median accuracy gap raw − te over the labelled splits (negative: te is better);
- ``spurious``: share of the splits whose te accuracy-on-the-line is flagged spurious;
- ``truncated``: share of distinct texts longer than the embedder's token limit.

With ``--repeats K`` every combination is scored on each of the K seeds (the same K for all);
the median is its score, the min..max its spread. A combination whose spread overlaps the spread
of the first one of its group is tied with it (:func:`rank`): a difference inside the seed
spread is no difference. With one seed only equal scores tie.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SPURIOUS_WEIGHT = 0.25
"""A spurious line is a warning sign, not a measured loss: a quarter of a collapse."""
TERMS = ("te_only", "excess", "gap", "spurious", "truncated")
_EXACT = 1e-12


def score_terms(report: Mapping[str, Any]) -> dict[str, float]:
    """The score's terms and ``score`` itself for one audit report (plain data)."""
    paired = report["summary"]["paired"]
    reps = report["summary"]["representations"]
    splits = list(paired)
    te_only = _mean([paired[s]["te_only_collapse_rate"] for s in splits])
    excess = _mean([max(0.0, reps["te"][s]["collapse_rate"] - reps["raw"][s]["collapse_rate"])
                    for s in splits if s in reps.get("te", {}) and s in reps.get("raw", {})])
    gap = _mean([paired[s]["median_accuracy_gap"] for s in splits if paired[s]["median_accuracy_gap"] is not None])
    fits = report["aotl"].get("te", {})
    spurious = _mean([float(bool(fit["spurious"])) for fit in fits.values()])
    truncation = report["embedding"].get("truncation")
    truncated = float(truncation["share_truncated"]) if truncation else 0.0
    terms = {"te_only": te_only, "excess": excess, "gap": gap, "spurious": spurious, "truncated": truncated}
    terms["score"] = te_only + excess + gap + SPURIOUS_WEIGHT * spurious + truncated
    return terms


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else 0.0


@dataclass(frozen=True)
class Spread:
    """A figure over the seeds: median, min, max and every seed's value."""

    median: float
    min: float
    max: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        array = np.asarray(values, dtype=float)
        return cls(float(np.median(array)), float(array.min()), float(array.max()), tuple(float(v) for v in array))


def overlaps(a: Spread, b: Spread) -> bool:
    """Inside each other's seed spread (one seed: equal)."""
    return a.min <= b.max + _EXACT and b.min <= a.max + _EXACT


def rank(scores: Sequence[Spread]) -> tuple[list[int], list[int]]:
    """(order, tie groups): indices best first (median score, then the given order), and each
    index's tie group, 1 for the best's: a combination joins the group of the first one of it
    whose spread it overlaps, else opens the next group."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i].median, i))
    groups = [0] * len(scores)
    leaders: list[int] = []
    for i in order:
        for number, leader in enumerate(leaders, start=1):
            if overlaps(scores[i], scores[leader]):
                groups[i] = number
                break
        else:
            leaders.append(i)
            groups[i] = len(leaders)
    return order, groups
