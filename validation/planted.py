"""Cases whose right answer is known by construction, for tests and for run_validation.py.

Planted collapse (tables): the label hides where a sentence embedding cannot see it — a fine
numeric threshold or an interaction of two numbers, under class imbalance, in rows padded with
irrelevant words — so embedding-trained models fall back to the majority class while raw models,
given the same configuration, learn it. The mirror cases put the label on a salient word that
both routes learn. Planted lines (point sets): healthy models with no ID/OOD relation plus a
pile of collapsed models at the base-rate point (spurious, ``collapse_inflated``), against
genuine lines with or without a few collapsed points (not spurious).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from tecurate.analysis import GridRun, ModelResult, split_metrics
from tecurate.grid import prediction_metrics
from tecurate.reporting import AuditReport

_CITIES = ["Lyon", "Porto", "Graz", "Turku", "Ghent", "Split", "Brno", "Cork", "Bergen", "Malmo",
           "Leeds", "Parma", "Bilbao", "Poznan", "Aarhus", "Basel", "Nantes", "Kassel"]
_COLOURS = ["teal", "amber", "crimson", "olive", "navy", "ivory", "coral", "slate", "plum", "sand"]
_PRODUCTS = ["kettle", "lamp", "drill", "router", "sofa", "bicycle", "printer", "blender", "tent"]
_CHANNELS = ["web", "phone", "store", "partner", "mail"]


@dataclass(frozen=True)
class PlantedTable:
    """A table, how to audit it, and what the audit must find."""

    name: str
    frame: pd.DataFrame
    target: str
    shift_col: str
    te_only_collapse_expected: bool


def _filler(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Irrelevant columns whose words dominate the sentence the embedding sees."""
    return {
        "city": rng.choice(_CITIES, n),
        "colour": rng.choice(_COLOURS, n),
        "product": rng.choice(_PRODUCTS, n),
        "channel": rng.choice(_CHANNELS, n),
        "visits": rng.integers(1, 60, n),
    }


def _regions(n: int) -> np.ndarray:
    """Shift column: ID region A (half the rows), OOD regions B and C."""
    return np.array(["A"] * (n // 2) + ["B"] * (n // 4) + ["C"] * (n - n // 2 - n // 4))


def threshold_case(n: int = 600, minority: float = 0.08, seed: int = 0) -> PlantedTable:
    """Label = a 5-digit reading above its (1 − minority) quantile; the reading is one number in a
    sentence of filler words, so the embedding blurs the cut-off."""
    rng = np.random.default_rng(seed)
    reading = rng.integers(10_000, 100_000, n)
    cut = np.quantile(reading, 1.0 - minority)
    label = np.where(reading > cut, "alert", "normal")
    frame = pd.DataFrame({"reading": reading, **_filler(rng, n), "region": _regions(n), "label": label})
    return PlantedTable(f"threshold(minority={minority:g},seed={seed})", frame, "label", "region", True)


def interaction_case(n: int = 600, minority: float = 0.08, seed: int = 0) -> PlantedTable:
    """Label = both of two readings high (an AND of thresholds), rare; invisible in the text."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(100, 1000, n), rng.integers(100, 1000, n)
    q = np.sqrt(minority)  # P(a high and b high) = q²
    label = np.where((a > np.quantile(a, 1 - q)) & (b > np.quantile(b, 1 - q)), "alert", "normal")
    frame = pd.DataFrame({"pressure": a, "load": b, **_filler(rng, n), "region": _regions(n), "label": label})
    return PlantedTable(f"interaction(minority={minority:g},seed={seed})", frame, "label", "region", True)


def salient_word_case(n: int = 600, minority: float = 0.4, noise: float = 0.05, seed: int = 0) -> PlantedTable:
    """Mirror case: the label follows a salient word (the plan), with a little label noise, so
    both routes learn it and no te-only collapse is expected."""
    rng = np.random.default_rng(seed)
    plan = np.where(rng.random(n) < minority, "premium", "basic")
    flip = rng.random(n) < noise
    label = np.where((plan == "premium") ^ flip, "upgrade", "stay")
    frame = pd.DataFrame({"plan": plan, **_filler(rng, n), "region": _regions(n), "label": label})
    return PlantedTable(f"salient_word(minority={minority:g},seed={seed})", frame, "label", "region", False)


def bit_case(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """A table for :class:`BitEmbedder`: label = x > 14 with 8% label noise, x shifted by region
    (ID A, OOD B and C), so base rates differ between domains and some grid settings collapse."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["A", "B", "C"], n, p=[0.5, 0.25, 0.25])
    x = rng.normal(10, 3, n) + pd.Series(region).map({"A": 0.0, "B": 1.5, "C": 3.0}).to_numpy()
    label = np.where((x > 14) ^ (rng.random(n) < 0.08), "yes", "no")
    return pd.DataFrame({"x": x.round(2), "region": region, "label": label})


class BitEmbedder:
    """Embeds only whether the first number in the text exceeds 14: every healthy model learns
    the same rule, so healthy models agree exactly and show no ID/OOD relation at all."""

    name = "fake-bit"
    identity = "fake-bit@1"
    device = "cpu"
    dim = 4

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        first = np.array([float(re.findall(r"-?\d+(?:\.\d+)?", t)[0]) for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[:, 0] = first > 14
        return out


@dataclass(frozen=True)
class PlantedLine:
    """ID/OOD accuracies of a set of models, which ones collapsed, and the right answer."""

    name: str
    acc_id: np.ndarray
    acc_ood: np.ndarray
    collapsed: np.ndarray
    spurious_expected: bool


def spurious_line(rng: np.random.Generator, n_healthy: int = 20, n_collapsed: int = 6) -> PlantedLine:
    """Healthy models: ID and OOD accuracy independent (no line). Collapsed models: at the base-rate
    point, far below the cloud on both axes, so together they draw a steep line."""
    acc_id = rng.uniform(0.80, 0.90, n_healthy)
    acc_ood = rng.uniform(0.70, 0.80, n_healthy)
    base_id, base_ood = rng.uniform(0.55, 0.65), rng.uniform(0.45, 0.55)
    jitter = rng.normal(0, 0.003, (2, n_collapsed))
    return PlantedLine("spurious", np.r_[acc_id, base_id + jitter[0]], np.r_[acc_ood, base_ood + jitter[1]],
                       np.r_[np.zeros(n_healthy, bool), np.ones(n_collapsed, bool)], True)


def genuine_line(rng: np.random.Generator, n_healthy: int = 20, n_collapsed: int = 0,
                 noise: float = 0.08) -> PlantedLine:
    """Healthy models on a real probit line (slope ~0.9, noise in probit units); optional collapsed
    models placed on the same line, as when the base rate obeys the same shift."""
    slope, intercept = rng.uniform(0.7, 1.1), rng.uniform(-0.4, 0.0)
    x = rng.uniform(stats.norm.ppf(0.6), stats.norm.ppf(0.92), n_healthy)
    y = slope * x + intercept + rng.normal(0, noise, n_healthy)
    xc = np.full(n_collapsed, stats.norm.ppf(0.6)) + rng.normal(0, 0.01, n_collapsed)
    yc = slope * xc + intercept + rng.normal(0, noise, n_collapsed)
    return PlantedLine("genuine" + ("+collapsed" if n_collapsed else ""),
                       stats.norm.cdf(np.r_[x, xc]), stats.norm.cdf(np.r_[y, yc]),
                       np.r_[np.zeros(n_healthy, bool), np.ones(n_collapsed, bool)], False)


def chance_line(rng: np.random.Generator, n_healthy: int = 20, n_collapsed: int = 6,
                noise: float = 0.1) -> PlantedLine:
    """A genuine line through the chance point of a balanced task, probit (0, 0), with healthy
    models in a narrow high-accuracy band and collapsed ones at (0.5, 0.5) + sampling noise: the
    collapsed points lie on the line and only stretch its x-range (R² up, line unchanged)."""
    slope = rng.uniform(0.6, 1.0)
    x = rng.uniform(stats.norm.ppf(0.75), stats.norm.ppf(0.9), n_healthy)
    y = slope * x + rng.normal(0, noise, n_healthy)
    xc = rng.normal(0, 0.02, n_collapsed)
    yc = slope * xc + rng.normal(0, 0.02, n_collapsed)
    return PlantedLine("genuine+chance", stats.norm.cdf(np.r_[x, xc]), stats.norm.cdf(np.r_[y, yc]),
                       np.r_[np.zeros(n_healthy, bool), np.ones(n_collapsed, bool)], False)


def planted_lines(n_each: int, seed: int = 0) -> list[PlantedLine]:
    """``n_each`` point sets of each kind: spurious, genuine, genuine with a few collapsed points
    near its low end, genuine through the chance point with collapsed models there."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_each):
        lines.append(spurious_line(rng, n_collapsed=int(rng.integers(3, 10))))
        lines.append(genuine_line(rng))
        lines.append(genuine_line(rng, n_collapsed=int(rng.integers(1, 4))))
        lines.append(chance_line(rng, n_collapsed=int(rng.integers(3, 10))))
    return lines


@dataclass(frozen=True)
class PlantedShift:
    """Predictions of real classifiers on ID and OOD rows, and the true labels."""

    pred_id: np.ndarray
    pred_ood: np.ndarray
    y_id: np.ndarray
    y_ood: np.ndarray
    n_collapsed: int


def diverse_models_under_shift(seed: int, n: int = 1200, d: int = 8, n_models: int = 20,
                               n_collapsed: int = 8, ood_scale: float = 0.4) -> PlantedShift:
    """A covariate shift where accuracy and agreement are on the line: OOD rows crowd the decision
    boundary (x scaled by ``ood_scale``). ``n_models`` classifiers of varied quality (logistic
    regression, trees, k-NN on random feature subsets), then ``n_collapsed`` that predict class 0
    everywhere, appended last."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(seed)
    beta = np.ones(d) / np.sqrt(d)

    def draw(scale: float) -> tuple[np.ndarray, np.ndarray]:
        X = rng.normal(0, scale, (n, d))
        return X, (X @ beta + 0.3 * rng.normal(0, 1, n) > 0).astype(int)

    (X_tr, y_tr), (X_id, y_id), (X_ood, y_ood) = draw(1.0), draw(1.0), draw(ood_scale)
    pred_id, pred_ood = [], []
    for k in range(n_models):
        cols = rng.choice(d, size=rng.integers(1, d + 1), replace=False)
        model = [LogisticRegression(C=10 ** rng.uniform(-3, 1)),
                 DecisionTreeClassifier(max_depth=int(rng.integers(1, 8)), random_state=k),
                 KNeighborsClassifier(int(rng.integers(1, 50)))][k % 3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_tr[:, cols], y_tr)
        pred_id.append(model.predict(X_id[:, cols]))
        pred_ood.append(model.predict(X_ood[:, cols]))
    for _ in range(n_collapsed):
        pred_id.append(np.zeros(n, int))
        pred_ood.append(np.zeros(n, int))
    return PlantedShift(np.array(pred_id, np.int8), np.array(pred_ood, np.int8), y_id, y_ood, n_collapsed)


def as_grid_run(shift: PlantedShift, *, labelled: bool = True, representation: str = "te") -> GridRun:
    """The planted models as a grid run (one OOD split named "ood"), as the pipeline would build it."""
    models, predictions = [], []
    for k, (pi, po) in enumerate(zip(shift.pred_id, shift.pred_ood, strict=True)):
        ood = split_metrics(shift.y_ood, po, 2, 0.99) if labelled else prediction_metrics(po, 2, 0.99)
        models.append(ModelResult("planted", f"m{k:02d}", {}, representation,
                                  {"id_test": split_metrics(shift.y_id, pi, 2, 0.99), "ood": ood}))
        predictions.append({"id_test": pi, "ood": po})
    return GridRun(models, predictions)


def collapse_flagged(report: AuditReport) -> bool:
    """The collapse flag scored in validation: a collapse gate fails (the excess te − raw collapse
    over matched configurations, or the te-only share, above its limit beyond chance)."""
    return any(g.gate in ("te_collapse_rate", "te_only_collapse") and g.status == "fail"
               for g in report.verdict.gates)


def precision_recall(truth: list[bool], flagged: list[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of ``flagged`` against ``truth`` (None where undefined)."""
    tp = sum(t and f for t, f in zip(truth, flagged, strict=True))
    precision = tp / sum(flagged) if any(flagged) else None
    recall = tp / sum(truth) if any(truth) else None
    return precision, recall
