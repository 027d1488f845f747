"""Known answers through the real audit (issue 3): planted collapse with the real embedding model,
planted spurious and genuine lines as point sets and as full runs, and the flags' precision/recall.
The full-size runs, on real data too, are in validation/run_validation.py (results: RESULTS.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tecurate import AuditConfig, audit
from tecurate.analysis import SpuriousThresholds, assess_line, class_shares, fit_aotl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from validation.planted import (  # noqa: E402
    BitEmbedder,
    as_grid_run,
    bit_case,
    collapse_flagged,
    diverse_models_under_shift,
    planted_lines,
    precision_recall,
    salient_word_case,
    threshold_case,
)

DEFAULTS = AuditConfig(target="label")
LINE = dict(thresholds=SpuriousThresholds.from_config(DEFAULTS), eps=DEFAULTS.probit_eps)


def test_spurious_flag_precision_and_recall_on_planted_point_sets():
    lines = planted_lines(25, seed=1)
    flagged = [assess_line(line.acc_id, line.acc_ood, line.collapsed, n_bootstrap=500, seed=k, **LINE).spurious
               for k, line in enumerate(lines)]
    precision, recall = precision_recall([line.spurious_expected for line in lines], flagged)
    assert precision >= 0.95 and recall >= 0.95
    assert not any(f for line, f in zip(lines, flagged) if line.name == "genuine")


def test_full_run_where_collapse_makes_the_line_is_flagged(tmp_path):
    path = tmp_path / "bit.csv"
    bit_case(seed=0).to_csv(path, index=False)
    report = audit(str(path), AuditConfig(target="label", shift_col="region", min_domain_rows=100,
                                          use_cache=False, n_bootstrap=300), embedder=BitEmbedder())
    for fit in report.aotl["te"].values():
        assert fit.n_collapsed >= 3 and fit.healthy.r2 is None
        assert fit.spurious and "collapse_inflated" in fit.reasons
    assert next(g for g in report.verdict.gates if g.gate == "spurious_aotl").status != "pass"


@pytest.mark.parametrize("n_collapsed", [0, 8])
def test_full_run_genuine_line_of_diverse_models_is_not_flagged(n_collapsed):
    """Real classifiers of varied quality under a covariate shift: a genuine line. Collapsed models
    of this balanced task sit at the chance point, on the line: R² rises, nothing is spurious."""
    for seed in range(3):
        shift = diverse_models_under_shift(seed, n_collapsed=n_collapsed)
        run = as_grid_run(shift)
        shares = {"id_test": class_shares(shift.y_id, 2), "ood": class_shares(shift.y_ood, 2)}
        fit = fit_aotl(run.models, shares, n_bootstrap=300, seed=seed, **LINE)["te"]["ood"]
        assert fit.healthy.r2 > 0.5 and fit.healthy.r_ci[0] > 0
        assert not fit.spurious, fit


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """The real all-MiniLM-L6-v2 on a planted-collapse table and on its mirror (default grid)."""
    from tecurate.embedding import SentenceTransformerEmbedder

    tmp = tmp_path_factory.mktemp("planted")
    model = SentenceTransformerEmbedder()
    reports = {}
    for case in (threshold_case(1000, minority=0.15, seed=0), salient_word_case(1000, seed=0)):
        path = tmp / f"{case.name}.csv"
        case.frame.to_csv(path, index=False)
        config = AuditConfig(target=case.target, shift_col=case.shift_col, min_domain_rows=100,
                             cache_dir=str(tmp / "cache"), n_bootstrap=300)
        reports[case.te_only_collapse_expected] = audit(str(path), config, embedder=model)
    return reports


def test_planted_threshold_collapses_on_te_only(real_runs):
    report = real_runs[True]
    assert collapse_flagged(report)
    te, raw = (report.summary.representations[r]["id_test"] for r in ("te", "raw"))
    assert te.collapse_rate > raw.collapse_rate
    assert report.summary.paired["id_test"].excess_collapse_rate > AuditConfig(target="y").max_collapse_rate


def test_salient_word_mirror_learns_on_both_routes(real_runs):
    report = real_runs[False]
    assert not collapse_flagged(report)
    assert abs(report.summary.paired["id_test"].median_accuracy_gap) < 0.05
    assert report.summary.representations["te"]["id_test"].accuracy_quantiles["median"] > 0.85


def test_a_script_rewrites_only_its_own_results_section(tmp_path):
    from validation._sections import write_between

    results = tmp_path / "RESULTS.md"
    results.write_text("## 1\nx\n\n<!-- a -->\nold\n<!-- /a -->\n\n## 3\ny\n", encoding="utf-8")
    write_between(results, "<!-- a -->", "<!-- /a -->", "<!-- a -->\nnew\n<!-- /a -->\n")
    assert results.read_text(encoding="utf-8") == "## 1\nx\n\n<!-- a -->\nnew\n<!-- /a -->\n\n## 3\ny\n"
    write_between(results, "<!-- b -->", "<!-- /b -->", "<!-- b -->\nb\n<!-- /b -->")
    assert results.read_text(encoding="utf-8").endswith("## 3\ny\n\n<!-- b -->\nb\n<!-- /b -->\n")
