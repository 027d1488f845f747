"""The model loop on small data with fake embedders: every schedule, mode, synthetic kind and filter."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import ConstantEmbedder, NumbersEmbedder, make_frame

import tecurate.simulate as simulate_package
from tecurate.config import AuditConfig
from tecurate.errors import TecurateError
from tecurate.simulate import SimulateConfig, SummaryRow, Trajectory, render_html, sample_labels, schema, simulate
from tecurate.simulate._loop import GenerationResult, SplitResult
from tecurate.simulate._report import collapse_check, summarize


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("simulate") / "table.csv"
    make_frame(400).to_csv(path, index=False)
    return path


def _audit(**changes) -> AuditConfig:
    return AuditConfig(**{"target": "label", "shift_col": "region", "min_domain_rows": 50, "use_cache": False,
                          "n_jobs": 1, **changes})


def _run(table: Path, embedder=NumbersEmbedder, seed: int = 0, **changes):
    sim = SimulateConfig(**{"generations": 3, "n0": 60, "real_fraction": (0, 0.5), "schedule": "constant",
                            "sim_families": "logreg", **changes})
    return simulate(str(table), _audit(seed=seed), sim, embedder=embedder()).to_dict()


def test_public_names_are_pinned():
    assert set(simulate_package.__all__) == {
        "MODES", "SCHEDULE_KINDS", "SCHEMA_VERSION", "SETTINGS", "SHARED", "SIMULATE", "SYNTHETIC_KINDS",
        "Classifier", "GenerationResult", "Generative", "Schedule", "SimulateConfig", "SimulationReport",
        "SplitResult", "SummaryRow", "Trajectory", "fit_classifier", "gini", "outcome_line", "parse_filter",
        "parse_schedule", "prior_chain", "render_html", "sample_labels", "schedule_sizes", "schema", "simulate",
        "simulate_config", "summarize", "summary_table"}
    for name in simulate_package.__all__:
        assert getattr(simulate_package, name) is not None


@pytest.mark.parametrize("synthetic", ["labels", "rows"])
@pytest.mark.parametrize("mode", ["replace", "accumulate"])
@pytest.mark.parametrize("filter_", ["none", "confidence:0.7"])
def test_every_kind_mode_and_filter_gives_a_valid_report(table, synthetic, mode, filter_):
    report = _run(table, synthetic=synthetic, mode=mode, filter=filter_)
    jsonschema.validate(report, schema())
    assert len(report["trajectories"]) == 2 * 2  # routes x alphas (one config, one schedule)
    for run in report["trajectories"]:
        gens = run["generations"]
        assert [g["generation"] for g in gens] == [0, 1, 2, 3]
        assert set(gens[0]["splits"]) == {"id_test", "ood:B", "ood:C"}
        for g in gens[1:]:
            assert g["n_rows"] == 60 and g["n_real"] == round(run["real_fraction"] * 60)
            assert g["n_synthetic"] <= 60 - g["n_real"]
            assert (g["filter_pass_rate"] is None) == (filter_ == "none")
            if filter_ == "none":
                assert g["n_synthetic"] == 60 - g["n_real"]
        if mode == "accumulate":
            grown = [g["n_train"] for g in gens]
            assert grown == sorted(grown) and grown[-1] == 60 + sum(g["n_real"] + g["n_synthetic"] for g in gens[1:])
        else:
            for before, g in zip(gens, gens[1:]):  # an empty mixture keeps the previous rows
                fresh = g["n_real"] + g["n_synthetic"]
                assert g["n_train"] == (fresh or before["n_train"])


@pytest.mark.parametrize("schedule, sizes, capped", [
    ("constant", [100, 100, 100, 100], [False] * 4),
    ("linear", [100, 200, 250, 250], [False, False, True, True]),
    ("power:0.5", [100, 250, 250, 250], [False, True, True, True]),
])
def test_schedules_and_the_recorded_cap(table, schedule, sizes, capped):
    report = _run(table, n0=100, schedule=schedule, max_rows_per_generation=250, real_fraction="0.5",
                  representations="raw")
    gens = report["trajectories"][0]["generations"]
    assert [g["n_rows"] for g in gens] == sizes
    assert [g["capped"] for g in gens] == capped


def test_routes_are_matched_and_runs_reproducible(table):
    report = _run(table, schedule="constant,linear")
    runs = report["trajectories"]
    raw = [r for r in runs if r["representation"] == "raw"]
    te = [r for r in runs if r["representation"] == "te"]
    for a, b in zip(raw, te, strict=True):
        assert (a["config_id"], a["real_fraction"], a["schedule"]) == (b["config_id"], b["real_fraction"], b["schedule"])
        assert [(g["n_rows"], g["n_real"], g["n_synthetic"]) for g in a["generations"]] == \
               [(g["n_rows"], g["n_real"], g["n_synthetic"]) for g in b["generations"]]
    # Generation 0 is shared by every alpha and schedule of a route.
    assert len({str(r["generations"][0]) for r in raw}) == 1
    again = _run(table, schedule="constant,linear")
    assert again["trajectories"] == runs
    other = simulate(str(table), _audit(seed=1), SimulateConfig(generations=3, n0=60, real_fraction=(0, 0.5),
                     schedule="constant,linear", sim_families="logreg"), embedder=NumbersEmbedder()).to_dict()
    assert other["trajectories"] != runs


def test_uninformative_route_follows_the_prior_chain(table):
    """A constant embedding: the te model predicts the class prior, so labels drawn from it (α = 0,
    replace, constant n) are the multinomial chain and get absorbed at one class; α = 0.5 never is.
    (Seed 2 samples a logreg without class weights: balanced weights would pin the prior at uniform.)"""
    report = _run(table, embedder=ConstantEmbedder, seed=2, n0=20, generations=120, real_fraction=(0, 0.5),
                  representations="te")
    absorbed, fresh = report["trajectories"]
    assert absorbed["params"]["class_weight"] is None
    assert absorbed["real_fraction"] == 0 and fresh["real_fraction"] == 0.5
    assert absorbed["generations"][-1]["train_gini"] == 0.0
    assert absorbed["generations"][-1]["train_majority_rate"] == 1.0
    assert min(g["train_gini"] for g in fresh["generations"]) > 0.1
    # Collapse on id_test: the majority class is predicted for every row from generation 0 on.
    assert absorbed["collapse_generation"] == 0 and not absorbed["censored"]


def test_a_filter_that_keeps_nothing_keeps_the_previous_model(table):
    report = _run(table, embedder=ConstantEmbedder, real_fraction="0", filter="confidence:1",
                  representations="te")
    gens = report["trajectories"][0]["generations"]
    assert all(g["n_synthetic"] == 0 and g["filter_pass_rate"] == 0.0 for g in gens[1:])
    assert all(g["n_train"] == 60 and g["splits"] == gens[0]["splits"] for g in gens[1:])


def test_sampled_labels_follow_the_predicted_distribution():
    rng = np.random.default_rng(0)
    proba = np.tile([0.2, 0.5, 0.3], (200000, 1))
    shares = np.bincount(sample_labels(proba, rng), minlength=3) / 200000
    assert np.abs(shares - [0.2, 0.5, 0.3]).max() < 0.005
    assert (sample_labels(np.eye(3), rng) == [0, 1, 2]).all()


def _trajectory(collapse_at: int | None, generations: int = 4, rep: str = "raw") -> Trajectory:
    def split(collapsed: bool) -> SplitResult:
        return SplitResult(0.5, 0.5, 1.0 if collapsed else 0.6, 0.5, collapsed, 0.1)
    gens = [GenerationResult(t, 10, 10, 0, 10, False, None, 0.6, 0.48,
                             {"id_test": split(collapse_at is not None and t >= collapse_at)})
            for t in range(generations + 1)]
    return Trajectory(rep, "logreg", "logreg-00", {}, 0.0, "constant", gens)


def test_summary_takes_the_lower_median_and_marks_censoring():
    rows = summarize([_trajectory(2), _trajectory(None), _trajectory(3)])
    assert rows == [SummaryRow("raw", 0.0, "constant", 3, 2, 3, False, pytest.approx(0.1), 0.5, 0.5)]
    censored = summarize([_trajectory(1), _trajectory(None), _trajectory(None)])[0]
    assert censored.generations_to_collapse is None and censored.censored
    assert summarize([_trajectory(1), _trajectory(None)])[0].generations_to_collapse == 1


def test_collapse_check_counts_runs_before_generation_t():
    runs = [_trajectory(2), _trajectory(None), _trajectory(4, rep="te")]
    assert collapse_check(runs, None) is None
    assert collapse_check(runs, 2)["failed"] is False
    check = collapse_check(runs, 3)
    assert check["failed"] and [r["collapse_generation"] for r in check["runs"]] == [2]


@pytest.mark.parametrize("changes, fragment", [
    ({"filter": "confidence"}, "--filter"),
    ({"filter": "confidence:1.5"}, "--filter"),
    ({"filter": "top:3"}, "--filter"),
    ({"real_fraction": "0,x"}, "--real-fraction"),
    ({"real_fraction": "1.2"}, "--real-fraction"),
    ({"real_fraction": "0.5,0.5"}, "twice"),
    ({"schedule": "constant,constant"}, "twice"),
    ({"schedule": "cubic"}, "--schedule"),
    ({"mode": "mix"}, "--mode"),
    ({"synthetic": "images"}, "--synthetic"),
    ({"representations": "raw,raw+te"}, "raw\\+te is an audit route"),
    ({"representations": "raw,text"}, "unknown representation"),
    ({"sim_families": "svm"}, "unknown model family"),
    ({"n0": 5}, "--n0"),
    ({"n0": 500, "max_rows_per_generation": 100}, "--max-rows-per-generation"),
    ({"generations": 0}, "--generations"),
])
def test_bad_settings_are_user_errors(changes, fragment):
    with pytest.raises(TecurateError, match=fragment):
        SimulateConfig(**changes)


def test_html_page_is_self_contained_and_escaped(tmp_path):
    frame = make_frame(300)
    frame["<b>plan</b>"] = frame.pop("plan")
    frame["label"] = np.where(frame["label"] == "yes", "<script>alert(1)</script>", "no")
    path = tmp_path / "evil.csv"
    frame.to_csv(path, index=False)
    sim = SimulateConfig(generations=2, n0=40, real_fraction="0", schedule="constant,linear", sim_families="logreg")
    report = simulate(str(path), _audit(target="label", min_domain_rows=40), sim, embedder=NumbersEmbedder()).to_dict()
    page = render_html(report)
    assert "<script" not in page and "alert(1)" not in page or "&lt;script&gt;" in page
    assert "<script" not in page
    assert "Content-Security-Policy" in page and "http" not in page.replace("http-equiv", "")
    assert page.count("<svg") >= 8 and page.count("<polyline") == 4 * 2 * 2  # metrics x routes x schedules
