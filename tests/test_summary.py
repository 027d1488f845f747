import json
from dataclasses import asdict

import numpy as np
import pytest

import tecurate.analysis._summary as summary
from tecurate.analysis import (
    ModelResult,
    PairedSummary,
    SplitMetrics,
    SplitSummary,
    Summary,
    split_metrics,
    summarize,
)


def sm(acc: float, *, collapsed: bool = False, entropy: float = 0.5, mcr: float = 0.6):
    """A SplitMetrics with only the fields the summary reads set meaningfully."""
    return SplitMetrics(
        accuracy=acc,
        balanced_accuracy=acc,
        macro_f1=acc,
        majority_class_rate=mcr,
        prediction_entropy=entropy,
        n_predicted_classes=1 if collapsed else 2,
        base_rate=0.5,
        lift=acc - 0.5,
        prediction_shift_tv=0.0,
        collapsed=collapsed,
        predicted_distribution=(mcr, 1 - mcr),
    )


def model(rep: str, cfg: str, splits: dict, family: str = "logreg") -> ModelResult:
    return ModelResult(family=family, config_id=cfg, params={}, representation=rep, splits=splits)


def test_public_names_match_all():
    assert set(summary.__all__) == {"PairedSummary", "SplitSummary", "Summary", "summarize"}
    assert all(hasattr(summary, name) for name in summary.__all__)


def test_split_summary_hand_computed():
    # te on id_test: accuracies 0.5, 0.6, 0.7, 0.9; collapsed: c1 only
    # entropies 0.0, 0.4, 0.8, 1.0 -> mean 2.2/4 = 0.55, median (0.4+0.8)/2 = 0.6
    # majority rates 1.0, 0.7, 0.6, 0.5 -> mean 2.8/4 = 0.7, median (0.6+0.7)/2 = 0.65
    # accuracy quantiles (linear): min 0.5, q25 0.5+0.75*0.1=0.575, median 0.65,
    #   q75 0.7+0.25*0.2=0.75, max 0.9
    models = [
        model("te", "c1", {"id_test": sm(0.5, collapsed=True, entropy=0.0, mcr=1.0)}),
        model("te", "c2", {"id_test": sm(0.6, entropy=0.4, mcr=0.7)}),
        model("te", "c3", {"id_test": sm(0.7, entropy=0.8, mcr=0.6)}),
        model("te", "c4", {"id_test": sm(0.9, entropy=1.0, mcr=0.5)}),
    ]
    s = summarize(models).representations["te"]["id_test"]
    assert isinstance(s, SplitSummary)
    assert s.n_models == 4
    assert s.n_collapsed == 1
    assert s.collapse_rate == pytest.approx(0.25)
    assert s.mean_entropy == pytest.approx(0.55)
    assert s.median_entropy == pytest.approx(0.6)
    assert s.mean_majority_class_rate == pytest.approx(0.7)
    assert s.median_majority_class_rate == pytest.approx(0.65)
    assert list(s.accuracy_quantiles) == ["min", "q25", "median", "q75", "max"]
    assert s.accuracy_quantiles == pytest.approx(
        {"min": 0.5, "q25": 0.575, "median": 0.65, "q75": 0.75, "max": 0.9}
    )


def test_paired_summary_hand_computed():
    # pairs on id_test (raw acc, raw collapsed) vs (te acc, te collapsed):
    #   a: (0.8, no)  vs (0.5, yes) -> te-only, gap 0.3
    #   b: (0.7, no)  vs (0.7, no)  -> gap 0.0
    #   c: (0.5, yes) vs (0.6, no)  -> raw-only, gap -0.1
    #   d: (0.9, yes) vs (0.5, yes) -> both, gap 0.4
    # te-only 1/4, raw-only 1/4, median gap of (-0.1, 0.0, 0.3, 0.4) = 0.15
    raw = {"a": (0.8, False), "b": (0.7, False), "c": (0.5, True), "d": (0.9, True)}
    te = {"a": (0.5, True), "b": (0.7, False), "c": (0.6, False), "d": (0.5, True)}
    models = [model("raw", k, {"id_test": sm(a, collapsed=c)}) for k, (a, c) in raw.items()]
    models += [model("te", k, {"id_test": sm(a, collapsed=c)}) for k, (a, c) in te.items()]
    p = summarize(models).paired["id_test"]
    assert isinstance(p, PairedSummary)
    assert p.n_pairs == 4
    assert p.te_only_collapse_rate == pytest.approx(0.25)
    assert p.raw_only_collapse_rate == pytest.approx(0.25)
    assert p.median_accuracy_gap == pytest.approx(0.15)


def test_pairs_match_on_family_and_config_and_ignore_unmatched():
    models = [
        model("raw", "c1", {"id_test": sm(0.9)}, family="logreg"),
        model("te", "c1", {"id_test": sm(0.6)}, family="logreg"),
        # same config_id, different family: not a pair
        model("te", "c1", {"id_test": sm(0.1, collapsed=True)}, family="mlp"),
        # raw only
        model("raw", "c9", {"id_test": sm(0.1)}, family="logreg"),
    ]
    result = summarize(models)
    p = result.paired["id_test"]
    assert p.n_pairs == 1
    assert p.median_accuracy_gap == pytest.approx(0.3)
    assert p.te_only_collapse_rate == 0.0
    # unmatched models still count in the per-representation view
    assert result.representations["te"]["id_test"].n_models == 2
    assert result.representations["raw"]["id_test"].n_models == 2


def test_split_order_id_test_first_then_first_seen():
    models = [
        model("raw", "c1", {"ood_b": sm(0.5), "id_test": sm(0.8)}),
        model("te", "c1", {"ood_a": sm(0.5), "id_test": sm(0.7), "ood_b": sm(0.4)}),
        model("te", "c2", {"ood_c": sm(0.5), "id_test": sm(0.7)}),
    ]
    result = summarize(models)
    assert list(result.representations) == ["raw", "te"]
    assert list(result.representations["raw"]) == ["id_test", "ood_b"]
    assert list(result.representations["te"]) == ["id_test", "ood_b", "ood_a", "ood_c"]
    assert result.representations["te"]["id_test"].n_models == 2
    assert result.representations["te"]["ood_a"].n_models == 1
    # pairs exist only where both routes of c1 were evaluated
    assert list(result.paired) == ["id_test", "ood_b"]


def test_missing_representation_and_empty_input():
    only_te = summarize([model("te", "c1", {"id_test": sm(0.7)})])
    assert list(only_te.representations) == ["te"]
    assert only_te.paired == {}
    assert summarize([]) == Summary(representations={}, paired={})


def test_with_real_split_metrics_and_json_ready():
    y_true = np.array([0, 0, 1, 1])
    models = [
        model("raw", "c1", {"id_test": split_metrics(y_true, np.array([0, 0, 1, 1]), 2, 0.99)}),
        model("te", "c1", {"id_test": split_metrics(y_true, np.array([1, 1, 1, 1]), 2, 0.99)}),
    ]
    result = summarize(models)
    te = result.representations["te"]["id_test"]
    assert te.n_collapsed == 1 and te.mean_entropy == 0.0
    assert result.paired["id_test"].te_only_collapse_rate == 1.0
    assert result.paired["id_test"].median_accuracy_gap == pytest.approx(0.5)  # 1.0 - 0.5
    encoded = json.dumps(asdict(result))
    assert "NaN" not in encoded


def test_rejects_duplicates_and_unknown_representation():
    with pytest.raises(ValueError, match="duplicate"):
        summarize([model("te", "c1", {}), model("te", "c1", {})])
    with pytest.raises(ValueError, match="representation"):
        summarize([model("pixels", "c1", {})])
