"""The fixed design of configurations: the same points of each family's grid for every audit.

A random draw per seed made the grid itself the largest source of noise between two audits of
the same data (validation/RESULTS.md, "Where the noise comes from"): the collapse rates are
shares of a few dozen models, and which aggressive corners were drawn moved them more than the
split did. A scrambled Sobol sequence with one fixed seed picks the same configurations for every
audit seed and every dataset, so two audits differ only by their data, split and model seeds, and
the raw and te routes of every audit see the same points (matched pairs stay matched across runs).

Each grid axis is a list of levels; a point's coordinate ``u`` in [0, 1) picks level
``floor(u * len(levels))``. The first ``2**m`` points of a Sobol sequence put exactly one point in
each of ``2**m`` equal strata of every axis, so with ``n`` points every level of an axis with up
to ``n`` levels owns at least one full stratum at each end: the aggressive edges (smallest C,
heaviest decay, one stump) are always in the design once ``n`` reaches the number of levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product
from math import ceil, log2, prod
from typing import Any

import numpy as np

DESIGN = "scrambled-sobol"
"""The design's name, as the report records it."""
DESIGN_SEED = 0
"""The design's own seed: fixed, so every audit fits the same configurations (not the audit seed)."""


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """The number of distinct configurations a grid holds."""
    return prod(len(levels) for levels in grid.values())


def design_points(grid: Mapping[str, Sequence[Any]], n: int, seed: int = DESIGN_SEED) -> list[dict[str, Any]]:
    """``n`` distinct configurations of ``grid`` (every one once when ``n`` reaches its size).

    Parameters come back in sorted order. Points that fall on a configuration already chosen are
    skipped, taking the next points of the sequence, so the design keeps ``n`` distinct ones.
    """
    names = sorted(grid)
    if n >= grid_size(grid):
        return [dict(zip(names, combo)) for combo in product(*(grid[name] for name in names))]
    from scipy.stats import qmc

    sizes = np.array([len(grid[name]) for name in names])
    sobol = qmc.Sobol(d=len(names), scramble=True, seed=seed)
    chosen: dict[tuple[int, ...], None] = {}
    m = ceil(log2(max(n, 2)))
    while len(chosen) < n:
        # Doubling keeps every draw a power of two, so the points stay a balanced Sobol net.
        levels = np.minimum((sobol.random_base2(m) * sizes).astype(int), sizes - 1)
        for point in map(tuple, levels):
            chosen.setdefault(point)
            if len(chosen) == n:
                break
        m = int(log2(sobol.num_generated))
    return [{name: grid[name][i] for name, i in zip(names, point)} for point in chosen]


def design_record(grids: Mapping[str, Mapping[str, Sequence[Any]]], n: int, seed: int = DESIGN_SEED) -> dict[str, Any]:
    """What the report records of the design: its name, its seed and each family's configuration count."""
    return {"design": DESIGN, "design_seed": seed,
            "n_configs": {family: min(n, grid_size(grid)) for family, grid in grids.items()}}
