"""The Ray engine: embedding on Ray Data actors and the model grid as Ray tasks, on a cluster.

Same work as the local engine, placed elsewhere. The driver (this process) dedupes the texts,
reads the cache and sorts the misses into the very chunks the local engine would encode; only
those chunks go to the cluster, where an actor pool (one model per actor, loaded once) encodes
them and the vectors stream back block by block into the cache. The grid's feature matrices are
put in the object store once and every (configuration, representation) fit is one task of one
thread. Same chunks and same fits give the same vectors and predictions, so the report is the
local engine's.

Connecting: ``--ray-address`` or ``$RAY_ADDRESS`` joins a running cluster; otherwise a Ray with
this machine's CPUs is started for the command and shut down after it. Nothing connects until
something must run: a warm audit (everything cached) never starts Ray.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import replace
from functools import partial
from importlib import metadata
from typing import Any

import numpy as np

from tecurate.analysis import GridRun
from tecurate.embedding import ContentStore, Embedder, EmbeddingInfo, default_batch_size, embed_texts
from tecurate.engines._engine import BuildEmbedder, EngineRecord, machine_cpus
from tecurate.errors import TecurateError
from tecurate.grid import Fitted, ModelConfig, fit_predict, run_grid

INSTALL_HINT = "--engine ray needs Ray: pip install 'tecurate[ray]'"
CPU_THREADS = 2
"""Threads of one CPU embedding actor: the full-precision CPU encoder runs two batches at once,
one thread each (:mod:`tecurate.embedding._cpu_threads`), so an actor of two threads encodes
exactly as this process does on two cores, and a node of N CPUs holds N/2 models, not N."""
NO_PROGRESS_SECONDS = 900
"""A Ray Data job that makes no progress this long fails instead of hanging (a pool that cannot
be placed). Long enough for a slow node to load the model and encode one chunk."""
_QUIET = {"RAY_USAGE_STATS_ENABLED": "0"}
"""Offline-safe: no usage report is attempted. A user's own setting wins."""


def _import_ray() -> Any:
    for name, value in _QUIET.items():
        os.environ.setdefault(name, value)
    try:
        import ray
        import ray.data
    except ImportError:
        raise TecurateError(INSTALL_HINT) from None
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return ray


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


WORKER_NICENESS = 0
"""Niceness a Ray started by the command adds to its workers: none, so the actors run at the
command's own priority. Ray's default, 15, left them a fraction of the CPU the local engine gets
wherever anything else runs (measured on a shared 2-core host: ``benchmarks/ray_engine.py``); a
cluster the command joins keeps its own setting."""


class RayEngine:
    """``--engine ray``; needs the ``tecurate[ray]`` extra."""

    def check(self) -> None:
        if importlib.util.find_spec("ray") is None:
            raise TecurateError(INSTALL_HINT)

    @contextmanager
    def session(self, settings: Mapping[str, Any]) -> Iterator[RaySession]:
        session = RaySession(settings.get("ray_address") or os.environ.get("RAY_ADDRESS") or None,
                             settings.get("device", "auto"))
        try:
            yield session
        finally:
            session.close()


class RaySession:
    """One command on a Ray cluster: connected on first use, disconnected (or its local Ray
    shut down) at the end."""

    def __init__(self, address: str | None, device: str) -> None:
        self._address = address
        self._device = device
        self._ray: Any = None
        self._owns_connection = False
        self._started = False
        self._nodes: list[dict[str, float]] = []
        self._actors = 0
        self._actor_nodes: set[str] = set()
        self._tasks = 0
        self._starter: ThreadPoolExecutor | None = None
        self._connecting: Future[Any] | None = None

    def _connect_soon(self) -> None:
        """Start connecting in the background: a local Ray takes seconds to start, which this
        process spends counting and sorting the texts (``benchmarks/ray_engine.py``). The thread
        lives until :meth:`close`: the processes of a Ray it starts die with it (their parent-death
        signal follows the thread, not the process)."""
        if self._ray is None and self._starter is None:
            self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tecurate-ray-start")
            self._connecting = self._starter.submit(self._start)

    def _connect(self) -> Any:
        connecting, self._connecting = self._connecting, None
        return connecting.result() if connecting is not None else self._start()

    def _start(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = _import_ray()
        if not ray.is_initialized():  # else a Ray the caller connected to: used as it is, left connected
            quiet = dict(log_to_driver=False, logging_level=logging.ERROR)
            try:
                if self._address in (None, "local"):
                    ray.init(address="local", num_cpus=machine_cpus(), include_dashboard=False,
                             _system_config={"worker_niceness": WORKER_NICENESS}, **quiet)
                    self._started = True
                else:
                    ray.init(address=self._address, **quiet)
            except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError alike
                where = f"the Ray cluster at {self._address}" if self._address else "a local Ray"
                raise TecurateError(f"cannot start or join {where}: {_first_line(exc)}") from None
            self._owns_connection = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.execution_no_progress_timeout_s = NO_PROGRESS_SECONDS
        self._nodes = [dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")]
        self._ray = ray
        return ray

    def close(self) -> None:
        if self._connecting is not None:  # started, never used: the command failed or was stopped
            with suppress(TecurateError):
                self._connect()
        if self._ray is not None and self._owns_connection:
            self._ray.shutdown()
        self._ray = None
        if self._starter is not None:
            self._starter.shutdown()
            self._starter = None

    def _total(self, resource: str) -> int:
        return int(sum(node.get(resource, 0.0) for node in self._nodes))

    # -- embedding ------------------------------------------------------------------------------

    def _actor_device(self) -> str:
        """GPU actors when the cluster has GPUs (``--device auto``) or when asked to."""
        gpus = self._total("GPU")
        if self._device == "cuda" and not gpus:
            raise TecurateError("--device cuda: the Ray cluster has no GPU; use --device cpu or auto")
        return "cuda" if gpus and self._device != "cpu" else "cpu"

    def embed(self, texts: Sequence[str], model: Embedder, *, batch_size: int | None,
              cache: ContentStore | None, progress: Callable[[int, int], None],
              build: BuildEmbedder) -> tuple[np.ndarray, EmbeddingInfo]:
        placed: dict[str, Any] = {}
        encode = partial(self._encode_chunks, model=model, build=build, placed=placed, batch_size=batch_size)
        vectors, info = embed_texts(texts, model, batch_size=batch_size or default_batch_size(model), cache=cache,
                                    progress=progress, encode_chunks=encode, prepare=self._connect_soon)
        if placed:
            info = replace(info, device=placed["device"], batch_size=placed["batch_size"])
        return vectors, info

    def _encode_chunks(self, chunks: Sequence[Sequence[str]], _chunked_by: int, *, model: Embedder,
                       build: BuildEmbedder, placed: dict[str, Any],
                       batch_size: int | None) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
        """The chunks on an actor pool. The chunks are the driver's (its batch size made them, and
        every default makes chunks of 512 texts); an actor encodes them in batches of the user's
        size, else its own device's default."""
        if not len(chunks):
            return
        ray = self._connect()
        device = self._actor_device() if getattr(model, "precision", "fp32") == "fp32" else "cpu"
        size, threads, resources = self._pool(device, len(chunks))
        actor_batch = batch_size or default_batch_size(model, device)
        placed.update(device=device, batch_size=actor_batch)
        self._actors = max(self._actors, size)
        items = ray.data.from_items([{"chunk": index, "texts": list(chunks[index])} for index in range(len(chunks))])
        with warnings.catch_warnings():  # ray_remote_args is deprecated; Ray's own filter shows it
            warnings.simplefilter("ignore")
            encoded = items.map_batches(
                EmbedActor, fn_constructor_args=(build, device, model.identity, model.dim, actor_batch, threads),
                batch_size=1, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=size),
                max_restarts=0, scheduling_strategy="SPREAD", **resources)
        try:
            for block in encoded.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1):
                self._actor_nodes.update(str(node) for node in np.unique(block["node"]))
                for chunk in np.unique(block["chunk"]):
                    mask = block["chunk"] == chunk
                    yield int(chunk), block["position"][mask], block["vector"][mask]
        except ray.exceptions.RayError as exc:
            raise _user_error(exc) from None

    def _pool(self, device: str, n_chunks: int) -> tuple[int, int | None, dict[str, float]]:
        """Actors, threads per actor and each actor's resources: one per GPU, or per two CPUs of
        each node. CPU actors ask for half the threads they run, so the pool never holds every
        CPU of a small node and Ray Data's own tasks still run (ray issue #44687)."""
        if device == "cuda":
            return max(1, min(n_chunks, self._total("GPU"))), None, {"num_gpus": 1, "num_cpus": 0.5}
        cpus = [int(node.get("CPU", 0)) for node in self._nodes if node.get("CPU", 0) >= 1]
        if not cpus:
            raise TecurateError("the Ray cluster has no CPU to embed on")
        threads = min(CPU_THREADS, min(cpus))
        actors = sum(max(1, n // threads) for n in cpus)
        return max(1, min(n_chunks, actors)), threads, {"num_cpus": threads / 2}

    # -- the model grid -----------------------------------------------------------------------------

    def fit(self, configs: Sequence[ModelConfig], features: Mapping[str, np.ndarray], y: np.ndarray,
            train: np.ndarray, tests: Mapping[str, np.ndarray], **options: Any) -> GridRun:
        return run_grid(configs, features, y, train, tests, **options, fit_many=self._fit_many)

    def _fit_many(self, tasks: Sequence[tuple[ModelConfig, str]], *, features: Mapping[str, np.ndarray],
                  y: np.ndarray, train: np.ndarray, tests: Mapping[str, np.ndarray], seed: int,
                  n_classes: int, n_jobs: int) -> Iterator[tuple[int, Fitted]]:
        """Every fit a task of one thread; the matrices go to the object store once, not per task."""
        ray = self._connect()
        needed = {representation for _, representation in tasks}
        matrices = {name: ray.put(np.ascontiguousarray(X)) for name, X in features.items() if name in needed}
        shared = (ray.put(np.asarray(y)), ray.put(np.asarray(train)),
                  ray.put({name: np.asarray(rows) for name, rows in tests.items()}))
        remote = ray.remote(num_cpus=1, max_retries=0)(fit_task)
        pending = {remote.remote(config, matrices[representation], *shared, seed, n_classes): k
                   for k, (config, representation) in enumerate(tasks)}
        self._tasks += len(pending)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                k = pending.pop(ready[0])
                yield k, ray.get(ready[0])
        except ray.exceptions.RayError as exc:
            raise _user_error(exc) from None
        finally:
            for ref in pending:
                ray.cancel(ref)

    def record(self) -> EngineRecord:
        version = self._ray.__version__ if self._ray is not None else _installed_version()
        return EngineRecord(
            name="ray", version=version,
            address="local" if self._started or (self._ray is None and self._address in (None, "local"))
            else "existing",
            nodes=len(self._nodes), cpus=self._total("CPU"), gpus=self._total("GPU"),
            actors=self._actors, actor_nodes=len(self._actor_nodes), tasks=self._tasks)


def _installed_version() -> str | None:
    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        return None


def _user_error(exc: BaseException) -> TecurateError:
    """A worker's own user error as it was raised; anything else, the first line of Ray's."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, TecurateError):
        return TecurateError(str(cause))
    return TecurateError(f"the Ray engine failed: {_first_line(cause or exc)}")


class EmbedActor:
    """One embedding worker: builds the audit's embedder once, then encodes chunk after chunk."""

    def __init__(self, build: BuildEmbedder, device: str, identity: str, dim: int, batch_size: int,
                 threads: int | None) -> None:
        import ray

        if threads is not None:
            # Ray sets OMP_NUM_THREADS to the actor's CPU request (half its threads, see _pool), and
            # the torch-free encoders size their sessions from it: one thread, half the speed. A
            # torch loaded later reads the variable; only one already loaded is told. Importing
            # torch just to tell it cost the int8 actor ~2.5 s and ~300 MB for nothing.
            os.environ["OMP_NUM_THREADS"] = str(threads)
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.set_num_threads(threads)
        self._embedder = build(device)
        if (self._embedder.identity, self._embedder.dim) != (identity, dim):
            raise TecurateError(f"a Ray worker's embedder is {self._embedder.identity} (dim {self._embedder.dim}), "
                                f"this machine's {identity} (dim {dim}): install the same tecurate, model "
                                "and packages on every node")
        self._batch_size = batch_size
        self._node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(text) for text in batch["texts"][0]]
        vectors = np.asarray(self._embedder.encode(texts, self._batch_size), dtype=np.float32)
        n = len(texts)
        return {"chunk": np.full(n, int(batch["chunk"][0])), "position": np.arange(n), "vector": vectors,
                "node": np.full(n, self._node)}


def fit_task(config: ModelConfig, X: np.ndarray, y: np.ndarray, train: np.ndarray,
             tests: Mapping[str, np.ndarray], seed: int, n_classes: int) -> Fitted:
    """:func:`tecurate.grid.fit_predict` on a worker, where the grid's expected warnings (the edges
    do not converge) are as unwanted as in this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_predict(config, X, y, train, tests, seed, n_classes=n_classes)
