"""The library API end to end with a fake embedder: routes, leakage, determinism, bookkeeping."""

from __future__ import annotations

import types
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import HashEmbedder, NumbersEmbedder, make_frame

import tecurate
from tecurate import AuditConfig, TecurateError, analyze, audit
from tecurate.pipeline import serialize_table

FAST = dict(families=("logreg", "xgboost"), n_configs=2, n_jobs=1, use_cache=False)


class RecordingEmbedder(NumbersEmbedder):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts, batch_size):
        self.texts.extend(texts)
        return super().encode(texts, batch_size)


def comparable(report) -> dict:
    data = report.to_dict()
    for key in ("created_at", "timings"):
        data.pop(key)
    data["embedding"].pop("seconds")
    for model in data["models"]:
        model.pop("fit_seconds")
    return data


def test_public_api_is_exactly_all():
    """The top-level contract, pinned; every public non-module name is in __all__ and vice versa."""
    assert set(tecurate.__all__) == {"Analysis", "AuditConfig", "AuditReport", "TecurateError", "__version__",
                                     "analyze", "audit", "sweep"}
    public = {name for name, value in vars(tecurate).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public | {"__version__"} == set(tecurate.__all__)
    assert {"Analysis", "analyze"} <= set(tecurate.analysis.__all__)


def test_report_times_every_stage(table):
    report = audit(str(table), AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST),
                   embedder=NumbersEmbedder())
    assert set(report.timings) == {"load", "split", "serialize", "embed", "features", "fit", "analyze", "total"}


def _shares(report) -> dict:
    """True class shares of each labelled test split, as the report records them."""
    classes = report.target["classes"]
    return {name: np.array([dist[c] for c in classes])
            for name, dist in report.target["distribution"].items() if name != "id_train"}


def test_analyze_on_a_reports_models_gives_the_reports_verdict(table):
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST)
    report = audit(str(table), config, embedder=HashEmbedder())
    again = analyze(report.models, _shares(report), config)
    assert again.summary == report.summary and again.verdict == report.verdict
    assert {rep: {s: f.spurious for s, f in fits.items()} for rep, fits in again.aotl.items()} == \
        {rep: {s: f.spurious for s, f in fits.items()} for rep, fits in report.aotl.items()}
    assert again.agreement == {}  # a report keeps no predictions, which agreement needs


def test_analyze_redecides_the_same_models_under_other_thresholds(table):
    from conftest import ConstantEmbedder

    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST)
    report = audit(str(table), replace(config, n_configs=8), embedder=ConstantEmbedder())
    gate = {g.gate: g.status for g in report.verdict.gates}
    assert gate["te_collapse_rate"] == "fail"
    lenient = analyze(report.models, _shares(report), replace(config, max_collapse_rate=1.0))
    assert {g.gate: g.status for g in lenient.verdict.gates}["te_collapse_rate"] == "pass"


def test_shift_column_equal_to_the_target_is_one_error_everywhere(table):
    config = AuditConfig(target="label", shift_col="label", **FAST)
    with pytest.raises(TecurateError, match="shift column 'label' is the target") as from_audit:
        audit(str(table), config, embedder=NumbersEmbedder())
    with pytest.raises(TecurateError) as from_serialize:
        serialize_table(str(table), config)
    assert str(from_audit.value) == str(from_serialize.value)


def test_no_target_or_shift_value_leaks_into_the_text(tmp_path):
    frame = make_frame()
    frame["label"] = frame["label"].map({"yes": "LABEL_YES_SECRET", "no": "LABEL_NO_SECRET"})
    frame["region"] = "REGION_" + frame["region"]
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    recorder = RecordingEmbedder()
    report = audit(str(path), AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST),
                   embedder=recorder)
    assert len(recorder.texts) == report.embedding.n_unique_texts > 0
    for text in recorder.texts + [report.serialization["example"]]:
        assert "SECRET" not in text and "REGION_" not in text
        assert "label" not in text and "region" not in text
    assert report.serialization["columns"] == ["x", "plan"]


def test_same_seed_same_report_and_other_seed_differs(table):
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST)
    one = comparable(audit(str(table), config, embedder=HashEmbedder()))
    two = comparable(audit(str(table), config, embedder=HashEmbedder()))
    assert one == two
    other = comparable(audit(str(table), AuditConfig(**{**config.__dict__, "seed": 1}), embedder=HashEmbedder()))
    assert other["models"] != one["models"]


def test_ood_file_route(tmp_path):
    frame = make_frame(800)
    main, ood = tmp_path / "main.csv", tmp_path / "ood.csv"
    frame[frame.region == "A"].to_csv(main, index=False)
    frame[frame.region != "A"].to_csv(ood, index=False)
    report = audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST),
                   embedder=NumbersEmbedder())
    assert report.shift.kind == "file"
    assert set(report.models[0].splits) == {"id_test", "ood"}
    assert report.target["n_rows"]["ood"] == int((frame.region != "A").sum())


def test_ood_file_missing_columns_is_a_user_error(tmp_path):
    frame = make_frame()
    main, ood = tmp_path / "main.csv", tmp_path / "ood.csv"
    frame.to_csv(main, index=False)
    frame.drop(columns=["plan"]).to_csv(ood, index=False)
    with pytest.raises(TecurateError, match="lacks column"):
        audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST), embedder=NumbersEmbedder())


def test_synthetic_shift_is_marked_and_warned(table):
    report = audit(str(table), AuditConfig(target="label", **FAST), embedder=NumbersEmbedder())
    assert report.shift.kind == "synthetic"
    assert any("synthetic" in w for w in report.warnings)
    assert list(report.aotl["te"]) == ["ood:synthetic"]


def test_missing_targets_are_dropped_and_counted_and_max_rows_samples(tmp_path):
    frame = make_frame(1000)
    frame.loc[:9, "label"] = np.nan
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    report = audit(str(path), AuditConfig(target="label", shift_col="region", min_domain_rows=50,
                                          max_rows=500, **FAST), embedder=NumbersEmbedder())
    assert report.input["n_dropped_missing_target"] == 10
    assert report.input["sampled"] is True
    assert report.input["n_rows_used"] <= 500
    assert any("dropped 10 rows" in w for w in report.warnings)
    shares = pd.Series(report.target["distribution"]["id_train"])
    assert shares.sum() == pytest.approx(1.0)


def test_constant_embeddings_collapse_every_te_model_but_not_raw(table):
    from conftest import ConstantEmbedder

    report = audit(str(table), AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST),
                   embedder=ConstantEmbedder())
    te = report.summary.representations["te"]
    raw = report.summary.representations["raw"]
    assert all(s.collapse_rate == 1.0 for s in te.values())
    assert raw["id_test"].collapse_rate < 1.0
    assert report.summary.paired["id_test"].te_only_collapse_rate > 0
    assert report.verdict.status == "fail" and report.verdict.exit_code == 1


def _ood_files(tmp_path, drop_target: bool):
    frame = make_frame(800)
    main, ood = tmp_path / "main.csv", tmp_path / "ood.csv"
    frame[frame.region == "A"].to_csv(main, index=False)
    other = frame[frame.region != "A"]
    (other.drop(columns=["label"]) if drop_target else other).to_csv(ood, index=False)
    return main, ood, int((frame.region != "A").sum())


def test_ood_file_without_the_target_is_unlabelled_and_estimated_by_agreement(tmp_path):
    import jsonschema

    from tecurate.analysis import PredictionMetrics
    from tecurate.reporting import schema

    main, ood, n_ood = _ood_files(tmp_path, drop_target=True)
    report = audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST), embedder=NumbersEmbedder())
    assert all(isinstance(m.splits["ood"], PredictionMetrics) for m in report.models)
    assert report.target["n_rows"]["ood"] == n_ood and "ood" not in report.target["distribution"]
    assert all("ood" not in fits for fits in report.aotl.values())
    assert report.summary.paired["ood"].median_accuracy_gap is None
    assert report.summary.representations["te"]["ood"].accuracy_quantiles["median"] is None
    fit = report.agreement["te"]["ood"]
    assert fit.mae_pp is None and all(e.ood_accuracy is None for e in fit.estimates)
    assert any("unlabelled" in w for w in report.warnings)
    data = report.to_dict()
    jsonschema.validate(data, schema())
    assert "accuracy" not in data["models"][0]["splits"]["ood"]


def test_ood_unlabeled_ignores_labels_and_gives_the_same_estimates(tmp_path):
    main, ood, _ = _ood_files(tmp_path, drop_target=False)
    labelled = audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST), embedder=NumbersEmbedder())
    blind = audit(str(main), AuditConfig(target="label", ood_path=str(ood), ood_unlabeled=True, **FAST),
                  embedder=NumbersEmbedder())
    assert "ood" in labelled.aotl["te"] and blind.aotl == {}
    with_labels, without = labelled.agreement["te"]["ood"], blind.agreement["te"]["ood"]
    assert with_labels.mae_pp is not None and without.mae_pp is None
    assert [e.aline_s for e in with_labels.estimates] == [e.aline_s for e in without.estimates]
    assert with_labels.healthy == without.healthy


def test_ood_unlabeled_needs_an_ood_file_and_other_columns_must_still_exist(tmp_path):
    with pytest.raises(TecurateError, match="--ood-unlabeled needs --ood"):
        AuditConfig(target="label", ood_unlabeled=True)
    main, ood, _ = _ood_files(tmp_path, drop_target=True)
    pd.read_csv(ood).drop(columns=["plan"]).to_csv(ood, index=False)
    with pytest.raises(TecurateError, match="lacks column"):
        audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST), embedder=NumbersEmbedder())


def test_labelled_runs_report_agreement_with_its_error_on_every_ood_split(table):
    report = audit(str(table), AuditConfig(target="label", shift_col="region", min_domain_rows=100, **FAST),
                   embedder=NumbersEmbedder())
    assert set(report.agreement) == {"raw", "te"}
    for fits in report.agreement.values():
        assert set(fits) == {"ood:B", "ood:C"}
        for fit in fits.values():
            assert fit.mae_pp is not None and len(fit.estimates) == 4


def test_a_rerun_on_unchanged_data_takes_every_fit_from_the_cache(table, tmp_path, monkeypatch):
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100,
                         **{**FAST, "use_cache": True}, cache_dir=str(tmp_path / "cache"))
    first = audit(str(table), config, embedder=NumbersEmbedder())
    assert not any(model.cached for model in first.models)

    import tecurate.grid._fitting as models

    monkeypatch.setattr(models, "fit_predict", lambda *a, **k: pytest.fail("refitted a cached model"))
    second = audit(str(table), config, embedder=NumbersEmbedder())
    assert all(model.cached for model in second.models)
    assert [m.fit_seconds for m in second.models] == [m.fit_seconds for m in first.models]
    again = comparable(second)
    for model in again["models"]:
        model["cached"] = False
    again["embedding"].update(cache_hits=0, cache_misses=first.embedding.cache_misses)
    assert again == comparable(first)
