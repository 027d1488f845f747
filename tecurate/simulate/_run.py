"""``simulate``: from a table on disk to a :class:`SimulationReport`. Nothing here prints or exits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tecurate import __version__
from tecurate.analysis import class_shares
from tecurate.embedding import Embedder
from tecurate.grid import sample_configs
from tecurate.reporting import created_now
from tecurate.simulate._data import load_pool
from tecurate.simulate._loop import LoopSettings, run_loops
from tecurate.simulate._report import SimulationReport, collapse_check, summarize
from tecurate.simulate._settings import SHARED

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages are "embed" and "simulate" (runs of generation 0, then chains)."""


def simulate(path: str, config: Any, sim: Any, *, embedder: Embedder | None = None,
             progress: Progress | None = None) -> SimulationReport:
    """Run every self-consuming loop that ``sim`` (a :class:`SimulateConfig`) asks for on the table at ``path``.

    ``config`` is an ``AuditConfig``: simulate reads its input, split, embedding, seed and
    collapse-threshold knobs (:data:`tecurate.simulate._settings.SHARED`). ``embedder`` replaces
    the model it names (tests pass a fake).
    """
    notify: Progress = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    pool = load_pool(path, config, sim.representations, embedder, lambda done, total: notify("embed", done, total))
    prepared = time.perf_counter()
    classes = pool.target.classes
    settings = LoopSettings(generations=sim.generations, n0=sim.n0, cap=sim.max_rows_per_generation,
                            mode=sim.mode, synthetic=sim.synthetic, confidence=sim.confidence,
                            collapse_threshold=config.collapse_threshold, seed=config.seed)
    configs = sample_configs(sim.sim_families, sim.sim_configs, config.seed)
    trajectories = run_loops(pool, sim.representations, configs, sim.fractions, sim.schedules, settings,
                             n_jobs=config.n_jobs, progress=lambda done, total: notify("simulate", done, total))
    finished = time.perf_counter()
    shared = config.to_dict()
    return SimulationReport(
        tool_version=__version__,
        created_at=created_now(),
        input=pool.input,
        config={**{name: shared[name] for name in SHARED}, **sim.to_dict()},
        target={"name": pool.target.name, "classes": list(classes), "n_classes": len(classes),
                "distribution": {name: dict(zip(classes, class_shares(pool.codes[rows], len(classes)).round(6).tolist()))
                                 for name, rows in {"id_train": pool.train, **pool.tests}.items()},
                "n_rows": {"id_train": int(pool.train.size), **{k: int(v.size) for k, v in pool.tests.items()}}},
        shift=replace(pool.shift, warnings=()),
        serialization={"template": config.template, "example": pool.example},
        embedding=pool.embedding,
        trajectories=trajectories,
        summary=summarize(trajectories),
        collapse_check=collapse_check(trajectories, sim.fail_if_collapse_before),
        timings={"prepare": round(prepared - started, 3), "loops": round(finished - prepared, 3),
                 "total": round(finished - started, 3)},
        warnings=list(pool.warnings),
    )
