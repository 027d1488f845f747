"""What an engine is: where the two heavy stages, embedding and the model grid, run.

An engine opens a :class:`Session` for one command; the pipeline embeds and fits through it and
the report records it (:class:`EngineRecord`). The local engine runs both stages in this process;
others spread them over workers, on the very same chunks and fits, so the report is the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tecurate.analysis import GridRun
from tecurate.embedding import ContentStore, Embedder, EmbeddingInfo
from tecurate.grid import ModelConfig
from tecurate.registry import Registry

BuildEmbedder = Callable[[str], Embedder]
"""``build(device)``: the audit's embedder, made afresh where it runs (a worker's ``"cpu"`` or
``"cuda"``); it must pickle, since a cluster engine ships it to its workers."""


def machine_cpus() -> int:
    """The CPUs this process may run on (a container's or a job's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class EngineRecord:
    """What the report says about where the work ran."""

    name: str
    version: str | None
    """The engine's software (Ray's version); None for the local engine."""
    address: str
    """``local`` (this machine: the process itself, or a Ray started for the run) or
    ``existing`` (a cluster that was running before and keeps running)."""
    nodes: int
    cpus: int
    gpus: int
    actors: int = 0
    """Embedding workers started (0: nothing was left to embed, or the local engine)."""
    actor_nodes: int = 0
    """Nodes those workers ran on."""
    tasks: int = 0
    """Model fits sent to workers."""


class Session(Protocol):
    """One command's use of an engine: connected on first use, closed by :func:`open_engine`."""

    def embed(self, texts: Sequence[str], model: Embedder, *, batch_size: int | None,
              cache: ContentStore | None, progress: Callable[[int, int], None],
              build: BuildEmbedder) -> tuple[np.ndarray, EmbeddingInfo]:
        """:func:`tecurate.embedding.embed_texts` of ``texts``; ``batch_size`` None: the default."""
        ...

    def fit(self, configs: Sequence[ModelConfig], features: Mapping[str, np.ndarray], y: np.ndarray,
            train: np.ndarray, tests: Mapping[str, np.ndarray], **options: Any) -> GridRun:
        """:func:`tecurate.grid.run_grid` with the same arguments."""
        ...

    def record(self) -> EngineRecord:
        ...


class Engine(Protocol):
    """A way to run the heavy stages."""

    def check(self) -> None:
        """Raise a :class:`tecurate.TecurateError` before any work when the engine cannot run here
        (an optional package missing)."""
        ...

    def session(self, settings: Mapping[str, Any]) -> AbstractContextManager[Session]:
        """A session for one command; ``settings`` are the audit's (``ray_address``, ``n_jobs``)."""
        ...


ENGINES: Registry[Engine] = Registry("engine")
"""Every engine, by the name ``--engine`` takes."""


@contextmanager
def open_engine(settings: Mapping[str, Any]) -> Iterator[Session]:
    """The session of the engine ``settings["engine"]`` names, checked first and closed after."""
    engine = ENGINES[settings["engine"]]
    engine.check()
    with engine.session(settings) as session:
        yield session
