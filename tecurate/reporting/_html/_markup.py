"""The page's vocabulary: its colours, escaping, number formats and the HTML building blocks
(tables, badges, figures) that every section is made of."""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from tecurate.reporting._sanitize import sanitize

COLORS = {"raw": "#1f6fb4", "te": "#e0620d", "raw+te": "#7a3db8"}
"""Raw-feature models in blue, text-embedding models in orange, both side by side in purple, in every plot."""

LABELS = {"raw": "raw features", "te": "text embeddings", "raw+te": "raw features + text embeddings"}
STATUS_COLORS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
MUTED = "#59636e"


def esc(value: Any) -> str:
    """Text from the data, made safe for element content and quoted attributes.

    Control and bidi characters are shown as their escapes (``\\u202e``), as on the terminal
    (:func:`tecurate.reporting._sanitize.sanitize`): a right-to-left override in a column name
    would otherwise make the page read it backwards.
    """
    return html.escape(sanitize("" if value is None else str(value), keep_newlines=True), quote=True)


def num(value: Any, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def pct(value: Any) -> str:
    return "–" if value is None else f"{value:.0%}"


def badge(status: str) -> str:
    return (f"<span class=\"badge\" style=\"background:{STATUS_COLORS.get(status, MUTED)}\">"
            f"{esc(status.upper())}</span>")


def bad(shown: str) -> str:
    """Finished HTML highlighted as a finding."""
    return f"<span class=\"bad\">{shown}</span>"


def section(heading: str, body: str) -> str:
    """A card: ``heading`` is finished HTML, ``body`` ends with its own newline."""
    return f"<section>\n<h2>{heading}</h2>\n{body}</section>"


def note(text: str) -> str:
    """A muted paragraph of finished HTML under a heading."""
    return f"<p class=\"muted\">{text}</p>\n"


def grid(figures: Iterable[str]) -> str:
    return "<div class=\"grid\">" + "".join(figures) + "</div>\n"


def figure(caption: str, content: str) -> str:
    """A plot (or plot and table) with a caption of finished HTML."""
    return f"<figure><figcaption>{caption}</figcaption>{content}</figure>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Collection[int] = (),
          css_class: str = "") -> str:
    """Headers are escaped here; cells arrive as finished (already escaped) HTML."""
    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>\n"
                   for row in rows)
    opening = f"<table class=\"{css_class}\">" if css_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n"


def _setting(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, ".6g")
    return "–" if value is None else str(value)


def kv_table(data: Mapping[str, Any]) -> str:
    """Any flat mapping (config, embedding, input) as a two-column table, lists joined."""
    return table(["setting", "value"], [[esc(key), esc(_setting(value))] for key, value in data.items()],
                 css_class="kv")


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A row of (SVG icon, text) keys above a set of plots."""
    keys = "".join(f"<span><svg width=\"24\" height=\"12\" viewBox=\"0 0 24 12\">{icon}</svg>"
                   f"{esc(text)}</span>" for icon, text in items)
    return f"<div class=\"legend\">{keys}</div>\n"
