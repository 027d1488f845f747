"""JUnit XML for CI systems: one test case per gate, so a pipeline shows which promise broke.

A failed gate is a ``<failure>``; a warning passes (CI must not go red on it unless the user
asked with ``--fail-on warn``, which the exit code already reflects) but says so in
``<system-out>``. Built with ElementTree so every message is escaped; characters that XML 1.0
cannot hold at all (control characters in a column value, say) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from tecurate.reporting._compare import Comparison

__all__ = ["audit_junit", "compare_junit"]

_LABELS = {"pass": "PASS", "warn": "WARNING", "fail": "FAIL"}
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def audit_junit(report: Mapping[str, Any]) -> str:
    """One suite for an audit: a test case per gate in ``report["verdict"]["gates"]``."""
    verdict = report["verdict"]
    cases = [(gate["gate"], gate["status"], gate["message"], gate["value"], gate["threshold"])
             for gate in verdict["gates"]]
    properties = {"verdict": verdict["status"], "exit_code": verdict["exit_code"],
                  "input": report["input"]["path"], "sha256": report["input"]["sha256"],
                  "tool_version": report["tool_version"]}
    return _document(f"tecurate audit {report['input']['path']}", "tecurate.audit", cases, properties,
                     timestamp=report["created_at"], seconds=report["timings"]["total"])


def compare_junit(comparison: Comparison) -> str:
    """One suite for a comparison: a test case per check, a regression is a failure."""
    cases = [(f"{check.name} [{check.scope}]", check.status, check.message, check.new, check.threshold)
             for check in comparison.checks]
    properties = {"status": comparison.status, "exit_code": comparison.exit_code,
                  "old": comparison.old["path"], "new": comparison.new["path"]}
    return _document(f"tecurate compare {comparison.old['path']} {comparison.new['path']}",
                     "tecurate.compare", cases, properties)


def _document(suite_name: str, classname: str, cases: Sequence[tuple[str, str, str, Any, Any]],
              properties: Mapping[str, Any], *, timestamp: str | None = None, seconds: float = 0.0) -> str:
    failures = sum(status == "fail" for _, status, _, _, _ in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0",
              "time": f"{seconds:.3f}"}
    root = ET.Element("testsuites", {"name": "tecurate", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(suite_name), **counts,
                                              **({"timestamp": timestamp} if timestamp else {})})
    props = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for name, status, message, value, threshold in cases:
        case = ET.SubElement(suite, "testcase", {"classname": classname, "name": _clean(name), "time": "0"})
        detail = (f"{_LABELS.get(status, status.upper())}: {message} "
                  f"(value {_show(value)}, threshold {_show(threshold)})")
        if status == "fail":
            failure = ET.SubElement(case, "failure", {"message": _clean(message), "type": "gate"})
            failure.text = _clean(detail)
        ET.SubElement(case, "system-out").text = _clean(detail)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _clean(value: Any) -> str:
    return _NOT_XML.sub("", str(value))
