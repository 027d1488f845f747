"""``compare``: did a change to a dataset (or its serialization, or its embedder) make it worse?

Two reports in (plain JSON data, as saved by ``audit``), one :class:`Comparison` out: every
quantity that can get worse, its old and new value, and whether it got worse by more than its
threshold. Which quantities those are, and how a rise is judged, each gate declares
(``Gate.watches``); compare adds the verdict. A CI job runs ``audit`` on the base branch and the
pull request and fails the pull request on a regression. Pure: no I/O, no printing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import sqrt
from typing import Any

from tecurate.analysis import (BASELINE, GATES, REGRESSION_CONFIDENCE, SPLIT, STABILITY_GATE, Flag, Rise, gate_route,
                               route_gate_name, z_score)
from tecurate.errors import TecurateError
from tecurate.reporting._report import split_names
from tecurate.status import exit_code, severity, worst

__all__ = ["Check", "Comparison", "compare_reports", "regression_limits"]

_TOLERANCE = 1e-9
"""Rates are ratios of small counts; a change equal to the threshold must not fail on rounding."""
_ABSENT = object()
REPORT = "report"
"""The scope of a check on the whole report: the verdict, a figure that has no split."""


@dataclass(frozen=True)
class Check:
    """One quantity compared; ``status`` is "fail" when it regressed beyond ``threshold``."""

    name: str
    scope: str
    """The split ("id_test", "ood:B"), the route and split of an AotL line, or "report"."""
    old: float | bool | str | None
    new: float | bool | str | None
    delta: float | None
    threshold: float | None
    status: str
    message: str
    margin: float | None = None
    """How much of a rise the audits' own noise explains (:func:`_noise_margin`); a rise is a
    regression only beyond ``threshold + margin``. None where no bounds were available."""


@dataclass(frozen=True)
class Comparison:
    """Every check, what could not be compared, and the outcome (exit 1 on any regression)."""

    old: dict[str, Any]
    new: dict[str, Any]
    thresholds: dict[str, float]
    """The allowed rise of each figure the gates watch (:func:`regression_limits`)."""
    checks: tuple[Check, ...]
    notes: tuple[str, ...]
    status: str
    exit_code: int

    @property
    def regressions(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.status == "fail")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what ``compare --format json`` prints)."""
        data = dataclasses.asdict(self)
        return {**data, "checks": list(data["checks"]), "notes": list(data["notes"])}


def _rises() -> list[Rise]:
    return [w for gate in GATES.values() for w in gate.watches if isinstance(w, Rise)]


def _flags() -> list[Flag]:
    return [w for gate in GATES.values() for w in gate.watches if isinstance(w, Flag)]


def _extra_routes(report: Mapping[str, Any]) -> list[str]:
    """The routes besides raw and te a report paired with raw (``summary.paired_routes``)."""
    return list(report["summary"].get("paired_routes", {}))


def _route_rises(route: str) -> list[Rise]:
    """The per-route gates' rises, rerouted to ``route``'s figures (``summary.paired_routes``)."""
    rises = []
    for gate in GATES.values():
        if not getattr(gate, "per_route", False):
            continue
        for rise in (w for w in gate.watches if isinstance(w, Rise) and "paired" in w.path):
            steps = rise.path.index("paired")
            rises.append(dataclasses.replace(
                rise, check=route_gate_name(rise.check, route), what=re.sub(r"\bte\b", route, rise.what),
                path=(*rise.path[:steps], "paired_routes", route, *rise.path[steps + 1:]),
                spread=None if rise.spread is None else (rise.spread[0], route)))
    return rises


def regression_limits(knobs: Mapping[str, float | None]) -> dict[str, float]:
    """The allowed rise of every watched figure: its own knob when given, else ``max_regression``.

    ``knobs`` are compare settings by name (``max_regression``, ``max_collapse_regression``, …);
    None or absent means not given.
    """
    from tecurate.config import BY_NAME  # here, not on import: the table imports simulate, which imports us

    general = BY_NAME["max_regression"]
    rises = _rises()
    unknown = sorted(set(knobs) - {general.name, *(rise.setting.name for rise in rises)})
    if unknown:
        raise TecurateError(f"unknown compare setting(s) {', '.join(unknown)}")
    fallback = general.default if knobs.get(general.name) is None else knobs[general.name]
    general.check(fallback)
    limits = {}
    for rise in rises:
        value = knobs.get(rise.setting.name)
        rise.setting.check(value)
        limits[rise.limit] = fallback if value is None else value
    return limits


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any],
                    knobs: Mapping[str, float | None] | None = None) -> Comparison:
    """Compare two reports of the same schema version; raises TecurateError when they are not.

    Every registered gate's watched figures are checked (its :class:`Rise` per split both
    reports have, its :class:`Flag` per entry), then the verdict. ``knobs``: see
    :func:`regression_limits`.
    """
    _check_comparable(old, new)
    limits = regression_limits(knobs or {})
    old_splits, new_splits = split_names(old), split_names(new)
    common = [split for split in new_splits if split in old_splits]
    notes = [f"split {split} is only in the old report" for split in old_splits if split not in new_splits]
    notes += [f"split {split} is only in the new report" for split in new_splits if split not in old_splits]

    routes = [route for route in _extra_routes(new) if route in _extra_routes(old)]
    notes += [f"route {route} is only in the {label} report" for label, report, other in
              (("old", old, new), ("new", new, old)) for route in _extra_routes(report)
              if route not in _extra_routes(other)]
    rises = [*_rises(), *(rise for route in routes for rise in _route_rises(route))]
    checks = [_rise_check(rise, split, old, new, limits[rise.limit])
              for split in common for rise in rises if SPLIT in rise.path and _present(rise, split, old, new)]
    checks += [_rise_check(rise, REPORT, old, new, limits[rise.limit])
               for rise in rises if SPLIT not in rise.path and _present(rise, REPORT, old, new)]
    for flag in _flags():
        flagged, unmatched = _flag_checks(flag, old, new)
        checks += flagged
        notes += unmatched
    checks.append(_verdict_check(old, new, checks))
    notes += _context_notes(old, new)

    status = worst(check.status for check in checks)
    return Comparison(old=_identity(old), new=_identity(new), thresholds=limits, checks=tuple(checks),
                      notes=tuple(notes), status=status, exit_code=exit_code(status))


def _check_comparable(old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    for label, report in (("old", old), ("new", new)):
        if not isinstance(report, Mapping) or "schema_version" not in report:
            raise TecurateError(f"the {label} report is not a tecurate report")
    if old["schema_version"] != new["schema_version"]:
        raise TecurateError(f"cannot compare reports of schema versions {old['schema_version']} and "
                            f"{new['schema_version']}; re-run both audits with one tecurate version")


def _figure(report: Mapping[str, Any], path: tuple[str, ...], split: str = "") -> Any:
    """The value at ``path`` (:data:`SPLIT` replaced by ``split``), or ``_ABSENT``."""
    value: Any = report
    for step in path:
        key = split if step == SPLIT else step
        if not isinstance(value, Mapping) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def _present(rise: Rise, split: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return all(_figure(report, rise.path, split) is not _ABSENT for report in (old, new))


def _rise_check(rise: Rise, scope: str, old_report: Mapping[str, Any], new_report: Mapping[str, Any],
                threshold: float) -> Check:
    old, new = _figure(old_report, rise.path, scope), _figure(new_report, rise.path, scope)

    def show(value: float | None) -> str:
        if value is None:
            return "undefined"
        return f"{value:.0%}" if rise.percent else f"{value:+.3f}"

    where = "" if scope == REPORT else f" on {scope}"
    if old is None or new is None:
        return Check(rise.check, scope, old, new, None, threshold, "pass",
                     f"{rise.what}{where}: {show(old)} -> {show(new)} (not comparable)")
    delta = new - old
    margin, source = _noise_margin(rise, scope, old_report, new_report, old, new)
    worse = delta > threshold + (margin or 0.0) + _TOLERANCE
    verb = "rose" if delta > 0 else "fell" if delta < 0 else "stayed"
    limit = f"{threshold:.0%}" if rise.percent else f"{threshold:.3f}"
    noise = "" if margin is None else f", {source} explain {margin:.0%} more"
    return Check(rise.check, scope, old, new, delta, threshold, "fail" if worse else "pass",
                 f"{rise.what}{where} {verb}: {show(old)} -> {show(new)} (allowed rise {limit}{noise})",
                 None if margin is None else round(margin, 6))


def _noise_margin(rise: Rise, scope: str, old_report: Mapping[str, Any], new_report: Mapping[str, Any],
                  old: float, new: float) -> tuple[float | None, str]:
    """The part of a rise new − old that the two audits' own noise explains, and its source.

    Each report bounds its figure: by the range over seeds when both were made with
    ``--repeats``, else by a confidence bound from the figure's counts (``Rise.bounds``). The
    rise's lower bound then follows from the two (Newcombe's / Zou's MOVER:
    ``sqrt((new − new_low)² + (old_high − old)²)``). Without bounds on both sides, None.
    """
    z = z_score(REGRESSION_CONFIDENCE)
    for source, bound in (("the seeds' spreads", _spread_bounds), ("the counts' confidence bounds", _count_bounds)):
        old_bounds, new_bounds = bound(rise, old_report, scope, z), bound(rise, new_report, scope, z)
        if old_bounds is not None and new_bounds is not None:
            return float(sqrt(max(0.0, new - new_bounds[0]) ** 2 + max(0.0, old_bounds[1] - old) ** 2)), source
    return None, ""


def _count_bounds(rise: Rise, report: Mapping[str, Any], scope: str, z: float) -> tuple[float, float] | None:
    entry = _figure(report, rise.path[:-1], scope)
    return None if rise.bounds is None or not isinstance(entry, Mapping) else rise.bounds(entry, z)


def _spread_bounds(rise: Rise, report: Mapping[str, Any], scope: str, z: float) -> tuple[float, float] | None:
    """(min, max) of the figure over a ``--repeats`` report's seeds; None for one seed."""
    return None if rise.spread is None else _seed_range(report, *rise.spread, scope)


def _seed_range(report: Mapping[str, Any], figure: str, representation: str | None,
                split: str | None) -> tuple[float, float] | None:
    """(min, max) of a headline figure over a ``--repeats`` report's seeds (``stability.figures``);
    None for one seed or a figure it lacks."""
    stability = report.get("stability")
    if not isinstance(stability, Mapping):
        return None
    for spread in stability.get("figures", ()):
        if (spread.get("figure"), spread.get("representation"), spread.get("split")) == (figure, representation, split):
            low, high = spread.get("min"), spread.get("max")
            return None if low is None or high is None else (float(low), float(high))
    return None


def _flag_checks(flag: Flag, old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[Check], list[str]]:
    """An entry that was not flagged and now is, and that both reports have, is a regression
    (when ``flag.gate`` is set, only if that gate got worse too: the spurious gate judges lines on
    resampled grids, and a line's own flag flips with the split).

    Flagged entries the old report lacks come back as notes: nothing to compare with.
    """
    name = flag.flag
    state = {(False, False): f"not {name}", (True, True): f"still {name}",
             (True, False): f"no longer {name}", (False, True): f"newly {name}"}
    before_all, after_all = _figure(old, flag.path), _figure(new, flag.path)
    checks, notes = [], []
    for group, entries in ({} if after_all is _ABSENT else after_all).items():
        for split, entry in entries.items():
            before = None if before_all is _ABSENT else before_all.get(group, {}).get(split)
            scope = f"{group} {split}"
            if before is None:
                if entry[name]:
                    notes.append(f"the {scope} {flag.what} is {name}; "
                                 f"the old report has no such {flag.entry}")
                continue
            message = f"{scope} {flag.what} is {state[before[name], entry[name]]}"
            if entry[flag.reasons]:
                message += f" ({', '.join(entry[flag.reasons])})"
            newly = entry[name] and not before[name]
            gate = None if flag.gate is None else flag.gate if group == BASELINE else route_gate_name(flag.gate, group)
            if newly and gate is not None and not _gate_worsened(gate, old, new):
                newly = False
                message += f"; the {gate} gate did not get worse"
            if newly and flag.spread is not None and _spreads_overlap(flag.spread, group, split, old, new):
                newly = False
                message += "; within the seeds' spreads (some old seed had it, or some new seed has not)"
            checks.append(Check(flag.check, scope, before[name], entry[name], None, None,
                                "fail" if newly else "pass", message))
    return checks, notes


def _gate_worsened(gate: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``gate``'s status is more severe in ``new`` (True when either report lacks it)."""
    statuses = [{g.get("gate"): g.get("status") for g in report["verdict"].get("gates", ())}.get(gate)
                for report in (old, new)]
    return None in statuses or severity(statuses[1]) > severity(statuses[0])


def _verdict_check(old_report: Mapping[str, Any], new_report: Mapping[str, Any], checks: list[Check]) -> Check:
    """A worse verdict regresses, unless every gate that got worse only crossed its threshold
    within the noise of its own watched figures.

    A collapse gate's status is a threshold on a noisy rate; compare bounds the rate's rise by
    the two audits' noise (the check's ``margin``). A gate that flips while every figure it
    watches rose by no more than that margin is the noise again, not a second finding; counting
    it made most of compare's false regressions on a real table (validation/RESULTS.md §7). A
    gate without such figures (spurious lines, a gap judged on point estimates) still regresses
    the verdict when it gets worse. The ``stability`` gate never does: it reports the seeds'
    disagreement, the noise itself. Between two ``--repeats`` reports a worse verdict is noise
    when some old seed's verdict was already as severe as the best new seed's
    (:func:`_statuses_overlap`), as a rise is noise within the seeds' ranges.
    """
    old, new = old_report["verdict"]["status"], new_report["verdict"]["status"]
    worse = severity(new) > severity(old)
    message = f"verdict {old} -> {new}" + (" (worse)" if worse else "")
    if worse and _statuses_overlap(old_report, new_report):
        worse = False
        message += "; within the seeds' spreads (some new seed's verdict is no worse than some old seed's)"
    if worse:
        flipped = _worsened_gates(old_report, new_report)
        bounded = [gate for gate in flipped if gate != STABILITY_GATE]
        if flipped and all(_within_noise(gate, checks) for gate in bounded):
            worse = False
            message += (f"; {', '.join(bounded)} crossed its threshold within the noise of what it watches "
                        "(each rise within its margin)" if bounded else "; only the seeds' disagreement grew")
    return Check("verdict", REPORT, old, new, None, None, "fail" if worse else "pass", message)


def _worsened_gates(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Gates more severe in ``new`` (a gate only ``new`` has counts when it is not a pass)."""
    before = {g.get("gate"): g.get("status") for g in old["verdict"].get("gates", ())}
    after = {g.get("gate"): g.get("status") for g in new["verdict"].get("gates", ())}
    return [gate for gate, status in after.items()
            if severity(status) > severity(before.get(gate, "pass"))]


def _seed_statuses(report: Mapping[str, Any]) -> list[str] | None:
    """The verdict of each seed of a ``--repeats`` report; None for one seed."""
    stability = report.get("stability")
    statuses = stability.get("statuses") if isinstance(stability, Mapping) else None
    return list(statuses) if statuses else None


def _statuses_overlap(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether two ``--repeats`` reports' seed verdicts overlap: the best new seed is no worse
    than the worst old one. A change of data moves the split as a seed does, so only new seeds
    all worse than every old one are a worse verdict beyond the noise."""
    before, after = _seed_statuses(old), _seed_statuses(new)
    if before is None or after is None:
        return False
    return min(map(severity, after)) <= max(map(severity, before))


def _spreads_overlap(figure: str, group: str, split: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether an entry's flag (0/1 per seed) was on in some old seed or is off in some new one:
    then its flip between the reported seeds is the seeds' noise. False unless both reports were
    made with ``--repeats``."""
    before, after = _seed_range(old, figure, group, split), _seed_range(new, figure, group, split)
    return before is not None and after is not None and after[0] <= before[1]


def _within_noise(gate: str, checks: list[Check]) -> bool:
    """Whether ``gate`` watches rises, and each of them rose no more than its noise margin alone
    (the allowed rise is not counted: loosening it must not hide a worse verdict)."""
    base, route = gate_route(gate)
    watched = {route_gate_name(w.check, route)
               for w in GATES[base].watches if isinstance(w, Rise)} if base in GATES else set()
    own = [check for check in checks if check.name in watched]
    return bool(own) and all(check.delta is not None and check.margin is not None
                             and check.delta <= check.margin + _TOLERANCE for check in own)


def _context_notes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What else differs between the runs: a reader must know when the settings moved too."""
    notes = []
    single = [label for label, report in (("old", old), ("new", new)) if _seed_statuses(report) is None]
    if single:
        notes.append(f"the {' and '.join(single)} {'report has' if len(single) == 1 else 'reports have'} one seed: its "
                     "bounds treat the models as independent, though all share one split; audit both with "
                     "--repeats 3 for a CI gate (validation/RESULTS.md §7)")
    if old["input"]["sha256"] == new["input"]["sha256"]:
        notes.append("both reports audited the same input content")
    if old["embedding"]["model"] != new["embedding"]["model"]:
        notes.append(f"embedding model {old['embedding']['model']} -> {new['embedding']['model']}")
    old_config, new_config = old["config"], new["config"]
    for key in dict.fromkeys([*old_config, *new_config]):
        if old_config.get(key) != new_config.get(key):
            notes.append(f"setting {key}: {old_config.get(key)!r} -> {new_config.get(key)!r}")
    return notes


def _identity(report: Mapping[str, Any]) -> dict[str, Any]:
    return {"path": report["input"]["path"], "sha256": report["input"]["sha256"],
            "created_at": report["created_at"], "status": report["verdict"]["status"]}
