"""Report plumbing: atomic writes, JSON-safe conversion, and the public names of tecurate.reporting."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import tecurate.reporting
from tecurate.errors import TecurateError
from tecurate.reporting import AuditReport, dumps, write_atomic

API = {"RENDERERS", "REPORT_CSS", "html_badge", "html_table", "ROUTE_COLORS", "ROUTE_LABELS", "SvgFrame", "escape_html", "plain_data", "command_report_dict", "packaged_schema", "svg_axes",
       "svg_line_key", "svg_ticks", "SCHEMA_VERSION", "AuditReport", "Check", "Comparison", "Renderer", "SafeConsole",
       "regression_limits", "audit_junit", "check_outputs", "compare_junit", "compare_reports", "comparison_line",
       "comparison_summary", "created_now", "dumps", "print_summary", "read_report", "render_html", "sanitize", "schema",
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


# --- in a notebook: save / load, the model table, the HTML report in a cell -------------------------

HOSTILE_COLUMN = "<script>alert(1)</script>"
QUOTED_DOMAIN = "B\" onload=\"alert(2)"
BIDI = "evil\u202egnp.exe"


@pytest.fixture(scope="module")
def fresh():
    """A real report (the pipeline, a fake embedder) with collapsed te models, so its aotl fits have a
    base-rate point, and two seeds, so it has a stability part: every transform of to_dict is exercised."""
    from conftest import ConstantEmbedder, make_frame

    from tecurate import audit

    frame = make_frame().rename(columns={"plan": HOSTILE_COLUMN})
    frame["region"] = frame["region"].replace({"B": QUOTED_DOMAIN})
    frame[HOSTILE_COLUMN] = frame[HOSTILE_COLUMN].replace({"pro": BIDI})
    return audit(frame, target="label", shift_col="region", min_domain_rows=100, families="logreg,xgboost",
                 n_configs=2, n_jobs=1, use_cache=False, n_bootstrap=50, repeats=2, embedder=ConstantEmbedder())


def test_save_then_load_gives_back_the_same_report(fresh, tmp_path):
    data = fresh.to_dict()
    assert data["stability"] is not None
    assert any(fit.get("base_rate_point") for fits in data["aotl"].values() for fit in fits.values())
    path = tmp_path / "sub" / "report.json"
    fresh.save(path)
    assert path.read_text(encoding="utf-8") == dumps(data)
    loaded = AuditReport.load(path)
    assert loaded.to_dict() == data
    loaded.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    assert loaded._repr_html_() == fresh._repr_html_()
    pd.testing.assert_frame_equal(loaded.models_frame(), fresh.models_frame())


def test_load_validates_against_the_schema_and_save_names_the_path_it_cannot_write(fresh, tmp_path):
    broken = fresh.to_dict()
    broken["verdict"]["status"] = "great"
    path = tmp_path / "broken.json"
    path.write_text(dumps(broken))
    with pytest.raises(TecurateError, match=r"broken.json is not a tecurate report: verdict.status: 'great'"):
        AuditReport.load(path)
    with pytest.raises(TecurateError, match=r"^report .*missing.json does not exist$"):
        AuditReport.load(tmp_path / "missing.json")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TecurateError, match=r"^cannot write .*file/report.json: "):
        fresh.save(blocker / "report.json")


def test_models_frame_has_a_row_per_model_route_and_split_with_the_metrics(fresh):
    table = fresh.models_frame()
    models = fresh.to_dict()["models"]
    assert len(table) == sum(len(m["splits"]) for m in models)
    assert list(table.columns[:4]) == ["family", "config_id", "representation", "split"]
    assert {"accuracy", "collapsed", "majority_class_rate", "macro_f1", "fit_seconds", "params"} <= set(table)
    assert "predicted_distribution" not in table
    first = models[0]
    row = table[(table.config_id == first["config_id"]) & (table.representation == first["representation"])
                & (table.split == "id_test")]
    assert len(row) == 1 and row.iloc[0]["accuracy"] == first["splits"]["id_test"]["accuracy"]
    collapsed_te = table[(table.representation == "te") & table.collapsed]
    assert len(collapsed_te) == (table.representation == "te").sum()  # the constant embedder collapses all


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def test_repr_html_is_the_html_report_in_a_sandboxed_frame_with_every_hostile_string_escaped(fresh):
    from tecurate.reporting import render_html

    cell = fresh._repr_html_()
    assert "<script" not in cell.lower() and "\u202e" not in cell
    (tag, attrs), = _tags(cell)  # one element: the quote in a domain name did not break out of srcdoc
    assert tag == "iframe" and attrs["sandbox"] == "" and "height:720px" in attrs["style"]
    page = attrs["srcdoc"]
    assert page == render_html(fresh.to_dict())  # the same page audit --html writes
    assert "<script" not in page.lower() and "\u202e" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "evil\\u202egnp.exe" in page
    assert "B&quot; onload=&quot;alert(2)" in page
    inner = _tags(page)
    assert {"svg", "table", "style"} <= {tag for tag, _ in inner}
    assert not [tag for tag, _ in inner if tag in ("script", "iframe", "object", "embed")]
    assert not [name for _, attrs in inner for name in attrs if name.startswith("on")]
