"""Report plumbing: atomic writes, JSON-safe conversion, and the public names of tecurate.reporting."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass

import numpy as np
import pytest

import tecurate.reporting
from tecurate.reporting import AuditReport, dumps, write_atomic

API = {"RENDERERS", "ROUTE_COLORS", "ROUTE_LABELS", "SvgFrame", "escape_html", "plain_data", "svg_axes",
       "svg_line_key", "svg_ticks", "SCHEMA_VERSION", "AuditReport", "Check", "Comparison", "Renderer", "SafeConsole",
       "regression_limits", "audit_junit", "check_outputs", "compare_junit", "compare_reports", "comparison_line",
       "comparison_summary", "dumps", "print_summary", "read_report", "render_html", "sanitize", "schema",
       "summary", "verdict_exit_code", "verdict_line", "write_atomic", "write_outputs"}


def test_the_public_names_are_exactly_these():
    assert set(tecurate.reporting.__all__) == API
    assert len(tecurate.reporting.__all__) == len(API)
    for name in API:
        assert getattr(tecurate.reporting, name) is not None


def test_write_atomic_replaces_whole_file_with_umask_permissions(tmp_path):
    target = tmp_path / "sub" / "report.json"
    write_atomic(target, "first\n")
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@dataclass(frozen=True)
class _Shift:
    kind: str
    quantiles: tuple


def _report(**parts) -> AuditReport:
    base = dict(tool_version="0", created_at="now", input={}, config={}, target={"classes": ["no", "yes"]},
                shift=None, serialization={}, embedding=None, models=[], summary=None, aotl={}, verdict=None,
                timings={"total": 0.0}, warnings=[])
    return AuditReport(**{**base, **parts})


def test_to_dict_makes_json_safe_data():
    data = _report(config={"a": np.float32(0.5), "b": (1, np.int64(2)), "c": math.nan, "d": np.bool_(True)},
                   shift=_Shift("domain", (np.float64(math.inf), 0.25))).to_dict()
    assert data["config"] == {"a": 0.5, "b": [1, 2], "c": None, "d": True}
    assert data["shift"] == {"kind": "domain", "quantiles": [None, 0.25]}
    assert json.loads(dumps(data)) == data


def test_to_dict_labels_classes_and_keeps_the_documented_key_order():
    model = {"splits": {"id_test": {"predicted_distribution": [0.25, 0.75]}}}
    fit = {"base_rate_point": {"class": 1, "id": 0.6, "ood": 0.7}}
    data = _report(models=[model], aotl={"te": {"ood:B": fit}}).to_dict()
    assert data["models"][0]["splits"]["id_test"]["predicted_distribution"] == {"no": 0.25, "yes": 0.75}
    assert data["aotl"]["te"]["ood:B"]["base_rate_point"]["class"] == "yes"
    assert list(data)[:3] == ["schema_version", "tool_version", "created_at"]
    assert list(data)[-2:] == ["timings", "warnings"]
