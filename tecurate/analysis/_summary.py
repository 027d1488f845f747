"""Aggregate per-model metrics into the numbers a reader compares: collapse and accuracy by route.

Two views. Per representation and split: how often models collapse, how concentrated their
predictions are, and how their accuracy is spread. Paired: the same configuration fitted on raw
features and on text embeddings (and on any other route, raw+te, against raw the same way), so a
difference is attributable to the representation alone ("te-only collapse" is the headline
symptom of uncurated embeddings).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tecurate.analysis._metrics import SplitMetrics
from tecurate.analysis._records import BASELINE, REPRESENTATIONS, ModelResult, PredictionMetrics, is_labelled
from tecurate.data import ID_TEST

__all__ = ["PairedSummary", "SplitSummary", "Summary", "summarize"]

_QUANTILES = {"min": 0.0, "q25": 0.25, "median": 0.5, "q75": 0.75, "max": 1.0}


@dataclass(frozen=True)
class SplitSummary:
    """One representation on one split, over every model that was evaluated on it."""

    n_models: int
    n_collapsed: int
    collapse_rate: float
    mean_entropy: float
    median_entropy: float
    mean_majority_class_rate: float
    median_majority_class_rate: float
    accuracy_quantiles: dict[str, float | None]
    """Keys "min", "q25", "median", "q75", "max" (linear interpolation, as numpy's default);
    every value None on an unlabelled split."""


@dataclass(frozen=True)
class PairedSummary:
    """Configurations fitted on both raw and te, compared on one split."""

    n_pairs: int
    te_only_collapse_rate: float
    """Share of pairs where the te model collapsed and the raw model did not."""
    raw_only_collapse_rate: float
    n_te_only: int
    """Pairs where only the te model collapsed (the count behind ``te_only_collapse_rate``)."""
    n_raw_only: int
    excess_collapse_rate: float
    """te collapse rate − raw collapse rate over the pairs: what the embedding adds to the grid's
    own collapse (the same configurations collapse on raw features too)."""
    median_accuracy_gap: float | None
    """Median of raw accuracy − te accuracy; positive means the embeddings cost accuracy.
    None on an unlabelled split (collapse needs no labels, accuracy does)."""


@dataclass(frozen=True)
class Summary:
    """``representations[rep][split]`` and ``paired[split]``; splits start with "id_test"."""

    representations: dict[str, dict[str, SplitSummary]]
    paired: dict[str, PairedSummary]
    """te against raw, configuration by configuration."""
    paired_routes: dict[str, dict[str, PairedSummary]] = field(default_factory=dict)
    """``[route][split]``: every other non-raw route (raw+te) against raw, the same way; in its
    :class:`PairedSummary` "te" stands for that route. The report leaves it out when empty."""

    def paired_with(self, route: str) -> dict[str, PairedSummary]:
        """``[split]``: ``route`` (te, raw+te) paired with raw; empty when it was not audited."""
        return self.paired if route == "te" else self.paired_routes.get(route, {})


def _split_order(models: Iterable[ModelResult]) -> list[str]:
    seen = dict.fromkeys(split for m in models for split in m.splits)
    return [ID_TEST, *(s for s in seen if s != ID_TEST)] if ID_TEST in seen else list(seen)


Metrics = SplitMetrics | PredictionMetrics


def _accuracies(metrics: Sequence[Metrics]) -> np.ndarray | None:
    """Accuracies, or None when the split had no labels."""
    if not all(is_labelled(m) for m in metrics):
        return None
    return np.array([m.accuracy for m in metrics])  # type: ignore[union-attr]


def _summarize_split(metrics: Sequence[Metrics]) -> SplitSummary:
    collapsed = np.array([m.collapsed for m in metrics])
    entropy = np.array([m.prediction_entropy for m in metrics])
    majority = np.array([m.majority_class_rate for m in metrics])
    acc = _accuracies(metrics)
    return SplitSummary(
        n_models=len(metrics),
        n_collapsed=int(collapsed.sum()),
        collapse_rate=float(collapsed.mean()),
        mean_entropy=float(entropy.mean()),
        median_entropy=float(np.median(entropy)),
        mean_majority_class_rate=float(majority.mean()),
        median_majority_class_rate=float(np.median(majority)),
        accuracy_quantiles={k: None if acc is None else float(np.quantile(acc, q))
                            for k, q in _QUANTILES.items()},
    )


def _summarize_pairs(pairs: Sequence[tuple[Metrics, Metrics]]) -> PairedSummary:
    raw_collapsed = np.array([raw.collapsed for raw, _ in pairs])
    te_collapsed = np.array([te.collapsed for _, te in pairs])
    raw_acc, te_acc = _accuracies([r for r, _ in pairs]), _accuracies([t for _, t in pairs])
    gap = None if raw_acc is None or te_acc is None else float(np.median(raw_acc - te_acc))
    te_only, raw_only = int((te_collapsed & ~raw_collapsed).sum()), int((raw_collapsed & ~te_collapsed).sum())
    return PairedSummary(
        n_pairs=len(pairs),
        te_only_collapse_rate=te_only / len(pairs),
        raw_only_collapse_rate=raw_only / len(pairs),
        n_te_only=te_only,
        n_raw_only=raw_only,
        excess_collapse_rate=(te_only - raw_only) / len(pairs),
        median_accuracy_gap=gap,
    )


def summarize(models: Sequence[ModelResult]) -> Summary:
    """Per-representation and paired aggregates for every split any model was evaluated on.

    A model missing a split is left out of that split's numbers rather than failing the run.
    Configurations fitted on only one representation are left out of the paired view.
    """
    by_key: dict[str, dict[tuple[str, str], ModelResult]] = {rep: {} for rep in REPRESENTATIONS}
    for m in models:
        if m.representation not in by_key:
            raise ValueError(
                f"unknown representation {m.representation!r}; expected one of {REPRESENTATIONS}"
            )
        key = (m.family, m.config_id)
        if key in by_key[m.representation]:
            raise ValueError(f"duplicate model {key} for representation {m.representation!r}")
        by_key[m.representation][key] = m
    splits = _split_order(models)

    representations: dict[str, dict[str, SplitSummary]] = {}
    for rep, rep_models in by_key.items():
        if not rep_models:
            continue
        per_split = {
            split: [m.splits[split] for m in rep_models.values() if split in m.splits]
            for split in splits
        }
        representations[rep] = {s: _summarize_split(ms) for s, ms in per_split.items() if ms}

    paired = {rep: _pair_with_baseline(by_key[BASELINE], rep_models, splits)
              for rep, rep_models in by_key.items() if rep != BASELINE and rep_models}
    return Summary(representations=representations, paired=paired.pop("te", {}),
                   paired_routes={rep: pairs for rep, pairs in paired.items() if pairs})


def _pair_with_baseline(raw: dict[tuple[str, str], ModelResult], other: dict[tuple[str, str], ModelResult],
                        splits: Sequence[str]) -> dict[str, PairedSummary]:
    """``[split]``: each configuration on raw against itself on ``other``."""
    paired: dict[str, PairedSummary] = {}
    for split in splits:
        pairs = [
            (raw_model.splits[split], other[key].splits[split])
            for key, raw_model in raw.items()
            if key in other and split in raw_model.splits and split in other[key].splits
        ]
        if pairs:
            paired[split] = _summarize_pairs(pairs)
    return paired
