"""The terminal summary fits a 100-column terminal and says what the issue asks for."""

from __future__ import annotations

import copy
import io

import pytest
from conftest import make_frame
from fake_reports import audit_report
from rich.cells import cell_len
from rich.console import Console

from tecurate.reporting import compare_reports, comparison_summary, summary, verdict_line

LONG_DOMAIN = "a-rather-long-domain-value-that-someone-typed-into-a-spreadsheet-" * 2


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    frame = make_frame()
    frame["region"] = frame["region"].replace({"B": LONG_DOMAIN})
    data = audit_report(tmp_path_factory.mktemp("render"), frame)
    data["input"]["path"] = "/very/deep/folder/" * 8 + "table_with_a_long_name.csv"
    return data


def _lines(renderable) -> list[str]:
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def test_the_summary_fits_100_columns_and_has_every_part(report):
    lines = _lines(summary(report, {"JSON report": "out/report.json", "HTML report": "out/report.html"}))
    assert max(cell_len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert text.count(report["verdict"]["status"].upper()) >= 1
    assert "Collapse and accuracy per split" in text and "raw collapse" in text and "te collapse" in text
    for part in ("Accuracy-on-the-line", "r² all", "r² healthy", "spurious",
                 "JSON report written to out/report.json", "HTML report written to out/report.html"):
        assert part in text


def test_the_summary_counts_fits_taken_from_the_cache(report):
    assert "fits (" not in "\n".join(_lines(summary(report)))
    warm = copy.deepcopy(report)
    for model in warm["models"][:3]:
        model["cached"] = True
    assert f"models: {len(warm['models'])} fits (3 from the cache)" in "\n".join(_lines(summary(warm)))


def test_the_verdict_line_names_the_status_and_first_reason(report):
    failing = copy.deepcopy(report)
    failing["verdict"].update(status="fail", reasons=["te_collapse_rate: too many", "spurious_aotl: yes"])
    assert verdict_line(failing).plain == "tecurate: FAIL - te_collapse_rate: too many (+1 more)"


def test_the_comparison_fits_100_columns(report):
    worse = copy.deepcopy(report)
    worse["summary"]["paired"]["id_test"].update(excess_collapse_rate=0.5, n_te_only=12, n_raw_only=0, n_pairs=24)
    worse["config"]["template"] = "kv"
    lines = _lines(comparison_summary(compare_reports(report, worse)))
    assert max(cell_len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "REGRESSION" in text and "worse" in text and "note: setting template: 'sentence' -> 'kv'" in text
