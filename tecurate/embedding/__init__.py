"""Stage 2: texts to vectors. Embedder backends, the batching loop and the content store.

Each distinct text is embedded once; vectors are kept in a content-addressed store keyed by
the model's identity, so a re-run embeds nothing it has seen.
"""

from tecurate.embedding._embed import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EMBEDDER,
    TEXTS_PER_CALL,
    Embedder,
    EmbeddingInfo,
    SentenceTransformerEmbedder,
    default_batch_size,
    embed_texts,
    resolve_model,
)
from tecurate.embedding._store import ContentStore, default_cache_dir, package_version, text_key

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EMBEDDER",
    "TEXTS_PER_CALL",
    "ContentStore",
    "Embedder",
    "EmbeddingInfo",
    "SentenceTransformerEmbedder",
    "default_batch_size",
    "default_cache_dir",
    "embed_texts",
    "package_version",
    "resolve_model",
    "text_key",
]
