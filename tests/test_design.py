"""The fixed design of configurations: the same for every audit seed and dataset, spread, edges kept."""

from __future__ import annotations

import pytest

from tecurate.grid import FAMILIES, sample_configs
from tecurate.grid._design import design_points, grid_size


def test_the_configurations_do_not_depend_on_the_audit():
    """Before, the audit seed re-drew them: the largest source of noise between two audits."""
    assert sample_configs(FAMILIES.names(), 8) == sample_configs(FAMILIES.names(), 8)
    assert sample_configs(["logreg"], 8) == sample_configs(["logreg", "mlp"], 8)[:8]
    assert sample_configs(["mlp"], 8, seed=1) != sample_configs(["mlp"], 8)


@pytest.mark.parametrize("family", FAMILIES.names())
@pytest.mark.parametrize("n", [1, 5, 8, 13])
def test_n_distinct_configurations_of_the_grid(family, n):
    grid = FAMILIES[family].grid
    points = design_points(grid, n)
    assert len(points) == n == len({tuple(map(repr, p.values())) for p in points})
    assert all(list(p) == sorted(grid) and all(p[k] in grid[k] for k in grid) for p in points)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_every_level_of_every_axis_and_so_the_aggressive_edges_are_in_the_default_design(family):
    """Collapse shows at the grid's edges (smallest C, heaviest decay, one stump): the design keeps them."""
    grid = FAMILIES[family].grid
    points = design_points(grid, 8)
    for name, levels in grid.items():
        seen = [p[name] for p in points]
        assert all(level in seen for level in levels), (name, levels, seen)


def test_the_design_is_nested_so_more_configurations_keep_the_first_ones():
    for family in FAMILIES.names():
        assert design_points(FAMILIES[family].grid, 12)[:8] == design_points(FAMILIES[family].grid, 8)


def test_more_configurations_than_the_grid_holds_fit_every_combination_once():
    grid = FAMILIES["logreg"].grid
    full = design_points(grid, 1000)
    assert len(full) == grid_size(grid) == 32
    assert len({tuple(map(repr, p.values())) for p in full}) == 32
    assert len(sample_configs(["logreg"], 1000)) == 32
