"""The leakage guard: a feature column that gives the target away is a warning naming it, and
an error before embedding with --strict; id-like and merely informative columns are not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import NumbersEmbedder, make_frame

from tecurate import AuditConfig, audit
from tecurate.errors import TecurateError
from tecurate.grid import Leak, find_leaks

FAST = dict(shift_col="region", min_domain_rows=100, n_bootstrap=20, n_jobs=2, families=("logreg",),
            n_configs=2, use_cache=False)


def _split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rows = np.random.default_rng(seed).permutation(n)
    return np.sort(rows[: n * 7 // 10]), np.sort(rows[n * 7 // 10:])


def _leaks(frame: pd.DataFrame) -> list[Leak]:
    classes, codes = np.unique(frame["label"].to_numpy(str), return_inverse=True)
    train, test = _split(len(frame))
    columns = [c for c in frame.columns if c != "label"]
    return find_leaks(frame, columns, codes, list(classes), train, test)


def test_a_copy_a_recoding_and_a_score_of_the_target_are_leaks():
    frame = make_frame()
    yes = frame["label"] == "yes"
    frame["label "] = frame["label"]
    frame["approved"] = np.where(yes, "Y", "N")
    frame["score"] = np.where(yes, 0.6, 0.0) + np.random.default_rng(1).uniform(0, 0.4, len(frame))
    assert _leaks(frame) == [Leak("label ", "copy"), Leak("approved", "lookup"), Leak("score", "threshold")]


def test_ids_informative_and_noise_columns_are_not_leaks():
    frame = make_frame()
    frame["row_id"] = [f"r{i:05d}" for i in range(len(frame))]  # a perfect lookup of the training labels only
    frame["serial"] = np.arange(len(frame))
    frame["noise"] = np.random.default_rng(2).normal(size=len(frame))
    assert _leaks(frame) == []


def test_a_recoding_with_missing_values_and_list_cells_is_still_found():
    frame = make_frame()
    frame["tags"] = [["y", "es"] if v == "yes" else None for v in frame["label"]]
    assert _leaks(frame) == [Leak("tags", "lookup")]


def test_a_leak_is_a_report_warning_naming_the_column(tmp_path):
    frame = make_frame()
    frame["label "] = frame["label"]
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    report = audit(str(path), AuditConfig(target="label", **FAST), embedder=NumbersEmbedder()).to_dict()
    leaks = [w for w in report["warnings"] if w.startswith("target leakage")]
    assert leaks == ["target leakage: column 'label ' is a copy of the target 'label' under another name; every "
                     "model can read the label off it, so the verdict says little about the embedding: leave "
                     "it out with --drop-cols"]


def test_strict_stops_before_embedding(tmp_path):
    frame = make_frame()
    frame["outcome_code"] = (frame["label"] == "yes").astype(int)
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)

    class Untouchable(NumbersEmbedder):
        def encode(self, texts, batch_size):  # noqa: ANN001, ANN201 - the fake's own signature
            raise AssertionError("embedded although --strict had to stop first")

    with pytest.raises(TecurateError, match="column 'outcome_code' predicts the target 'label' perfectly"):
        audit(str(path), AuditConfig(target="label", strict=True, **FAST), embedder=Untouchable())
    report = audit(str(path), AuditConfig(target="label", strict=True, drop_cols=("outcome_code",), **FAST),
                   embedder=NumbersEmbedder()).to_dict()
    assert not [w for w in report["warnings"] if w.startswith("target leakage")]


def test_strict_on_the_command_line_exits_2(tmp_path, fake_embedder):
    from typer.testing import CliRunner

    from tecurate.cli import app

    frame = make_frame()
    frame["y copy"] = frame["label"]
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["audit", str(path), "--target", "label", "--strict", "--no-cache",
                                      "--families", "logreg", "--n-configs", "2"])
    assert result.exit_code == 2
    assert "column 'y copy' is a copy of the target 'label'" in result.stderr
