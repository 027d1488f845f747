"""SIGINT and SIGTERM as one exception, so an interrupted run keeps its work and says so.

SIGTERM is what CI timeouts and ``docker stop`` send; by default it kills the process at once
and every embedded vector not yet flushed to the cache is lost. Under :func:`interruptible`
both signals raise :class:`Interrupted` in the main thread instead: the batch in flight
finishes or is discarded, the embed loop flushes what it has (and records how much), and the
CLI prints one line and exits 128 + the signal's number (130, 143).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from tecurate.status import EXIT_SIGINT, EXIT_SIGTERM

_EXIT_CODES = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal. A KeyboardInterrupt, so code that handles Ctrl-C
    (joblib's workers, a library caller's ``except KeyboardInterrupt``) handles it too."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.kept: tuple[int, int, bool] | None = None
        """Set by the embed loop: (texts embedded and kept, distinct texts, whether a cache kept them)."""

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES.get(signal.Signals(self.signum), 128 + self.signum)

    @classmethod
    def of(cls, exc: BaseException) -> Interrupted:
        """``exc`` itself, or an :class:`Interrupted` standing for a plain Ctrl-C."""
        return exc if isinstance(exc, Interrupted) else cls(signal.SIGINT)

    def describe(self) -> str:
        """The one line the CLI prints: how much of the embedding survived."""
        if self.kept is None:
            return "aborted"
        done, total, cached = self.kept
        if not cached:
            return f"aborted: {done} of {total} texts embedded, none cached (the cache is off)"
        return f"aborted: {done} of {total} texts embedded and cached"


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into :class:`Interrupted`; ignore repeats while the run
    winds down (a second Ctrl-C must not cut the cache flush short). Outside the main thread,
    where Python delivers no signals, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal seen
        if seen:
            return
        seen = True
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in _EXIT_CODES}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
