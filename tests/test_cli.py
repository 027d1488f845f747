"""Every CLI behaviour and exit code, through typer's CliRunner (fake embedder; see test_e2e.py
for runs with the real model)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import ConstantEmbedder, NumbersEmbedder, make_frame
from tecurate.cli import app, main
from tecurate.report import schema

runner = CliRunner()
FAST = ["--shift-col", "region", "--min-domain-rows", "100", "--no-cache", "--n-jobs", "1",
        "--families", "logreg", "--n-configs", "2"]


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_audit_passes_with_exit_0_and_writes_a_valid_report(table, tmp_path, fake_embedder):
    out = tmp_path / "report.json"
    before = digest(table)
    result = run("audit", str(table), "--target", "label", *FAST, "--max-te-only-collapse-rate", "1",
                 "--output", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["verdict"]["status"] in ("pass", "warn")
    assert report["verdict"]["exit_code"] == 0
    assert "report written to" in result.stderr
    assert result.stdout == ""
    assert digest(table) == before


def test_format_json_puts_the_report_on_stdout(table, fake_embedder):
    result = run("audit", str(table), "--target", "label", *FAST, "--format", "json", "--quiet",
                 "--max-te-only-collapse-rate", "1")
    report = json.loads(result.stdout)
    assert report["schema_version"] == "1.0"
    assert {m["representation"] for m in report["models"]} == {"raw", "te"}
    assert set(report["models"][0]["splits"]) == {"id_test", "ood:B", "ood:C"}
    assert result.stderr.count("\n") == 1 and "tecurate:" in result.stderr


def test_collapsed_embeddings_fail_the_gate_with_exit_1(table, tmp_path, fake_embedder):
    fake_embedder(ConstantEmbedder)
    out = tmp_path / "report.json"
    result = run("audit", str(table), "--target", "label", *FAST, "--output", str(out))
    assert result.exit_code == 1
    report = json.loads(out.read_text())
    assert report["verdict"]["status"] == "fail"
    te = report["summary"]["representations"]["te"]
    assert all(split["collapse_rate"] == 1.0 for split in te.values())
    assert any(g["gate"] == "te_collapse_rate" and g["status"] == "fail" for g in report["verdict"]["gates"])


def test_fail_on_warn_turns_a_warning_into_exit_1(table, fake_embedder):
    args = ["audit", str(table), "--target", "label", *FAST, "--max-accuracy-gap", "0",
            "--max-te-only-collapse-rate", "1", "--max-collapse-rate", "1", "--format", "json", "-q"]
    warned = run(*args)
    report = json.loads(warned.stdout)
    assert report["verdict"]["status"] == "warn", report["verdict"]
    assert warned.exit_code == 0
    assert run(*args, "--fail-on", "warn").exit_code == 1


@pytest.mark.parametrize("make_input, extra, message", [
    (lambda p: p / "missing.csv", ["--target", "label"], "not found"),
    (lambda p: (p / "empty.csv").write_text("") or p / "empty.csv", ["--target", "label"], "empty"),
    (None, ["--target", "nope"], "unknown target column 'nope'"),
    (None, ["--target", "label", "--shift-col", "nope"], "unknown shift column 'nope'"),
    (None, ["--target", "label", "--shift-col", "region", "--min-domain-rows", "5000"], "--min-domain-rows"),
    (None, ["--target", "label", "--n-configs", "0"], "--n-configs"),
    (None, ["--target", "label", "--families", "logreg,svm"], "unknown model family svm"),
    (None, ["--target", "label", "--format", "xml"], "--format"),
    (None, ["--target", "label", "--template", "The {nope} is here"], "nope"),
    (None, [], "--target is required"),
])
def test_bad_input_exits_2_with_one_line(table, tmp_path, fake_embedder, make_input, extra, message):
    path = make_input(tmp_path) if make_input else table
    out = tmp_path / "never.json"
    result = run("audit", str(path), *extra, "--output", str(out), "--no-cache")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"x": range(300), "label": ["a"] * 300}), "single class"),
    (pd.DataFrame({"x": range(300), "label": [f"c{i % 60}" for i in range(300)]}), "60 classes"),
    (pd.DataFrame({"x": range(300), "label": np.linspace(0, 1, 300)}), "regression"),
])
def test_unusable_targets_exit_2(tmp_path, fake_embedder, frame, message):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    result = run("audit", str(path), "--target", "label", "--no-cache")
    assert result.exit_code == 2
    assert message in result.stderr


def test_unreadable_encoding_exits_2(tmp_path, fake_embedder):
    path = tmp_path / "latin1.csv"
    path.write_bytes("x,label\ncafé,a\nthé,b\n".encode("latin-1"))
    result = run("audit", str(path), "--target", "label")
    assert result.exit_code == 2
    assert "UTF-8" in result.stderr or "utf-8" in result.stderr


def test_bad_flag_type_exits_2():
    assert run("audit", "x.csv", "--target", "y", "--n-configs", "many").exit_code == 2
    assert run("audit", "x.csv", "--no-such-flag").exit_code == 2


def test_console_entry_prints_usage_errors_on_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "x.csv", "--n-configs", "many"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tecurate: error:") and err.count("\n") == 1


def test_internal_error_exits_3_without_traceback(table, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("tecurate.pipeline.audit", boom)
    result = run("audit", str(table), "--target", "label")
    assert result.exit_code == 3
    assert "internal error: RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.output


def test_stdin_input(table, fake_embedder):
    result = run("audit", "-", "--target", "label", *FAST, "--format", "json", "-q",
                 "--max-te-only-collapse-rate", "1", input=table.read_text())
    assert json.loads(result.stdout)["input"]["path"] == "-"


def test_serialize_previews_texts_without_target_or_shift(table):
    result = run("serialize", str(table), "--target", "label", "--shift-col", "region", "--limit", "3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("The x is ")
    assert all("label" not in line and "region" not in line for line in lines)
    kv = run("serialize", str(table), "--target", "label", "--template", "kv", "-n", "1")
    assert kv.stdout.startswith("x: ")


def test_schema_command_prints_the_shipped_schema():
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == schema()


def test_report_command_renders_a_saved_report(table, tmp_path, fake_embedder):
    fake_embedder(ConstantEmbedder)
    out = tmp_path / "r.json"
    run("audit", str(table), "--target", "label", *FAST, "--output", str(out), "-q")
    rendered = run("report", str(out))
    assert rendered.exit_code == 1
    assert "FAIL" in rendered.stderr and "Collapse and accuracy per split" in rendered.stderr
    assert run("report", str(tmp_path / "none.json")).exit_code == 2
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert run("report", str(tmp_path / "junk.json")).exit_code == 2


def test_config_file_settings_apply_and_flags_win(table, tmp_path, fake_embedder):
    config = tmp_path / "tecurate.toml"
    config.write_text('target = "label"\nshift-col = "region"\nmin-domain-rows = 100\n'
                      'families = ["logreg"]\nn-configs = 3\nuse-cache = false\n')
    result = run("audit", str(table), "--config", str(config), "--n-configs", "2", "--format", "json",
                 "-q", "--max-te-only-collapse-rate", "1")
    report = json.loads(result.stdout)
    assert report["config"]["n_configs"] == 2
    assert report["config"]["shift_col"] == "region"
    assert len(report["models"]) == 4


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("tecurate ")
