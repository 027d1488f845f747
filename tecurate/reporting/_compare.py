"""``compare``: did a change to a dataset (or its serialization, or its embedder) make it worse?

Two reports in (plain JSON data, as saved by ``audit``), one :class:`Comparison` out: every
quantity that can get worse, its old and new value, and whether it got worse by more than its
threshold. A CI job runs ``audit`` on the base branch and the pull request and fails the pull
request on a regression. Pure: no I/O, no printing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tecurate.errors import TecurateError

__all__ = ["Check", "Comparison", "Thresholds", "compare_reports"]

STATUS_ORDER = ("pass", "warn", "fail")
_TOLERANCE = 1e-9
"""Rates are ratios of small counts; a change equal to the threshold must not fail on rounding."""


@dataclass(frozen=True)
class Thresholds:
    """How much worse (absolute, on a 0..1 scale) each quantity may get before it is a regression."""

    collapse_rate: float = 0.05
    te_only_collapse_rate: float = 0.05
    accuracy_gap: float = 0.05

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not 0.0 <= value <= 1.0:
                raise TecurateError(f"the {field.name.replace('_', ' ')} regression threshold must be "
                                    f"between 0 and 1, got {value}")


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


@dataclass(frozen=True)
class Comparison:
    """Every check, what could not be compared, and the outcome (exit 1 on any regression)."""

    old: dict[str, Any]
    new: dict[str, Any]
    thresholds: Thresholds
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


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any],
                    thresholds: Thresholds = Thresholds()) -> Comparison:
    """Compare two reports of the same schema version; raises TecurateError when they are not."""
    for label, report in (("old", old), ("new", new)):
        if not isinstance(report, Mapping) or "schema_version" not in report:
            raise TecurateError(f"the {label} report is not a tecurate report")
    if old["schema_version"] != new["schema_version"]:
        raise TecurateError(f"cannot compare reports of schema versions {old['schema_version']} and "
                            f"{new['schema_version']}; re-run both audits with one tecurate version")
    notes: list[str] = []
    old_splits = list(old["summary"]["representations"].get("te", {}))
    new_splits = list(new["summary"]["representations"].get("te", {}))
    common = [split for split in new_splits if split in old_splits]
    notes += [f"split {split} is only in the old report" for split in old_splits if split not in new_splits]
    notes += [f"split {split} is only in the new report" for split in new_splits if split not in old_splits]

    checks: list[Check] = []
    for split in common:
        old_te = old["summary"]["representations"]["te"][split]
        new_te = new["summary"]["representations"]["te"][split]
        checks.append(_rate_check("te_collapse_rate", split, old_te["collapse_rate"], new_te["collapse_rate"],
                                  thresholds.collapse_rate, "te collapse rate"))
        old_pair, new_pair = old["summary"]["paired"].get(split), new["summary"]["paired"].get(split)
        if old_pair and new_pair:
            checks.append(_rate_check("te_only_collapse_rate", split, old_pair["te_only_collapse_rate"],
                                      new_pair["te_only_collapse_rate"], thresholds.te_only_collapse_rate,
                                      "te-only collapse rate"))
            checks.append(_rate_check("accuracy_gap", split, old_pair["median_accuracy_gap"],
                                      new_pair["median_accuracy_gap"], thresholds.accuracy_gap,
                                      "median accuracy gap raw - te", percent=False))
    spurious, unmatched = _spurious_checks(old["aotl"], new["aotl"])
    checks += spurious
    notes += unmatched
    checks.append(_verdict_check(old["verdict"]["status"], new["verdict"]["status"]))
    notes += _context_notes(old, new)

    regressed = any(check.status == "fail" for check in checks)
    return Comparison(old=_identity(old), new=_identity(new), thresholds=thresholds, checks=tuple(checks),
                      notes=tuple(notes), status="fail" if regressed else "pass",
                      exit_code=1 if regressed else 0)


def _rate_check(name: str, scope: str, old: float | None, new: float | None, threshold: float,
                what: str, percent: bool = True) -> Check:
    def show(value: float | None) -> str:
        if value is None:
            return "undefined"
        return f"{value:.0%}" if percent else f"{value:+.3f}"

    if old is None or new is None:
        return Check(name, scope, old, new, None, threshold, "pass",
                     f"{what} on {scope}: {show(old)} -> {show(new)} (not comparable)")
    delta = new - old
    worse = delta > threshold + _TOLERANCE
    verb = "rose" if delta > 0 else "fell" if delta < 0 else "stayed"
    limit = f"{threshold:.0%}" if percent else f"{threshold:.3f}"
    return Check(name, scope, old, new, delta, threshold, "fail" if worse else "pass",
                 f"{what} on {scope} {verb}: {show(old)} -> {show(new)} (allowed rise {limit})")


def _spurious_checks(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[Check], list[str]]:
    """A line that was not spurious and now is, on a split both reports have, is a regression.

    Spurious lines on splits the old report lacks come back as notes: nothing to compare with.
    """
    checks, notes = [], []
    for rep, fits in new.items():
        for split, fit in fits.items():
            before = old.get(rep, {}).get(split)
            scope = f"{rep} {split}"
            if before is None:
                if fit["spurious"]:
                    notes.append(f"the {scope} accuracy-on-the-line is spurious; "
                                 "the old report has no such line")
                continue
            newly = fit["spurious"] and not before["spurious"]
            state = {(False, False): "not spurious", (True, True): "still spurious",
                     (True, False): "no longer spurious", (False, True): "newly spurious"}
            message = f"{scope} accuracy-on-the-line is {state[before['spurious'], fit['spurious']]}"
            if fit["reasons"]:
                message += f" ({', '.join(fit['reasons'])})"
            checks.append(Check("spurious_aotl", scope, before["spurious"], fit["spurious"], None, None,
                                "fail" if newly else "pass", message))
    return checks, notes


def _verdict_check(old: str, new: str) -> Check:
    worse = STATUS_ORDER.index(new) > STATUS_ORDER.index(old)
    message = f"verdict {old} -> {new}" + (" (worse)" if worse else "")
    return Check("verdict", "report", old, new, None, None, "fail" if worse else "pass", message)


def _context_notes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What else differs between the runs: a reader must know when the settings moved too."""
    notes = []
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
