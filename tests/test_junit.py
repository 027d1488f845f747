"""JUnit XML: one test case per gate (or compare check), failures where gates fail, always parseable."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest
from fake_reports import audit_report

from tecurate.reporting import audit_junit, compare_junit, compare_reports


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return audit_report(tmp_path_factory.mktemp("junit"))


def _with_gates(report, *statuses):
    changed = copy.deepcopy(report)
    for gate, status in zip(changed["verdict"]["gates"], statuses):
        gate["status"] = status
    return changed


def _cases(xml_text: str) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(xml_text.encode("utf-8"))
    suite = root.find("testsuite")
    return root, {case.get("name"): case for case in suite.iter("testcase")}


def test_one_case_per_gate_and_failures_where_gates_fail(report):
    gates = _with_gates(report, "fail", "warn", "pass", "fail")
    root, cases = _cases(audit_junit(gates))
    names = [g["gate"] for g in gates["verdict"]["gates"]]
    assert list(cases) == names
    assert root.tag == "testsuites" and root.get("tests") == str(len(names)) and root.get("failures") == "2"
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == (str(len(names)), "2", "0")
    for gate in gates["verdict"]["gates"]:
        case = cases[gate["gate"]]
        failure = case.find("failure")
        assert (failure is not None) == (gate["status"] == "fail")
        if failure is not None:
            assert failure.get("message") == gate["message"]
        out = case.find("system-out").text
        assert gate["message"] in out
        assert out.startswith({"pass": "PASS", "warn": "WARNING", "fail": "FAIL"}[gate["status"]])
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["sha256"] == report["input"]["sha256"]


def test_awkward_text_is_escaped_and_control_characters_dropped(report):
    awkward = copy.deepcopy(report)
    awkward["verdict"]["gates"][0]["message"] = 'split "ood:<a&b>" \x00\x1b]0;x\x07 collapsed'
    awkward["input"]["path"] = "dir/<x>&'y'.csv"
    root, cases = _cases(audit_junit(awkward))
    first = next(iter(cases.values()))
    assert 'split "ood:<a&b>" ]0;x collapsed' in first.find("system-out").text
    assert root.find("testsuite").get("name") == "tecurate audit dir/<x>&'y'.csv"


def test_a_comparison_is_one_case_per_check(report):
    worse = copy.deepcopy(report)
    split = next(iter(worse["summary"]["representations"]["te"]))
    worse["summary"]["paired"][split].update(excess_collapse_rate=0.5, n_te_only=12, n_raw_only=0, n_pairs=24)
    comparison = compare_reports(report, worse)
    root, cases = _cases(compare_junit(comparison))
    assert len(cases) == len(comparison.checks)
    assert root.get("failures") == str(len(comparison.regressions)) == "1"
    assert cases[f"te_collapse_rate [{split}]"].find("failure") is not None
