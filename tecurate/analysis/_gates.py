"""Gates: each one a small named check over the audit's results, registered in ``GATES``.

A gate returns pass, warn or fail with the measured value and the threshold it was held
to, so a CI log (or a JUnit file) can say exactly which promise a dataset broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tecurate.analysis._aotl import AotlFit
from tecurate.analysis._summary import Summary

if TYPE_CHECKING:
    from tecurate.config import AuditConfig

STATUS_ORDER = ("pass", "warn", "fail")


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate; ``value`` is what was measured, ``threshold`` the limit."""

    gate: str
    status: str
    message: str
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Verdict:
    """Worst gate status wins; ``exit_code`` is what the CLI returns."""

    status: str
    reasons: tuple[str, ...]
    exit_code: int
    gates: tuple[GateResult, ...]


@dataclass(frozen=True)
class GateContext:
    summary: Summary
    aotl: Mapping[str, Mapping[str, AotlFit]]
    config: AuditConfig


def _worst_split(ctx: GateContext, representation: str) -> tuple[str | None, float]:
    per_split = ctx.summary.representations.get(representation, {})
    if not per_split:
        return None, 0.0
    split = max(per_split, key=lambda s: per_split[s].collapse_rate)
    return split, per_split[split].collapse_rate


class TeCollapseRate:
    name = "te_collapse_rate"
    description = "Share of embedding-trained models that collapse, on the worst split."

    def evaluate(self, ctx: GateContext) -> GateResult:
        split, rate = _worst_split(ctx, "te")
        limit = ctx.config.max_collapse_rate
        status = "fail" if rate > limit else "pass"
        return GateResult(self.name, status,
                          f"{rate:.0%} of te models collapse on {split} (limit {limit:.0%})",
                          rate, limit)


class TeOnlyCollapse:
    name = "te_only_collapse"
    description = ("Share of matched pairs where the embedding model collapsed and the raw model "
                   "with the same configuration did not; any is a warning, above the limit a failure.")

    def evaluate(self, ctx: GateContext) -> GateResult:
        paired = ctx.summary.paired
        split = max(paired, key=lambda s: paired[s].te_only_collapse_rate) if paired else None
        rate = paired[split].te_only_collapse_rate if split else 0.0
        limit = ctx.config.max_te_only_collapse_rate
        status = "fail" if rate > limit else "warn" if rate > 0 else "pass"
        return GateResult(self.name, status,
                          f"te-only collapse in {rate:.0%} of matched pairs on {split} "
                          f"(limit {limit:.0%})", rate, limit)


class AccuracyGap:
    name = "accuracy_gap"
    description = "Median ID accuracy lost by the embedding route against the raw route (warning only)."

    def evaluate(self, ctx: GateContext) -> GateResult:
        paired = ctx.summary.paired.get("id_test")
        gap = paired.median_accuracy_gap if paired else 0.0
        limit = ctx.config.max_accuracy_gap
        status = "warn" if gap > limit else "pass"
        return GateResult(self.name, status,
                          f"median ID accuracy gap raw - te is {gap:+.3f} (limit {limit:.3f})",
                          gap, limit)


class SpuriousAotl:
    name = "spurious_aotl"
    description = ("Accuracy-on-the-line flagged as spurious (made by collapsed models). A failure when "
                   "only the embedding route's line is spurious on a split; a warning when the raw "
                   "route's is too (then the grid, not the embeddings, produced the collapse).")

    def evaluate(self, ctx: GateContext) -> GateResult:
        flagged = {rep: {split for split, fit in fits.items() if fit.spurious}
                   for rep, fits in ctx.aotl.items()}
        te, raw = flagged.get("te", set()), flagged.get("raw", set())
        te_only = sorted(te - raw)
        if te_only:
            status, message = "fail", f"spurious te accuracy-on-the-line on {', '.join(te_only)}"
        elif te or raw:
            status, message = "warn", ("spurious accuracy-on-the-line on "
                                       + ", ".join(f"{rep} {split}" for rep in ("te", "raw")
                                                   for split in sorted(flagged.get(rep, ()))))
        else:
            status, message = "pass", "no accuracy-on-the-line fit is flagged as spurious"
        return GateResult(self.name, status, message, float(len(te_only)), 0.0)


GATES = (TeCollapseRate(), TeOnlyCollapse(), AccuracyGap(), SpuriousAotl())
"""Every gate, in the order they are reported."""


def decide(summary: Summary, aotl: Mapping[str, Mapping[str, AotlFit]], config: AuditConfig) -> Verdict:
    """Run every gate; warn exits 0 unless ``fail_on == "warn"``."""
    ctx = GateContext(summary, aotl, config)
    return combine(tuple(gate.evaluate(ctx) for gate in GATES), config)


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` ("pass" when there are none)."""
    return max(statuses, key=STATUS_ORDER.index, default="pass")


def combine(results: tuple[GateResult, ...], config: AuditConfig) -> Verdict:
    """The verdict of a set of gate results: the worst status wins."""
    status = worst(r.status for r in results)
    worst_first = sorted((r for r in results if r.status != "pass"),
                         key=lambda r: -STATUS_ORDER.index(r.status))
    reasons = tuple(f"{r.gate}: {r.message}" for r in worst_first)
    failing = status == "fail" or (status == "warn" and config.fail_on == "warn")
    return Verdict(status, reasons, 1 if failing else 0, results)
