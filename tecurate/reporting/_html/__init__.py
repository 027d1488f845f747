"""The self-contained HTML report: one file, inline CSS and SVG, no script, no network.

Rendered from the report's plain JSON data (fresh or loaded from disk), like the terminal
summary, so ``tecurate report saved.json --html`` writes the same page as ``audit --html``.
Every string that comes from the data (column names, class labels, cell values, paths, split
names) is escaped; a Content-Security-Policy that forbids scripts and every fetch is the
second line of defence.

``_page`` assembles the page from the cards of ``_sections``; those draw their plots with
``_plots`` on the primitives of ``_svg``; ``report.css`` is the stylesheet, inlined.
"""

from tecurate.reporting._html._markup import COLORS
from tecurate.reporting._html._page import render_html

__all__ = ["COLORS", "render_html"]
