"""The torch-free fast path: an exported ONNX transformer run by onnxruntime, texts tokenized by
``tokenizers``, mean pooling and normalization in numpy.

Why: once the exported model is in the cache, a cold-vector audit needs neither torch nor
transformers nor sentence-transformers (``import sentence_transformers`` alone costs ~7 s and
~490 MB per process, ``benchmarks/RESULTS.md``). It is used only where it reproduces the
sentence-transformers pipeline exactly: a local model folder with a ``tokenizer.json`` whose
modules are Transformer, mean Pooling and optionally Normalize; anything else keeps the
torch-assisted route of :mod:`tecurate.embedding._onnx_int8`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_OUTPUT = "token_embeddings"

WORKERS = 2
"""Batches in flight at once (one session, run from this many threads), each with ``threads //
WORKERS`` intra-op threads. Measured on the shared 2-core AVX-512 VNNI host, int8, 128 credit_data
texts, medians of 3 interleaved runs (``benchmarks/batching_quick.json``): one batch on 2 threads
8.0-9.0 rows/s, two batches on 1 thread each 11.7-12.2 rows/s (batch 32 and 64 within noise),
as torch's fp32 path found (:mod:`tecurate.embedding._cpu_threads`). Vectors do not depend on it:
each batch is run whole by one call."""


def cpu_threads() -> int:
    """The threads a CPU encoder may use, without importing torch: ``OMP_NUM_THREADS`` when the
    user set it (as torch would honour it), else the cores this process may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def unsupported_reason(folder: str) -> str | None:
    """Why ``folder`` cannot take the torch-free path; None when it can."""
    path = Path(folder)
    if not path.is_dir():
        return "not a local model folder"
    if not (path / "tokenizer.json").is_file():
        return "no tokenizer.json"
    try:
        modules = json.loads((path / "modules.json").read_text())
        types = [module["type"] for module in modules]
        if types[:2] != [_TRANSFORMER, _POOLING] or types[2:] not in ([], [_NORMALIZE]):
            return f"modules {types} are not Transformer, Pooling[, Normalize]"
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return "unreadable modules.json or pooling config"
    modes = sorted(key for key, value in pooling.items() if key.startswith("pooling_mode") and value)
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} is not mean pooling"
    return None


def _max_seq_length(path: Path) -> int | None:
    try:
        value = json.loads((path / "sentence_bert_config.json").read_text()).get("max_seq_length")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def _do_lower_case(path: Path) -> bool:
    try:
        return bool(json.loads((path / "sentence_bert_config.json").read_text()).get("do_lower_case"))
    except (OSError, ValueError, AttributeError):
        return False


def load_tokenizer(folder: Path) -> Any:
    """The model's ``tokenizer.json`` as sentence-transformers runs it: padded to the longest text
    of a batch (the packaged file pads every text to 128 tokens), truncated to ``max_seq_length``."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    padding = tokenizer.padding or {}
    tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_type_id=padding.get("pad_type_id", 0),
                             pad_token=padding.get("pad_token", "[PAD]"))
    limit = _max_seq_length(folder)
    if limit is not None:
        tokenizer.enable_truncation(max_length=limit)
    return tokenizer


def make_session(data: bytes, threads: int) -> Any:
    """One onnxruntime session on the CPU with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


class FastOnnxEncoder:
    """Texts to vectors with ``tokenizers`` + onnxruntime + numpy, as sentence-transformers would.

    Tokenization follows ``sentence_transformers.models.Transformer``: texts stripped (and
    lower-cased when the model says so), truncated to ``max_seq_length``, padded to the longest
    text of the batch. The packaged ``tokenizer.json`` pads every text to 128 tokens; padding is
    re-enabled here without a length, or every row would cost 128 tokens.
    """

    def __init__(self, folder: str, data: bytes, dim: int, normalize: bool, *,
                 workers: int | None = None, threads: int | None = None) -> None:
        path = Path(folder)
        self._tokenizer = load_tokenizer(path)
        self._lower = _do_lower_case(path)
        total = threads if threads is not None else cpu_threads()
        self._workers = max(1, min(workers if workers is not None else WORKERS, total))
        self._session = make_session(data, max(1, total // self._workers))
        self._inputs = tuple(i.name for i in self._session.get_inputs())
        self._dim = dim
        self._normalize = normalize
        self._lock = threading.Lock()
        self.tokens = 0
        """Padded tokens run through the transformer so far: the work the benchmark's GFLOP/s
        counts."""

    def features(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The transformer's inputs for one batch."""
        cleaned = [str(text).strip() for text in texts]
        if self._lower:
            cleaned = [text.lower() for text in cleaned]
        with self._lock:  # one tokenizer object; a batch is tokenized in one Rust call
            encodings = self._tokenizer.encode_batch(cleaned)
        columns = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        return {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        feed = self.features(texts)
        (hidden,) = self._session.run([_OUTPUT], feed)
        mask = feed["attention_mask"].astype(np.float32)[:, :, None]
        with self._lock:
            self.tokens += int(mask.size)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if self._normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        batches = [texts[start:start + batch_size] for start in range(0, len(texts), batch_size)]
        if not batches:
            return np.zeros((0, self._dim), dtype=np.float32)
        if self._workers == 1 or len(batches) == 1:
            return np.concatenate([self._run(batch) for batch in batches])
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="tecurate-onnx") as pool:
            return np.concatenate(list(pool.map(self._run, batches)))
