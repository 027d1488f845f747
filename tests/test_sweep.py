"""``sweep``: the score and ranking on constructed cases, ties, cache reuse, the report's
schema and renderers, and every exit code of ``tecurate sweep``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import ConstantEmbedder, NumbersEmbedder, make_frame
from typer.testing import CliRunner

import tecurate.sweeps
from tecurate import sweep
from tecurate.cli import app
from tecurate.errors import TecurateError
from tecurate.reporting import SafeConsole
from tecurate.sweeps import Spread, rank, render_html, schema, score_terms, summary_table

SMALL = dict(target="label", shift_col="region", min_domain_rows=50, n_configs=2, families="logreg")
FLAGS = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "50", "--n-configs", "2",
         "--families", "logreg"]


class CountingEmbedder(NumbersEmbedder):
    """Counts the texts it is asked to embed (the cache answers the others)."""

    identity = "fake-counting@1"
    calls = 0

    def encode(self, texts, batch_size):
        type(self).calls += len(texts)
        return super().encode(texts, batch_size)


@pytest.fixture
def small_table(tmp_path) -> Path:
    path = tmp_path / "table.csv"
    make_frame(300).to_csv(path, index=False)
    return path


def test_public_api_is_pinned():
    assert set(tecurate.sweeps.__all__) == {
        "DEFAULT_EMBEDDER", "REPLACED", "SCHEMA_VERSION", "SETTINGS", "SPURIOUS_WEIGHT", "SWEEP", "TERMS",
        "Combination", "Spread", "SweepConfig", "SweepReport", "outcome_line", "rank", "render_html", "schema",
        "score_terms", "summary_table", "sweep", "sweep_config"}
    assert all(hasattr(tecurate.sweeps, name) for name in tecurate.sweeps.__all__)


def _report(te_only: float, te_rate: float, raw_rate: float, gap: float | None, spurious: bool = False,
            truncated: float | None = None) -> dict:
    split = {"te_only_collapse_rate": te_only, "median_accuracy_gap": gap}
    return {"summary": {"paired": {"id_test": split, "ood:B": split},
                        "representations": {"te": {"id_test": {"collapse_rate": te_rate}, "ood:B": {"collapse_rate": te_rate}},
                                            "raw": {"id_test": {"collapse_rate": raw_rate}, "ood:B": {"collapse_rate": raw_rate}}}},
            "aotl": {"te": {"id_test": {"spurious": spurious}, "ood:B": {"spurious": False}}},
            "embedding": {"truncation": None if truncated is None else {"share_truncated": truncated}}}


def test_the_score_adds_its_documented_terms():
    terms = score_terms(_report(0.25, 0.5, 0.125, 0.1, spurious=True, truncated=0.2))
    assert terms == pytest.approx({"te_only": 0.25, "excess": 0.375, "gap": 0.1, "spurious": 0.5,
                                   "truncated": 0.2, "score": 0.25 + 0.375 + 0.1 + 0.25 * 0.5 + 0.2})
    better = score_terms(_report(0.0, 0.1, 0.2, -0.05))
    assert better["excess"] == 0.0 and better["score"] == pytest.approx(-0.05)  # te beating raw lowers the score
    assert score_terms(_report(0.0, 0.0, 0.0, None))["gap"] == 0.0  # unlabelled splits: no gap term


def test_ranking_has_the_known_winner_and_ties_inside_the_seed_spread():
    scores = [Spread.of([0.30, 0.35, 0.40]), Spread.of([0.10, 0.12, 0.14]), Spread.of([0.13, 0.2, 0.25]),
              Spread.of([0.9, 0.95, 1.0])]
    order, groups = rank(scores)
    assert order == [1, 2, 0, 3]
    assert groups[1] == 1 and groups[2] == 1  # 0.13..0.25 overlaps the best's 0.10..0.14
    assert groups[0] == 2 and groups[3] == 3
    single = [Spread.of([0.2]), Spread.of([0.2]), Spread.of([0.1])]
    order, groups = rank(single)
    assert order == [2, 0, 1] and groups == [2, 2, 1]  # one seed: only equal scores tie, first listed first


def test_a_sweep_ranks_the_curation_that_erases_the_signal_last():
    """The fake embedder reads the numbers in a text: binning them into words leaves it nothing,
    so every te model collapses; keeping the numbers is the known winner."""
    report = sweep(make_frame(300), **SMALL, curations="none,bin:3,round:1", templates="sentence",
                   embedder=NumbersEmbedder(), use_cache=False, repeats=2)
    data = report.to_dict()
    jsonschema.validate(data, schema())
    ranked = [c["curation"] for c in data["combinations"]]
    assert ranked[-1] == "bin:3"
    worst = data["combinations"][-1]
    assert worst["terms"]["te_only"] > 0.4 and worst["tie_group"] > 1
    assert data["best"] == data["combinations"][0]["id"] and data["combinations"][0]["rank"] == 1
    assert data["seeds"] == [0, 1] and all(len(c["score"]["values"]) == 2 for c in data["combinations"])
    assert data["default"] == "sentence | none | default"
    assert data["improvement"]["score"] == pytest.approx(
        report.combination(data["default"]).score.median - data["combinations"][0]["score"]["median"], abs=1e-5)
    assert data["statement"].startswith("best: ")
    assert set(worst["splits"]) == {"id_test", "ood:B", "ood:C"}
    assert worst["steps"][0]["operation"] == "bin:3"


def test_every_combination_is_the_audit_it_names():
    """Same rows, split and configurations: the raw route of every combination is one and the same."""
    from tecurate import audit

    report = sweep(make_frame(300), **SMALL, curations="none,describe", templates="kv",
                   embedder=NumbersEmbedder(), use_cache=False).to_dict()
    alone = audit(make_frame(300), **SMALL, template="kv", curations="describe", embedder=NumbersEmbedder(),
                  use_cache=False).to_dict()
    mine = next(c for c in report["combinations"] if c["curation"] == "describe")
    assert mine["example"] == alone["serialization"]["example"]
    assert mine["splits"]["id_test"]["te_collapse_rate"] == alone["summary"]["representations"]["te"]["id_test"]["collapse_rate"]
    assert mine["status"] == alone["verdict"]["status"]


def test_a_second_sweep_embeds_nothing(tmp_path):
    CountingEmbedder.calls = 0
    settings = dict(**SMALL, curations="none,round:1,describe", templates="sentence,kv", cache_dir=str(tmp_path))
    first = sweep(make_frame(300), embedder=CountingEmbedder(), **settings)
    cold = CountingEmbedder.calls
    assert 0 < cold <= 6 * 300
    second = sweep(make_frame(300), embedder=CountingEmbedder(), **settings)
    assert CountingEmbedder.calls == cold  # every text came from the cache
    assert [c.id for c in first.combinations] == [c.id for c in second.combinations]
    assert [c.score for c in first.combinations] == [c.score for c in second.combinations]


def test_texts_two_combinations_share_are_embedded_once(tmp_path):
    """round:6 of a table whose numbers have at most 3 digits writes the same texts as none."""
    CountingEmbedder.calls = 0
    sweep(make_frame(300), **SMALL, curations="none,round:6", templates="sentence", cache_dir=str(tmp_path),
          embedder=CountingEmbedder())
    assert 0 < CountingEmbedder.calls <= 300


def test_bad_input_fails_before_any_embedding(tmp_path):
    CountingEmbedder.calls = 0
    for settings, message in [(dict(curations="none,sharpen"), "unknown curation"),
                              (dict(curations="round:3,round"), "twice"),
                              (dict(templates="sentence,{nope}"), "not a feature column"),
                              (dict(curations="describe", describe_file=str(tmp_path / "none.toml")), "does not exist"),
                              (dict(templates=""), "at least one"),
                              (dict(representations="raw,magic"), "unknown representation"),
                              (dict(representations="raw,raw+te"), "must include te")]:
        with pytest.raises(TecurateError, match=message):
            sweep(make_frame(300), **SMALL, embedder=CountingEmbedder(), use_cache=False, **settings)
    assert CountingEmbedder.calls == 0


def test_terminal_table_and_html_escape_what_the_data_says():
    frame = make_frame(300).rename(columns={"x": "x\x1b[2J<script>"})
    data = sweep(frame, **SMALL, curations="none,describe", templates="kv", embedder=NumbersEmbedder(),
                 use_cache=False).to_dict()
    console = SafeConsole(record=True, width=200, color_system=None)
    console.print(summary_table(data))
    text = console.export_text()
    assert "\x1b" not in text and "describe" in text and "kv" in text
    page = render_html(data)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 2 * len(data["combinations"])
    ranks = [int(r) for r in re.findall(r"<tr><td class=\"n\">(\d+)</td>", page)]
    assert ranks == sorted(ranks) and len(ranks) == 2


def test_cli_exit_0_writes_json_and_html(small_table, tmp_path, fake_embedder):
    out, page = tmp_path / "sweep.json", tmp_path / "sweep.html"
    result = CliRunner().invoke(app, ["sweep", str(small_table), *FLAGS, "--templates", "sentence,kv",
                                      "--curations", "none,round:1", "--no-cache", "--output", str(out),
                                      "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    jsonschema.validate(data, schema())
    assert len(data["combinations"]) == 4 and data["exit_code"] == 0
    assert "tecurate sweep: best: " in result.stderr and "te-only" in result.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_cli_exit_1_when_the_best_fails_with_fail_if_best_fails(small_table, tmp_path, fake_embedder):
    fake_embedder(ConstantEmbedder)  # every te model collapses: every combination fails its gates
    args = ["sweep", str(small_table), *FLAGS, "--templates", "sentence", "--curations", "none,describe",
            "--no-cache", "--format", "json", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["best_fails"] is True
    result = CliRunner().invoke(app, [*args, "--fail-if-best-fails"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1 and data["combinations"][0]["status"] == "fail"
    assert "FAIL: the best combination fails a gate" in result.stderr


@pytest.mark.parametrize("extra", [["--curations", "none,blur"], ["--templates", "{missing_column}"],
                                   ["--embedders", ""], ["--format", "xml"], ["--repeats", "0"]])
def test_cli_exit_2_on_bad_input(small_table, tmp_path, fake_embedder, extra):
    out = tmp_path / "sweep.json"
    result = CliRunner().invoke(app, ["sweep", str(small_table), *FLAGS, "--no-cache", "--output", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_schema_command_prints_the_sweep_schema():
    result = CliRunner().invoke(app, ["schema", "--sweep"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["properties"]["kind"] == {"const": "tecurate-sweep"}


@pytest.mark.slow
def test_a_small_real_model_sweep(tmp_path):
    """The packaged model on the example table: a real ranking with a seed spread."""
    example = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"
    report = sweep(str(example), target="Status", shift_col="Home", min_domain_rows=60, max_rows=400, n_configs=2,
                   families="logreg", templates="sentence", curations="none,bin:3", repeats=2,
                   cache_dir=str(tmp_path)).to_dict()
    jsonschema.validate(report, schema())
    assert len(report["combinations"]) == 2
    assert np.isfinite([c["score"]["median"] for c in report["combinations"]]).all()
    assert {c["embedder"] for c in report["combinations"]} == {"default"}
    assert report["combinations"][0]["example"]


def test_representations_pass_through_and_raw_plus_te_is_reported_per_split():
    data = sweep(make_frame(300), **SMALL, curations="none", templates="sentence", representations="raw,te,raw+te",
                 embedder=NumbersEmbedder(), use_cache=False).to_dict()
    jsonschema.validate(data, schema())
    assert data["config"]["representations"] == ["raw", "te", "raw+te"]
    split = data["combinations"][0]["splits"]["id_test"]
    assert {"raw_median_accuracy", "te_median_accuracy", "raw+te_median_accuracy", "raw+te_median_accuracy_gap"} <= set(split)
    assert split["raw+te_median_accuracy_gap"] == pytest.approx(split["raw_median_accuracy"] - split["raw+te_median_accuracy"], abs=0.2)
