"""Output paths are checked before any expensive stage: never an input, never another output, a
writable folder with room; a write that fails later names the path and what was written."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tecurate.pipeline
import tecurate.reporting._renderers
from tecurate.cli import app
from tecurate.reporting import check_outputs

runner = CliRunner()
FAST = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "100", "--no-cache", "--n-jobs", "1",
        "--families", "logreg", "--n-configs", "2"]


def run(*args: str):
    return runner.invoke(app, list(args))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_work(monkeypatch):
    """An audit or embed that got past the checks would fail with exit 3."""
    def expensive(*args, **kwargs):
        raise AssertionError("the expensive stage ran")

    monkeypatch.setattr(tecurate.pipeline, "audit", expensive)
    monkeypatch.setattr(tecurate.pipeline, "embed_table", expensive)


def _one_error_line(result, *needles: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tecurate: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize("flag", ["--output", "--html", "--junit"])
def test_an_output_naming_the_input_exits_2_and_leaves_it_alone(table, no_work, flag):
    before = digest(table)
    _one_error_line(run("audit", str(table), *FAST, flag, str(table)), flag, str(table), "input")
    assert digest(table) == before


def test_an_output_that_is_the_input_by_another_name_exits_2(table, tmp_path, no_work, monkeypatch):
    link = tmp_path / "link.csv"
    os.link(table, link)
    _one_error_line(run("audit", str(table), *FAST, "--html", str(link)), "--html", "input")
    monkeypatch.chdir(tmp_path)
    _one_error_line(run("audit", str(table), *FAST, "--output", "./sub/../table.csv"), "--output", "input")


def test_an_output_naming_the_ood_file_or_the_config_exits_2(table, tmp_path, no_work):
    ood = tmp_path / "ood.csv"
    shutil.copy(table, ood)
    before = digest(ood)
    _one_error_line(run("audit", str(table), *FAST[:2], "--ood", str(ood), "--junit", str(ood)), "--junit", str(ood))
    assert digest(ood) == before
    config = tmp_path / "tecurate.toml"
    config.write_text('target = "label"\n')
    _one_error_line(run("audit", str(table), "--config", str(config), "--output", str(config)), "--output")


def test_two_outputs_on_one_path_exit_2(table, tmp_path, no_work):
    out = tmp_path / "out"
    _one_error_line(run("audit", str(table), *FAST, "-o", str(out), "--html", str(out)),
                    "--html", "--output", str(out))
    assert not out.exists()


def test_report_and_compare_refuse_to_overwrite_their_own_inputs(tmp_path, fake_embedder, table):
    saved = tmp_path / "saved.json"
    assert run("audit", str(table), *FAST, "-o", str(saved), "-q", "--max-te-only-collapse-rate", "1").exit_code == 0
    before = digest(saved)
    _one_error_line(run("report", str(saved), "--html", str(saved)), "--html", "input")
    _one_error_line(run("compare", str(saved), str(saved), "--junit", str(saved)), "--junit", "input")
    assert digest(saved) == before


def test_an_output_under_a_regular_file_exits_2_before_any_work(table, tmp_path, no_work):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    target = blocker / "sub" / "report.html"
    _one_error_line(run("audit", str(table), *FAST, "--html", str(target)), "--html", str(target), "not a folder")
    _one_error_line(run("embed", str(table), "--target", "label", "-o", str(blocker / "v.npy")), "--output")


def test_an_unwritable_folder_exits_2_before_any_work(table, tmp_path, no_work, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != locked and real_access(path, mode))
    _one_error_line(run("audit", str(table), *FAST, "--junit", str(locked / "a" / "j.xml")),
                    "--junit", "not writable")


def test_a_full_disk_exits_2_before_any_work(table, tmp_path, no_work, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    _one_error_line(run("audit", str(table), *FAST, "-o", str(tmp_path / "r.json")), "--output", "4 KiB free")


def test_a_disk_full_mid_way_says_what_was_written_and_exits_2(table, tmp_path, fake_embedder, monkeypatch):
    real = tecurate.reporting._renderers.write_atomic

    def full_for_html(path, content):
        if Path(path).suffix == ".html":
            raise OSError(errno.ENOSPC, "No space left on device", str(Path(path).parent / ".r.html.tmp"))
        real(path, content)

    monkeypatch.setattr(tecurate.reporting._renderers, "write_atomic", full_for_html)
    out, page, junit = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.xml"
    result = run("audit", str(table), *FAST, "-o", str(out), "--html", str(page), "--junit", str(junit))
    _one_error_line(result, f"cannot write --html {page}: no space left on device",
                    f"JSON report written to {out}")
    assert ".tmp" not in result.stderr
    assert json.loads(out.read_text())["schema_version"] == "2.0"
    assert not page.exists() and not junit.exists()


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_embed_names_the_output_when_the_write_fails(table, tmp_path, fake_embedder, monkeypatch, suffix):
    import tecurate.embedding._vector_file as vector_file

    def denied(source, destination):
        raise PermissionError(errno.EACCES, "Permission denied", str(source))

    monkeypatch.setattr(vector_file.os, "replace", denied)
    target = tmp_path / f"v{suffix}"
    result = run("embed", str(table), "--target", "label", "--no-cache", "-o", str(target))
    _one_error_line(result, f"cannot write --output {target}: permission denied")
    assert ".tmp" not in result.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_check_outputs_passes_fresh_paths_and_skips_stdin(tmp_path):
    check_outputs({"--output": tmp_path / "new" / "r.json", "--html": None}, inputs=("-", None, tmp_path / "t.csv"))
