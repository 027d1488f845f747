"""Stage 5: the report. One :class:`AuditReport` tree, plain JSON data, and renderers of it
(terminal, JSON, HTML, JUnit) in one registry, plus ``compare`` of two saved reports.

Renderers read the plain data, so a saved report renders exactly like a fresh one.
"""

from tecurate.reporting._compare import Check, Comparison, compare_reports, regression_limits
from tecurate.reporting._html import render_html
from tecurate.reporting._html._markup import COLORS as ROUTE_COLORS
from tecurate.reporting._html._markup import LABELS as ROUTE_LABELS
from tecurate.reporting._html._markup import badge as html_badge
from tecurate.reporting._html._markup import esc as escape_html
from tecurate.reporting._html._markup import table as html_table
from tecurate.reporting._html._page import CSS as REPORT_CSS
from tecurate.reporting._html._svg import Frame as SvgFrame
from tecurate.reporting._html._svg import axes as svg_axes
from tecurate.reporting._html._svg import line_key as svg_line_key
from tecurate.reporting._html._svg import ticks as svg_ticks
from tecurate.reporting._junit import audit_junit, compare_junit
from tecurate.reporting._paths import check_outputs
from tecurate.reporting._renderers import RENDERERS, Renderer, write_outputs
from tecurate.reporting._report import (
    SCHEMA_VERSION,
    AuditReport,
    command_report_dict,
    created_now,
    dumps,
    packaged_schema,
    plain_data,
    read_report,
    schema,
    verdict_exit_code,
    write_atomic,
)
from tecurate.reporting._sanitize import SafeConsole, sanitize
from tecurate.reporting._terminal import (
    comparison_line,
    comparison_summary,
    print_summary,
    summary,
    verdict_line,
)

__all__ = [
    "REPORT_CSS",
    "ROUTE_COLORS",
    "ROUTE_LABELS",
    "SvgFrame",
    "escape_html",
    "html_badge",
    "html_table",
    "command_report_dict",
    "packaged_schema",
    "plain_data",
    "svg_axes",
    "svg_line_key",
    "svg_ticks",
    "RENDERERS",
    "SCHEMA_VERSION",
    "AuditReport",
    "Check",
    "Comparison",
    "Renderer",
    "SafeConsole",
    "audit_junit",
    "check_outputs",
    "compare_junit",
    "compare_reports",
    "comparison_line",
    "comparison_summary",
    "created_now",
    "dumps",
    "print_summary",
    "read_report",
    "regression_limits",
    "render_html",
    "sanitize",
    "schema",
    "summary",
    "verdict_exit_code",
    "verdict_line",
    "write_atomic",
    "write_outputs",
]
