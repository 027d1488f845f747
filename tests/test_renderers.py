"""The renderer registry and the one loop that writes every requested output format."""

from __future__ import annotations

import json

import pytest
from fake_reports import audit_report
from rich.cells import cell_len

from tecurate.errors import TecurateError
from tecurate.reporting import (
    RENDERERS,
    Renderer,
    audit_junit,
    compare_junit,
    compare_reports,
    dumps,
    render_html,
    write_outputs,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return audit_report(tmp_path_factory.mktemp("renderers"))


def test_each_format_names_its_cli_flag_and_label():
    assert {name: (r.flag, r.label) for name, r in RENDERERS.items()} == {
        "terminal": (None, "Terminal summary"), "json": ("--output", "JSON report"),
        "html": ("--html", "HTML report"), "junit": ("--junit", "JUnit XML")}
    assert all(r.name == name for name, r in RENDERERS.items())


def test_write_outputs_writes_what_was_asked_and_says_where(report, tmp_path):
    targets = {"json": tmp_path / "r.json", "html": tmp_path / "out" / "r.html", "junit": None}
    written = write_outputs(report, targets)
    assert written == {"JSON report": str(tmp_path / "r.json"),
                       "HTML report": str(tmp_path / "out" / "r.html")}
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == dumps(report)
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == report
    assert (tmp_path / "out" / "r.html").read_text(encoding="utf-8") == render_html(report)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["r.html", "r.json"]
    assert write_outputs(report, {}) == {}


def test_a_comparison_renders_in_the_formats_that_declare_it(report, tmp_path):
    comparison = compare_reports(report, report)
    written = write_outputs(comparison, {"junit": tmp_path / "c.xml", "json": str(tmp_path / "c.json")})
    assert written == {"JUnit XML": str(tmp_path / "c.xml"), "JSON report": str(tmp_path / "c.json")}
    assert (tmp_path / "c.xml").read_text(encoding="utf-8") == compare_junit(comparison)
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8")) == comparison.to_dict()
    with pytest.raises(ValueError, match="html format does not render a comparison"):
        write_outputs(comparison, {"junit": tmp_path / "again.xml", "html": tmp_path / "c.html"})
    assert not (tmp_path / "again.xml").exists() and not (tmp_path / "c.html").exists()


def test_an_unknown_format_is_a_user_error(report, tmp_path):
    with pytest.raises(TecurateError, match="unknown report format 'pdf'; choose from terminal, json"):
        write_outputs(report, {"pdf": tmp_path / "r.pdf"})


def test_the_terminal_format_is_the_summary_as_plain_text(report):
    text = RENDERERS["terminal"].render(report)
    assert text.splitlines()[1].strip("│ ").startswith(f"tecurate: {report['verdict']['status'].upper()}")
    assert "Collapse and accuracy per split" in text and "\x1b[" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= 100
    assert "What changed (old -> new)" in RENDERERS["terminal"].render(compare_reports(report, report))


def test_a_new_format_is_one_registry_entry(report, tmp_path):
    RENDERERS.register("verdict", Renderer("verdict", "Verdict", "--verdict",
                                           {"audit": lambda data: data["verdict"]["status"] + "\n"}))
    try:
        written = write_outputs(report, {"junit": tmp_path / "r.xml", "verdict": tmp_path / "v.txt"})
    finally:
        RENDERERS.unregister("verdict")
    assert written == {"JUnit XML": str(tmp_path / "r.xml"), "Verdict": str(tmp_path / "v.txt")}
    assert (tmp_path / "v.txt").read_text() == report["verdict"]["status"] + "\n"
    assert (tmp_path / "r.xml").read_text(encoding="utf-8") == audit_junit(report)
