"""Gates: the registry, the thresholds each gate owns, the verdict, and a gate plugged in at run time."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from types import SimpleNamespace

import pytest
from conftest import ConstantEmbedder, make_frame
from fake_reports import audit_report

import tecurate.analysis as analysis
from tecurate import AuditConfig, audit
from tecurate.analysis import (
    GATES,
    SPLIT,
    GateContext,
    GateResult,
    PairedSummary,
    Rise,
    SplitSummary,
    Summary,
    decide,
)
from tecurate.config import AUDIT_SETTINGS, BY_NAME, settings_for
from tecurate.reporting import compare_reports, regression_limits

CONFIG = AuditConfig(target="y")


def test_the_public_api_is_exactly_all():
    expected = {
        "GATES", "REASONS", "REPRESENTATIONS", "SPURIOUS_SETTINGS", "SPLIT", "STABILITY_GATE", "AotlFit", "Flag", "Gate",
        "GateContext", "GateResult", "GridRun", "LineFit", "ModelResult", "PairedSummary",
        "PredictionMetrics", "Rise", "SplitMetrics", "SplitSummary", "SpuriousThresholds", "Summary",
        "Verdict", "Watch", "accuracy", "aline_estimates", "assess_line", "assess_stability",
        "balanced_accuracy", "base_rate", "class_shares", "decide", "fit_agreement", "fit_aotl", "fit_line",
        "is_collapsed", "is_labelled", "lift", "macro_f1", "majority_class_rate", "median_seed",
        "n_predicted_classes", "pairwise_agreement", "prediction_entropy", "prediction_shift_tv", "probit",
        "split_metrics", "summarize",
        "Analysis", "analyze",
    }
    assert set(analysis.__all__) == expected
    assert all(hasattr(analysis, name) for name in analysis.__all__)


def test_gates_are_registered_in_report_order():
    assert GATES.names() == ("te_collapse_rate", "te_only_collapse", "accuracy_gap", "spurious_aotl")
    assert all(gate.name == name and gate.description for name, gate in GATES.items())


def test_each_gate_owns_its_thresholds_and_they_are_audit_settings():
    owned = {gate.name: [s.name for s in gate.settings] for gate in GATES.values()}
    assert owned == {"te_collapse_rate": ["max_collapse_rate", "max_collapse_regression"],
                     "te_only_collapse": ["max_te_only_collapse_rate", "max_te_only_regression"],
                     "accuracy_gap": ["max_accuracy_gap", "max_gap_regression"],
                     "spurious_aotl": []}
    thresholds = (CONFIG.max_collapse_rate, CONFIG.max_te_only_collapse_rate, CONFIG.max_accuracy_gap)
    assert thresholds == (0.5, 0.2, 0.1)
    audit_names = {s.name for s in AUDIT_SETTINGS}
    assert {"max_collapse_rate", "max_te_only_collapse_rate", "max_accuracy_gap"} <= audit_names
    compare_names = [s.name for s in settings_for("compare")]
    assert compare_names == ["max_regression", "max_collapse_regression", "max_te_only_regression",
                             "max_gap_regression"]
    assert not audit_names & set(compare_names)
    assert BY_NAME["max_gap_regression"].cli_flag == "--max-gap-regression"


def _summary(collapse: dict[str, float], te_only: dict[str, float], gap: float | None) -> Summary:
    def split(rate: float) -> SplitSummary:
        return SplitSummary(10, round(rate * 10), rate, 0.5, 0.5, 0.6, 0.6, {})

    paired = {s: PairedSummary(10, rate, 0.0, gap if s == "id_test" else None) for s, rate in te_only.items()}
    return Summary({"te": {s: split(rate) for s, rate in collapse.items()}}, paired)


def _lines(te: bool, raw: bool) -> dict:
    return {"te": {"ood": SimpleNamespace(spurious=te)}, "raw": {"ood": SimpleNamespace(spurious=raw)}}


def _statuses(summary: Summary, aotl: dict, config: AuditConfig = CONFIG) -> dict[str, str]:
    return {r.gate: r.status for r in decide(summary, aotl, config, []).gates}


def test_gate_outcomes_and_the_worst_status_wins():
    healthy = _summary({"id_test": 0.1, "ood": 0.2}, {"id_test": 0.0, "ood": 0.0}, 0.01)
    verdict = decide(healthy, _lines(False, False), CONFIG, [])
    assert verdict.status == "pass" and verdict.exit_code == 0 and verdict.reasons == ()
    assert verdict.gates[0].message == "20% of te models collapse on ood (limit 50%)"

    sick = _summary({"id_test": 0.1, "ood": 0.6}, {"id_test": 0.1, "ood": 0.3}, 0.2)
    assert _statuses(sick, _lines(True, False)) == {"te_collapse_rate": "fail", "te_only_collapse": "fail",
                                                     "accuracy_gap": "warn", "spurious_aotl": "fail"}
    assert _statuses(sick, _lines(True, True))["spurious_aotl"] == "warn"
    mild = _summary({"id_test": 0.1}, {"id_test": 0.1}, 0.0)
    verdict = decide(mild, {}, CONFIG, [])
    assert verdict.status == "warn" and verdict.exit_code == 0
    assert verdict.reasons == ("te_only_collapse: te-only collapse in 10% of matched pairs on id_test "
                               "(limit 20%)",)
    assert decide(mild, {}, replace(CONFIG, fail_on="warn"), []).exit_code == 1
    assert _statuses(mild, {}, replace(CONFIG, max_te_only_collapse_rate=0.05))["te_only_collapse"] == "fail"


@dataclass(frozen=True)
class OneClassTe:
    """A plug-in: warn when an embedding model predicts a single class on id_test."""

    name: str = "one_class_te"
    description: str = "Embedding models that predict one class on id_test."
    settings: tuple = ()
    watches: tuple = ()

    def evaluate(self, ctx: GateContext) -> GateResult:
        single = [m for m in ctx.models
                  if m.representation == "te" and m.splits["id_test"].n_predicted_classes == 1]
        status = "warn" if single else "pass"
        return GateResult(self.name, status, f"{len(single)} te models predict one class", float(len(single)))


@pytest.fixture
def one_class_gate():
    GATES.register(OneClassTe.name, OneClassTe())
    yield
    GATES.unregister(OneClassTe.name)


def test_a_gate_registered_at_run_time_joins_the_audit_verdict(one_class_gate, tmp_path):
    path = tmp_path / "t.csv"
    make_frame().to_csv(path, index=False)
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, n_configs=2, n_jobs=1,
                         families=("logreg",), n_bootstrap=50, use_cache=False)
    report = audit(str(path), config, embedder=ConstantEmbedder())
    gate = report.verdict.gates[-1]
    assert gate.gate == "one_class_te" and gate.status == "warn" and gate.value == 2.0
    assert "one_class_te: 2 te models predict one class" in report.verdict.reasons
    assert [g.gate for g in report.verdict.gates[:-1]] == list(GATES.names()[:-1])


def test_compare_checks_what_the_gates_watch(tmp_path):
    report = audit_report(tmp_path)
    rise = Rise("te_mean_entropy", "te mean entropy", ("summary", "representations", "te", SPLIT,
                                                        "mean_entropy"), "mean_entropy",
                BY_NAME["max_collapse_regression"])
    GATES.register("entropy", SimpleNamespace(name="entropy", watches=(rise,)))
    try:
        new = copy.deepcopy(report)
        new["summary"]["representations"]["te"]["id_test"]["mean_entropy"] += 0.5
        comparison = compare_reports(report, new)
        assert [(c.name, c.scope) for c in comparison.regressions] == [("te_mean_entropy", "id_test")]
        assert comparison.thresholds["mean_entropy"] == 0.05
        assert regression_limits({"max_regression": 0.6})["mean_entropy"] == 0.6
        assert not compare_reports(report, new, {"max_regression": 0.6}).regressions
    finally:
        GATES.unregister("entropy")
    assert "mean_entropy" not in compare_reports(report, new).thresholds
