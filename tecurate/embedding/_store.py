"""Content-addressed on-disk cache of text embeddings, so re-running an audit is nearly free.

Layout: ``<root>/v1/<sha256(identity)>/chunk-<sha256 of the file's bytes>.npy``. Each chunk
is one structured ``.npy`` array with fields ``key`` (32 raw bytes: :func:`text_key`) and
``vec`` (float32 vector), so a chunk appears on disk in a single atomic rename and can never be
half-written. The file name is its own checksum: a chunk whose bytes do not match its name
(truncated copy, disk error) is ignored and deleted, never trusted. Files are read with
``allow_pickle=False`` only. Two concurrent runs are safe: writers use unique temporary names
(dot-prefixed, never matched by readers) and ``os.replace``; duplicate entries across chunks
are harmless. The same folder may hold files derived from the model, such as the int8 ONNX
model (``model-int8-<sha256>.onnx``), named and checked the same way.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Sequence
from importlib import metadata
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


def package_version(package: str) -> str:
    """An installed package's version for cache keys ("missing" when absent)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _chunk_dtype(dim: int) -> np.dtype:
    return np.dtype([("key", "u1", (KEY_BYTES,)), ("vec", "<f4", (dim,))])


class ContentStore:
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
        for chunk in self._paths(identity, _CHUNK_PREFIX, _CHUNK_SUFFIX):
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
        """Write one chunk; return False (and write nothing) when the cache is not writable."""
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
        return _write_named_by_digest(self._folder(identity), _CHUNK_PREFIX, _CHUNK_SUFFIX,
                                      buffer.getvalue())

    def load_file(self, identity: str, kind: str, suffix: str) -> bytes | None:
        """The bytes of an intact ``kind`` file stored for ``identity`` (e.g. the int8 model)."""
        prefix = f"{kind}-"
        for path in self._paths(identity, prefix, suffix):
            data = _read_verified(path, prefix, suffix)
            if data is not None:
                return data
        return None

    def store_file(self, identity: str, kind: str, suffix: str, data: bytes) -> bool:
        """Keep a model-derived file beside the vectors it produces, checksummed like a chunk."""
        return _write_named_by_digest(self._folder(identity), f"{kind}-", suffix, data)

    def _paths(self, identity: str, prefix: str, suffix: str) -> list[Path]:
        try:
            entries = sorted(self._folder(identity).iterdir())
        except OSError:
            return []
        return [path for path in entries if path.name.startswith(prefix) and path.name.endswith(suffix)]

    @staticmethod
    def _read_chunk(path: Path) -> np.ndarray | None:
        """Load a chunk only if its bytes match the checksum in its name; delete it otherwise."""
        data = _read_verified(path, _CHUNK_PREFIX, _CHUNK_SUFFIX)
        if data is None:
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


def _write_named_by_digest(folder: Path, prefix: str, suffix: str, data: bytes) -> bool:
    """Write ``data`` as ``<prefix><sha256><suffix>`` in one atomic rename; False if not writable.

    A read-only or full disk must not fail an audit, so ``OSError`` is swallowed here and
    reported through the return value for the caller to surface.
    """
    name = f"{prefix}{hashlib.sha256(data).hexdigest()}{suffix}"
    tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}{suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, folder / name)
    except OSError:
        _remove_quietly(tmp)
        return False
    return True


def _read_verified(path: Path, prefix: str, suffix: str) -> bytes | None:
    """The file's bytes if they match the checksum in its name; a mismatch is deleted."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != path.name[len(prefix) : -len(suffix)]:
        _remove_quietly(path)
        return None
    return data


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
