"""The embedding loop: each distinct text encoded once, only on a cache miss, in input order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np

import tecurate.embedding._cpu_threads as cpu_encode
from tecurate._signals import Interrupted
from tecurate.embedding._store import ContentStore, text_key
from tecurate.embedding._tokens import Truncation, text_lengths
from tecurate.errors import TecurateError

DEFAULT_BATCH_SIZE = 64
"""On the CPU for int8 and for callers of :func:`embed_texts` that set none. Measured on 2 cores
with length-sorted rows, no other size clearly beat it for one batch at a time (diamonds rows:
128 ≈ 64 > 32 > 16; credit rows: 32 ≈ 64 > 128). Full precision on the CPU runs two smaller
batches at once instead (:data:`tecurate.embedding._cpu_threads.BATCH_SIZE`)."""
_CUDA_BATCH_SIZE = 256
"""A GPU is underused by small batches; length sorting keeps the padding of large ones low."""

TEXTS_PER_CALL = 512
"""Texts per ``Embedder.encode`` call (whole batches, at least one): few enough for a live
progress bar (~5 s apart on 2 cores), enough to amortize each call's start and its end, where
one of the two CPU workers idles (2,048 credit rows: 87 rows/s in calls of 128, 97 in 512)."""
_STORE_EVERY = 4096
"""New vectors are flushed to the cache in chunks this large, so an interrupted run keeps most
of its work without leaving thousands of tiny chunk files."""


EncodeChunks = Callable[[Sequence[Sequence[str]], int], Iterable[tuple[int, np.ndarray, np.ndarray]]]
"""``encode_chunks(chunks, batch_size)`` encodes every chunk of texts and yields ``(chunk, positions,
vectors)``: which chunk, which of its texts, their vectors; in any order and in pieces, so an engine
can spread the chunks over many workers and stream the vectors back."""


class Embedder(Protocol):
    """Anything that maps texts to fixed-size vectors; tests plug in a fake.

    An optional ``precision`` attribute (``"fp32"`` when absent) is recorded in the report; an
    optional ``token_budget`` (:class:`tecurate.embedding.TokenBudget`, None when unknown) says
    how many tokens of a text it reads, so the report can say which texts it cuts.
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
    truncation: Truncation | None = None
    """What the model's token limit cut; None when the embedder has no token budget."""
    source: dict[str, Any] | None = None
    """Where vectors the user brought came from (``--embeddings``: path, sha256; ``--embedding-col``:
    the columns), their dtype and dimension; None when tecurate embedded the rows itself."""
    precision_reason: str | None = None
    """Which backend ran and why (``--precision auto`` decides from the host); None for an
    embedder given directly."""


def precision_reason_of(embedder: Embedder) -> str | None:
    """Why the embedder runs at its precision, when :func:`make_embedder` built it."""
    return getattr(embedder, "precision_reason", None)


def precision_of(embedder: Embedder) -> str:
    """The embedder's precision as the report records it."""
    return getattr(embedder, "precision", "fp32")


def default_batch_size(embedder: Embedder, device: str | None = None) -> int:
    """The batch size used unless the user sets one; ``device`` where the embedder's copies run
    when that is not its own (a cluster's GPU workers)."""
    if (device or embedder.device).startswith("cuda"):
        return _CUDA_BATCH_SIZE
    return cpu_encode.BATCH_SIZE if precision_of(embedder) == "fp32" else DEFAULT_BATCH_SIZE


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    cache: ContentStore | None = None,
    progress: Callable[[int, int], None] | None = None,
    encode_chunks: EncodeChunks | None = None,
    prepare: Callable[[], None] | None = None,
) -> tuple[np.ndarray, EmbeddingInfo]:
    """Embed ``texts`` in input order, encoding each distinct text once and only on a cache miss.

    Misses are sorted by length (longest first; tokens where the embedder knows its tokenizer,
    else characters: :func:`text_lengths`) before batching: similar lengths cut padding,
    and an out-of-memory batch fails at once rather than at the end. ``progress(done, total)``
    counts distinct texts (cache hits included); it is called with ``done=0`` first, after each
    encoded chunk, and finally with ``done == total``.

    An interrupt (Ctrl-C, or SIGTERM under :func:`tecurate._signals.interruptible`) discards the
    call in flight, flushes every vector finished before it to the cache and propagates as
    :class:`Interrupted`, whose ``kept`` says how many of the distinct texts the cache now holds.

    ``encode_chunks`` runs the encoding elsewhere (:mod:`tecurate.engines`: a Ray cluster); it gets
    the very chunks this process would encode, so the vectors are the same. ``prepare()`` is
    called once when the cache lacks some texts, before they are counted and sorted: an engine
    starts its workers meanwhile (never when everything is cached).
    """
    if batch_size < 1:
        raise TecurateError(f"batch size must be at least 1, got {batch_size}")
    started = time.perf_counter()
    texts = list(texts)
    unique, inverse = _distinct(texts)
    total = len(unique)
    report = progress if progress is not None else _no_progress
    report(0, total)
    vectors, keys, missing = _lookup(unique, embedder, cache)
    n_hits = total - len(missing)
    if missing and prepare is not None:
        prepare()
    try:
        write_ok = _encode_misses(unique, missing, vectors, keys, embedder, batch_size, cache,
                                  lambda done: report(n_hits + done, total),
                                  encode_chunks or partial(_encode_here, embedder))
    except Interrupted as exc:
        if exc.kept is not None:
            exc.kept = (n_hits + exc.kept[0], total, exc.kept[2])
        raise
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
        precision_reason=precision_reason_of(embedder),
    )
    # All-distinct input (the usual table) is already in input order: no second copy.
    return (vectors if total == len(texts) else vectors[inverse]), info


def _distinct(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and each input text's row among them."""
    slot: dict[str, int] = {}
    inverse = np.fromiter(
        (slot.setdefault(text, len(slot)) for text in texts), dtype=np.intp, count=len(texts)
    )
    return list(slot), inverse


def _lookup(unique: list[str], embedder: Embedder,
            cache: ContentStore | None) -> tuple[np.ndarray, list[bytes], list[int]]:
    """The vectors the cache holds (zeros elsewhere), every text's key, and the rows it lacks.

    A cached vector of another dimension is a miss: the identity alone does not prove it fits.
    """
    vectors = np.zeros((len(unique), embedder.dim), dtype=np.float32)
    if cache is None:
        return vectors, [], list(range(len(unique)))
    keys = [text_key(embedder.identity, text) for text in unique]
    hits = cache.lookup(embedder.identity, keys)
    missing = []
    for row, key in enumerate(keys):
        vector = hits.get(key)
        if vector is not None and vector.shape == (embedder.dim,):
            vectors[row] = vector
        else:
            missing.append(row)
    return vectors, keys, missing


def _encode_misses(unique: list[str], missing: list[int], vectors: np.ndarray, keys: list[bytes],
                   embedder: Embedder, batch_size: int, cache: ContentStore | None,
                   encoded: Callable[[int], None], encode_chunks: EncodeChunks) -> bool:
    """Encode the ``missing`` rows into ``vectors``, longest text first, a few whole batches per
    call, and store them as they come; ``encoded(n)`` after each call. False when a write failed.

    Whatever was encoded is stored even when a later call fails, so a rerun resumes from it. An
    interrupt becomes :class:`Interrupted` with ``kept`` = (rows stored, or finished without a
    cache; rows missing; whether a cache keeps them), after the flush.
    """
    lengths = text_lengths([unique[row] for row in missing], embedder)
    missing[:] = [missing[i] for i in np.argsort(-lengths, kind="stable")]
    step = max(1, TEXTS_PER_CALL // batch_size) * batch_size
    groups = [np.asarray(missing[start : start + step], dtype=np.intp) for start in range(0, len(missing), step)]
    pending: list[int] = []
    finished = stored = 0
    try:
        for chunk, positions, result in encode_chunks(_Chunks(unique, groups), batch_size):
            rows = groups[chunk][positions]
            result = np.asarray(result)
            if result.shape != (len(rows), embedder.dim):
                raise ValueError(
                    f"embedder returned shape {result.shape}, expected {(len(rows), embedder.dim)}"
                )
            vectors[rows] = result
            pending.extend(rows.tolist())
            finished += len(rows)
            if cache is not None and len(pending) >= _STORE_EVERY:
                stored += _flush(cache, embedder.identity, keys, vectors, pending)
            encoded(finished)
    except KeyboardInterrupt as exc:
        interrupted = Interrupted.of(exc)
        if cache is not None and pending:
            stored += _flush(cache, embedder.identity, keys, vectors, pending)
        interrupted.kept = (stored if cache is not None else finished, len(missing), cache is not None)
        raise interrupted from None
    finally:
        if cache is not None and pending:
            stored += _flush(cache, embedder.identity, keys, vectors, pending)
    return cache is None or stored == finished


class _Chunks(Sequence[list[str]]):
    """The texts of each chunk, made when asked for: no second list of every text."""

    def __init__(self, unique: list[str], groups: list[np.ndarray]) -> None:
        self._unique = unique
        self._groups = groups

    def __len__(self) -> int:
        return len(self._groups)

    def __getitem__(self, index: int) -> list[str]:  # type: ignore[override]
        return [self._unique[row] for row in self._groups[index]]


def _encode_here(embedder: Embedder, chunks: Sequence[Sequence[str]],
                 batch_size: int) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """In this process, one chunk after the other."""
    for index in range(len(chunks)):
        texts = chunks[index]
        yield index, np.arange(len(texts)), embedder.encode(texts, batch_size)


def _no_progress(done: int, total: int) -> None:
    """Stand-in for a missing progress callback."""


def _flush(
    cache: ContentStore, identity: str, keys: list[bytes], vectors: np.ndarray, rows: list[int]
) -> int:
    """Store ``rows`` and empty the pending list, whatever the outcome; how many were stored."""
    n_stored = len(rows) if cache.store(identity, [keys[r] for r in rows], vectors[rows]) else 0
    rows.clear()
    return n_stored
