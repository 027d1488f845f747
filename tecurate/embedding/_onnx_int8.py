"""The int8 fast CPU path: the model's transformer exported to ONNX with int8 weights.

Why this route: measured on a 2-core AVX-512 VNNI machine (``benchmarks/RESULTS.md``), torch's
own dynamic quantization reached only ~0.94 mean cosine to the fp32 vectors at ~1.4x the
speed, while onnxruntime's per-channel int8 MatMul weights keep ~0.99 at ~2x. Per-tensor
weights (~0.96) were rejected for the same reason. Only the transformer runs in ONNX:
tokenization, pooling and normalization stay the model's own sentence-transformers modules,
so int8 vectors differ from fp32 ones only through the quantized weights.

The quantized model is built once per model identity (a few seconds) and kept in the
embedding cache beside the vectors it produces, checksummed like them.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from tecurate.embedding._cpu_threads import preprocess
from tecurate.embedding._store import ContentStore
from tecurate.errors import TecurateError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

QUANTIZATION = "onnx-int8-dynamic-per-channel-matmul"
"""Recorded in the cache identity: another quantization recipe means other vectors."""

_ARTIFACT = "model-int8"
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
_INSTALL_HINT = "--precision int8 needs onnxruntime and onnx: pip install 'tecurate[fast]'"


def require_extra() -> None:
    """Fail before any model is loaded when the optional packages are missing."""
    _onnxruntime()


def int8_identity(base_identity: str) -> str:
    """Cache identity of the int8 vectors: the fp32 identity plus recipe and quantizer version."""
    ort = _onnxruntime()
    return f"{base_identity}:precision=int8:{QUANTIZATION}:onnxruntime={ort.__version__}"


class Int8Encoder:
    """Encode texts with the int8 ONNX transformer and the model's own torch head modules."""

    def __init__(self, model: SentenceTransformer, dim: int, identity: str, normalize: bool,
                 cache: ContentStore | None) -> None:
        ort = _onnxruntime()
        self._model = model
        self._dim = dim
        self._normalize = normalize
        self._inputs = _input_names(model)
        data = cache.load_file(identity, _ARTIFACT, _ARTIFACT_SUFFIX) if cache is not None else None
        if data is None:
            data = build_int8_model(model)
            if cache is not None:
                cache.store_file(identity, _ARTIFACT, _ARTIFACT_SUFFIX, data)
        self._session = _session(ort, data)

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


def build_int8_model(model: SentenceTransformer) -> bytes:
    """Export the transformer to ONNX, check it against torch, quantize its MatMul weights."""
    ort = _onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="tecurate-int8-") as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        with _quiet():
            _export(model, fp32)
            _check_export(model, _session(ort, fp32.read_bytes()))
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
        return int8.read_bytes()


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
    """One session, as many intra-op threads as torch uses (the user's thread setting holds)."""
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _onnxruntime() -> Any:
    try:
        import onnx  # noqa: F401 - the quantizer needs it; fail here, not halfway through
        import onnxruntime
    except ImportError as exc:
        raise TecurateError(_INSTALL_HINT) from exc
    return onnxruntime


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
