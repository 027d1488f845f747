"""Lint the GitHub Action, the example workflow and the pre-commit hook manifest (`make lint-ci`).

actionlint checks workflow files only, and resolves a local action (`uses: ./`) only inside a
project, a folder holding `.git` and `.github/workflows`: so the example workflow is linted from a scratch
copy of one, next to action.yml, and every `with:` input and `steps.*.outputs.*` it uses is
checked against action.yml. action.yml itself is checked against the GitHub Action schema that
check-jsonschema ships (offline), and the shell of each of its steps with shellcheck; the hook
manifest with `pre-commit validate-manifest`. Usage: lint_ci.py [REPO_ROOT] (default: this repo).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

WORKFLOW = "examples/github-workflow.yml"


def _tool(name: str) -> str:
    """The tool from this Python's environment (the venv's bin/), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"lint_ci: {name} is not installed (pip install -e '.[dev]')")
    return found


def _run(label: str, command: list[str], cwd: Path | None = None) -> bool:
    env = {**os.environ, "PATH": f"{Path(_tool('shellcheck')).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"lint_ci: {label} failed:\n{result.stdout}{result.stderr}", file=sys.stderr)
    return result.returncode == 0


def lint_workflow(root: Path) -> bool:
    """actionlint on the example workflow, with action.yml as the local action `./`."""
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / ".git").mkdir()  # what actionlint looks for, with .github/workflows, to find a project
        (project / ".github" / "workflows").mkdir(parents=True)
        shutil.copy(root / "action.yml", project / "action.yml")
        shutil.copy(root / WORKFLOW, project / ".github" / "workflows" / Path(WORKFLOW).name)
        return _run(f"actionlint {WORKFLOW} (its lines are the example's)",
                    [_tool("actionlint"), "-oneline", "-no-color"], cwd=project)


def lint_action_shell(root: Path) -> bool:
    """shellcheck on every `run:` of the composite action (they use env vars, never `${{ }}`)."""
    steps = yaml.safe_load((root / "action.yml").read_text())["runs"]["steps"]
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        for number, step in enumerate(steps, 1):
            if "run" not in step:
                continue
            if "${{" in step["run"]:
                print(f"lint_ci: action.yml step {number} puts an expression in its script; pass it in env:",
                      file=sys.stderr)
                ok = False
                continue
            script = Path(scratch) / f"step{number}.sh"
            script.write_text(step["run"])
            ok &= _run(f"shellcheck of action.yml step {number} ({step.get('name', step.get('id', ''))})",
                       [_tool("shellcheck"), "--shell=bash", str(script)])
    return ok


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    checks = [
        lint_workflow(root),
        _run("action.yml against the GitHub Action schema",
             [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(root / "action.yml")]),
        lint_action_shell(root),
        _run(".pre-commit-hooks.yaml", [_tool("pre-commit"), "validate-manifest", str(root / ".pre-commit-hooks.yaml")]),
    ]
    if all(checks):
        print("lint_ci: action.yml, examples/github-workflow.yml and .pre-commit-hooks.yaml are clean")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
