"""Stage 2: texts to vectors. Embedder backends, the batching loop and the content store.

Each distinct text is embedded once; vectors are kept in a content-addressed store keyed by
the model's identity, so a re-run embeds nothing it has seen. :func:`make_embedder` picks the
backend (:data:`BACKENDS`) from the precision and the device.
"""

from tecurate.embedding._backends import PRECISION_CHOICES, PRECISIONS
from tecurate.embedding._embed import (
    DEFAULT_BATCH_SIZE,
    TEXTS_PER_CALL,
    Embedder,
    EmbeddingInfo,
    default_batch_size,
    embed_texts,
)
from tecurate.embedding._factory import BACKENDS, Backend, make_embedder, resolve_precision
from tecurate.embedding._model import DEFAULT_EMBEDDER, resolve_model
from tecurate.embedding._sentence_transformer import SentenceTransformerEmbedder
from tecurate.embedding._store import ContentStore, default_cache_dir, package_version, text_key
from tecurate.embedding._tokens import TokenBudget, Truncation, describe_truncation, measure_truncation, token_budget_of

__all__ = [
    "BACKENDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EMBEDDER",
    "PRECISIONS",
    "PRECISION_CHOICES",
    "TEXTS_PER_CALL",
    "Backend",
    "ContentStore",
    "Embedder",
    "EmbeddingInfo",
    "SentenceTransformerEmbedder",
    "TokenBudget",
    "Truncation",
    "default_batch_size",
    "default_cache_dir",
    "describe_truncation",
    "embed_texts",
    "make_embedder",
    "measure_truncation",
    "package_version",
    "resolve_model",
    "resolve_precision",
    "text_key",
    "token_budget_of",
]
