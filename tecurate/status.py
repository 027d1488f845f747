"""Statuses and exit codes: the one place that says how severe each outcome is.

Gates, the verdict, ``--repeats`` stability, ``compare`` and the CLI all read these, so "warn
exits 0 unless --fail-on warn" is decided here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

STATUSES = ("pass", "warn", "fail")
"""From least to most severe."""

FAIL_ON = ("fail", "warn")
"""Values of ``--fail-on``: the least severe status that exits with :data:`EXIT_GATE`."""

EXIT_PASS = 0
EXIT_GATE = 1
"""A gate failed (or warned, with ``--fail-on warn``), or ``compare`` found a regression."""
EXIT_USAGE = 2
"""Bad input or a bad option: a one-line error on stderr."""
EXIT_INTERNAL = 3
"""A bug: a one-line error; ``--debug`` shows the traceback."""
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def severity(status: str) -> int:
    """0 for pass, 1 for warn, 2 for fail; anything else is a programming error."""
    return STATUSES.index(status)


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` ("pass" when there are none)."""
    return max(statuses, key=severity, default="pass")


def exit_code(status: str, fail_on: str = "fail") -> int:
    """The exit code of an outcome: :data:`EXIT_GATE` when ``status`` is at least ``fail_on``."""
    return EXIT_GATE if severity(status) >= severity(fail_on) else EXIT_PASS
