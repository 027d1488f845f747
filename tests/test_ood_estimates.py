"""Label-free OOD accuracy estimators: known answers (label shift, covariate shift, a collapsed
model), the interval's coverage, the registry, and the report's ``ood_estimates``."""

from __future__ import annotations

import jsonschema
import numpy as np
import pytest
from conftest import NumbersEmbedder
from fake_reports import FAST
from rich.console import Console
from scipy.special import expit

import tecurate.analysis._ood as ood_module
from tecurate import AuditConfig, audit
from tecurate.analysis import ESTIMATORS, TECURATE, GridRun, ModelResult, estimate_ood, split_metrics
from tecurate.analysis._est_atc import thresholds
from tecurate.analysis._est_prior import bbse_prior, ood_prior, pcc_prior
from tecurate.analysis._ood import shift_data
from tecurate.reporting import render_html, schema, summary

EPS = 1e-3


def test_public_api_and_registry():
    assert set(ood_module.__all__) == {"LEVEL", "N_RESAMPLES", "TECURATE", "OodModelEstimate", "OodSplitEstimate",
                                       "estimate_ood", "pseudo_shifts", "shift_data"}
    assert ESTIMATORS.names() == ("no_shift", "ac", "atc", "doc", "aline_s", "aline_d", "prior")


def _run(y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood, rep="te"):
    """A grid run of hand-made models (collapse as the grid decides it: 99% one class)."""
    models, predictions, probabilities = [], [], []
    for k, (pi, po, qi, qo) in enumerate(zip(preds_id, preds_ood, probs_id, probs_ood, strict=True)):
        splits = {"id_test": split_metrics(y_id, pi, 2, 0.99), "ood": split_metrics(y_ood, po, 2, 0.99)}
        models.append(ModelResult("toy", f"toy-{k:02d}", {}, rep, splits))
        predictions.append({"id_test": pi, "ood": po})
        probabilities.append({"id_test": qi, "ood": qo})
    return GridRun(models, predictions, probabilities)


def _noisy_models(y, recalls, rng, precisions=None):
    """Models that keep class c right with probability recalls[m][c], and say so with their ID
    precision per predicted class (so they are calibrated on ID rows)."""
    preds, probs = [], []
    for m, recall in enumerate(recalls):
        keep = rng.random(y.size) < np.asarray(recall)[y]
        pred = np.where(keep, y, 1 - y)
        conf = precisions[m] if precisions is not None else None
        if conf is None:
            conf = np.array([np.mean(y[pred == c] == c) for c in (0, 1)])
        p1 = np.where(pred == 1, conf[1], 1 - conf[0])
        preds.append(pred)
        probs.append(np.column_stack([1 - p1, p1]).astype(np.float32))
    return preds, probs


RECALLS = [(0.95, 0.55), (0.9, 0.6), (0.85, 0.7), (0.8, 0.75), (0.7, 0.85), (0.92, 0.5)]


def _label_shift(seed=0, n=20000, q1=0.8):
    rng = np.random.default_rng(seed)
    y_id = (rng.random(n) < 0.5).astype(int)
    y_ood = (rng.random(n) < q1).astype(int)
    preds_id, probs_id = _noisy_models(y_id, RECALLS, rng)
    precisions = [np.array([np.mean(y_id[p == c] == c) for c in (0, 1)]) for p in preds_id]
    preds_ood, probs_ood = _noisy_models(y_ood, RECALLS, rng, precisions)
    return y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood


def test_pure_label_shift_bbse_finds_the_prior_and_the_recall_formula_the_accuracy():
    y_id, y_ood, *rest = _label_shift()
    run = _run(y_id, y_ood, *rest)
    data = shift_data(run.models, run.predictions, run.probabilities, "ood", y_id, 2, EPS)
    ones = np.ones((1, y_ood.size))
    bbse, pcc, used = bbse_prior(data, ones)[0], pcc_prior(data, ones)[0], ood_prior(data, ones)[0]
    assert bbse[1] == pytest.approx(0.8, abs=0.01)  # BBSE is right under label shift ...
    assert 0.5 < pcc[1] < 0.75  # ... PCC under-reacts ...
    assert used == pytest.approx((bbse + pcc) / 2)  # ... and the estimate hedges between them
    truth = np.array([m.splits["ood"].accuracy for m in run.models])
    expected = np.array([0.2 * r0 + 0.8 * r1 for r0, r1 in RECALLS])
    assert truth == pytest.approx(expected, abs=0.01)
    assert bbse @ data.recall.T == pytest.approx(truth, abs=0.015)  # the label-shift correction
    prior = ESTIMATORS["prior"].estimate(data, ones)[0]
    assert prior == pytest.approx(used @ data.recall.T)
    no_shift = ESTIMATORS["no_shift"].estimate(data, ones)[0]
    ac = ESTIMATORS["ac"].estimate(data, ones)[0]
    assert np.all(np.abs(prior - truth) < np.abs(no_shift - truth))  # moved the right way
    assert np.abs(ac - truth).mean() > 2 * np.abs(prior - truth).mean()  # AC cannot see label shift
    fit = estimate_ood(run, y_id, n_classes=2, eps=EPS, seed=0)["te"]["ood"]
    assert fit.mae_pp[TECURATE] < fit.mae_pp["no_shift"] and fit.mae_pp[TECURATE] < fit.mae_pp["ac"]


def _covariate_shift(seed=0, n=4000, shift=1.0, temperatures=(0.5, 1.0, 2.0, 1.5)):
    """One feature, the Bayes posterior σ(2x) as the truth; models are that posterior at other
    temperatures (miscalibrated until calibrated). OOD rows are shifted in x only."""
    rng = np.random.default_rng(seed)
    x_id, x_ood = rng.normal(size=n), rng.normal(loc=shift, size=n)
    y_id, y_ood = (rng.random(n) < expit(2 * x_id)).astype(int), (rng.random(n) < expit(2 * x_ood)).astype(int)
    preds_id, preds_ood, probs_id, probs_ood = [], [], [], []
    for t in temperatures:
        for x, preds, probs in ((x_id, preds_id, probs_id), (x_ood, preds_ood, probs_ood)):
            p1 = expit(2 * x / t)
            preds.append((p1 > 0.5).astype(int))
            probs.append(np.column_stack([1 - p1, p1]).astype(np.float32))
    return y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood, x_ood


def test_pure_covariate_shift_confidence_estimators_are_right_after_calibration():
    y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood, x_ood = _covariate_shift()
    run = _run(y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood)
    data = shift_data(run.models, run.predictions, run.probabilities, "ood", y_id, 2, EPS)
    assert data.calibration[:, 0] == pytest.approx([0.5, 1.0, 2.0, 1.5], rel=0.25)  # 1/T undid each temperature
    assert data.calibration[:, 1] == pytest.approx(0.0, abs=0.3)  # and found no bias to remove
    bayes = float(np.mean(np.maximum(expit(2 * x_ood), 1 - expit(2 * x_ood))))
    ones = np.ones((1, y_ood.size))
    for name, tolerance in (("ac", 0.015), ("doc", 0.015), ("atc", 0.03)):  # ATC is a heuristic, AC exact
        assert ESTIMATORS[name].estimate(data, ones)[0] == pytest.approx(bayes, abs=tolerance), name
    no_shift = ESTIMATORS["no_shift"].estimate(data, ones)[0]
    assert np.all(np.abs(no_shift - bayes) > 0.03)  # the shift is real: the no-shift guess misses it
    assert pcc_prior(data, ones)[0][1] == pytest.approx(np.mean(expit(2 * x_ood)), abs=0.01)  # PCC is right here


def test_atc_on_id_rows_gives_the_id_accuracy_even_when_scores_tie():
    y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood, _ = _covariate_shift(n=2000)
    flat = np.tile(np.array([[0.3, 0.7]], dtype=np.float32), (y_id.size, 1))  # one score for every row
    run = _run(y_id, y_ood, [*preds_id, np.ones(y_id.size, dtype=int)], [*preds_ood, np.ones(y_id.size, dtype=int)],
               [*probs_id, flat], [*probs_ood, flat])
    data = shift_data(run.models, run.predictions, run.probabilities, "ood", y_id, 2, EPS)
    t, fraction = thresholds(data)
    assert 0 < fraction[-1] < 1  # every row of the flat model sits at its threshold
    on_id = ESTIMATORS["atc"].estimate(data.on_id_rows(), np.ones((1, y_id.size)))[0]
    assert on_id == pytest.approx(data.acc_id, abs=1e-9)


def test_a_collapsed_model_is_estimated_by_the_ood_share_of_its_class():
    y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood = _label_shift(q1=0.7)
    n = y_id.size
    preds_id.append(np.ones(n, dtype=int))
    preds_ood.append(np.ones(n, dtype=int))
    flat = np.tile(np.array([[0.4, 0.6]], dtype=np.float32), (n, 1))
    probs_id.append(flat)
    probs_ood.append(flat)
    run = _run(y_id, y_ood, preds_id, preds_ood, probs_id, probs_ood)
    assert run.models[-1].splits["ood"].collapsed
    fit = estimate_ood(run, y_id, n_classes=2, eps=EPS, seed=0)["te"]["ood"]
    model = fit.estimates[-1]
    assert model.collapsed and model.basis == "prior"
    assert model.ood_accuracy == pytest.approx(0.7, abs=0.01)
    assert model.estimate == pytest.approx(fit.estimated_prior[1])  # the OOD share of its class
    assert fit.bbse_prior[1] == pytest.approx(model.ood_accuracy, abs=0.015)  # exact with BBSE's prior
    assert abs(model.estimate - model.ood_accuracy) < abs(model.estimates["no_shift"] - model.ood_accuracy) - 0.05
    assert model.low <= model.ood_accuracy <= model.high
    assert fit.n_collapsed == 1 and fit.mae_pp_collapsed is not None


def test_interval_coverage_on_a_synthetic_covariate_shift():
    covered, widths = [], []
    for seed in range(12):
        y_id, y_ood, *rest, _ = _covariate_shift(seed=seed, n=600, shift=0.7)
        fit = estimate_ood(_run(y_id, y_ood, *rest), y_id, n_classes=2, eps=EPS, seed=seed)["te"]["ood"]
        covered += [e.low <= e.ood_accuracy <= e.high for e in fit.estimates]
        widths += [e.high - e.low for e in fit.estimates]
    assert 0.8 <= np.mean(covered) <= 1.0
    assert np.median(widths) < 0.15  # covers because it is right, not because it is huge


def test_predictions_without_probabilities_are_calibrated_into_class_precisions():
    y_id, y_ood, *rest = _label_shift(n=2000)
    run = _run(y_id, y_ood, *rest)
    data = shift_data(run.models, run.predictions, None, "ood", y_id, 2, EPS)
    for m in range(data.n_models):  # one-hot in, P_ID(y = k | ŷ = k) out
        for k in (0, 1):
            rows = data.pred_id[m] == k
            assert data.conf_id[m, rows] == pytest.approx(np.mean(y_id[rows] == k), abs=0.01)
    fit = estimate_ood(GridRun(run.models, run.predictions), y_id, n_classes=2, eps=EPS, seed=0)["te"]["ood"]
    assert fit.mae_pp["no_shift"] > fit.mae_pp["prior"]


def test_labelled_audit_reports_every_estimator_its_error_and_a_valid_schema(table):
    report = audit(str(table), AuditConfig(target="label", shift_col="region", **FAST), embedder=NumbersEmbedder())
    assert set(report.ood_estimates) == {"raw", "te"}
    for fits in report.ood_estimates.values():
        assert set(fits) == {"ood:B", "ood:C"}
        for fit in fits.values():
            assert set(fit.mae_pp) == {*ESTIMATORS.names(), TECURATE}
            assert fit.coverage is not None and fit.true_prior is not None
            assert sum(fit.estimated_prior) == pytest.approx(1.0)
            for e in fit.estimates:
                assert e.low <= e.estimate <= e.high and set(e.estimates) == set(ESTIMATORS.names())
    data = report.to_dict()
    jsonschema.validate(data, schema())
    keys = list(data)
    assert keys.index("ood_estimates") == keys.index("agreement") + 1
    text = _terminal(data)
    assert "OOD accuracy without labels" in text and "tecurate" in text and "ATC" in text
    assert "<h2>OOD accuracy without labels" in render_html(data)


def test_unlabelled_ood_file_shows_estimates_with_intervals_for_the_best_models(tmp_path):
    from test_pipeline import _ood_files

    main, ood, _ = _ood_files(tmp_path, drop_target=True)
    report = audit(str(main), AuditConfig(target="label", ood_path=str(ood), **FAST), embedder=NumbersEmbedder())
    fit = report.ood_estimates["te"]["ood"]
    assert fit.mae_pp is None and fit.coverage is None and fit.true_prior is None
    assert all(e.ood_accuracy is None for e in fit.estimates)
    data = report.to_dict()
    jsonschema.validate(data, schema())
    text = _terminal(data)
    assert "Estimated OOD accuracy (no labels)" in text and "error of each estimator" not in text
    best = max((e for e in fit.estimates if not e.collapsed), key=lambda e: e.estimate)
    assert f"{best.estimate:.3f}" in text


def test_schema_refuses_a_malformed_estimate(table):
    report = audit(str(table), AuditConfig(target="label", shift_col="region", **FAST), embedder=NumbersEmbedder())
    data = report.to_dict()
    data["ood_estimates"]["te"]["ood:B"]["estimates"][0]["high"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema())


def _terminal(data) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(summary(data))
    return console.export_text()
