"""Every dtype a CSV, Parquet or JSONL file can hold: the audit gives a report (exit 0/1) or a
one-line exit 2 naming the column, during validation — never exit 3 (tecurate.data._columns)."""

from __future__ import annotations

import datetime
import decimal
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_frame
from typer.testing import CliRunner

import tecurate.engines._local
import tecurate.pipeline
from tecurate.cli import app
from tecurate.data import column_kind, feature_columns, make_serializer, read_table
from tecurate.errors import TecurateError
from tecurate.grid import encode_raw

runner = CliRunner()
N = 600
FAST = ["--target", "label", "--shift-col", "region", "--min-domain-rows", "100", "--no-cache",
        "--n-jobs", "1", "--families", "logreg", "--n-configs", "2"]


def _cells(kind: str) -> list[object]:
    """One column of N cells of `kind`, some missing, as a file's reader hands them over."""
    rng = np.random.default_rng(0)
    make = {
        "list": lambda i: [int(v) for v in rng.integers(0, 3, i % 3)],
        "nested": lambda i: [{"k": [i % 3, None]}, {"k": []}],
        "dict": lambda i: {"b": i % 3, "a": "x" if i % 2 else None},
        "mixed": lambda i: [1, "a", 2.5, True, {"a": 1}, [1.0]][i % 6],
        "utf8_bytes": lambda i: f"lvl{i % 4}".encode(),
        "decimal": lambda i: decimal.Decimal(f"{i % 7}.25"),
        "date": lambda i: datetime.date(2020, 1, 1 + i % 28),
    }[kind]
    return [None if i % 10 == 0 else make(i) for i in range(N)]


def _frame_with(name: str, values: object) -> pd.DataFrame:
    frame = make_frame(N)
    frame[name] = values
    return frame


def _audit(path: Path, *extra: str):
    result = runner.invoke(app, ["audit", str(path), *FAST, "--format", "json", "--quiet", *extra])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    return result


def _passes(result) -> dict:
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["list", "nested", "dict", "mixed", "utf8_bytes", "decimal", "date"])
def test_object_cells_in_jsonl_and_parquet_audit(kind, tmp_path, fake_embedder):
    """Lists, dicts, mixed types (JSONL) crashed serialization with `unhashable type` (exit 3)."""
    cells = _cells(kind)
    jsonable = kind not in ("utf8_bytes", "decimal", "date")
    frame = _frame_with("cell", cells)
    if jsonable:
        path = tmp_path / "t.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")))
        report = _passes(_audit(path))
        assert "cell" in report["serialization"]["columns"]
    if kind != "mixed":  # Parquet cannot hold a mixed column
        path = tmp_path / "t.parquet"
        table = pa.Table.from_pandas(frame.drop(columns="cell"), preserve_index=False)
        pq.write_table(table.append_column("cell", pa.array(cells)), path)
        report = _passes(_audit(path))
        assert "cell" in report["serialization"]["columns"]


@pytest.mark.parametrize(
    "values",
    [
        pd.date_range("2020-01-01", periods=N, freq="h"),
        pd.date_range("2020-01-01", periods=N, freq="h", tz="Europe/Paris"),
        pd.to_timedelta(np.arange(N), unit="min"),
        pd.Categorical(np.resize(["a", "b", "c"], N)),
        pd.array([None if i % 10 == 0 else i for i in range(N)], dtype="Int64"),
        pd.array([None if i % 10 == 0 else bool(i % 2) for i in range(N)], dtype="boolean"),
        pd.array([None if i % 10 == 0 else f"s{i % 4}" for i in range(N)], dtype="string"),
        np.where(np.arange(N) % 50 == 0, np.inf, np.arange(N, dtype=float)),
    ],
    ids=["datetime", "datetime_tz", "timedelta", "categorical", "Int64", "boolean", "string", "inf"],
)
def test_typed_parquet_columns_audit(values, tmp_path, fake_embedder):
    """An infinite float crashed the raw encoder after embedding (exit 3)."""
    path = tmp_path / "t.parquet"
    _frame_with("cell", values).to_parquet(path)
    _passes(_audit(path))


def test_binary_column_is_rejected_by_name_before_embedding(tmp_path, fake_embedder, monkeypatch):
    """Non-UTF-8 bytes crashed the raw encoder after embedding had run (exit 3)."""
    path = tmp_path / "t.parquet"
    _frame_with("blob", [bytes([i % 5, 200]) for i in range(N)]).to_parquet(path)
    embedded = []
    original = tecurate.engines._local.embed_texts
    monkeypatch.setattr("tecurate.engines._local.embed_texts",
                        lambda *args, **kwargs: embedded.append(1) or original(*args, **kwargs))
    result = _audit(path)
    assert result.exit_code == 2 and not embedded
    message = result.stderr.strip()
    assert "\n" not in message and "'blob'" in message and "--drop-cols" in message
    _passes(_audit(path, "--drop-cols", "blob"))
    assert embedded


def test_text_of_a_cell_does_not_depend_on_row_order():
    """1, True and 1.0 are equal in Python, so factorizing merged them: the first one's text won."""
    cells = [True, 1, 1.0, "1", decimal.Decimal("1.0"), [1], {"b": 1, "a": 2}, {"a": 2, "b": 1}]
    expected = ["true", "1", "1", "1", "1.0", "[1]", '{"a": 2, "b": 1}', '{"a": 2, "b": 1}']
    serializer = make_serializer("{c}", ["c"])
    for order in (list(range(len(cells))), list(reversed(range(len(cells))))):
        frame = pd.DataFrame({"c": pd.Series([cells[i] for i in order], dtype=object)})
        assert serializer.serialize(frame) == [expected[i] for i in order]


def test_loaded_containers_are_plain_text_for_every_stage(tmp_path):
    """A list-valued target or shift column would crash factorize; at load they become text."""
    path = tmp_path / "t.jsonl"
    path.write_text('{"y": [1], "x": {"k": 1}}\n{"y": [2], "x": null}\n')
    frame = read_table(str(path)).frame
    assert frame["y"].tolist() == ["[1]", "[2]"]
    assert frame["x"].iloc[0] == '{"k": 1}' and pd.isna(frame["x"].iloc[1])


def test_both_routes_read_the_same_kinds():
    frame = pd.DataFrame({
        "when": pd.date_range("2020-01-01", periods=3, tz="UTC"),
        "span": pd.to_timedelta([1, 2, None], unit="s"),
        "price": pd.Series([decimal.Decimal("1.50"), None, decimal.Decimal("2.25")], dtype=object),
        "day": pd.Series([datetime.date(2020, 1, d) for d in (1, 2, 4)], dtype=object),
        "tags": pd.Series(["[1]", "[]", "[1, 2]"]),
        "ratio": [1.0, np.inf, -np.inf],
    })
    assert {c: column_kind(frame[c]) for c in frame} == {
        "when": "numeric", "span": "numeric", "price": "numeric", "day": "numeric",
        "tags": "categorical", "ratio": "numeric",
    }
    matrix = encode_raw(frame, list(frame.columns), np.arange(3))
    assert np.isfinite(matrix).all()
    day = frame.columns.get_loc("day")
    assert matrix[2, day] - matrix[1, day] == pytest.approx(2 * (matrix[1, day] - matrix[0, day]))
    texts = make_serializer("kv", list(frame.columns)).serialize(frame)
    assert texts[0] == ("when: 2020-01-01 00:00:00+00:00; span: 0 days 00:00:01; price: 1.50; "
                        "day: 2020-01-01; tags: [1]; ratio: 1")


def test_binary_target_and_shift_column_are_named_too():
    frame = pd.DataFrame({"y": [b"\xff", b"\xfe"], "s": ["a", "b"], "x": [1, 2]})
    with pytest.raises(TecurateError, match="column 'y' holds binary data"):
        feature_columns(frame, "y")
    frame = pd.DataFrame({"y": ["a", "b"], "s": [b"\xff", b"\xfe"], "x": [1, 2]})
    with pytest.raises(TecurateError, match="column 's' holds binary data"):
        feature_columns(frame, "y", shift_col="s")
    assert feature_columns(frame, "y", drop=["s"]) == ["x"]


def test_json_nested_too_deeply_is_a_user_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(TecurateError, match="line 1 is nested too deeply"):
        read_table(str(path))
