"""The grid's public face: its names, the family registry, and a family added at run time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import pytest
from conftest import NumbersEmbedder, make_frame

from tecurate import AuditConfig, TecurateError, audit, grid
from tecurate.grid import FAMILIES, Family, default_families
from tecurate.reporting import schema


@contextmanager
def registered(family: Family) -> Iterator[Family]:
    """``family`` in the registry for the duration of a test, as a plug-in would add it."""
    FAMILIES.register(family.name, family)
    try:
        yield family
    finally:
        FAMILIES.unregister(family.name)


def build_knn(settings: dict[str, Any], seed: int):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(**settings)  # deterministic: no seed to take


TOY = Family(name="toy", grid={"n_neighbors": [1, 5, 15, 50], "weights": ["uniform", "distance"]},
             build=build_knn, default=False, packages=("scikit-learn",))


def test_public_api_is_exactly_all():
    assert set(grid.__all__) == {
        "FAMILIES", "Family", "FitCache", "FitMany", "Fitted", "Leak", "MAX_SEED", "ModelConfig", "array_digest", "default_families",
        "design_record", "encode_raw", "find_leaks", "fit_predict", "fit_rows", "prediction_metrics", "run_grid", "sample_configs",
        "validation_split",
    }
    assert all(hasattr(grid, name) for name in grid.__all__)


def test_registry_holds_the_families_in_order_and_rf_is_opt_in():
    assert FAMILIES.names() == ("logreg", "xgboost", "mlp", "rf")
    assert all(FAMILIES[name].name == name for name in FAMILIES)
    assert default_families() == ("logreg", "xgboost", "mlp")
    assert AuditConfig(target="y").families == default_families()


def test_an_unknown_family_is_a_user_error_naming_the_choices():
    with pytest.raises(TecurateError, match="unknown model family svm; choose from logreg, xgboost, mlp, rf"):
        AuditConfig(target="y", families=("logreg", "svm"))


def test_a_family_registered_at_run_time_is_audited_then_gone(tmp_path):
    path = tmp_path / "table.csv"
    make_frame().to_csv(path, index=False)
    with registered(TOY):
        assert "toy" not in default_families()
        config = AuditConfig(target="label", shift_col="region", min_domain_rows=100, families=("toy",),
                             n_configs=3, n_bootstrap=50, n_jobs=1, use_cache=False)
        report = audit(str(path), config, embedder=NumbersEmbedder())
    assert [(m.family, m.config_id, m.representation) for m in report.models] == \
        [("toy", f"toy-{i:02d}", rep) for i in range(3) for rep in ("raw", "te")]
    assert {m.params["n_neighbors"] for m in report.models} <= set(TOY.grid["n_neighbors"])
    assert all(m.splits["id_test"].accuracy > 0.5 for m in report.models)
    assert report.to_dict()["config"]["families"] == ["toy"]
    jsonschema.validate(report.to_dict(), schema())  # the schema names no family: a plug-in's report is valid
    assert "toy" not in FAMILIES
    with pytest.raises(TecurateError, match="unknown model family toy"):
        AuditConfig(target="label", families=("toy",))
