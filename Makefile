# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tecurate-installed

.PHONY: install demo test browser lint-ci docs bench clean settings-table

# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Exit 1 means the audit ran and a gate failed (the finding the demo shows), so make accepts it.
demo: install
	$(VENV)/bin/tecurate audit examples/credit_data.csv --target Status --shift-col Home \
		--output out/credit_data-report.json --html out/credit_data-report.html \
		|| [ $$? -eq 1 ]

# The HTML report's browser test needs Chromium. As root with apt-get (CI) it is installed once;
# elsewhere nothing happens and pytest prints why that test was skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "make: could not install chromium; the browser test will be skipped"; \
	fi

# actionlint on the example workflow (with action.yml as its local action), action.yml against the
# GitHub Action schema, shellcheck on the action's scripts, the pre-commit hook manifest: all offline.
lint-ci: install
	$(PY) .ci/lint_ci.py

# The docs site, strictly (a warning fails; not with --quiet, which hides them), into out/site; offline.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

test: install browser lint-ci docs
	$(PY) -m pytest -q

# The performance table (benchmarks/RESULTS.md): ~45 min on 2 cores; BENCH_ARGS="--device cuda" on a GPU.
bench: install
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# The settings tables of the README and the docs are generated from tecurate/config.py (tests check both).
settings-table: install
	$(PY) -c "import pathlib, tecurate.config as c; [p.write_text(c.with_settings_table(p.read_text())) for p in map(pathlib.Path, ('README.md', 'docs/settings.md'))]"

clean:
	rm -rf $(VENV) out .pytest_cache
