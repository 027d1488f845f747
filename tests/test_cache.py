"""The on-disk embedding cache: round trips, corruption, isolation, concurrency, no pickle."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest

from tecurate.embedding import ContentStore, default_cache_dir, text_key

IDENTITY = "fake-model@1:normalize=True"


def _keys_and_vectors(n: int, dim: int = 4) -> tuple[list[bytes], np.ndarray]:
    keys = [text_key(IDENTITY, f"row {i}") for i in range(n)]
    vectors = np.arange(n * dim, dtype=np.float32).reshape(n, dim)
    return keys, vectors


def _chunks(root: Path) -> list[Path]:
    return sorted(root.rglob("chunk-*.npy"))


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("TECURATE_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("TECURATE_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "tecurate"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "tecurate"


def test_text_key_is_sha256_of_identity_and_text():
    key = text_key("model", "hello")
    assert key == hashlib.sha256(b"model\0hello").digest()
    assert len(key) == 32
    assert text_key("model", "hello") != text_key("other", "hello")
    assert text_key("ab", "c") != text_key("a", "bc")


def test_round_trip_returns_only_hits(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(10)
    assert cache.store(IDENTITY, keys[:6], vectors[:6]) is True
    found = cache.lookup(IDENTITY, keys)
    assert set(found) == set(keys[:6])
    for key, vector in zip(keys[:6], vectors[:6]):
        assert found[key].dtype == np.float32
        np.testing.assert_array_equal(found[key], vector)


def test_lookup_on_missing_folder_is_a_miss(tmp_path):
    cache = ContentStore(tmp_path / "never-created")
    keys, _ = _keys_and_vectors(3)
    assert cache.lookup(IDENTITY, keys) == {}
    assert not (tmp_path / "never-created").exists()


def test_keys_ending_in_zero_bytes_survive(tmp_path):
    """Fixed-width byte strings ("S32") strip trailing NULs; the cache must not."""
    cache = ContentStore(tmp_path)
    keys = [b"\x01" * 31 + b"\x00", b"\x00" * 32]
    vectors = np.ones((2, 3), dtype=np.float32)
    cache.store(IDENTITY, keys, vectors)
    assert set(cache.lookup(IDENTITY, keys)) == set(keys)


def test_identities_are_isolated(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(5)
    cache.store(IDENTITY, keys, vectors)
    assert cache.lookup("another-model@2:normalize=True", keys) == {}


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "garbage"])
def test_corrupt_chunk_is_ignored_and_deleted(tmp_path, damage):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(8)
    cache.store(IDENTITY, keys[:4], vectors[:4])
    cache.store(IDENTITY, keys[4:], vectors[4:])
    chunks = _chunks(tmp_path)
    assert len(chunks) == 2
    victim = next(path for path in chunks if _holds(path, keys[0]))
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip_byte":
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    else:
        victim.write_bytes(b"not a numpy file at all")

    found = cache.lookup(IDENTITY, keys)
    assert set(found) == set(keys[4:])
    assert not victim.exists()


def _holds(path: Path, key: bytes) -> bool:
    array = np.load(path, allow_pickle=False)
    return any(row.tobytes() == key for row in array["key"])


def test_pickled_chunk_is_never_loaded(tmp_path):
    """A chunk with a valid checksum but an object array is rejected, not unpickled."""
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(2)
    cache.store(IDENTITY, keys, vectors)
    folder = _chunks(tmp_path)[0].parent
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    data = buffer.getvalue()
    planted = folder / f"chunk-{hashlib.sha256(data).hexdigest()}.npy"
    planted.write_bytes(data)

    assert set(cache.lookup(IDENTITY, keys + [b"\x07" * 32])) == set(keys)
    assert not planted.exists()


def test_wrong_layout_chunk_is_rejected(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(2)
    cache.store(IDENTITY, keys, vectors)
    folder = _chunks(tmp_path)[0].parent
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 3), dtype=np.float64))
    data = buffer.getvalue()
    planted = folder / f"chunk-{hashlib.sha256(data).hexdigest()}.npy"
    planted.write_bytes(data)

    assert set(cache.lookup(IDENTITY, keys + [b"\x07" * 32])) == set(keys)
    assert not planted.exists()


def test_temporary_files_are_ignored(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(3)
    cache.store(IDENTITY, keys[:1], vectors[:1])
    folder = _chunks(tmp_path)[0].parent
    (folder / ".tmp-123-abc.npy").write_bytes(b"half-written")
    assert set(cache.lookup(IDENTITY, keys)) == {keys[0]}
    assert (folder / ".tmp-123-abc.npy").exists()


def test_unwritable_cache_reports_false_instead_of_raising(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache root cannot be a directory here")
    cache = ContentStore(blocker)
    keys, vectors = _keys_and_vectors(3)
    assert cache.store(IDENTITY, keys, vectors) is False
    assert cache.lookup(IDENTITY, keys) == {}


def test_store_rejects_mismatched_input(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(3)
    with pytest.raises(ValueError):
        cache.store(IDENTITY, keys[:2], vectors)
    with pytest.raises(ValueError):
        cache.store(IDENTITY, [b"short"] * 3, vectors)
    assert cache.store(IDENTITY, [], np.zeros((0, 4), dtype=np.float32)) is True
    assert _chunks(tmp_path) == []


def test_concurrent_writers_do_not_clobber_each_other(tmp_path):
    keys, vectors = _keys_and_vectors(400)
    parts = [(keys[i::4], vectors[i::4]) for i in range(4)]
    threads = [
        threading.Thread(target=ContentStore(tmp_path).store, args=(IDENTITY, k, v))
        for k, v in parts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = ContentStore(tmp_path).lookup(IDENTITY, keys)
    assert len(found) == 400
    for key, vector in zip(keys, vectors):
        np.testing.assert_array_equal(found[key], vector)


def test_cache_holds_only_plain_npy_files(tmp_path):
    cache = ContentStore(tmp_path)
    keys, vectors = _keys_and_vectors(50)
    cache.store(IDENTITY, keys[:25], vectors[:25])
    cache.store(IDENTITY, keys[25:], vectors[25:])
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert files and all(path.suffix == ".npy" and path.name.startswith("chunk-") for path in files)
    for path in files:
        assert not np.load(path, allow_pickle=False).dtype.hasobject


def test_model_files_round_trip_beside_the_vectors(tmp_path):
    cache = ContentStore(tmp_path)
    assert cache.load_file(IDENTITY, "model-int8", ".onnx") is None
    assert cache.store_file(IDENTITY, "model-int8", ".onnx", b"onnx bytes") is True
    assert cache.load_file(IDENTITY, "model-int8", ".onnx") == b"onnx bytes"
    assert cache.load_file(IDENTITY, "model-info", ".json") is None
    assert cache.load_file("another-model@2", "model-int8", ".onnx") is None
    (path,) = tmp_path.rglob("model-int8-*.onnx")
    assert path.name == f"model-int8-{hashlib.sha256(b'onnx bytes').hexdigest()}.onnx"
    assert cache.lookup(IDENTITY, [text_key(IDENTITY, "x")]) == {}


def test_corrupt_model_file_is_deleted_not_trusted(tmp_path):
    cache = ContentStore(tmp_path)
    cache.store_file(IDENTITY, "model-int8", ".onnx", b"onnx bytes")
    (path,) = tmp_path.rglob("model-int8-*.onnx")
    path.write_bytes(b"onnx bytez")
    assert cache.load_file(IDENTITY, "model-int8", ".onnx") is None
    assert not path.exists()


def test_unwritable_cache_cannot_store_model_files(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = ContentStore(blocker)
    assert cache.store_file(IDENTITY, "model-int8", ".onnx", b"x") is False
    assert cache.load_file(IDENTITY, "model-int8", ".onnx") is None
