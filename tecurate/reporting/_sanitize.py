"""The one sanitizer for terminal output: no byte from a user's file can drive the terminal.

Column names, cell values, paths and messages come from the user's files. An ESC starts a
terminal control sequence (clear the screen, rewrite the title, fake a PASS line), other
control characters move the cursor, and bidi overrides make a name read backwards. Every one
of them is shown escaped (``\\x1b``, ``\\u202e``), colour or not (NO_COLOR only drops styles).
The renderers escape report data before layout, so tables stay aligned; :class:`SafeConsole`
escapes whatever else reaches the terminal, so nothing printed can bypass it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

_BIDI = "\u202a-\u202e\u2066-\u2069"
"""Embeddings, overrides and isolates: they reorder the characters after them."""
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
"""C0 and C1 controls (ESC, CSI, BEL, CR, ...), DEL, bidi controls, line/paragraph separators."""
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control, ESC and bidi character written as its escape (``\\x1b``).

    Idempotent: an escape is printable ASCII. ``keep_newlines`` is for text the tool itself laid
    out in lines; data (a column name, a value) never keeps its newlines.
    """
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def sanitize_data(value: Any) -> Any:
    """A report's plain data (dicts, lists, strings) with every string and key sanitized."""
    if isinstance(value, str):
        return sanitize(value)
    if isinstance(value, Mapping):
        return {sanitize(str(key)): sanitize_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize_data(item) for item in value]
    return value


class SafeConsole(Console):
    """A rich console that passes every rendered segment through :func:`sanitize`.

    Control segments (cursor movement of a live progress bar) are rich's own and pass as they
    are; styles are not part of a segment's text, so colour still works.
    """

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE_BUT_NEWLINE.search(segment.text):
                yield segment
            else:
                yield Segment(sanitize(segment.text, keep_newlines=True), segment.style)
