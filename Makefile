# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tecurate-installed

.PHONY: install demo test bench clean

# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/tecurate audit examples/credit_data.csv --target Status --shift-col Home \
		--output out/credit_data-report.json

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache
