"""The files other tools read: action.yml, the example workflow, the pre-commit hook manifest and
the docs site's mkdocs.yml. `make lint-ci` lints them with the real tools (.ci/lint_ci.py); these
tests check what those tools cannot: that the pieces fit together."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from tecurate.cli import app

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text())


def test_action_declares_the_inputs_and_outputs_and_uses_every_input():
    action = load("action.yml")
    inputs, outputs = action["inputs"], action["outputs"]
    assert {"data", "target", "shift-col", "args"} <= set(inputs)
    assert {"verdict", "exit-code", "report"} <= set(outputs)
    assert inputs["data"]["required"] is True
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", (ROOT / "action.yml").read_text()))  # ${{ }} and if:
    assert used == set(inputs), "every input is used, and only declared inputs are"


def test_action_outputs_are_written_by_the_audit_step():
    action = load("action.yml")
    steps = {step["id"]: step for step in action["runs"]["steps"] if "id" in step}
    for name, output in action["outputs"].items():
        step_id, key = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"]).groups()
        assert f'echo "{key}=' in steps[step_id]["run"], f"output {name}: step {step_id} never writes {key}"


def test_action_pins_the_makefiles_cpu_torch_caches_uploads_and_then_fails():
    action = load("action.yml")
    makefile_pin = re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text()).group(1)
    assert action["inputs"]["torch-version"]["default"] == makefile_pin
    steps = action["runs"]["steps"]
    install = next(s for s in steps if "torch==" in s.get("run", ""))
    assert "download.pytorch.org/whl/cpu" in install["run"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    cache = steps[uses.index("actions/cache")]
    assert cache["with"]["path"] == "~/.cache/tecurate"
    upload = steps[uses.index("actions/upload-artifact")]
    assert upload["if"].startswith("always()")
    audit = next(s for s in steps if s.get("id") == "audit")
    assert all(f'--{flag} "$OUT/{name}"' in audit["run"]
               for flag, name in (("output", "report.json"), ("html", "report.html"), ("junit", "junit.xml")))
    last = steps[-1]
    assert steps.index(upload) < len(steps) - 1 and 'exit "$CODE"' in last["run"]
    assert last["env"]["CODE"] == "${{ steps.audit.outputs.exit-code }}"


def test_the_example_workflow_uses_the_action_and_compares_base_and_head():
    workflow = load("examples/github-workflow.yml")
    jobs = workflow["jobs"]
    assert any(step.get("uses") == "./" for step in jobs["audit"]["steps"])
    compare = jobs["compare"]
    assert "pull_request" in compare["if"]
    audits = {step["id"]: step for step in compare["steps"] if step.get("uses") == "./"}
    assert set(audits) == {"base", "head"}
    assert audits["base"]["with"]["data"].startswith("base/")
    assert all(step["with"]["fail-on-gate"] == "false" for step in audits.values())
    assert len({step["with"]["artifact-name"] for step in audits.values()}) == 2, "artifact names must differ"
    assert all("--repeats 3" in step["with"]["args"] for step in audits.values()), \
        "one seed a side: compare's bounds miss the split's noise (validation/RESULTS.md §7)"
    run = next(step for step in compare["steps"] if "tecurate compare" in step.get("run", ""))
    assert run["env"] == {"BASE_REPORT": "${{ steps.base.outputs.report }}",
                          "HEAD_REPORT": "${{ steps.head.outputs.report }}"}


def test_the_action_and_the_workflow_only_use_flags_that_exist():
    commands = typer.main.get_command(app).commands
    action = next(s for s in load("action.yml")["runs"]["steps"] if s.get("id") == "audit")["run"].splitlines()
    workflow = load("examples/github-workflow.yml")
    compare = next(s["run"] for s in workflow["jobs"]["compare"]["steps"] if "tecurate compare" in s.get("run", ""))
    used = [("audit", " ".join(line for line in action if "flags" in line or "tecurate audit" in line)),
            ("report", next(line for line in action if "tecurate report" in line)),
            ("audit", workflow["env"]["AUDIT_ARGS"]),
            ("compare", compare)]
    for name, text in used:
        flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
        known = {opt for param in commands[name].params for opt in param.opts}
        assert flags and flags <= known, (name, flags - known)


def test_the_hook_manifest_has_what_pre_commit_requires_and_its_entry_exists():
    hooks = load(".pre-commit-hooks.yaml")
    assert isinstance(hooks, list) and hooks
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
    hook = next(h for h in hooks if h["id"] == "tecurate-audit")
    pattern = re.compile(hook["files"])
    assert all(pattern.search(f) for f in ("data/train.csv", "x.parquet", "rows.jsonl"))
    assert not any(pattern.search(f) for f in ("notes.txt", "train.csv.bak", "model.py"))
    module = re.fullmatch(r"python -m ([\w.]+)", hook["entry"]).group(1)
    assert importlib.util.find_spec(module) is not None


def test_the_docs_nav_lists_every_page_and_only_existing_ones():
    config = load("mkdocs.yml")
    docs = ROOT / config["docs_dir"]
    nav = [page for item in config["nav"] for page in item.values()]
    assert all((docs / page).is_file() for page in nav), [p for p in nav if not (docs / p).is_file()]
    assert sorted(nav) == sorted(p.name for p in docs.glob("*.md"))
    assert config["theme"]["font"] is False, "no font service: the site builds and reads offline"
    pages = " ".join((docs / page).read_text() for page in nav)
    for included in re.findall(r'--8<-- "([^"]+)"', pages):
        assert (ROOT / included).is_file(), included
    assert "report-screenshot.png" in (docs / "reading-a-report.md").read_text()


def test_the_docs_settings_table_is_the_generated_one():
    from tecurate.config import with_settings_table

    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == with_settings_table(page), "docs settings table is stale: run `make settings-table`"
    assert "| `--max-rows` |" in page


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / ".ci" / "lint_ci.py"), str(root)],
                          capture_output=True, text=True, timeout=120)


def test_lint_ci_passes_on_the_repository():
    result = lint(ROOT)
    assert result.returncode == 0, result.stderr


def test_lint_ci_catches_a_misspelt_input_an_unknown_output_and_a_shell_bug(tmp_path):
    for name in ("action.yml", ".pre-commit-hooks.yaml", "examples/github-workflow.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    workflow = tmp_path / "examples" / "github-workflow.yml"
    workflow.write_text(workflow.read_text().replace("artifact-name: tecurate-head", "artifact-nam: tecurate-head")
                        .replace("steps.base.outputs.report", "steps.base.outputs.reprot"))
    action = tmp_path / "action.yml"
    action.write_text(action.read_text().replace('exit "$CODE"', "cd $CODE"))
    result = lint(tmp_path)
    assert result.returncode == 1
    assert 'input "artifact-nam" is not defined' in result.stderr
    assert 'property "reprot" is not defined' in result.stderr
    assert "SC2086" in result.stderr or "SC2164" in result.stderr
