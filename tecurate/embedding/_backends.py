"""The built-in embedder backends, then the installed plug-ins. A new built-in backend is a
module and one line here; a plug-in is an entry point in the group ``tecurate.embedders``
(:func:`tecurate.embedding._factory.load_plugins`, docs/embeddings.md).

Registration order is the order ``--precision`` lists its choices in; among backends of one
precision for one device the one registered last is the default (``onnx-fp32`` is reached by
its name: ``--precision onnx-fp32``).
"""

from __future__ import annotations

from tecurate.embedding._cpu_threads import ThreadedEncoder
from tecurate.embedding._factory import BACKENDS, load_plugins, precision_choices, precisions
from tecurate.embedding._onnx_int8 import (
    Fp32OnnxEncoder,
    Int8Encoder,
    fast_encoder,
    fp32_identity,
    int8_identity,
    require_extra,
)
from tecurate.embedding._sentence_transformer import PlainEncoder, SentenceTransformerBackend

BACKENDS.register("torch-fp32", SentenceTransformerBackend("fp32", ("cuda",), PlainEncoder))
BACKENDS.register("onnx-fp32", SentenceTransformerBackend(
    "fp32", ("cpu",), Fp32OnnxEncoder, identity=fp32_identity,
    versioned=("sentence-transformers", "onnxruntime"), requires=require_extra, fast=fast_encoder(False)))
BACKENDS.register("torch-fp32-threads", SentenceTransformerBackend("fp32", ("cpu",), ThreadedEncoder))
BACKENDS.register("onnx-int8", SentenceTransformerBackend(
    "int8", ("cpu",), Int8Encoder, identity=int8_identity,
    versioned=("sentence-transformers", "onnxruntime"), requires=require_extra, fast=fast_encoder(True)))

load_plugins()

PRECISIONS = precisions()
"""Embedding precisions; int8 is a faster CPU path, see :mod:`tecurate.embedding._onnx_int8`."""
PRECISION_CHOICES = precision_choices()
"""What ``--precision`` takes: ``auto``, a precision, or one backend by its name."""
