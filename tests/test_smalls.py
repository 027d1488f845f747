"""The smaller trust cases of issue 16: seeds, oversized grids, library warnings, config-file
type errors, an unwritable cache and an --ood file that is DATA itself."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest
from conftest import NumbersEmbedder, make_frame
from typer.testing import CliRunner

from tecurate import AuditConfig, audit
from tecurate.cli import app
from tecurate.config import read_config_file
from tecurate.errors import TecurateError
from tecurate.grid import FAMILIES, MAX_SEED, sample_configs

FAST = dict(shift_col="region", min_domain_rows=100, n_bootstrap=20, n_jobs=2, families=("logreg",),
            n_configs=2, use_cache=False)
runner = CliRunner()


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 10**30])
def test_a_seed_numpy_cannot_take_is_a_user_error(seed):
    with pytest.raises(TecurateError, match=f"--seed must be between 0 and {MAX_SEED}"):
        AuditConfig(target="y", seed=seed)


def test_a_seed_out_of_range_exits_2_with_one_line(table):
    result = runner.invoke(app, ["audit", str(table), "--target", "label", "--seed", "-1", "--no-cache"])
    assert result.exit_code == 2
    assert f"--seed must be between 0 and {MAX_SEED}" in result.stderr
    assert result.stderr.count("\n") == 1


def test_repeats_may_not_run_past_the_largest_seed():
    AuditConfig(target="y", seed=MAX_SEED - 1, repeats=2)
    with pytest.raises(TecurateError, match="--repeats 3 runs seeds up to --seed \\+ 2"):
        AuditConfig(target="y", seed=MAX_SEED - 1, repeats=3)


def test_the_largest_seed_audits_every_family(table):
    # Each family draws its configurations with seed + its position: the largest seed must wrap.
    config = AuditConfig(target="label", seed=MAX_SEED, **{**FAST, "families": ("logreg", "xgboost", "mlp")})
    report = audit(str(table), config, embedder=NumbersEmbedder()).to_dict()
    assert report["grid"]["n_configs"] == {"logreg": 2, "xgboost": 2, "mlp": 2}


def test_n_configs_above_a_grid_fits_all_of_it_says_so_once_and_records_the_count(table):
    logreg = FAMILIES["logreg"].size
    assert logreg == 32
    config = AuditConfig(target="label", **{**FAST, "families": ("logreg", "mlp"), "n_configs": 40})
    report = audit(str(table), config, embedder=NumbersEmbedder()).to_dict()
    assert report["grid"]["n_configs"] == {"logreg": 32, "mlp": 40}
    assert report["config"]["n_configs"] == 40
    fitted = {m["config_id"] for m in report["models"] if m["family"] == "logreg"}
    assert len(fitted) == 32
    grid_warnings = [w for w in report["warnings"] if "--n-configs" in w]
    assert grid_warnings == ["--n-configs 40 is more than the grid of logreg (32) holds: every configuration "
                             "of it is fitted, no more"]


def test_capping_at_the_grid_draws_the_same_configurations_as_before():
    whole = sample_configs(["logreg"], 32, seed=3)
    assert sample_configs(["logreg"], 10**6, seed=3) == whole
    assert len({json.dumps(c.params, sort_keys=True) for c in whole}) == 32


def test_no_library_warning_escapes_an_audit_and_the_callers_filters_stay(table):
    # max_iter 50 does not converge and 40 configurations exceed the logreg grid: scikit-learn
    # warns about both; before, one leaked and the fitting threads left "ignore all" installed.
    config = AuditConfig(target="label", **{**FAST, "n_configs": 40})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        audit(str(table), config, embedder=NumbersEmbedder())
        after = list(warnings.filters)
    assert [str(w.message) for w in caught] == []
    assert after == before


def test_a_config_file_type_error_names_the_file_and_the_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tecurate]\ntarget = "y"\nn-configs = "three"\n')
    with pytest.raises(TecurateError) as error:
        read_config_file(None, cwd=tmp_path)
    assert str(error.value) == (f"{tmp_path / 'pyproject.toml'} [tool.tecurate]: 'n-configs' must be a whole "
                                "number, got 'three'")


@pytest.mark.parametrize("line, fragment", [
    ("seed = -4", "'seed' must be between 0 and 4294967295"),
    ("test_size = 2.0", "'test_size' must be between 0.05 and 0.9"),
    ('device = "tpu"', "'device' must be auto, cpu or cuda"),
    ("use-cache = 1", "'use-cache' must be true or false, got 1"),
])
def test_a_standalone_file_value_error_names_the_file_and_the_key(tmp_path, line, fragment):
    path = tmp_path / "tecurate.toml"
    path.write_text(f'target = "y"\n{line}\n')
    with pytest.raises(TecurateError, match=f"^{path}: {fragment}"):
        read_config_file(path)


def test_an_unwritable_cache_is_a_report_warning_and_shown_on_the_terminal(table, tmp_path, fake_embedder):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a folder under a file cannot be created, even by root
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["audit", str(table), "--target", "label", "--shift-col", "region",
                                 "--min-domain-rows", "100", "--families", "logreg", "--n-configs", "2",
                                 "--n-bootstrap", "20", "--cache-dir", str(blocker / "cache"), "-o", str(out)])
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(out.read_text())
    expected = (f"cannot write to the cache folder {blocker / 'cache'}: new embeddings and 4 model fits were "
                "not cached, so the next audit computes them again")
    assert expected in report["warnings"]
    assert "cannot write to the cache folder" in result.stderr


def test_a_writable_cache_gives_no_cache_warning(table, tmp_path):
    config = AuditConfig(target="label", **{**FAST, "use_cache": True, "cache_dir": str(tmp_path / "cache")})
    report = audit(str(table), config, embedder=NumbersEmbedder()).to_dict()
    assert not [w for w in report["warnings"] if "cache" in w]


def test_ood_file_that_is_data_itself_is_a_user_error(table, tmp_path):
    copy = tmp_path / "copy.csv"
    shutil.copyfile(table, copy)
    for ood in (table, copy):
        with pytest.raises(TecurateError, match=f"--ood {ood} is DATA {table} itself or a copy of it "
                                                r"\(same content\): the OOD rows would be the ID rows"):
            audit(str(table), AuditConfig(target="label", ood_path=str(ood), use_cache=False),
                  embedder=NumbersEmbedder())


def test_ood_file_with_other_rows_still_audits(tmp_path):
    data, ood = tmp_path / "id.csv", tmp_path / "ood.csv"
    make_frame(400, seed=1).to_csv(data, index=False)
    make_frame(200, seed=2).to_csv(ood, index=False)
    config = AuditConfig(target="label", ood_path=str(ood), **{k: v for k, v in FAST.items()
                                                                  if k not in ("shift_col", "min_domain_rows")})
    report = audit(str(data), config, embedder=NumbersEmbedder()).to_dict()
    assert report["shift"]["kind"] == "file"
