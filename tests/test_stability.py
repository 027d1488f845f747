"""--repeats: the spread of headline figures over seeds and a verdict that admits instability."""

from __future__ import annotations

import io
from dataclasses import replace

import jsonschema
import pytest
from conftest import NumbersEmbedder

import tecurate.analysis._stability as stability
from tecurate import AuditConfig, TecurateError, audit
from tecurate.analysis import STABILITY_GATE, GateResult, Verdict, assess_stability, median_seed
from tecurate.reporting import schema

FAST = dict(families=("logreg", "xgboost"), n_configs=2, n_jobs=1, use_cache=False, n_bootstrap=200)


def test_public_names_match_all():
    assert all(hasattr(stability, name) for name in stability.__all__)


@pytest.mark.parametrize("statuses, expected", [
    (["pass"] * 5, 0),
    (["pass", "fail", "fail", "pass", "fail"], 1),    # 3 of 5 fail: the median is fail
    (["fail", "pass", "pass", "warn", "pass"], 1),    # median pass
    (["pass", "fail"], 1),                            # ties go to the more severe status
    (["warn", "pass", "fail"], 0),
])
def test_median_seed_is_the_first_seed_with_the_upper_median_status(statuses, expected):
    assert median_seed(statuses) == expected


@pytest.fixture(scope="module")
def one_report(tmp_path_factory):
    from conftest import make_frame

    path = tmp_path_factory.mktemp("stab") / "t.csv"
    make_frame().to_csv(path, index=False)
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST)
    return path, config, audit(str(path), config, embedder=NumbersEmbedder())


def _with_status(report, status: str, seed: int):
    gate = GateResult("te_collapse_rate", status, f"planted {status}", 0.0, 0.0)
    return replace(report, verdict=Verdict(status, (), 1 if status == "fail" else 0, (gate,)),
                   config={**report.config, "seed": seed})


def test_disagreeing_seeds_warn_and_the_report_shows_the_median_seed(one_report):
    _, config, report = one_report
    reports = [_with_status(report, s, seed) for seed, s in enumerate(["pass", "fail", "pass", "fail", "fail"])]
    merged = assess_stability(reports, config)
    assert merged.stability.statuses == ("pass", "fail", "pass", "fail", "fail")
    assert merged.stability.reported_seed == 1
    assert merged.stability.verdict_flips == 2 and not merged.stability.stable
    gate = merged.verdict.gates[-1]
    assert gate.gate == STABILITY_GATE and gate.status == "warn"
    assert "unstable across 5 seeds: pass on 2, fail on 3" in gate.message
    assert merged.verdict.status == "fail" and merged.verdict.exit_code == 1


def test_agreeing_seeds_pass_the_stability_gate_but_warn_on_fail_on_warn(one_report):
    _, config, report = one_report
    reports = [_with_status(report, "pass", seed) for seed in range(3)]
    merged = assess_stability(reports, config)
    assert merged.stability.stable and merged.verdict.gates[-1].status == "pass"
    assert merged.verdict.status == "pass"
    split = [_with_status(report, s, seed) for seed, s in enumerate(["pass", "pass", "warn"])]
    strict = assess_stability(split, replace(config, fail_on="warn"))
    assert strict.verdict.status == "warn" and strict.verdict.exit_code == 1


def test_repeats_run_every_seed_and_report_spreads(one_report):
    path, config, _ = one_report
    report = audit(str(path), replace(config, repeats=3), embedder=NumbersEmbedder())
    stab = report.stability
    assert stab.seeds == (0, 1, 2) and stab.repeats == 3 and len(stab.statuses) == 3
    assert report.config["seed"] == stab.reported_seed and report.config["repeats"] == 3
    figures = {(f.figure, f.representation, f.split): f for f in stab.figures}
    te_collapse = figures[("collapse_rate", "te", "id_test")]
    assert te_collapse.n == 3 and len(te_collapse.values) == 3
    assert te_collapse.min <= te_collapse.median <= te_collapse.max
    for key in [("te_only_collapse_rate", None, "ood:B"), ("median_accuracy_gap", None, "id_test"),
                ("aotl_r2_all", "te", "ood:B"), ("aotl_r2_healthy", "te", "ood:B"), ("spurious", "te", "ood:B"),
                ("fail", None, None)]:
        assert key in figures
    seeds_differ = {tuple(f.values) for f in stab.figures if f.figure == "aotl_r2_all"}
    assert any(len(set(v)) > 1 for v in seeds_differ), "other seeds must give other splits"
    assert report.verdict.gates[-1].gate == STABILITY_GATE
    jsonschema.validate(report.to_dict(), schema())


def test_repeats_read_stdin_once(one_report, monkeypatch):
    """stdin can be read only once; every seed reuses the table read then."""
    path, config, _ = one_report
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    report = audit("-", replace(config, repeats=2), embedder=NumbersEmbedder())
    assert report.stability.seeds == (0, 1) and report.input["n_rows"] == 600
    with pytest.raises(TecurateError, match="--repeats"):
        AuditConfig(target="label", repeats=0)
