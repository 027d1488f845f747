"""compare_reports: what got worse between two reports, against thresholds (CLI: test_cli.py)."""

from __future__ import annotations

import copy
import json

import pytest
from fake_reports import audit_report

from tecurate.errors import TecurateError
from tecurate.reporting import compare_reports, regression_limits


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return audit_report(tmp_path_factory.mktemp("compare"))


def _check(comparison, name, scope):
    return next(c for c in comparison.checks if c.name == name and c.scope == scope)


def test_a_report_against_itself_has_no_regression(report):
    comparison = compare_reports(report, copy.deepcopy(report))
    assert comparison.status == "pass" and comparison.exit_code == 0 and not comparison.regressions
    splits = list(report["summary"]["representations"]["te"])
    for name in ("te_collapse_rate", "te_only_collapse_rate", "accuracy_gap"):
        assert [c.scope for c in comparison.checks if c.name == name] == splits
    lines = [f"{rep} {split}" for rep, fits in report["aotl"].items() for split in fits]
    assert [c.scope for c in comparison.checks if c.name == "spurious_aotl"] == lines
    assert "both reports audited the same input content" in comparison.notes


@pytest.mark.parametrize("rise, regressed",
                         [(0.05, False), (0.05 + 1e-12, False), (0.06, True), (-0.3, False)])
def test_a_rate_regresses_only_beyond_its_threshold(report, rise, regressed):
    """Reports without the counts (older ones) are judged on the point estimates."""
    old, new = _without_counts(report), _without_counts(report)
    split = list(new["summary"]["paired"])[-1]
    new["summary"]["paired"][split]["te_only_collapse_rate"] += rise
    check = _check(compare_reports(old, new, {"max_te_only_regression": 0.05}),
                   "te_only_collapse_rate", split)
    assert (check.status == "fail") == regressed
    assert check.delta == pytest.approx(rise) and check.margin is None


def _without_counts(report):
    bare = copy.deepcopy(report)
    for entry in bare["summary"]["paired"].values():
        for key in ("n_te_only", "n_raw_only", "excess_collapse_rate"):
            entry.pop(key)
    return bare


def _with_pairs(report, n_te_only, n_raw_only, n=24):
    """The report with every split's matched pairs set to these counts."""
    out = copy.deepcopy(report)
    for entry in out["summary"]["paired"].values():
        entry.update(n_pairs=n, n_te_only=n_te_only, n_raw_only=n_raw_only, te_only_collapse_rate=n_te_only / n,
                     raw_only_collapse_rate=n_raw_only / n, excess_collapse_rate=(n_te_only - n_raw_only) / n)
    return out


@pytest.mark.parametrize("old_counts, new_counts, regressed", [
    ((5, 2), (8, 1), False),   # te-only 21% -> 33%, excess 12% -> 29%: a seed change does this
    ((5, 2), (5, 2), False),
    ((2, 2), (16, 0), True),   # the embedding now collapses two thirds of the grid
])
def test_a_rise_counts_only_beyond_the_audits_own_noise(report, old_counts, new_counts, regressed):
    old, new = _with_pairs(report, *old_counts), _with_pairs(report, *new_counts)
    comparison = compare_reports(old, new)
    split = list(new["summary"]["paired"])[0]
    for name in ("te_collapse_rate", "te_only_collapse_rate"):
        check = _check(comparison, name, split)
        assert (check.status == "fail") == regressed
        assert check.margin > 0 and "the counts' confidence bounds explain" in check.message
    point = compare_reports(_without_counts(old), _without_counts(new))
    assert bool(point.regressions) == (old_counts != new_counts)


def _with_gate(report, gate, status, verdict):
    out = copy.deepcopy(report)
    for g in out["verdict"]["gates"]:
        g["status"] = status if g["gate"] == gate else "pass"
    out["verdict"]["status"] = verdict
    return out


@pytest.mark.parametrize("old_counts, new_counts, gate, regressed", [
    ((5, 2), (8, 1), "te_collapse_rate", False),   # the gate flips on a rise its own check calls noise
    ((2, 2), (16, 0), "te_collapse_rate", True),   # a real rise: its check fails, and so does the verdict
    ((5, 2), (8, 1), "spurious_aotl", True),       # a gate whose figures compare cannot bound
    ((5, 2), (8, 1), "accuracy_gap", True),        # the gap is judged on point estimates: no margin
])
def test_a_gate_flip_worsens_the_verdict_only_beyond_its_figures_noise(report, old_counts, new_counts, gate,
                                                                       regressed):
    old = _with_gate(_with_pairs(report, *old_counts), gate, "pass", "pass")
    new = _with_gate(_with_pairs(report, *new_counts), gate, "fail", "fail")
    verdict = _check(compare_reports(old, new), "verdict", "report")
    assert (verdict.status == "fail") == regressed
    assert ("crossed its threshold within the noise" in verdict.message) == (not regressed)


def _with_route(report, route="raw+te"):
    """The report as if ``route`` had been audited too, with te's figures and gates."""
    out = copy.deepcopy(report)
    out["summary"]["paired_routes"] = {route: copy.deepcopy(out["summary"]["paired"])}
    out["verdict"]["gates"] += [{**g, "gate": f"{g['gate']}[{route}]"} for g in copy.deepcopy(out["verdict"]["gates"])
                                if g["gate"] in ("te_collapse_rate", "accuracy_gap")]
    return out


@pytest.mark.parametrize("old_counts, new_counts, gate, regressed", [
    ((5, 2), (8, 1), "te_collapse_rate[raw+te]", False),  # judged by the route's own checks: noise
    ((2, 2), (16, 0), "te_collapse_rate[raw+te]", True),
    ((5, 2), (8, 1), "accuracy_gap[raw+te]", True),
])
def test_a_route_gate_flip_is_judged_by_that_routes_figures(report, old_counts, new_counts, gate, regressed):
    old = _with_gate(_with_route(_with_pairs(report, *old_counts)), gate, "pass", "pass")
    new = _with_gate(_with_route(_with_pairs(report, *new_counts)), gate, "fail", "fail")
    verdict = _check(compare_reports(old, new), "verdict", "report")
    assert (verdict.status == "fail") == regressed


def test_a_worse_verdict_no_gate_explains_regresses(report):
    old, new = _with_gate(report, "te_collapse_rate", "pass", "pass"), _with_gate(report, "te_collapse_rate", "pass", "warn")
    assert _check(compare_reports(old, new), "verdict", "report").status == "fail"
    old_counts = _without_counts(_with_gate(report, "te_collapse_rate", "pass", "pass"))
    new_counts = _without_counts(_with_gate(report, "te_collapse_rate", "fail", "fail"))
    assert _check(compare_reports(old_counts, new_counts), "verdict", "report").status == "fail"  # no margins


def test_with_repeats_the_seeds_spread_bounds_a_rise(report):
    old, new = _with_pairs(report, 5, 2), _with_pairs(report, 8, 1)
    split = list(new["summary"]["paired"])[0]

    def spread(low, high):
        return {"figures": [{"figure": "te_only_collapse_rate", "representation": None, "split": split,
                             "min": low, "max": high}]}

    old["stability"], new["stability"] = spread(0.1, 0.3), spread(0.2, 0.4)
    check = _check(compare_reports(old, new), "te_only_collapse_rate", split)
    assert check.status == "pass" and "the seeds' spreads explain" in check.message
    assert check.margin == pytest.approx(((8 / 24 - 0.2) ** 2 + (0.3 - 5 / 24) ** 2) ** 0.5, abs=1e-6)
    new["stability"] = spread(0.33, 0.5)
    old["stability"] = spread(0.2, 0.21)
    assert _check(compare_reports(old, new), "te_only_collapse_rate", split).status == "fail"


def test_each_quantity_has_its_own_threshold(report):
    new = copy.deepcopy(report)
    new["summary"]["paired"]["id_test"]["median_accuracy_gap"] += 0.2
    report, new = _without_counts(report), _without_counts(new)
    new["summary"]["paired"]["id_test"]["excess_collapse_rate"] = 0.2
    report["summary"]["paired"]["id_test"]["excess_collapse_rate"] = 0.0
    loose = compare_reports(report, new, {"max_collapse_regression": 0.25, "max_gap_regression": 0.25})
    assert not loose.regressions
    strict = compare_reports(report, new, {"max_collapse_regression": 0.25, "max_gap_regression": 0.1})
    assert [(c.name, c.scope) for c in strict.regressions] == [("accuracy_gap", "id_test")]
    assert strict.exit_code == 1


def _with_truncation(report, n_truncated, n_texts=400):
    out = copy.deepcopy(report)
    out["embedding"]["truncation"] = {"max_tokens": 256, "n_texts": n_texts, "n_truncated": n_truncated,
                                      "share_truncated": n_truncated / n_texts,
                                      "tokens": {"median": 200, "max": 300}, "n_examined": n_truncated,
                                      "columns_beyond": [], "templates": {}, "drop_cols": None}
    return out


@pytest.mark.parametrize("old_cut, new_cut, regressed", [
    (0, 0, False),
    (0, 8, False),     # 0% -> 2%: within the allowed 5%
    (40, 60, False),   # 10% -> 15%: exactly the allowed rise
    (40, 64, True),    # 10% -> 16%: counted over the rows, not estimated, so no noise margin
    (0, 200, True),    # a wider template: half the texts are now cut
])
def test_the_truncated_share_is_watched_once_per_report(report, old_cut, new_cut, regressed):
    comparison = compare_reports(_with_truncation(report, old_cut), _with_truncation(report, new_cut))
    checks = [c for c in comparison.checks if c.name == "truncated_share"]
    assert [c.scope for c in checks] == ["report"]
    assert (checks[0].status == "fail") == regressed and checks[0].margin is None
    assert checks[0].message.startswith("share of texts cut by the token limit ")
    assert comparison.thresholds["truncated_share"] == 0.05
    assert not compare_reports(report, _with_truncation(report, 200), {"max_truncation_regression": 0.6}).regressions


def test_a_report_without_a_truncation_record_has_no_truncation_check(report):
    bare = copy.deepcopy(report)
    bare["embedding"]["truncation"] = None
    for old, new in ((bare, _with_truncation(report, 200)), (_with_truncation(report, 0), bare)):
        assert not [c for c in compare_reports(old, new).checks if c.name == "truncated_share"]


def test_a_newly_spurious_line_and_a_worse_verdict_regress(report):
    new = copy.deepcopy(report)
    split = next(iter(new["aotl"]["te"]))
    for fits in (report["aotl"], new["aotl"]):
        fits["te"][split]["spurious"] = fits is new["aotl"]
    new["aotl"]["te"][split]["reasons"] = ["collapse_inflated"]
    new["verdict"]["status"] = {"pass": "warn", "warn": "fail", "fail": "fail"}[report["verdict"]["status"]]
    unmoved = compare_reports(report, new)
    assert _check(unmoved, "spurious_aotl", f"te {split}").status == "pass"
    assert "the spurious_aotl gate did not get worse" in _check(unmoved, "spurious_aotl", f"te {split}").message
    for gates, status in ((report["verdict"]["gates"], "pass"), (new["verdict"]["gates"], "fail")):
        next(g for g in gates if g["gate"] == "spurious_aotl")["status"] = status
    comparison = compare_reports(report, new)
    check = _check(comparison, "spurious_aotl", f"te {split}")
    assert check.status == "fail" and "newly spurious (collapse_inflated)" in check.message
    verdict = _check(comparison, "verdict", "report")
    assert verdict.status == ("pass" if report["verdict"]["status"] == "fail" else "fail")
    assert _check(compare_reports(new, report), "spurious_aotl", f"te {split}").status == "pass"


def test_splits_in_one_report_only_are_notes_not_regressions(report):
    new = copy.deepcopy(report)
    split = list(new["summary"]["representations"]["te"])[-1]
    for rep in ("raw", "te"):
        renamed = f"{split}-renamed"
        new["summary"]["representations"][rep][renamed] = new["summary"]["representations"][rep].pop(split)
        new["aotl"][rep][renamed] = dict(new["aotl"][rep].pop(split), spurious=True)
    new["summary"]["paired"][f"{split}-renamed"] = new["summary"]["paired"].pop(split)
    comparison = compare_reports(report, new)
    assert not [c for c in comparison.checks if split in c.scope]
    assert f"split {split} is only in the old report" in comparison.notes
    assert f"split {split}-renamed is only in the new report" in comparison.notes
    assert any("the old report has no such line" in note for note in comparison.notes)
    assert not [c for c in comparison.regressions if c.name != "verdict"]


def test_undefined_gaps_are_not_comparable_and_changed_settings_are_noted(report):
    new = copy.deepcopy(report)
    new["summary"]["paired"]["id_test"]["median_accuracy_gap"] = None
    new["config"]["seed"] = report["config"]["seed"] + 1
    comparison = compare_reports(report, new)
    check = _check(comparison, "accuracy_gap", "id_test")
    assert check.status == "pass" and check.delta is None and "not comparable" in check.message
    assert any(note.startswith("setting seed:") for note in comparison.notes)


def test_reports_of_different_schema_versions_are_refused(report):
    other = dict(report, schema_version="0.9")
    with pytest.raises(TecurateError, match="schema versions"):
        compare_reports(report, other)
    with pytest.raises(TecurateError, match="not a tecurate report"):
        compare_reports(report, [1, 2])


def test_thresholds_are_rates(report):
    with pytest.raises(TecurateError, match="--max-collapse-regression must be between 0 and 1"):
        compare_reports(report, report, {"max_collapse_regression": 1.5})
    with pytest.raises(TecurateError, match="--max-regression must be between 0 and 1"):
        regression_limits({"max_regression": -0.1})
    with pytest.raises(TecurateError, match="unknown compare setting"):
        regression_limits({"max_colapse_regression": 0.1})


def test_a_specific_threshold_defaults_to_max_regression():
    assert regression_limits({}) == {"collapse_rate": 0.05, "te_only_collapse_rate": 0.05,
                                     "accuracy_gap": 0.05, "truncated_share": 0.05}
    knobs = {"max_regression": 0.2, "max_gap_regression": 0.01, "max_collapse_regression": None}
    assert regression_limits(knobs) == {"collapse_rate": 0.2, "te_only_collapse_rate": 0.2,
                                        "accuracy_gap": 0.01, "truncated_share": 0.2}


def test_the_comparison_is_plain_json_data(report):
    data = compare_reports(report, report).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"old", "new", "thresholds", "checks", "notes", "status", "exit_code"}
    assert data["thresholds"] == {"collapse_rate": 0.05, "te_only_collapse_rate": 0.05, "accuracy_gap": 0.05,
                                  "truncated_share": 0.05}


def _repeated(report, statuses, figures=()):
    """The report as a ``--repeats`` one: these per-seed verdicts and stability figures."""
    out = copy.deepcopy(report)
    out["stability"] = {"repeats": len(statuses), "statuses": list(statuses), "figures": list(figures)}
    return out


def _flag_spread(rep, split, low, high):
    return {"figure": "spurious", "representation": rep, "split": split, "min": low, "max": high}


@pytest.mark.parametrize("old_high, new_low, regressed", [
    (1.0, 1.0, False),  # some old seed already had the line spurious: the reported seeds' flip is noise
    (0.0, 0.0, False),  # some new seed has it not spurious
    (0.0, 1.0, True),   # every new seed flags it and no old seed did
])
def test_with_repeats_a_newly_spurious_line_regresses_only_beyond_the_seeds_flags(report, old_high, new_low,
                                                                                   regressed):
    old = _with_gate(report, "spurious_aotl", "pass", "pass")
    new = _with_gate(report, "spurious_aotl", "fail", "fail")
    split = next(iter(new["aotl"]["te"]))
    old["aotl"]["te"][split]["spurious"], new["aotl"]["te"][split]["spurious"] = False, True
    single = _check(compare_reports(old, new), "spurious_aotl", f"te {split}")
    assert single.status == "fail"  # one seed each: no spread to weigh the flip with
    old = _repeated(old, ["pass"] * 3, [_flag_spread("te", split, 0.0, old_high)])
    new = _repeated(new, ["fail"] * 3, [_flag_spread("te", split, new_low, 1.0)])
    check = _check(compare_reports(old, new), "spurious_aotl", f"te {split}")
    assert (check.status == "fail") == regressed
    assert ("within the seeds' spreads" in check.message) == (not regressed)


@pytest.mark.parametrize("old_statuses, new_statuses, regressed", [
    (["pass", "pass", "fail"], ["fail", "fail", "fail"], False),  # an old seed failed already
    (["pass", "warn", "pass"], ["warn", "fail", "fail"], False),  # a new seed is no worse than an old one
    (["pass", "warn", "pass"], ["fail", "fail", "fail"], True),   # every new seed is worse than every old one
])
def test_with_repeats_a_worse_verdict_regresses_only_beyond_the_seeds_verdicts(report, old_statuses, new_statuses,
                                                                                regressed):
    old = _with_gate(report, "spurious_aotl", "pass", "pass")  # a gate compare cannot bound
    new = _with_gate(report, "spurious_aotl", "fail", "fail")
    assert _check(compare_reports(old, new), "verdict", "report").status == "fail"
    verdict = _check(compare_reports(_repeated(old, old_statuses), _repeated(new, new_statuses)), "verdict", "report")
    assert (verdict.status == "fail") == regressed
    assert ("within the seeds' spreads" in verdict.message) == (not regressed)


def test_the_stability_gate_getting_worse_is_no_regression(report):
    """It says the new report's seeds disagree: the noise itself, not a worse audit."""
    old = _with_gate(report, "spurious_aotl", "pass", "pass")
    new = copy.deepcopy(old)
    old["verdict"]["gates"].append({"gate": "stability", "status": "pass", "message": "stable", "value": 0.0,
                                    "threshold": 0.0})
    new["verdict"]["gates"].append({"gate": "stability", "status": "warn", "message": "unstable", "value": 0.5,
                                    "threshold": 0.0})
    new["verdict"]["status"] = "warn"
    verdict = _check(compare_reports(old, new), "verdict", "report")
    assert verdict.status == "pass"
    next(g for g in new["verdict"]["gates"] if g["gate"] == "spurious_aotl")["status"] = "warn"  # unbounded, worse
    assert _check(compare_reports(old, new), "verdict", "report").status == "fail"


def test_compare_notes_a_single_seed_report(report):
    def notes(old, new):
        return [n for n in compare_reports(old, new).notes if "one seed" in n]
    repeated = _repeated(report, ["pass"] * 3)
    both = notes(report, report)
    assert len(both) == 1 and "the old and new reports have one seed" in both[0]
    assert "the new report has one seed" in notes(repeated, report)[0] and "--repeats 3" in notes(repeated, report)[0]
    assert not notes(repeated, repeated)
