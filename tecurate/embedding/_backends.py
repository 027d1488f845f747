"""The built-in embedder backends, then the installed plug-ins. A new built-in backend is a
module and one line here; a plug-in is an entry point in the group ``tecurate.embedders``
(:func:`tecurate.embedding._factory.load_plugins`, docs/embeddings.md).

Registration order is the order ``--precision`` lists its choices in.
"""

from __future__ import annotations

from tecurate.embedding._cpu_threads import ThreadedEncoder
from tecurate.embedding._factory import BACKENDS, load_plugins, precisions
from tecurate.embedding._onnx_int8 import Int8Encoder, int8_identity, require_extra
from tecurate.embedding._sentence_transformer import PlainEncoder, SentenceTransformerBackend

BACKENDS.register("torch-fp32", SentenceTransformerBackend("fp32", ("cuda",), PlainEncoder))
BACKENDS.register("torch-fp32-threads", SentenceTransformerBackend("fp32", ("cpu",), ThreadedEncoder))
BACKENDS.register("onnx-int8", SentenceTransformerBackend(
    "int8", ("cpu",), Int8Encoder, identity=int8_identity,
    versioned=("sentence-transformers", "onnxruntime"), requires=require_extra))

load_plugins()

PRECISIONS = precisions()
"""Embedding precisions; int8 is a faster CPU path, see :mod:`tecurate.embedding._onnx_int8`."""
