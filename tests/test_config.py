"""Configuration: validation, file settings, precedence CLI > file > defaults."""

import pytest

from tecurate.config import AuditConfig, read_config_file, resolve_config
from tecurate.errors import TecurateError


@pytest.mark.parametrize("changes, fragment", [
    ({"families": ("logreg", "svm")}, "unknown model family svm"),
    ({"n_configs": 0}, "--n-configs"),
    ({"collapse_threshold": 1.5}, "--collapse-threshold"),
    ({"fail_on": "never"}, "--fail-on"),
    ({"shift_col": "a", "ood_path": "b.csv"}, "either --shift-col or --ood"),
    ({"id_values": ("x",)}, "--id-values needs --shift-col"),
    ({"max_collapse_rate": -0.1}, "--max-collapse-rate"),
    ({"device": "tpu"}, "--device"),
])
def test_bad_values_are_user_errors(changes, fragment):
    with pytest.raises(TecurateError, match=fragment):
        AuditConfig(target="y", **changes)


def test_to_dict_is_plain_json():
    data = AuditConfig(target="y").to_dict()
    assert data["families"] == ["logreg", "xgboost", "mlp"]
    assert data["seed"] == 0 and data["collapse_threshold"] == 0.99


def test_pyproject_table_and_precedence(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.tecurate]\ntarget = "y"\nn-configs = 3\nfamilies = "logreg,mlp"\nseed = 7\n')
    settings, source = read_config_file(None, cwd=tmp_path)
    assert source.endswith("[tool.tecurate]")
    config = resolve_config({"seed": 11, "target": None, "n_configs": None}, settings)
    assert (config.target, config.n_configs, config.seed) == ("y", 3, 11)
    assert config.families == ("logreg", "mlp")
    assert config.max_collapse_rate == AuditConfig(target="y").max_collapse_rate


def test_standalone_file_and_errors(tmp_path):
    good = tmp_path / "tecurate.toml"
    good.write_text('target = "label"\nfamilies = ["xgboost"]\n')
    settings, _ = read_config_file(good)
    assert resolve_config({}, settings).families == ("xgboost",)
    bad = tmp_path / "bad.toml"
    bad.write_text('target = "label"\ncolapse_threshold = 0.9\n')
    with pytest.raises(TecurateError, match="unknown setting 'colapse_threshold'"):
        read_config_file(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("target = ")
    with pytest.raises(TecurateError, match="cannot parse"):
        read_config_file(broken)
    with pytest.raises(TecurateError, match="does not exist"):
        read_config_file(tmp_path / "missing.toml")
    with pytest.raises(TecurateError, match="--target is required"):
        resolve_config({}, {})


def test_no_pyproject_means_no_settings(tmp_path):
    assert read_config_file(None, cwd=tmp_path) == ({}, None)


def test_readme_settings_table_is_the_generated_one():
    from pathlib import Path

    from tecurate.config import with_settings_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert readme == with_settings_table(readme), "README settings table is stale: run `make settings-table`"


def test_every_setting_is_a_field_an_option_and_a_file_key(tmp_path):
    import dataclasses

    import typer

    from tecurate.cli import app
    from tecurate.config import AUDIT, AUDIT_SETTINGS, settings_for

    assert [f.name for f in dataclasses.fields(AuditConfig)] == [s.name for s in AUDIT_SETTINGS]
    assert all(f.metadata["setting"].default == f.default for f in dataclasses.fields(AuditConfig)
               if f.default is not dataclasses.MISSING)
    command = typer.main.get_command(app).commands["audit"]
    flags = {flag for param in command.params for flag in param.opts}
    assert {s.cli_flag for s in settings_for(AUDIT)} <= flags
    lines = "\n".join(f"{s.name} = {s.default!r}".replace("'", '"').replace("(", "[").replace(")", "]")
                      for s in AUDIT_SETTINGS if s.default is not None and not isinstance(s.default, bool))
    path = tmp_path / "all.toml"
    path.write_text(lines.replace('target = None', '') + '\ntarget = "y"\n')
    settings, _ = read_config_file(path)
    assert resolve_config({}, settings) == AuditConfig(target="y")


@pytest.mark.parametrize("changes, fragment", [
    ({"n_configs": "3"}, "--n-configs must be a whole number"),
    ({"test_size": 0.95}, "--test-size must be between 0.05 and 0.9"),
    ({"families": ()}, "--families must name at least one model family"),
    ({"families": ("mlp", "mlp")}, "--families lists a model family twice"),
    ({"synthetic_quantile": 1.0}, r"--synthetic-quantile must be in \(0, 1\)"),
])
def test_bounds_kinds_and_lists_come_from_the_table(changes, fragment):
    with pytest.raises(TecurateError, match=fragment):
        AuditConfig(target="y", **changes)
