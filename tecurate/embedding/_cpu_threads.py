"""Full-precision CPU encoding that keeps every core busy: two workers, each half the threads.

Why: a small transformer's forward pass does not scale across torch's intra-op threads (on 2
cores, 2 threads ran 1.72x one thread), while two batches in flight at once, one thread each,
keep both cores fed; small batches then also stay in cache. Measured on 2 cores through
:func:`tecurate.embedding._embed.embed_texts`, all 4,425 credit_data texts, medians of 3 interleaved runs:
``SentenceTransformer.encode`` at batch 64 88 rows/s, two workers at batch 16 96 rows/s (+9%);
on 2,048 of them, medians of 5: 83 vs 100. Vectors are those of ``encode`` (bit-identical at
the same batch size; padding to another batch size moves them ~1e-7).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from tecurate.embedding._store import ContentStore

WORKERS = 2
"""Batches in flight at once; each gets ``torch.get_num_threads() // WORKERS`` threads."""

BATCH_SIZE = 16
"""Per worker; see the module docstring for the measurement behind it."""


def preprocess(model: SentenceTransformer, texts: list[str]) -> dict[str, Any]:
    """Tokenize; sentence-transformers 6 renamed ``tokenize`` to ``preprocess``, accept both."""
    method = getattr(model, "preprocess", None) or model.tokenize
    return dict(method(texts))


def encode_threaded(model: SentenceTransformer, texts: Sequence[str], batch_size: int,
                    normalize: bool, dim: int) -> np.ndarray:
    """``model.encode(texts)`` on the CPU with :data:`WORKERS` batches in flight.

    Tokenizing runs under a lock: a Hugging Face fast tokenizer is not safe to call from two
    threads at once ("Already borrowed"). The forward passes release the GIL and overlap.
    torch's thread count is process-wide, so it is lowered for the call and restored after.
    """
    import torch

    batches = [list(texts[start:start + batch_size]) for start in range(0, len(texts), batch_size)]
    if not batches:
        return np.zeros((0, dim), dtype=np.float32)
    threads = torch.get_num_threads()
    workers = min(WORKERS, threads, len(batches))
    tokenizer_lock = threading.Lock()

    def run(batch: list[str]) -> np.ndarray:
        with tokenizer_lock:
            features = preprocess(model, batch)
        with torch.inference_mode():
            vectors = model.forward(features)["sentence_embedding"].float()
            if normalize:
                vectors = torch.nn.functional.normalize(vectors, dim=1)
        return vectors.numpy()

    if workers == 1:
        return np.concatenate([run(batch) for batch in batches])
    torch.set_num_threads(max(1, threads // workers))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tecurate-embed") as pool:
            return np.concatenate(list(pool.map(run, batches)))
    finally:
        torch.set_num_threads(threads)


class ThreadedEncoder:
    """:func:`encode_threaded` as the encoder of the full-precision CPU backend."""

    def __init__(self, model: SentenceTransformer, dim: int, identity: str, normalize: bool,
                 store: ContentStore | None) -> None:
        self._model = model
        self._dim = dim
        self._normalize = normalize

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return encode_threaded(self._model, texts, batch_size, self._normalize, self._dim)
