"""The local engine: both heavy stages in this process, as tecurate has always run them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tecurate.analysis import GridRun
from tecurate.embedding import ContentStore, Embedder, EmbeddingInfo, default_batch_size, embed_texts
from tecurate.engines._engine import BuildEmbedder, EngineRecord, machine_cpus
from tecurate.grid import ModelConfig, run_grid


class LocalSession:
    """Embeds with the given embedder and fits in threads (:func:`tecurate.grid.run_grid`)."""

    def __init__(self) -> None:
        self._gpus = 0

    def embed(self, texts: Sequence[str], model: Embedder, *, batch_size: int | None,
              cache: ContentStore | None, progress: Callable[[int, int], None],
              build: BuildEmbedder) -> tuple[np.ndarray, EmbeddingInfo]:
        self._gpus = max(self._gpus, int(model.device.startswith("cuda")))
        return embed_texts(texts, model, batch_size=batch_size or default_batch_size(model), cache=cache,
                           progress=progress)

    def fit(self, configs: Sequence[ModelConfig], features: Mapping[str, np.ndarray], y: np.ndarray,
            train: np.ndarray, tests: Mapping[str, np.ndarray], **options: Any) -> GridRun:
        return run_grid(configs, features, y, train, tests, **options)

    def record(self) -> EngineRecord:
        return EngineRecord(name="local", version=None, address="local", nodes=1, cpus=machine_cpus(),
                            gpus=self._gpus)


class LocalEngine:
    """Needs nothing beyond tecurate itself."""

    def check(self) -> None:
        """Always runs."""

    @contextmanager
    def session(self, settings: Mapping[str, Any]) -> Iterator[LocalSession]:
        yield LocalSession()
