"""Stage 2: texts to vectors. Embedder backends, the batching loop and the content store.

Each distinct text is embedded once; vectors are kept in a content-addressed store keyed by
the model's identity, so a re-run embeds nothing it has seen. :func:`make_embedder` picks the
backend (:data:`BACKENDS`) from the precision and the device. Vectors the user brings
(``--embeddings``, ``--embedding-col``) come from a :data:`VECTOR_SOURCES` entry instead.
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
from tecurate.embedding._factory import (
    BACKENDS,
    ENTRY_POINT_GROUP,
    Backend,
    load_plugins,
    make_embedder,
    precision_choices,
    resolve_precision,
)
from tecurate.embedding._model import DEFAULT_EMBEDDER, resolve_model
from tecurate.embedding._precomputed import VECTOR_SOURCES, Precomputed, VectorSource, vector_source
from tecurate.embedding._sentence_transformer import SentenceTransformerEmbedder
from tecurate.embedding._store import ContentStore, default_cache_dir, package_version, text_key
from tecurate.embedding._vector_file import VECTOR_SUFFIXES, VectorFile
from tecurate.embedding._tokens import TokenBudget, Truncation, describe_truncation, measure_truncation, token_budget_of

__all__ = [
    "BACKENDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EMBEDDER",
    "ENTRY_POINT_GROUP",
    "PRECISIONS",
    "PRECISION_CHOICES",
    "TEXTS_PER_CALL",
    "VECTOR_SOURCES",
    "Backend",
    "ContentStore",
    "Embedder",
    "EmbeddingInfo",
    "Precomputed",
    "SentenceTransformerEmbedder",
    "TokenBudget",
    "Truncation",
    "VECTOR_SUFFIXES",
    "VectorFile",
    "VectorSource",
    "default_batch_size",
    "default_cache_dir",
    "describe_truncation",
    "embed_texts",
    "load_plugins",
    "make_embedder",
    "measure_truncation",
    "package_version",
    "resolve_model",
    "precision_choices",
    "resolve_precision",
    "text_key",
    "token_budget_of",
    "vector_source",
]
