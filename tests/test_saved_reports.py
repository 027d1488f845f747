"""``report`` and ``compare`` read only what the shipped schema allows: crafted JSON is exit 2 with
the first violation, never a crash; the exit code comes from the verdict's status, not the file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from fake_reports import audit_report
from typer.testing import CliRunner

from tecurate.cli import app
from tecurate.errors import TecurateError
from tecurate.reporting import SCHEMA_VERSION, read_report, verdict_exit_code

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    return audit_report(tmp_path_factory.mktemp("saved"))


def _write(tmp_path: Path, data, name: str = "crafted.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _crafted(saved: dict, change) -> dict:
    data = copy.deepcopy(saved)
    change(data)
    return data


def _nan_rate(data: dict) -> None:
    data["summary"]["representations"]["te"]["id_test"]["collapse_rate"] = float("nan")


CASES = {
    "bad status": (lambda d: d["verdict"].update(status="ok"), "verdict.status: 'ok' is not one of"),
    "missing key": (lambda d: d.pop("verdict"), "'verdict' is a required property"),
    "wrong type": (lambda d: d["input"].update(n_rows="600"), "input.n_rows: '600' is not of type 'integer'"),
    "wrong type of list": (lambda d: d.update(models={}), "models: {} is not of type 'array'"),
    "rate out of range": (lambda d: d["summary"]["representations"]["te"]["id_test"].update(collapse_rate=7),
                          "collapse_rate: 7 is greater than the maximum of 1"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_report_that_breaks_the_schema_names_the_first_violation(saved, tmp_path, case):
    change, message = CASES[case]
    path = _write(tmp_path, _crafted(saved, change))
    with pytest.raises(TecurateError, match="is not a tecurate report") as caught:
        read_report(path)
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ('{"schema_version": "1.0", "x": NaN}', "NaN is not a number JSON allows"),
    ('{"schema_version": "1.0", "x": -Infinity}', "-Infinity is not a number JSON allows"),
    ('{"schema_version": "1.0", "x": 1e999}', "too large"),
    ('{"schema_version": "1.0", "x": ' + "9" * 5000 + "}", "too large"),
    ('{"schema_version": "1.0", "x": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested more than"),
    ('{"schema_version": "' + SCHEMA_VERSION + '", "x": ' + "[" * 200 + "]" * 200 + "}", "nested more than"),
    ('[1, 2]', "not an object"),
    ('{"schema_version": "1.0"', "Expecting"),
])
def test_crafted_json_is_exit_2_with_one_line(saved, tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(TecurateError, match="is not a tecurate report") as caught:
        read_report(path)
    assert message in str(caught.value)
    for args in (["report", str(path)], ["compare", str(path), str(path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "not a tecurate report" in result.stderr


def test_huge_ints_and_nan_inside_a_real_report_are_refused(saved, tmp_path):
    text = json.dumps(_crafted(saved, lambda d: d["input"].update(n_rows=10**30)))
    with pytest.raises(TecurateError, match="too large"):
        read_report(_write(tmp_path, text))
    with pytest.raises(TecurateError, match="NaN"):
        read_report(_write(tmp_path, json.dumps(_crafted(saved, _nan_rate))))


def test_compare_does_not_take_a_nan_rate_for_no_regression(saved, tmp_path):
    good = _write(tmp_path, saved, "good.json")
    nan = _write(tmp_path, json.dumps(_crafted(saved, _nan_rate)), "nan.json")
    result = runner.invoke(app, ["compare", str(good), str(nan)])
    assert result.exit_code == 2 and "NaN" in result.stderr, result.stderr


@pytest.mark.parametrize(("status", "fail_on", "code"), [
    ("fail", "fail", 1), ("warn", "fail", 0), ("warn", "warn", 1), ("pass", "warn", 0)])
def test_report_exits_by_the_verdict_status_and_fail_on_not_the_files_exit_code(saved, tmp_path, status, fail_on,
                                                                                 code):
    def lie(data: dict) -> None:
        data["verdict"].update(status=status, exit_code=1 - code)
        data["config"]["fail_on"] = fail_on

    data = _crafted(saved, lie)
    assert verdict_exit_code(data) == code
    result = runner.invoke(app, ["report", str(_write(tmp_path, data)), "-q"])
    assert result.exit_code == code, result.stderr


def test_a_real_report_reads_back_unchanged(saved, tmp_path):
    assert read_report(_write(tmp_path, saved)) == saved
