"""The fixed design of configurations: the same for every audit seed and dataset, spread, edges kept."""

from __future__ import annotations

import jsonschema
import pytest
from conftest import ConstantEmbedder, make_frame

from tecurate import AuditConfig, audit
from tecurate.grid import FAMILIES, sample_configs
from tecurate.grid._design import design_points, grid_size
from tecurate.reporting import schema


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


def test_the_report_records_the_design_and_the_configurations_it_fitted(tmp_path):

    path = tmp_path / "t.csv"
    make_frame().to_csv(path, index=False)
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, n_configs=40, n_jobs=1,
                         families=("logreg",), n_bootstrap=20, spurious_resamples=5, use_cache=False)
    report = audit(str(path), config, embedder=ConstantEmbedder())
    assert report.grid == {"design": "scrambled-sobol", "design_seed": 0, "n_configs": {"logreg": 32}}
    assert len(report.models) == 2 * 32
    data = report.to_dict()
    assert data["grid"] == report.grid
    jsonschema.validate(data, schema())
