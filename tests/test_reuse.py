"""An identical audit reuses the kept report (tecurate._reuse); anything that could change it does not."""

from __future__ import annotations

import json

import pytest
from conftest import ConstantEmbedder
from typer.testing import CliRunner

import tecurate._reuse
from tecurate.cli import app

QUICK = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "100", "--n-jobs", "1",
         "--families", "logreg", "--n-configs", "2", "--quiet"]
REUSED = "reused the report of the identical audit"


@pytest.fixture
def audit(tmp_path, fake_embedder):
    """Run ``tecurate audit`` against one cache folder; the report's plain data (and the exit code)."""
    cache = tmp_path / "cache"

    def run(data: str, *extra: str, stdin: str | None = None) -> dict:
        out = tmp_path / "report.json"
        out.unlink(missing_ok=True)
        result = CliRunner().invoke(app, ["audit", data, *QUICK, "--cache-dir", str(cache), "--output", str(out),
                                          *extra], input=stdin)
        assert result.exit_code in (0, 1), result.stderr
        report = json.loads(out.read_text())
        assert report["verdict"]["exit_code"] == result.exit_code
        return report

    run.cache = cache
    return run


def reused(report: dict) -> bool:
    return report["warnings"][0].startswith(REUSED) if report["warnings"] else False


def test_the_second_identical_audit_reuses_the_first_report(table, audit):
    first = audit(str(table))
    second = audit(str(table))
    assert not reused(first) and reused(second)
    assert first["created_at"] in second["warnings"][0]
    assert second["warnings"][1:] == first["warnings"]
    assert set(second["timings"]) == {"reuse", "total"}
    assert {key for key in first if first[key] != second[key]} <= {"created_at", "timings", "warnings"}
    assert len(sorted(audit.cache.rglob("report-*.json"))) == 1


def test_a_changed_byte_setting_model_or_code_is_a_new_audit(table, tmp_path, audit, fake_embedder, monkeypatch):
    audit(str(table))
    edited = tmp_path / "edited.csv"
    text = table.read_text()
    edited.write_text(text[:-3] + ("9" if text[-3] != "9" else "8") + text[-2:])
    assert not reused(audit(str(edited)))
    assert not reused(audit(str(table), "--seed", "1"))
    fake_embedder(ConstantEmbedder)
    assert not reused(audit(str(table)))
    monkeypatch.setattr(tecurate._reuse, "code_digest", lambda: "an edited tecurate")
    assert not reused(audit(str(table)))
    assert reused(audit(str(table)))


def test_a_changed_describe_file_is_a_new_audit(table, tmp_path, audit):
    described = tmp_path / "columns.toml"
    described.write_text('x = "the amount"\n')
    args = ["--curations", "describe", "--describe", str(described)]
    audit(str(table), *args)
    assert reused(audit(str(table), *args))
    described.write_text('x = "the total"\n')
    assert not reused(audit(str(table), *args))


def test_no_cache_neither_reuses_nor_keeps(table, audit):
    audit(str(table))
    assert not reused(audit(str(table), "--no-cache"))
    assert not reused(audit(str(table), "--no-cache"))


def test_stdin_is_never_reused(table, audit):
    audit("-", stdin=table.read_text())
    assert not reused(audit("-", stdin=table.read_text()))


def test_a_damaged_kept_report_is_recomputed_not_trusted(table, audit):
    first = audit(str(table))
    for path in audit.cache.rglob("report-*.json"):
        path.write_text(path.read_text().replace('"verdict"', '"verdikt"'))
    again = audit(str(table))
    assert not reused(again) and again["verdict"] == first["verdict"]


def test_the_code_digest_changes_with_any_file_but_not_with_bytecode(tmp_path):
    package = tmp_path / "package"
    (package / "schema").mkdir(parents=True)
    (package / "core.py").write_text("X = 1\n")
    (package / "schema" / "report.json").write_text("{}")
    before = tecurate._reuse.tree_digest(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"compiled")
    assert tecurate._reuse.tree_digest(package) == before
    (package / "schema" / "report.json").write_text("{ }")
    assert tecurate._reuse.tree_digest(package) != before
    (package / "schema" / "report.json").write_text("{}")
    (package / "core.py").rename(package / "main.py")
    assert tecurate._reuse.tree_digest(package) != before
