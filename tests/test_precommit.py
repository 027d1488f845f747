"""The pre-commit hook's entry point (tecurate/_precommit.py): its command line, its bounds, and
real audits of staged files with the fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ConstantEmbedder, make_frame

from tecurate import _precommit
from tecurate._precommit import HOOK_BOUNDS, bounds, split_arguments

SETTINGS = ('[tool.tecurate]\ntarget = "label"\nshift-col = "region"\nmin-domain-rows = 100\n'
            'families = "logreg"\nn-jobs = 1\nuse-cache = false\nmax-te-only-collapse-rate = 1\nn-configs = 2\n')


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data repository with [tool.tecurate] settings, as the current folder (pre-commit runs there)."""
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    make_frame().to_csv(tmp_path / "good.csv", index=False)
    make_frame().drop(columns="label").to_csv(tmp_path / "no_label.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def audits(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command line of each audit the hook runs; each still runs for real."""
    seen: list[list[str]] = []
    real = _precommit.cli_main

    def spy(args: list[str]) -> None:
        seen.append(args)
        real(args)

    monkeypatch.setattr(_precommit, "cli_main", spy)
    return seen


def test_hook_args_come_first_then_the_files():
    flags, files = split_arguments(["--max-rows", "500", "--strict", "-t", "y", "--n-configs=2",
                                    "--config", "ci.toml", "data/a.csv", "b.parquet"])
    assert flags == ["--max-rows", "500", "--strict", "-t", "y", "--n-configs=2", "--config", "ci.toml"]
    assert files == ["data/a.csv", "b.parquet"]


def test_bounds_apply_only_where_neither_args_nor_the_config_file_set_the_knob(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bounds([]) == ["--max-rows", str(HOOK_BOUNDS["max_rows"]), "--n-configs", str(HOOK_BOUNDS["n_configs"])]
    assert bounds(["--n-configs=2"]) == ["--max-rows", str(HOOK_BOUNDS["max_rows"])]
    (tmp_path / "pyproject.toml").write_text('[tool.tecurate]\ntarget = "y"\nmax-rows = 300\n')
    assert bounds([]) == ["--n-configs", str(HOOK_BOUNDS["n_configs"])]
    (tmp_path / "ci.toml").write_text('target = "y"\nn-configs = 6\n')
    assert bounds(["--config", "ci.toml", "--max-rows", "100"]) == []


def test_a_broken_config_file_is_reported_by_each_audit_in_the_clis_words(repo, audits, capsys):
    (repo / "pyproject.toml").write_text('[tool.tecurate]\ntarget = "label"\nn-configs = "three"\n')
    assert _precommit.main(["good.csv"]) == 2
    assert "'n-configs' must be a whole number" in capsys.readouterr().err
    assert audits == [["audit", "good.csv", "--quiet"]]


def test_each_staged_file_is_audited_and_the_worst_exit_code_wins(repo, audits, capsys, fake_embedder):
    assert _precommit.main(["good.csv", "no_label.csv"]) == 2
    err = capsys.readouterr().err
    assert "tecurate: good.csv\ntecurate: PASS" in err or "tecurate: good.csv\ntecurate: WARN" in err
    assert "tecurate: no_label.csv\n" in err and "tecurate: error:" in err and "label" in err
    bounded = ["--max-rows", str(HOOK_BOUNDS["max_rows"])]  # n-configs: [tool.tecurate] sets it
    assert audits == [["audit", "good.csv", "--quiet", *bounded], ["audit", "no_label.csv", "--quiet", *bounded]]


def test_a_failed_gate_fails_the_commit_and_hook_args_replace_the_bounds(repo, audits, capsys, fake_embedder):
    # Every te model collapses; with 12 matched configurations the excess over raw is sure enough to fail.
    fake_embedder(ConstantEmbedder)
    assert _precommit.main(["--max-rows", "600", "--n-configs", "12", "good.csv"]) == 1
    assert "tecurate: FAIL - te_collapse_rate" in capsys.readouterr().err
    assert audits == [["audit", "good.csv", "--quiet", "--max-rows", "600", "--n-configs", "12"]]


def test_no_staged_file_is_a_pass(repo, audits):
    assert _precommit.main([]) == 0
    assert audits == []
