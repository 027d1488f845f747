"""``tecurate simulate`` and ``tecurate schema --simulate``: every exit code, with fake and real embedders."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import ConstantEmbedder, make_frame
from typer.testing import CliRunner

from tecurate.cli import app
from tecurate.simulate import schema

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"
SMALL = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "50", "--generations", "2",
         "--n0", "50", "--families", "logreg", "--real-fraction", "0,0.5", "--schedule", "constant,power:1",
         "--no-cache"]


@pytest.fixture
def small_table(tmp_path) -> Path:
    path = tmp_path / "table.csv"
    make_frame(300).to_csv(path, index=False)
    return path


def test_simulate_exits_0_with_a_valid_report_a_table_and_a_page(small_table, tmp_path, fake_embedder):
    out, page = tmp_path / "sim.json", tmp_path / "sim.html"
    result = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, "--output", str(out), "--html", str(page)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["exit_code"] == 0 and report["collapse_check"] is None
    assert len(report["trajectories"]) == 2 * 2 * 2 and len(report["summary"]) == 8
    assert report["embedding"]["model"] == "fake-numbers"
    assert "gens to collapse" in result.stderr and "power:1" in result.stderr
    assert "runs collapsed" in result.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_format_json_puts_the_report_on_stdout(small_table, fake_embedder):
    result = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, "--format", "json", "--quiet",
                                      "--representations", "raw"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "tecurate-simulate" and report["embedding"] is None
    assert "gens to collapse" not in result.stderr


def test_fail_if_collapse_before_exits_1(small_table, tmp_path, fake_embedder):
    fake_embedder(ConstantEmbedder)  # every te model predicts the majority class from generation 0
    out = tmp_path / "sim.json"
    result = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, "--fail-if-collapse-before", "2",
                                      "--output", str(out)])
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())
    assert report["exit_code"] == 1 and report["collapse_check"]["failed"]
    assert {r["representation"] for r in report["collapse_check"]["runs"]} == {"te"}
    assert "FAIL" in result.stderr
    passing = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, "--representations", "raw",
                                       "--fail-if-collapse-before", "2"])
    assert passing.exit_code == 0, passing.output
    assert "PASS" in passing.stderr


@pytest.mark.parametrize("extra, message", [
    (["--filter", "confidence:2"], "--filter confidence:2"),
    (["--schedule", "exp"], "--schedule exp"),
    (["--real-fraction", "0.5,abc"], "--real-fraction abc"),
    (["--mode", "mix"], "--mode"),
    (["--target", "nope"], "unknown target column 'nope'"),
    (["--n0", "100", "--max-rows-per-generation", "50"], "--max-rows-per-generation"),
])
def test_bad_input_exits_2_with_one_line(small_table, tmp_path, fake_embedder, extra, message):
    out = tmp_path / "sim.json"
    result = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, *extra, "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_file_and_folder_output_exit_2(small_table, tmp_path, fake_embedder):
    missing = CliRunner().invoke(app, ["simulate", str(tmp_path / "none.csv"), *SMALL])
    assert missing.exit_code == 2 and "none.csv" in missing.stderr
    folder = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL, "--output", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.stderr


def test_internal_error_exits_3(small_table, fake_embedder, monkeypatch):
    import tecurate.simulate

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tecurate.simulate, "simulate", broken)
    result = CliRunner().invoke(app, ["simulate", str(small_table), *SMALL])
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.stderr


def test_schema_simulate_prints_the_shipped_schema():
    result = CliRunner().invoke(app, ["schema", "--simulate"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == schema()
    assert json.loads(CliRunner().invoke(app, ["schema"]).stdout)["title"] != schema()["title"]


@pytest.mark.slow
def test_real_model_end_to_end(tmp_path):
    """The packaged all-MiniLM-L6-v2 on 300 credit_data rows, 3 generations, both routes."""
    out = tmp_path / "sim.json"
    result = CliRunner().invoke(app, [
        "simulate", str(EXAMPLE), "--target", "Status", "--shift-col", "Home", "--min-domain-rows", "30",
        "--max-rows", "300", "--generations", "3", "--n0", "150", "--families", "logreg",
        "--real-fraction", "0,0.5", "--schedule", "constant", "--cache-dir", str(tmp_path / "cache"),
        "--output", str(out), "--html", str(tmp_path / "sim.html")])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["embedding"]["dim"] == 384 and report["embedding"]["n_texts"] == report["input"]["n_rows_used"]
    assert {r["representation"] for r in report["trajectories"]} == {"raw", "te"}
    assert all(len(r["generations"]) == 4 for r in report["trajectories"])
    raw_zero = next(r for r in report["trajectories"] if r["representation"] == "raw")["generations"][0]
    assert raw_zero["splits"]["id_test"]["accuracy"] > 0.6
