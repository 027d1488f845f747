"""Every CLI behaviour and exit code, through typer's CliRunner (fake embedder; see test_e2e.py
for runs with the real model)."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from conftest import ConstantEmbedder, NumbersEmbedder, make_frame
from typer.testing import CliRunner

from tecurate.cli import app, main
from tecurate.reporting import schema

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
    assert report["schema_version"] == "2.0"
    assert {m["representation"] for m in report["models"]} == {"raw", "te"}
    assert set(report["models"][0]["splits"]) == {"id_test", "ood:B", "ood:C"}
    assert result.stderr.count("\n") == 1 and "tecurate:" in result.stderr


def test_collapsed_embeddings_fail_the_gate_with_exit_1(table, tmp_path, fake_embedder):
    fake_embedder(ConstantEmbedder)
    out = tmp_path / "report.json"
    result = run("audit", str(table), "--target", "label", *FAST, "--n-configs", "8", "--output", str(out))
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
    run("audit", str(table), "--target", "label", *FAST, "--n-configs", "8", "--output", str(out), "-q")
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


def test_unlabelled_ood_file_audits_and_renders(tmp_path, fake_embedder):
    frame = make_frame(800)
    main, ood, out = tmp_path / "main.csv", tmp_path / "ood.csv", tmp_path / "r.json"
    frame[frame.region == "A"].to_csv(main, index=False)
    frame[frame.region != "A"].drop(columns=["label", "region"]).to_csv(ood, index=False)
    result = run("audit", str(main), "--target", "label", "--drop-cols", "region", "--ood", str(ood),
                 "--no-cache", "--n-jobs", "1", "--families", "logreg", "--n-configs", "3",
                 "--max-te-only-collapse-rate", "1", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["agreement"]["te"]["ood"]["mae_pp"] is None
    assert "unlabelled" in result.stderr
    assert run("report", str(out)).exit_code == 0


def test_repeats_report_stability_and_render(table, tmp_path, fake_embedder):
    out = tmp_path / "r.json"
    result = run("audit", str(table), "--target", "label", *FAST, "--repeats", "2",
                 "--max-te-only-collapse-rate", "1", "--output", str(out))
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["stability"]["seeds"] == [0, 1]
    assert report["verdict"]["gates"][-1]["gate"] == "stability"
    assert run("audit", str(table), "--target", "label", *FAST, "--repeats", "0").exit_code == 2


def test_audit_writes_html_and_junit_and_report_renders_the_same_page(table, tmp_path, fake_embedder):
    out, page, junit = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "junit.xml"
    result = run("audit", str(table), "--target", "label", *FAST, "--max-te-only-collapse-rate", "1",
                 "--output", str(out), "--html", str(page), "--junit", str(junit))
    assert result.exit_code == 0, result.stderr
    assert f"HTML report written to {page}" in result.stderr and f"JUnit XML written to {junit}" in result.stderr
    report = json.loads(out.read_text())
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    cases = ET.parse(junit).getroot().find("testsuite").findall("testcase")
    assert [c.get("name") for c in cases] == [g["gate"] for g in report["verdict"]["gates"]]

    again, junit_again = tmp_path / "again.html", tmp_path / "again.xml"
    rendered = run("report", str(out), "--html", str(again), "--junit", str(junit_again), "-q")
    assert rendered.exit_code == 0 and rendered.stderr.count("\n") == 1
    assert again.read_bytes() == page.read_bytes()
    assert junit_again.read_bytes() == junit.read_bytes()


def test_a_folder_as_html_or_junit_path_exits_2_before_any_work(table, tmp_path, fake_embedder):
    for flag in ("--html", "--junit"):
        result = run("audit", str(table), "--target", "label", *FAST, flag, str(tmp_path))
        assert result.exit_code == 2 and f"{flag} {tmp_path} is a folder" in result.stderr


def test_report_refuses_another_schema_version(table, tmp_path, fake_embedder):
    out = tmp_path / "r.json"
    run("audit", str(table), "--target", "label", *FAST, "--output", str(out), "-q")
    report = json.loads(out.read_text())
    out.write_text(json.dumps(dict(report, schema_version="0.1")))
    result = run("report", str(out))
    assert result.exit_code == 2 and "schema version 0.1" in result.stderr
    out.write_text(json.dumps({"schema_version": "1.0", "verdict": {}}))
    assert run("report", str(out)).exit_code == 2


def test_no_color_means_no_ansi_codes_even_on_a_terminal(table, tmp_path, fake_embedder):
    out = tmp_path / "r.json"
    run("audit", str(table), "--target", "label", *FAST, "--output", str(out), "-q")
    coloured = runner.invoke(app, ["report", str(out)], env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert "\x1b[" in coloured.stderr
    plain = runner.invoke(app, ["report", str(out)], env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b" not in plain.stderr and "Collapse and accuracy per split" in plain.stderr


@pytest.mark.parametrize("suffix, write, flag", [
    (".parquet", lambda frame, path: frame.to_parquet(path, index=False), None),
    (".jsonl", lambda frame, path: frame.to_json(path, orient="records", lines=True), None),
    (".txt", lambda frame, path: frame.to_json(path, orient="records", lines=True), "jsonl"),
])
def test_parquet_and_jsonl_inputs(tmp_path, fake_embedder, suffix, write, flag):
    path = tmp_path / f"table{suffix}"
    write(make_frame(), path)
    extra = ["--input-format", flag] if flag else []
    result = run("audit", str(path), "--target", "label", *FAST, *extra, "--format", "json", "-q",
                 "--max-te-only-collapse-rate", "1")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input"]["format"] == (flag or suffix[1:])
    assert report["input"]["n_rows"] == 600 and len(report["models"]) == 4


@pytest.fixture
def two_reports(table, tmp_path, fake_embedder):
    """A healthy report and one where every te model collapses (constant embeddings).

    One te-only collapse of the two configurations is allowed, so the healthy report does not hang
    on which of its few test rows the split drew."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    run("audit", str(table), "--target", "label", *FAST, "--n-configs", "16", "--max-collapse-rate", "1",
        "--max-te-only-collapse-rate", "1", "--output", str(good), "-q")
    fake_embedder(ConstantEmbedder)
    run("audit", str(table), "--target", "label", *FAST, "--n-configs", "16", "--output", str(bad), "-q")
    return good, bad


def test_compare_exits_0_without_regression_and_1_with_one(two_reports, tmp_path):
    good, bad = two_reports
    same = run("compare", str(good), str(good))
    assert same.exit_code == 0 and "OK" in same.stderr and same.stdout == ""
    worse = run("compare", str(good), str(bad), "--junit", str(tmp_path / "c.xml"))
    assert worse.exit_code == 1, worse.stderr
    assert "REGRESSION" in worse.stderr and "te_collapse_rate" in worse.stderr
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    assert int(suite.get("failures")) >= 1
    assert run("compare", str(bad), str(good)).exit_code == 0
    assert run("compare", str(good), str(bad), "--max-regression", "1").exit_code == 1  # the verdict worsened


def test_compare_json_and_quiet(two_reports):
    good, bad = two_reports
    result = run("compare", str(good), str(bad), "--format", "json", "--quiet")
    comparison = json.loads(result.stdout)
    assert result.exit_code == comparison["exit_code"] == 1 and comparison["status"] == "fail"
    assert {c["name"] for c in comparison["checks"] if c["status"] == "fail"} >= {"te_collapse_rate"}
    assert result.stderr.startswith("tecurate compare: REGRESSION") and result.stderr.count("\n") == 1


def test_compare_bad_input_exits_2(two_reports, tmp_path):
    good, _ = two_reports
    junk, other = tmp_path / "junk.json", tmp_path / "other.json"
    junk.write_text("{not json")
    other.write_text(json.dumps(dict(json.loads(good.read_text()), schema_version="9.9")))
    for args in ([str(good), str(tmp_path / "missing.json")], [str(junk), str(good)],
                 [str(good), str(other)], [str(good), str(good), "--max-regression", "2"],
                 [str(good), str(good), "--format", "xml"], [str(good)]):
        result = run("compare", *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_compare_internal_error_exits_3(two_reports, monkeypatch):
    good, _ = two_reports

    def boom(*args, **kwargs):
        raise RuntimeError("comparator on fire")

    monkeypatch.setattr("tecurate.reporting.compare_reports", boom)
    result = run("compare", str(good), str(good))
    assert result.exit_code == 3 and "internal error: RuntimeError: comparator on fire" in result.stderr


# --- tecurate embed ---------------------------------------------------------------------------

def test_embed_writes_one_float32_row_per_input_row_in_file_order(table, tmp_path, fake_embedder):
    frame = pd.read_csv(table)
    frame.loc[3, "label"] = None  # rows without a target are embedded too: the matrix matches the file
    frame.to_csv(table, index=False)
    before = digest(table)
    out = tmp_path / "vectors.npy"
    result = run("embed", str(table), "--target", "label", "--shift-col", "region", "--no-cache",
                 "--output", str(out))
    assert result.exit_code == 0, result.stderr
    matrix = np.load(out, allow_pickle=False)
    assert matrix.dtype == np.float32 and matrix.shape == (len(frame), NumbersEmbedder.dim)
    texts = run("serialize", str(table), "--target", "label", "--shift-col", "region",
                "--limit", str(len(frame))).stdout.splitlines()
    np.testing.assert_array_equal(matrix, NumbersEmbedder().encode(texts, 1))
    assert f"embedded {len(frame)} rows" in result.stderr and str(out) in result.stderr
    assert result.stdout == "" and digest(table) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--output", "vectors.csv"], "must end in .npy"),
    (["--output", "vectors.npy", "--target", "nope"], "nope"),
    (["--output", "vectors.npy", "--shift-col", "nope"], "nope"),
    (["--output", "folder.npy"], "is a folder"),
    (["--output", "vectors.npy", "--precision", "fp16"], "precision"),
])
def test_embed_bad_input_is_one_line_exit_2_and_no_file(table, tmp_path, fake_embedder, monkeypatch,
                                                        args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.npy").mkdir()
    base = ["--target", "label"] if "--target" not in args else []
    result = run("embed", str(table), *base, *args, "--no-cache")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "vectors.npy").exists() and not (tmp_path / "vectors.csv").exists()
