"""Every output format in one registry, and one loop that writes the ones asked for.

A format declares the document kinds it can render: an audit report (its plain data) or a
:class:`Comparison` of two. Adding a format is one module with a pure render function and
one entry in ``_FORMATS``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import RenderableType

from tecurate.errors import TecurateError
from tecurate.registry import Registry
from tecurate.reporting._compare import Comparison
from tecurate.reporting._html import render_html
from tecurate.reporting._junit import audit_junit, compare_junit
from tecurate.reporting._paths import write_error
from tecurate.reporting._report import dumps, write_atomic
from tecurate.reporting._sanitize import SafeConsole
from tecurate.reporting._terminal import comparison_summary, summary

Document = Mapping[str, Any] | Comparison
"""What a renderer renders: an audit report's plain data, or a comparison of two reports."""

TEXT_WIDTH = 100
"""Columns of the plain-text terminal summary (what fits a common terminal)."""


def document_kind(document: Document) -> str:
    """``"comparison"`` for a :class:`Comparison`, ``"audit"`` for a report's plain data."""
    if isinstance(document, Comparison):
        return "comparison"
    if isinstance(document, Mapping):
        return "audit"
    raise TypeError(f"cannot render a {type(document).__name__}; give a report's plain data (to_dict())")


@dataclass(frozen=True)
class Renderer:
    """One output format: its name, how the CLI names its file, and a pure render per document kind."""

    name: str
    label: str
    """How the CLI says what it wrote: "HTML report written to out.html"."""
    flag: str | None
    """The CLI option that names the file; None where the CLI has none (the terminal summary)."""
    renders: Mapping[str, Callable[[Any], str]]
    """Document kind ("audit", "comparison") to its render function."""

    def render(self, document: Document) -> str:
        kind = document_kind(document)
        if kind not in self.renders:
            raise ValueError(f"the {self.name} format does not render a {kind}")
        return self.renders[kind](document)


def _plain_text(renderable: RenderableType) -> str:
    console = SafeConsole(width=TEXT_WIDTH, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


_FORMATS = (
    Renderer("terminal", "Terminal summary", None,
             {"audit": lambda report: _plain_text(summary(report)),
              "comparison": lambda comparison: _plain_text(comparison_summary(comparison))}),
    Renderer("json", "JSON report", "--output",
             {"audit": dumps, "comparison": lambda comparison: dumps(comparison.to_dict())}),
    Renderer("html", "HTML report", "--html", {"audit": render_html}),
    Renderer("junit", "JUnit XML", "--junit", {"audit": audit_junit, "comparison": compare_junit}),
)

RENDERERS: Registry[Renderer] = Registry("report format")
for _format in _FORMATS:
    RENDERERS.register(_format.name, _format)


def write_outputs(document: Document, targets: Mapping[str, str | Path | None]) -> dict[str, str]:
    """Write ``document`` in each format of ``targets`` (format name to file; None: not asked for).

    Everything is rendered before anything is written, and each file is written atomically.
    Returns what went where, in the order of ``targets``: {"HTML report": "out.html"}. A file
    that cannot be written (full disk, permissions) is a :class:`TecurateError` that names it
    and says which files were written before it; the files after it are not attempted.
    """
    asked = [(RENDERERS[name], Path(path)) for name, path in targets.items() if path is not None]
    rendered = [(renderer, path, renderer.render(document)) for renderer, path in asked]
    written: dict[str, str] = {}
    for renderer, path, content in rendered:
        try:
            write_atomic(path, content)
        except OSError as exc:
            done = "; ".join(f"{label} written to {where}" for label, where in written.items())
            raise TecurateError(f"{write_error(renderer.flag, path, exc)} "
                                f"({done or 'nothing was written'})") from None
        written[renderer.label] = str(path)
    return written
