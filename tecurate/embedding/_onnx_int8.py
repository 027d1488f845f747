"""The ONNX CPU paths: the model's transformer exported to ONNX, with int8 weights or as is.

Why this route: measured on a 2-core AVX-512 VNNI machine (``benchmarks/RESULTS.md``), torch's
own dynamic quantization reached only ~0.94 mean cosine to the fp32 vectors at ~1.4x the
speed, while onnxruntime's per-channel int8 MatMul weights keep ~0.99 at ~2x. Per-tensor
weights (~0.96) were rejected for the same reason. Only the transformer runs in ONNX:
tokenization, pooling and normalization stay the model's own sentence-transformers modules,
so int8 vectors differ from fp32 ones only through the quantized weights.

The exported (and for int8 quantized) model is built once per model identity (a few seconds)
and kept in the embedding cache beside the vectors it produces, checksummed like them. Once it
is there, a local model folder of the usual shape is run without torch
(:mod:`tecurate.embedding._onnx_fast`); only the first export, or an unusual model, needs the
torch-assisted :class:`OnnxEncoder` below.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import tempfile
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from tecurate.embedding._cpu_threads import preprocess
from tecurate.embedding._onnx_fast import FastOnnxEncoder, cpu_threads, make_session, unsupported_reason
from tecurate.embedding._store import ContentStore
from tecurate.errors import TecurateError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sentence_transformers import SentenceTransformer

QUANTIZATION = "onnx-int8-dynamic-per-channel-matmul"
"""Recorded in the cache identity: another quantization recipe means other vectors."""

FP32_EXPORT = "onnx-fp32-opset17"
"""The fp32 ONNX backend's recipe, recorded in its cache identity."""
_ARTIFACT = {True: "model-int8", False: "model-fp32"}
_ARTIFACT_SUFFIX = ".onnx"
_OUTPUT = "token_embeddings"
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_OPSET = 17
_MAX_EXPORT_ERROR = 1e-3
"""Largest token-embedding difference allowed between the fp32 export and torch: any more and
the traced graph does not reproduce the model (e.g. data-dependent control flow)."""
_PROBE = (
    "a short probe",
    "a longer probe text, so that the batch is padded and the attention mask matters, 1234.5",
)
_INSTALL_HINT = "--precision int8 and the ONNX backends need onnxruntime and onnx: pip install 'tecurate[fast]'"


def require_extra() -> None:
    """Fail before any model is loaded when the optional packages are missing; finding them is
    enough (importing onnx alone costs ~1 s, and a warm audit never quantizes)."""
    if any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "onnx")):
        raise TecurateError(_INSTALL_HINT)


def int8_identity(base_identity: str) -> str:
    """Cache identity of the int8 vectors: the fp32 identity plus recipe and quantizer version."""
    return f"{base_identity}:precision=int8:{QUANTIZATION}:onnxruntime={_runtime_version()}"


def fp32_identity(base_identity: str) -> str:
    """Cache identity of the ONNX fp32 vectors: another runtime's arithmetic, its own entries."""
    return f"{base_identity}:precision=fp32:{FP32_EXPORT}:onnxruntime={_runtime_version()}"


def _artifact(model: SentenceTransformer, identity: str, quantize: bool, cache: ContentStore | None) -> bytes:
    """The exported model from the cache, or built from ``model`` (and stored)."""
    data = cache.load_file(identity, _ARTIFACT[quantize], _ARTIFACT_SUFFIX) if cache is not None else None
    if data is None:
        data = build_onnx_model(model, quantize=quantize)
        if cache is not None:
            cache.store_file(identity, _ARTIFACT[quantize], _ARTIFACT_SUFFIX, data)
    return data


def fast_encoder(quantize: bool) -> Callable[..., FastOnnxEncoder | None]:
    """The torch-free encoder factory of one ONNX backend: ``factory(folder, dim, identity,
    normalize, store, load)`` returns a :class:`FastOnnxEncoder`, or None when ``folder`` is not
    a model it reproduces. ``load()`` gives the sentence-transformers model, called only when the
    exported model is not yet in the cache (the first export uses torch)."""

    def factory(folder: str, dim: int, identity: str, normalize: bool, store: ContentStore | None,
                load: Callable[[], SentenceTransformer]) -> FastOnnxEncoder | None:
        if unsupported_reason(folder) is not None:
            return None
        cached = store.load_file(identity, _ARTIFACT[quantize], _ARTIFACT_SUFFIX) if store is not None else None
        data = cached if cached is not None else _artifact(load(), identity, quantize, store)
        return FastOnnxEncoder(folder, data, dim, normalize)

    return factory


class OnnxEncoder:
    """Encode texts with the ONNX transformer and the model's own torch head modules: the route
    for models the torch-free path does not reproduce (a Hub id, another pooling)."""

    quantize = True

    def __init__(self, model: SentenceTransformer, dim: int, identity: str, normalize: bool,
                 cache: ContentStore | None) -> None:
        ort = _onnxruntime()
        self._model = model
        self._dim = dim
        self._normalize = normalize
        self._inputs = _input_names(model)
        self._session = _session(ort, _artifact(model, identity, self.quantize, cache))

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import torch

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                features = preprocess(self._model, list(texts[start : start + batch_size]))
                feed = {name: features[name].numpy() for name in self._inputs}
                (hidden,) = self._session.run([_OUTPUT], feed)
                features[_OUTPUT] = torch.from_numpy(hidden)
                for module in list(self._model)[1:]:
                    features = module(features)
                vectors = features["sentence_embedding"].float()
                if self._normalize:
                    vectors = torch.nn.functional.normalize(vectors, dim=1)
                chunks.append(vectors.numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self._dim), dtype=np.float32)


class Int8Encoder(OnnxEncoder):
    """The int8 ONNX transformer with the model's torch head modules."""

    quantize = True


class Fp32OnnxEncoder(OnnxEncoder):
    """The fp32 ONNX transformer with the model's torch head modules."""

    quantize = False


def build_onnx_model(model: SentenceTransformer, *, quantize: bool) -> bytes:
    """Export the transformer to ONNX, check it against torch, and (``quantize``) quantize its
    MatMul weights to int8 per channel."""
    ort = _onnxruntime()

    with tempfile.TemporaryDirectory(prefix="tecurate-onnx-") as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        with _quiet():
            _export(model, fp32)
            _check_export(model, _session(ort, fp32.read_bytes()))
            if not quantize:
                return fp32.read_bytes()
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        return int8.read_bytes()


def build_int8_model(model: SentenceTransformer) -> bytes:
    """The int8 model (:func:`build_onnx_model` with ``quantize``)."""
    return build_onnx_model(model, quantize=True)


def _export(model: SentenceTransformer, path: Path) -> None:
    import torch

    names = _input_names(model)
    transformer = _transformer(model)

    class _Wrapped(torch.nn.Module):
        """Positional inputs, one tensor out: what the ONNX exporter traces best."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs)), return_dict=True).last_hidden_state

    features = preprocess(model, list(_PROBE))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*names, _OUTPUT)}
    try:
        torch.onnx.export(_Wrapped().eval(), tuple(features[name] for name in names), str(path),
                          input_names=list(names), output_names=[_OUTPUT], dynamic_axes=axes,
                          opset_version=_OPSET, dynamo=False)
    except Exception as exc:  # noqa: BLE001 - any export failure means this model has no int8 path
        raise TecurateError(f"cannot export the embedding model to ONNX for --precision int8 "
                            f"({type(exc).__name__}: {exc}); use --precision fp32") from exc


def _check_export(model: SentenceTransformer, session: Any) -> None:
    import torch

    names = _input_names(model)
    features = preprocess(model, list(_PROBE))
    with torch.inference_mode():
        expected = _transformer(model)(**{n: features[n] for n in names},
                                       return_dict=True).last_hidden_state.numpy()
    (got,) = session.run([_OUTPUT], {name: features[name].numpy() for name in names})
    error = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("inf")
    if not error <= _MAX_EXPORT_ERROR:
        raise TecurateError(f"the ONNX export of the embedding model does not reproduce it (max error "
                            f"{error:.2g}); --precision int8 cannot be used with this model")


def _transformer(model: SentenceTransformer) -> Any:
    """The Hugging Face model inside the first module; other architectures have no int8 path."""
    first = model[0]
    inner = getattr(first, "auto_model", None)
    if type(first).__name__ != "Transformer" or inner is None:
        raise TecurateError("--precision int8 needs a sentence-transformers model whose first module "
                            f"is a Transformer, not {type(first).__name__}; use --precision fp32")
    return inner.eval()


def _input_names(model: SentenceTransformer) -> tuple[str, ...]:
    """The tokenizer outputs that the transformer takes, in a fixed order."""
    import inspect

    accepted = inspect.signature(_transformer(model).forward).parameters
    features = preprocess(model, [_PROBE[0]])
    return tuple(name for name in _MODEL_INPUTS if name in features and name in accepted)


def _session(ort: Any, data: bytes) -> Any:
    """One session with every thread the process may use (:func:`cpu_threads`)."""
    return make_session(data, cpu_threads())


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise TecurateError(_INSTALL_HINT) from exc
    return onnxruntime


def _runtime_version() -> str:
    """onnxruntime's version from its metadata: a cache lookup needs no runtime imported."""
    try:
        return importlib.metadata.version("onnxruntime")
    except importlib.metadata.PackageNotFoundError as exc:
        raise TecurateError(_INSTALL_HINT) from exc


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and quantizer warn and log on every use; the core must not print."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
