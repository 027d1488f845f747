"""Bring your own embeddings: --embeddings vectors.npy and --embedding-col (a list column, or
one column per dimension) audit the user's vectors with the built-in route's grid, metrics and
gates; bad vectors are exit 2 before any fitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import FakeBackend, NumbersEmbedder, backends_for_every_precision, make_frame
from typer.testing import CliRunner

from tecurate import audit
from tecurate._rows import choose_rows, load
from tecurate.cli import app
from tecurate.config import AuditConfig
from tecurate.errors import TecurateError
from tecurate.pipeline import embed_table

runner = CliRunner()
COMMON = {"target": "label", "shift_col": "region", "use_cache": False, "n_configs": 2, "families": ("logreg",),
          "n_jobs": 1, "min_domain_rows": 100}
FAST = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "100", "--no-cache", "--n-jobs", "1",
        "--families", "logreg", "--n-configs", "2"]


class NoModel:
    """A backend that must never be built: brought vectors need no embedder."""

    def __init__(self, precision: str) -> None:
        self.precision = precision
        self.devices = ("cpu", "cuda")

    def check(self) -> None:
        """Needs nothing."""

    def build(self, *args: object, **kwargs: object) -> NumbersEmbedder:
        raise AssertionError("the embedder was built although the vectors were given")


@pytest.fixture
def no_model():
    with backends_for_every_precision(NoModel):
        yield


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A table with a row lacking its target, and its vectors as the fake embedder makes them."""
    frame = make_frame(900)
    frame.loc[5, "label"] = None
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    with backends_for_every_precision(lambda precision: FakeBackend(precision, NumbersEmbedder)):
        vectors, _ = embed_table(str(path), target="label", shift_col="region", use_cache=False)
    return path, vectors


def comparable(report: dict) -> dict:
    """A report without what differs by design: when, how fast, the embedding record and its setting."""
    kept = {k: v for k, v in report.items() if k not in ("created_at", "timings", "embedding", "config")}
    kept["models"] = [{k: v for k, v in m.items() if k != "fit_seconds"} for m in report["models"]]
    return kept


def test_a_npy_file_gives_the_report_of_the_built_in_route(data, tmp_path, no_model):
    path, vectors = data
    np.save(tmp_path / "v.npy", vectors)
    built_in = audit(str(path), max_rows=600, embedder=NumbersEmbedder(), **COMMON).to_dict()
    brought = audit(str(path), max_rows=600, embeddings=str(tmp_path / "v.npy"), **COMMON).to_dict()
    assert comparable(brought) == comparable(built_in)
    assert brought["input"]["sampled"] and brought["input"]["n_rows_used"] <= 600
    source = brought["embedding"]["source"]
    assert source["kind"] == "file" and source["path"] == str(tmp_path / "v.npy") and source["dim"] == 4
    assert len(source["sha256"]) == 64
    assert brought["embedding"]["precision"] == "precomputed"
    assert brought["config"]["embeddings"] == str(tmp_path / "v.npy")
    assert built_in["embedding"]["source"] is None


def test_sampled_rows_take_the_vectors_of_their_own_file_rows(tmp_path):
    frame = make_frame(900).assign(position=np.arange(900))
    frame.loc[[0, 7, 8], "label"] = None  # dropped rows shift every later row's frame index
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    vectors = np.column_stack([np.arange(900), np.arange(900) % 7]).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=50, max_rows=300,
                         embeddings=str(tmp_path / "v.npy"), seed=3)
    rows = choose_rows(load(str(path), config), config)
    taken, _ = load(str(path), config).vectors.take(rows.positions)
    assert len(rows.frame) <= 300
    assert taken[:, 0].tolist() == rows.frame["position"].tolist()
    assert not {0, 7, 8} & set(rows.positions.tolist())


def test_a_parquet_list_column_and_prefix_columns_give_the_same_report(data, tmp_path, no_model):
    path, vectors = data
    frame = pd.read_csv(path)
    np.save(tmp_path / "v.npy", vectors)
    from_file = audit(str(path), embeddings=str(tmp_path / "v.npy"), **COMMON).to_dict()
    listed = frame.assign(emb=list(vectors))
    pq.write_table(pa.Table.from_pandas(listed, preserve_index=False), tmp_path / "list.parquet")
    fixed = pa.Table.from_pandas(frame, preserve_index=False).append_column(
        "emb", pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]))
    pq.write_table(fixed, tmp_path / "fixed.parquet")
    wide = frame.assign(**{f"emb_{i}": vectors[:, i] for i in range(vectors.shape[1])})
    wide.to_csv(tmp_path / "wide.csv", index=False)
    reports = [audit(str(tmp_path / "list.parquet"), embedding_col="emb", **COMMON).to_dict(),
               audit(str(tmp_path / "fixed.parquet"), embedding_col="emb", **COMMON).to_dict(),
               audit(str(tmp_path / "wide.csv"), embedding_col="emb_*", **COMMON).to_dict(),
               audit(listed, embedding_col="emb", **COMMON).to_dict(),
               audit(fixed, embedding_col="emb", **COMMON).to_dict(),
               audit(pl.from_arrow(fixed), embedding_col="emb", **COMMON).to_dict()]
    for report in reports:
        same = {k: v for k, v in comparable(report).items() if k != "input"}
        assert same == {k: v for k, v in comparable(from_file).items() if k != "input"}
        assert report["serialization"]["columns"] == ["x", "plan"]  # never a feature, never text
        assert "emb" not in report["serialization"]["example"]
    assert reports[2]["embedding"]["source"]["columns"] == [f"emb_{i}" for i in range(4)]
    assert reports[0]["embedding"]["source"] == {"kind": "column", "columns": ["emb"], "dtype": "float32",
                                                 "dim": 4}


def _cli(*args: str):
    return runner.invoke(app, ["audit", *args])


@pytest.mark.parametrize(("matrix", "message"), [
    (np.zeros((10, 4), np.float32), "has 10 rows but DATA has 900"),
    (np.zeros((900, 0), np.float32), "dimension 0"),
    (np.zeros(900, np.float32), "give a 2-d matrix"),
    (np.array([["a"] * 4] * 900), "not numbers"),
    (np.full((900, 4), np.nan, np.float32), "NaN or infinite values (first in row 0)"),
])
def test_bad_vector_files_are_exit_2_before_any_fitting(data, tmp_path, matrix, message, no_model):
    path, vectors = data
    if matrix.shape == (900, 4) and matrix.dtype.kind == "f":
        matrix = vectors.copy()
        matrix[417, 2] = np.inf
        message = "first in row 417"
    np.save(tmp_path / "bad.npy", matrix)
    out = tmp_path / "r.json"
    result = _cli(str(path), *FAST, "--embeddings", str(tmp_path / "bad.npy"), "--output", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()
    stages: list[str] = []
    with pytest.raises(TecurateError):
        audit(str(path), embeddings=str(tmp_path / "bad.npy"), progress=lambda stage, *_: stages.append(stage),
              **COMMON)
    assert "fit" not in stages


@pytest.mark.parametrize(("extra", "message"), [
    (["--embedding-col", "emb"], "use either --embeddings or --embedding-col, not both"),
    (["--precision", "int8"], "--precision would change nothing"),
    (["--embedder", "other-model", "--batch-size", "8"], "--embedder, --batch-size would change nothing"),
    (["--curations", "round:2"], "--curations would change nothing"),
])
def test_flags_that_would_mislead_are_exit_2(data, tmp_path, extra, message):
    path, vectors = data
    np.save(tmp_path / "v.npy", vectors)
    result = _cli(str(path), *FAST, "--embeddings", str(tmp_path / "v.npy"), *extra)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_embeddings_cover_data_rows_only_not_an_ood_file(data, tmp_path):
    path, vectors = data
    np.save(tmp_path / "v.npy", vectors)
    other = tmp_path / "ood.csv"
    make_frame(300, seed=1).to_csv(other, index=False)
    result = _cli(str(path), "--target", "label", "--no-cache", "--embeddings", str(tmp_path / "v.npy"),
                  "--ood", str(other))
    assert result.exit_code == 2 and "put the OOD rows in DATA" in result.stderr


@pytest.mark.parametrize(("column", "message"), [
    (pa.array([[0.1, 0.2]] * 899 + [[0.1]]), "vectors of different lengths (1 to 2)"),
    (pa.array([[0.1, 0.2]] * 899 + [None]), "1 rows without a vector"),
    (pa.array([["a", "b"]] * 900), "lists of string, not of numbers"),
    (pa.array(["0.1,0.2"] * 900), "not of vectors"),
    (pa.array([[]] * 900, pa.list_(pa.float32())), "dimension 0"),
    (pa.array([[0.1, float("nan")]] * 900), "NaN or infinite"),
])
def test_bad_vector_columns_are_exit_2(data, tmp_path, column, message):
    path, _ = data
    table = pa.Table.from_pandas(pd.read_csv(path), preserve_index=False).append_column("emb", column)
    pq.write_table(table, tmp_path / "t.parquet")
    result = _cli(str(tmp_path / "t.parquet"), *FAST, "--embedding-col", "emb")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(("value", "message"), [
    ("vec_*", "matches no column of DATA"),
    ("label", "is the target column"),
    ("x*", "not numbers"),  # x is numeric, xs is not
])
def test_embedding_col_names_checked(data, value, message):
    path, _ = data
    frame = pd.read_csv(path).assign(xs="word")
    frame.to_csv(path, index=False)
    result = _cli(str(path), *FAST, "--embedding-col", value)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_the_report_says_where_the_vectors_came_from(data, tmp_path, no_model):
    path, vectors = data
    np.save(tmp_path / "v.npy", vectors.astype(np.float16))
    out = tmp_path / "r.json"
    result = _cli(str(path), *FAST, "--embeddings", str(tmp_path / "v.npy"), "--max-te-only-collapse-rate", "1",
                  "--output", str(out))
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(out.read_text())
    assert report["embedding"]["source"]["dtype"] == "float16"
    assert report["embedding"]["model"] == "precomputed"
    assert report["verdict"]["gates"][-1]["gate"] == "truncation"


@pytest.mark.slow
def test_embed_then_audit_embeddings_gives_the_built_in_report_with_the_real_model(tmp_path):
    """The round trip users run: `tecurate embed` writes the real model's vectors, `tecurate audit
    --embeddings` audits them; the report is the built-in route's but for where the vectors came
    from (and the truncation gate, which needs the model's tokenizer: unknown for brought vectors)."""
    example = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"
    small = tmp_path / "credit-600.csv"
    pd.read_csv(example).head(600).to_csv(small, index=False)
    args = ["--target", "Status", "--shift-col", "Home", "--min-domain-rows", "40", "--max-rows", "450",
            "--families", "logreg,mlp", "--n-configs", "2", "--n-bootstrap", "100"]
    embedded = runner.invoke(app, ["embed", str(small), "--target", "Status", "--shift-col", "Home", "--output",
                                   str(tmp_path / "v.npy"), "--cache-dir", str(tmp_path / "cache")])
    assert embedded.exit_code == 0, embedded.stderr
    reports = {}
    for name, extra in (("built-in", ["--cache-dir", str(tmp_path / "cache")]),
                        ("brought", ["--embeddings", str(tmp_path / "v.npy"), "--cache-dir", str(tmp_path / "other")])):
        result = runner.invoke(app, ["audit", str(small), *args, *extra, "--output", str(tmp_path / f"{name}.json")])
        assert result.exit_code in (0, 1), result.stderr
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text())
    built_in, brought = reports["built-in"], reports["brought"]
    assert built_in["embedding"]["cache_misses"] == 0  # the vectors `embed` wrote, from the same cache
    assert brought["input"]["sampled"] and brought["input"]["n_rows_used"] <= 450
    gates = {name: {g["gate"]: g for g in r["verdict"].pop("gates")} for name, r in reports.items()}
    assert gates["brought"].pop("truncation")["message"].startswith("unknown")
    gates["built-in"].pop("truncation")
    assert gates["brought"] == gates["built-in"]
    assert comparable(brought) == comparable(built_in)
    assert brought["embedding"]["dim"] == built_in["embedding"]["dim"] == 384


def test_a_sweep_of_brought_vectors_is_a_usage_error(data, tmp_path):
    from tecurate import sweep

    path, vectors = data
    np.save(tmp_path / "v.npy", vectors)
    with pytest.raises(TecurateError, match="brought vectors"):
        sweep(str(path), target="label", embeddings=str(tmp_path / "v.npy"))
