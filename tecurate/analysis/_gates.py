"""Every gate, registered in ``GATES``, and the verdict they add up to.

A gate returns pass, warn or fail with the measured value and the threshold it was held to, so
a CI log (or a JUnit file) can say exactly which promise a dataset broke. How severe a status is
and which exit code it gives are :mod:`tecurate.status`'s to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tecurate.analysis._aotl import AotlFit
from tecurate.analysis._gate import Gate, GateContext, GateResult
from tecurate.analysis._gate_accuracy_gap import AccuracyGap
from tecurate.analysis._gate_spurious import SpuriousAotl
from tecurate.analysis._gate_te_collapse import TeCollapseRate
from tecurate.analysis._gate_te_only import TeOnlyCollapse
from tecurate.analysis._gate_truncation import TruncationGate
from tecurate.analysis._records import BASELINE, ModelResult, route_gate_name
from tecurate.analysis._summary import Summary
from tecurate.registry import Registry
from tecurate.status import exit_code, severity, worst

if TYPE_CHECKING:
    from tecurate.config import AuditConfig
    from tecurate.embedding import Truncation

GATES: Registry[Gate] = Registry("gate")
"""Every gate, in the order they are reported."""
GATES.register(TeCollapseRate.name, TeCollapseRate())
GATES.register(TeOnlyCollapse.name, TeOnlyCollapse())
GATES.register(AccuracyGap.name, AccuracyGap())
GATES.register(SpuriousAotl.name, SpuriousAotl())
GATES.register(TruncationGate.name, TruncationGate())


@dataclass(frozen=True)
class Verdict:
    """Worst gate status wins; ``exit_code`` is what the CLI returns."""

    status: str
    reasons: tuple[str, ...]
    exit_code: int
    gates: tuple[GateResult, ...]


def decide(summary: Summary, aotl: Mapping[str, Mapping[str, AotlFit]], config: AuditConfig,
           models: Sequence[ModelResult], truncation: Truncation | None = None) -> Verdict:
    """Run every registered gate (a per-route one once per non-raw route); warn exits 0 unless
    ``fail_on == "warn"``."""
    ctx = GateContext(models, summary, aotl, config, truncation)
    routes = [rep for rep in summary.representations if rep != BASELINE] or ["te"]
    results = []
    for gate in GATES.values():
        if not getattr(gate, "per_route", False):
            results.append(gate.evaluate(ctx))
            continue
        for route in routes:
            result = gate.evaluate(replace(ctx, route=route))
            results.append(replace(result, gate=route_gate_name(result.gate, route)))
    return combine(tuple(results), config)


def combine(results: tuple[GateResult, ...], config: AuditConfig) -> Verdict:
    """The verdict of a set of gate results: the worst status wins, the worst reasons come first."""
    status = worst(r.status for r in results)
    worst_first = sorted((r for r in results if r.status != "pass"), key=lambda r: -severity(r.status))
    reasons = tuple(f"{r.gate}: {r.message}" for r in worst_first)
    return Verdict(status, reasons, exit_code(status, config.fail_on), results)
