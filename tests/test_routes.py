"""The routes of the matched grid (``--representations``): raw, te and raw+te side by side.

Unit tests with the fake embedder around the route registry, the summary, gates, compare and
renderers; one slow test audits a real table with the packaged model on all three routes.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import NumbersEmbedder, make_frame
from typer.testing import CliRunner

from tecurate import AuditConfig, audit
from tecurate.analysis import (
    DEFAULT_REPRESENTATIONS,
    REPRESENTATIONS,
    ROUTES,
    build_features,
    gate_route,
    route_gate_name,
)
from tecurate.cli import app
from tecurate.errors import TecurateError
from tecurate.reporting import AuditReport, audit_junit, compare_reports, render_html, schema
from tecurate.reporting._terminal import summary as terminal_summary
from tecurate.simulate import SimulateConfig

PER_ROUTE_GATES = ("te_collapse_rate", "te_only_collapse", "accuracy_gap", "spurious_aotl")
SETTINGS = dict(target="label", shift_col="region", min_domain_rows=100, n_configs=3, n_bootstrap=200,
                use_cache=False, n_jobs=1)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routes") / "table.csv"
    make_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def default_report(table: Path) -> dict[str, Any]:
    return audit(str(table), AuditConfig(**SETTINGS), embedder=NumbersEmbedder()).to_dict()


@pytest.fixture(scope="module")
def three_routes_report(table: Path) -> AuditReport:
    config = AuditConfig(**SETTINGS, representations=("raw", "te", "raw+te"))
    return audit(str(table), config, embedder=NumbersEmbedder())


@pytest.fixture(scope="module")
def three_routes(three_routes_report: AuditReport) -> dict[str, Any]:
    return three_routes_report.to_dict()


def test_the_registry_names_every_route_once_and_raw_te_by_default():
    assert REPRESENTATIONS == ROUTES.names() == ("raw", "te", "raw+te")
    assert DEFAULT_REPRESENTATIONS == ("raw", "te")
    assert ROUTES["raw+te"].blocks == ("raw", "te")


def test_raw_plus_te_is_both_blocks_side_by_side_unscaled():
    raw = np.arange(12, dtype=np.float32).reshape(4, 3)
    te = np.linspace(-0.1, 0.1, 8, dtype=np.float32).reshape(4, 2)
    features = build_features(("raw+te", "raw"), {"raw": raw, "te": te})
    assert list(features) == ["raw", "raw+te"]  # registry order, not the order asked
    assert features["raw"] is raw
    assert features["raw+te"].shape == (4, 5) and features["raw+te"].dtype == np.float32
    np.testing.assert_array_equal(features["raw+te"][:, :3], raw)
    np.testing.assert_array_equal(features["raw+te"][:, 3:], te)


def test_a_raw_te_audit_reports_the_third_route_everywhere(three_routes):
    report = three_routes
    jsonschema.validate(report, schema())
    assert report["config"]["representations"] == ["raw", "te", "raw+te"]
    by_route: dict[str, set[tuple[str, str]]] = {}
    for m in report["models"]:
        by_route.setdefault(m["representation"], set()).add((m["family"], m["config_id"]))
    assert list(by_route) == ["raw", "te", "raw+te"]
    assert by_route["raw"] == by_route["te"] == by_route["raw+te"]  # the same matched grid
    splits = ["id_test", "ood:B", "ood:C"]
    assert list(report["summary"]["representations"]) == ["raw", "te", "raw+te"]
    assert list(report["summary"]["paired_routes"]) == ["raw+te"]
    paired = report["summary"]["paired_routes"]["raw+te"]
    assert list(paired) == splits
    assert all(p["n_pairs"] == len(by_route["raw"]) for p in paired.values())
    assert set(report["aotl"]["raw+te"]) == {"ood:B", "ood:C"}
    names = [g["gate"] for g in report["verdict"]["gates"]]
    for gate in PER_ROUTE_GATES:
        assert names.index(f"{gate}[raw+te]") == names.index(gate) + 1
    gap = next(g for g in report["verdict"]["gates"] if g["gate"] == "accuracy_gap[raw+te]")
    assert gap["value"] == pytest.approx(paired["id_test"]["median_accuracy_gap"])
    assert "raw - raw+te" in gap["message"]


def test_the_raw_plus_te_figures_are_computed_from_its_own_models(three_routes):
    report = three_routes
    models = {(m["config_id"], m["representation"]): m for m in report["models"]}
    raw = [models[(c, "raw")]["splits"]["id_test"] for c, r in models if r == "raw"]
    both = [models[(c, "raw+te")]["splits"]["id_test"] for c, r in models if r == "raw"]
    gaps = [r["accuracy"] - b["accuracy"] for r, b in zip(raw, both, strict=True)]
    only = sum(b["collapsed"] and not r["collapsed"] for r, b in zip(raw, both, strict=True))
    paired = report["summary"]["paired_routes"]["raw+te"]["id_test"]
    assert paired["median_accuracy_gap"] == pytest.approx(float(np.median(gaps)))
    assert paired["n_te_only"] == only
    rates = [b["collapsed"] for b in both]
    assert report["summary"]["representations"]["raw+te"]["id_test"]["collapse_rate"] == pytest.approx(np.mean(rates))


def test_adding_raw_plus_te_leaves_the_raw_and_te_results_unchanged(default_report, three_routes):
    def strip(report: dict[str, Any]) -> dict[str, Any]:
        return {"models": [{k: v for k, v in m.items() if k not in ("fit_seconds", "cached")}
                           for m in report["models"] if m["representation"] != "raw+te"],
                "summary": {k: v for k, v in report["summary"]["representations"].items() if k != "raw+te"},
                "paired": report["summary"]["paired"],
                "aotl": {k: v for k, v in report["aotl"].items() if k != "raw+te"},
                "gates": [g for g in report["verdict"]["gates"] if "[" not in g["gate"]]}

    assert strip(three_routes) == strip(default_report)
    assert "paired_routes" not in default_report["summary"]


def test_the_summary_pairs_each_route_with_raw(three_routes_report):
    summary = three_routes_report.summary
    assert summary.paired_with("te") is summary.paired
    assert summary.paired_with("raw+te") is summary.paired_routes["raw+te"]
    assert summary.paired_with("nothing") == {}


def test_without_te_only_the_raw_plus_te_gates_run(table):
    config = AuditConfig(**SETTINGS, representations=("raw", "raw+te"))
    report = audit(str(table), config, embedder=NumbersEmbedder()).to_dict()
    assert {m["representation"] for m in report["models"]} == {"raw", "raw+te"}
    assert report["summary"]["paired"] == {}
    names = [g["gate"] for g in report["verdict"]["gates"]]
    assert names == [*(f"{gate}[raw+te]" for gate in PER_ROUTE_GATES), "truncation"]


@pytest.mark.parametrize("value, message", [
    ("te", "--representations must include raw"),
    ("te,raw+te", "--representations must include raw"),
    ("raw", "needs a route besides raw"),
    ("raw,text", "unknown representation text"),
    ("raw,te,te", "lists a representation twice"),
])
def test_bad_representations_exit_2_before_any_work(table, tmp_path, fake_embedder, value, message):
    out = tmp_path / "never.json"
    result = CliRunner().invoke(app, ["audit", str(table), "--target", "label", "--representations", value,
                                      "--no-cache", "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    assert not out.exists()
    with pytest.raises(TecurateError, match=message.replace("--representations", ".*")):
        audit(str(table), target="label", representations=value, embedder=NumbersEmbedder())


def test_simulate_takes_raw_and_te_only():
    assert SimulateConfig().representations == ("raw", "te")
    assert SimulateConfig(representations="te").representations == ("te",)
    with pytest.raises(TecurateError, match="raw\\+te is an audit route"):
        SimulateConfig(representations="raw,raw+te")


def test_compare_checks_each_route_under_its_own_name(three_routes, default_report):
    same = compare_reports(three_routes, three_routes)
    names = {check.name for check in same.checks}
    assert {"te_collapse_rate[raw+te]", "te_only_collapse_rate[raw+te]", "accuracy_gap[raw+te]"} <= names
    assert same.status == "pass"

    worse = copy.deepcopy(three_routes)
    for entry in worse["summary"]["paired_routes"]["raw+te"].values():
        entry["n_te_only"], entry["te_only_collapse_rate"] = entry["n_pairs"], 1.0
        entry["n_raw_only"], entry["raw_only_collapse_rate"] = 0, 0.0
        entry["excess_collapse_rate"] = 1.0
    comparison = compare_reports(three_routes, worse)
    failed = {check.name for check in comparison.regressions}
    assert failed == {"te_only_collapse_rate[raw+te]", "te_collapse_rate[raw+te]"}
    assert any("raw+te-only collapse rate" in check.message for check in comparison.regressions)

    mixed = compare_reports(default_report, three_routes)
    assert "route raw+te is only in the new report" in mixed.notes
    assert not any("[" in check.name for check in mixed.checks)


def test_junit_html_and_terminal_show_the_third_route(three_routes, default_report):
    cases = [case.get("name") for case in ET.fromstring(audit_junit(three_routes)).iter("testcase")]
    assert cases == [g["gate"] for g in three_routes["verdict"]["gates"]]
    assert "te_only_collapse[raw+te]" in cases

    page = render_html(three_routes)
    assert "raw+te against raw" in page and "raw features + text embeddings" in page
    default_page = render_html(default_report)
    assert "raw+te" not in default_page and "raw features + text embeddings" not in default_page

    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(terminal_summary(three_routes))
    text = console.export_text()
    assert "Collapse and accuracy per split, raw+te against raw" in text
    assert "te_only_collapse[raw+te]" in text


@pytest.mark.slow
def test_real_model_audit_of_a_real_table_on_three_routes(tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["audit", str(EXAMPLE), "--target", "Status", "--shift-col", "Home",
                                      "--min-domain-rows", "60", "--max-rows", "500", "--n-configs", "3",
                                      "--representations", "raw,te,raw+te", "--no-cache", "--output", str(out)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    assert report["embedding"]["dim"] == 384
    assert {m["representation"] for m in report["models"]} == {"raw", "te", "raw+te"}
    paired = report["summary"]["paired_routes"]["raw+te"]
    assert set(paired) == set(report["summary"]["paired"])
    ood = [split for split in paired if split != "id_test"]
    assert ood and set(report["aotl"]["raw+te"]) == set(ood)
    for split in ood:
        assert report["aotl"]["raw+te"][split]["all"]["n"] == report["aotl"]["raw"][split]["all"]["n"]
    gates = {g["gate"]: g for g in report["verdict"]["gates"]}
    assert {f"{gate}[raw+te]" for gate in PER_ROUTE_GATES} <= set(gates)
    assert gates["accuracy_gap[raw+te]"]["value"] == pytest.approx(paired["id_test"]["median_accuracy_gap"])
    # raw+te is a matrix of its own, not a copy of either route: some configuration scores
    # differently on it than on raw and than on te.
    acc = {(m["config_id"], m["representation"]): m["splits"]["id_test"]["accuracy"] for m in report["models"]}
    configs = {c for c, _ in acc}
    assert any(acc[(c, "raw+te")] != acc[(c, "raw")] for c in configs)
    assert any(acc[(c, "raw+te")] != acc[(c, "te")] for c in configs)


@pytest.mark.parametrize("route", ["te", "raw+te"])
def test_gate_route_undoes_route_gate_name(route):
    assert gate_route(route_gate_name("te_only_collapse", route)) == ("te_only_collapse", route)
