"""Page assembly: the head (charset, CSP, the stylesheet inline), a header, the sections in
reading order, a footer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from tecurate.reporting._html._markup import esc
from tecurate.reporting._html._sections import (
    accuracy_section,
    agreement_section,
    aotl_section,
    collapse_section,
    config_section,
    data_section,
    ood_section,
    stability_section,
    text_section,
    verdict_section,
)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = resources.files(__package__).joinpath("report.css").read_text("utf-8")
"""The page's stylesheet; the sweep's leaderboard page uses it too."""


def _header(report: Mapping[str, Any]) -> str:
    source = report["input"]
    target = report["target"]
    return (f"<h1>tecurate audit of {esc(source['path'])}</h1>\n"
            f"<p class=\"sub\">{esc(source['n_rows_used'])} rows used of {esc(source['n_rows'])} · "
            f"target <b>{esc(target['name'])}</b> ({esc(target['n_classes'])} classes) · "
            f"shift: {esc(report['shift']['description'])}</p>")


def _footer(report: Mapping[str, Any]) -> str:
    return (f"<footer>tecurate {esc(report['tool_version'])} · report schema "
            f"{esc(report['schema_version'])} · created {esc(report['created_at'])}</footer>")


_PARTS: tuple[Callable[[Mapping[str, Any]], str], ...] = (
    _header, verdict_section, aotl_section, collapse_section, accuracy_section, agreement_section,
    ood_section, stability_section, data_section, text_section, config_section, _footer,
)
"""Verdict and reasons first, then plots, then details; a part with nothing to show is empty."""


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for one report (plain data, fresh or loaded from disk)."""
    title = f"tecurate: {report['verdict']['status'].upper()} – {report['input']['path']}"
    body = "\n".join(part(report) for part in _PARTS)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>\n{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
