"""The production embedder: a sentence-transformers model, loaded offline and lazily, run by
one of the sentence-transformers backends (plain ``encode``, threaded CPU, ONNX fp32 and int8;
the ONNX ones without torch once their exported model is cached)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from tecurate.embedding._embed import Embedder
from tecurate.embedding._factory import choose_backend
from tecurate.embedding._model import (
    DEFAULT_EMBEDDER,
    ModelRecord,
    embedding_dimension,
    folder_fingerprint,
    hub_snapshot,
    load_sentence_transformer,
    model_identity,
    resolve_model,
)
from tecurate.embedding._store import ContentStore
from tecurate.embedding._tokens import TokenBudget

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Encoder(Protocol):
    """Encodes texts with a loaded model; made once per embedder, on its first cache miss."""

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray: ...


def _unchanged(identity: str) -> str:
    return identity


def _ready() -> None:
    """Nothing to check."""


def _no_fast_path(*args: object) -> None:
    """A backend without a torch-free route."""


@dataclass(frozen=True)
class SentenceTransformerBackend:
    """One way to run a sentence-transformers model; loading and identity are shared by all."""

    precision: str
    devices: tuple[str, ...]
    encoder: Callable[[SentenceTransformer, int, str, bool, ContentStore | None], Encoder]
    """``encoder(model, dim, identity, normalize, store)``."""
    identity: Callable[[str], str] = _unchanged
    """The vectors' cache identity from the fp32 model's."""
    versioned: tuple[str, ...] = ("sentence-transformers",)
    """Packages whose upgrade could change a remembered identity (defaults, quantizer)."""
    requires: Callable[[], None] = _ready
    """Fails before any model is loaded when optional packages are missing."""
    fast: Callable[..., Encoder | None] = _no_fast_path
    """``fast(folder, dim, identity, normalize, store, load)``: an encoder that needs no torch, or
    None; ``load()`` loads the model when the fast route needs it once (the first ONNX export)."""

    def check(self) -> None:
        self.requires()

    def build(self, name_or_path: str | None, *, device: str, store: ContentStore | None) -> Embedder:
        return SentenceTransformerEmbedder(name_or_path, device=device, precision=self.precision, cache=store,
                                           backend=self)


class PlainEncoder:
    """sentence-transformers' own ``encode``: what a GPU runs best."""

    def __init__(self, model: SentenceTransformer, dim: int, identity: str, normalize: bool,
                 store: ContentStore | None) -> None:
        self._model = model
        self._normalize = normalize

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=self._normalize,
        )


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
        backend: SentenceTransformerBackend | None = None,
    ) -> None:
        """``precision`` and ``device`` pick the backend as :func:`make_embedder` does (unless
        ``backend`` is given, with a resolved ``device``); ``cache`` keeps the model's identity and
        the ONNX model files (:func:`embed_texts` caches vectors)."""
        if backend is None:
            backend, device = choose_backend(precision, device, among=SentenceTransformerBackend)
        self.device = device
        backend.check()
        self.name = DEFAULT_EMBEDDER if name_or_path is None else name_or_path
        self.normalize = normalize
        self.precision = backend.precision
        self._backend = backend
        self._resolved = resolve_model(name_or_path)
        self._cache = cache
        self._model: SentenceTransformer | None = None
        self._encoder: Encoder | None = None
        self.identity, self.dim = self._identify()

    @functools.cached_property
    def token_budget(self) -> TokenBudget | None:
        """Read from the model's folder without loading the model: the local folder, or a Hub
        id's copy in the Hugging Face cache; None when neither has a tokenizer to read."""
        folder = self._resolved if os.path.isdir(self._resolved) else hub_snapshot(self._resolved)
        return TokenBudget.from_folder(folder) if folder else None

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        if self._encoder is None:
            self._encoder = (self._backend.fast(self._resolved, self.dim, self.identity, self.normalize,
                                                self._cache, self._loaded)
                             or self._backend.encoder(self._loaded(), self.dim, self.identity,
                                                      self.normalize, self._cache))
        vectors = self._encoder.encode(texts, batch_size)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _identify(self) -> tuple[str, int]:
        """``(identity, dim)``: remembered for a local folder when there is a cache, else read
        from the loaded model (and remembered)."""
        folder = Path(self._resolved)
        fingerprint = folder_fingerprint(folder) if os.path.isdir(self._resolved) else None
        record = None
        if fingerprint is not None and self._cache is not None:
            record = ModelRecord(self._cache, self.name, fingerprint, self.normalize, self.precision,
                                 self._backend.versioned)
            known = record.recall()
            if known is not None:
                return known
        model = self._loaded()
        dim = embedding_dimension(model)
        base = model_identity(model, self._resolved, self.name, self.normalize, fingerprint)
        identity = self._backend.identity(base)
        if record is not None:
            record.remember(identity, dim)
        return identity, dim

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_sentence_transformer(self._resolved, self.device, self.name)
        return self._model
