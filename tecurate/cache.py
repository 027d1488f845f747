"""Content-addressed on-disk cache of text embeddings, so re-running an audit is nearly free.

Layout: ``<root>/v1/<sha256(identity)>/chunk-<sha256 of the file's bytes>.npy``. Each chunk
is one structured ``.npy`` array with fields ``key`` (32 raw bytes: :func:`text_key`) and
``vec`` (float32 vector), so a chunk appears on disk in a single atomic rename and can never be
half-written. The file name is its own checksum: a chunk whose bytes do not match its name
(truncated copy, disk error) is ignored and deleted, never trusted. Files are read with
``allow_pickle=False`` only. Two concurrent runs are safe: writers use unique temporary names
(dot-prefixed, never matched by readers) and ``os.replace``; duplicate entries across chunks
are harmless.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

KEY_BYTES = 32
_LAYOUT = "v1"
_CHUNK_PREFIX = "chunk-"
_CHUNK_SUFFIX = ".npy"


def default_cache_dir() -> Path:
    """Where embeddings are cached unless the user says otherwise (XDG conventions)."""
    explicit = os.environ.get("TECURATE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "tecurate"
    return Path.home() / ".cache" / "tecurate"


def text_key(identity: str, text: str) -> bytes:
    """Cache key of one text under one model identity: the key alone addresses the vector."""
    return hashlib.sha256(identity.encode("utf-8") + b"\0" + text.encode("utf-8")).digest()


def _chunk_dtype(dim: int) -> np.dtype:
    return np.dtype([("key", "u1", (KEY_BYTES,)), ("vec", "<f4", (dim,))])


class EmbeddingCache:
    """On-disk embedding store; every failure degrades to a cache miss, never to a crash."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _folder(self, identity: str) -> Path:
        """One folder per model identity, so deleting one model's vectors is one ``rm -r``."""
        return self.root / _LAYOUT / hashlib.sha256(identity.encode("utf-8")).hexdigest()

    def lookup(self, identity: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Return the cached vectors for those ``keys`` that are present (hits only).

        An unreadable or missing cache folder is simply a full miss.
        """
        wanted = set(keys)
        found: dict[bytes, np.ndarray] = {}
        if not wanted:
            return found
        for chunk in self._chunk_paths(identity):
            array = self._read_chunk(chunk)
            if array is None:
                continue
            raw = array["key"].tobytes()
            vectors = np.ascontiguousarray(array["vec"], dtype=np.float32)
            for row in range(len(array)):
                key = raw[row * KEY_BYTES : (row + 1) * KEY_BYTES]
                if key in wanted and key not in found:
                    found[key] = vectors[row]
            if len(found) == len(wanted):
                break
        return found

    def store(self, identity: str, keys: Sequence[bytes], vectors: np.ndarray) -> bool:
        """Write one chunk; return False (and write nothing) when the cache is not writable.

        A read-only or full disk must not fail an audit, so ``OSError`` is swallowed here and
        reported through the return value for the caller to surface.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(keys) != len(vectors):
            raise ValueError("store() needs one 2-D vector row per key")
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"cache keys must be {KEY_BYTES} bytes (see text_key)")
        if not keys:
            return True
        array = np.empty(len(keys), dtype=_chunk_dtype(vectors.shape[1]))
        array["key"] = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, KEY_BYTES)
        array["vec"] = vectors
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        data = buffer.getvalue()
        name = f"{_CHUNK_PREFIX}{hashlib.sha256(data).hexdigest()}{_CHUNK_SUFFIX}"
        folder = self._folder(identity)
        tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}{_CHUNK_SUFFIX}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.replace(tmp, folder / name)
        except OSError:
            _remove_quietly(tmp)
            return False
        return True

    def _chunk_paths(self, identity: str) -> list[Path]:
        try:
            entries = sorted(self._folder(identity).iterdir())
        except OSError:
            return []
        return [
            path
            for path in entries
            if path.name.startswith(_CHUNK_PREFIX) and path.name.endswith(_CHUNK_SUFFIX)
        ]

    @staticmethod
    def _read_chunk(path: Path) -> np.ndarray | None:
        """Load a chunk only if its bytes match the checksum in its name; delete it otherwise."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        expected = path.name[len(_CHUNK_PREFIX) : -len(_CHUNK_SUFFIX)]
        if hashlib.sha256(data).hexdigest() != expected:
            _remove_quietly(path)
            return None
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            _remove_quietly(path)
            return None
        names = array.dtype.names or ()
        if (
            array.ndim != 1
            or names != ("key", "vec")
            or array.dtype["key"] != np.dtype(("u1", (KEY_BYTES,)))
            or array.dtype["vec"].base != np.dtype("<f4")
            or len(array.dtype["vec"].shape) != 1
        ):
            _remove_quietly(path)
            return None
        return array


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
