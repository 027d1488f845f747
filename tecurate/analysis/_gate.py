"""The gate contract: what a gate is, what it sees, what it returns and what ``compare`` watches.

A gate is a small named check: a name, a description, the settings it owns, the report figures
it watches for regressions, and one ``evaluate`` method. Its settings (its audit threshold and
its ``compare`` threshold) join the settings table, so the CLI option, the config-file key, the
validation and the README row come with them. Adding a gate is one module and one
``GATES.register`` line (:mod:`tecurate.analysis._gates`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tecurate.analysis._aotl import AotlFit
from tecurate.analysis._records import ModelResult
from tecurate.analysis._summary import PairedSummary, Summary
from tecurate.settings import COMPARE, Setting

if TYPE_CHECKING:
    from tecurate.config import AuditConfig
    from tecurate.embedding import Truncation

SPLIT = "{split}"
"""Stands for the split in a :class:`Rise` path."""


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate; ``value`` is what was measured, ``threshold`` the limit."""

    gate: str
    status: str
    message: str
    value: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class GateContext:
    """Everything a gate may look at: the models, their summary, the AotL lines and the config."""

    models: Sequence[ModelResult]
    summary: Summary
    aotl: Mapping[str, Mapping[str, AotlFit]]
    config: AuditConfig
    truncation: Truncation | None = None
    """What the model's token limit cut; None when the embedder does not say (or a saved report)."""
    route: str = "te"
    """The route a per-route gate judges against raw (te, or raw+te); see :attr:`Gate.per_route`."""

    @property
    def paired(self) -> Mapping[str, PairedSummary]:
        """``[split]``: :attr:`route` paired with raw over the same configurations."""
        return self.summary.paired_with(self.route)


Bounds = Callable[[Mapping[str, Any], float], "tuple[float, float] | None"]
"""``bounds(entry, z)``: (low, high) of a figure at one-sided normal quantile ``z``, from the
report entry holding it (the mapping its path ends in); None when the entry lacks the counts."""


@dataclass(frozen=True)
class Rise:
    """A figure of the saved report that ``compare`` fails when it rises too much: one per split
    when its path holds :data:`SPLIT`, else one for the whole report (scope "report")."""

    check: str
    """The check's name in the comparison."""
    what: str
    """How messages name the figure ("te collapse rate")."""
    path: tuple[str, ...]
    """Where the figure sits in the report's JSON, :data:`SPLIT` standing for the split. A split
    whose path is missing from either report is not checked (nor a report-wide figure either
    report lacks); a None value is not comparable."""
    limit: str
    """Its key in the comparison's ``thresholds``."""
    setting: Setting
    """The largest allowed rise, a ``compare`` knob; unset, ``--max-regression`` applies."""
    percent: bool = True
    """Messages show the figure as a percentage (else as a signed number)."""
    bounds: Bounds | None = None
    """The figure's confidence bounds from its own counts; without them (or without the counts,
    in an older report) a rise is judged on the point estimates."""
    spread: tuple[str, str | None] | None = None
    """(figure, representation) of the figure in a ``--repeats`` report's ``stability`` section,
    whose range over seeds then bounds it instead."""


@dataclass(frozen=True)
class Flag:
    """A flag of every ``[group][split]`` entry under ``path`` that must not turn on."""

    check: str
    what: str
    """How messages name one entry ("accuracy-on-the-line")."""
    path: tuple[str, ...]
    flag: str
    """The entry's boolean field, also the word for its state ("spurious")."""
    reasons: str
    """The entry's field listing why it is flagged."""
    entry: str = "line"
    """What one entry is called ("the old report has no such line")."""
    gate: str | None = None
    """A gate that decides on more than the entries' flags: a newly flagged entry is a regression
    only when that gate's status got worse too (else a note in the check's message)."""
    spread: str | None = None
    """The flag's figure in a ``--repeats`` report's ``stability`` section (0/1 per seed, keyed by
    group and split): between two such reports a newly flagged entry is a regression only when
    every new seed flags it and no old seed did."""


Watch = Rise | Flag


class Gate(Protocol):
    """One named check of the audit (registered in ``GATES``)."""

    name: str
    description: str
    settings: tuple[Setting, ...]
    """The knobs this gate owns; they join the settings table."""
    watches: tuple[Watch, ...]
    """The report figures ``compare`` holds against the old report on this gate's behalf."""
    per_route: bool
    """Judged once per non-raw route (``ctx.route``): te's result keeps the gate's name, another
    route's is named ``gate[route]`` (:func:`tecurate.analysis.route_gate_name`), and ``compare``
    checks the route's figures (under ``summary.paired_routes``) the same way. A gate without the
    attribute is judged once, as before routes could vary."""

    def evaluate(self, ctx: GateContext) -> GateResult: ...


def gate_threshold(name: str, default: float, help: str) -> Setting:
    """An audit threshold on a rate or a gap (0..1), in the "gates" group."""
    return Setting(name, default, help, "gates", kind="float", low=0.0, high=1.0)


def regression_threshold(name: str, help: str) -> Setting:
    """A ``compare`` threshold: the largest allowed rise of one figure, else ``--max-regression``."""
    return Setting(name, None, help, "compare", kind="float", optional=True, low=0.0, high=1.0,
                   commands=(COMPARE,), shown_default="--max-regression")
