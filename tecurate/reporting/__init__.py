"""Stage 5: the report. One :class:`AuditReport` tree, plain JSON data, and renderers of it
(terminal, JSON, HTML, JUnit) in one registry, plus ``compare`` of two saved reports.

Renderers read the plain data, so a saved report renders exactly like a fresh one.
"""

from tecurate.reporting._compare import Check, Comparison, compare_reports, regression_limits
from tecurate.reporting._html import render_html
from tecurate.reporting._junit import audit_junit, compare_junit
from tecurate.reporting._paths import check_outputs
from tecurate.reporting._renderers import RENDERERS, Renderer, write_outputs
from tecurate.reporting._report import (
    SCHEMA_VERSION,
    AuditReport,
    dumps,
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
