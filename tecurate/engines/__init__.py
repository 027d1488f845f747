"""Where the heavy stages run: embedding and the model grid, in this process or on a cluster.

:data:`ENGINES` holds ``local`` (this process: the embedder in the main thread, fits in threads)
and ``ray`` (a Ray cluster: embedding actors on Ray Data, one task per fit; ``tecurate[ray]``).
The pipeline embeds and fits through :func:`open_engine`'s session, and the report records the
engine (:class:`EngineRecord`). Every engine encodes the same chunks and fits the same models, so
the report is the same whatever ran it.
"""

import tecurate.engines._engines  # noqa: F401 - registers the built-in engines
from tecurate.engines._engine import ENGINES, BuildEmbedder, Engine, EngineRecord, Session, machine_cpus, open_engine

__all__ = ["ENGINES", "BuildEmbedder", "Engine", "EngineRecord", "Session", "machine_cpus", "open_engine"]
