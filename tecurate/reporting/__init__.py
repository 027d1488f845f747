"""Stage 5: the report. One :class:`AuditReport` tree, plain JSON data, and renderers of it
(terminal, HTML, JUnit), plus ``compare`` of two saved reports.

Renderers read the plain data, so a saved report renders exactly like a fresh one.
"""

from tecurate.reporting._compare import Check, Comparison, compare_reports, regression_limits
from tecurate.reporting._html import render_html
from tecurate.reporting._junit import audit_junit, compare_junit
from tecurate.reporting._report import SCHEMA_VERSION, AuditReport, dumps, read_report, schema, write_atomic
from tecurate.reporting._terminal import (
    comparison_line,
    comparison_summary,
    print_summary,
    summary,
    verdict_line,
)

__all__ = [
    "SCHEMA_VERSION",
    "AuditReport",
    "Check",
    "Comparison",
    "audit_junit",
    "compare_junit",
    "compare_reports",
    "comparison_line",
    "comparison_summary",
    "dumps",
    "print_summary",
    "read_report",
    "regression_limits",
    "render_html",
    "schema",
    "summary",
    "verdict_line",
    "write_atomic",
]
