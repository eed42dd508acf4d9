# Zero to Large: two commands do everything on a fresh machine.
#   make book   creates .venv (Python 3.11 + the lock), builds the Jupyter Book into _build/html
#   make test   every test: utils units, the notebook contract and time ledger, nbval over the
#               stored notebooks, papermill smoke runs, the book build, a clean git status
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
# CI runs 2 notebook workers with 1 thread each; kernels inherit these.
WORKERS ?= 2
export ZTL_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export TF_CPP_MIN_LOG_LEVEL := 2
NB ?=
NBVAL := --nbval-lax --nbval-cell-timeout=300 --nbval-kernel-startup-timeout=120 -p no:randomly
PYTEST_NB := python -m pytest -q -rfE --timeout=900
REPORTS := _build/reports
ALONE = $$(python -m utils.notebooks alone)

.PHONY: help env lock book test unit nbval smoke book-build browser browser-check clean-check \
        times lab execute glossary bench-gpt bench-ladder bench-scaling bench-ddp \
        new-notebook check

help:
	@echo "make book | make test | make lab | make execute [NB=path] | make smoke | make check"
	@echo "make new-notebook NB=chapters/01_math/02_calculus.ipynb TITLE='Calculus'"

$(STAMP): requirements-lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11): install it or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-lock.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

env: $(STAMP)

lock: $(STAMP)  ## re-resolve requirements.in into the lock (needs the network)
	python -m pip install -q -r requirements.in
	{ sed -n '1,3p' requirements-lock.txt; python -m pip freeze --all --exclude-editable | grep -v '^pip==' | sed 's/+cpu//' \
	  | sed -E 's/^tensorflow_cpu==(.*)$$/tensorflow-cpu==\1 ; platform_machine == "x86_64" and sys_platform != "darwin"\ntensorflow==\1 ; platform_machine != "x86_64" or sys_platform == "darwin"/'; } > requirements-lock.tmp
	mv requirements-lock.tmp requirements-lock.txt

book: $(STAMP)
	jupyter-book build -W -n --keep-going .
	@echo "open $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory unit nbval smoke book-build browser-check clean-check; \
	echo "make test: every phase passed in $$(( $$(date +%s) - start )) s"; \
	$(MAKE) --no-print-directory times

unit: $(STAMP)
	@rm -rf $(REPORTS); mkdir -p $(REPORTS)
	python -m pytest -q -n $(WORKERS) --junitxml=$(REPORTS)/junit-unit.xml tests

nbval: $(STAMP)
	ZTL_PHASE=nbval ZTL_ALONE=skip $(PYTEST_NB) -n $(WORKERS) --dist loadfile $(NBVAL) \
	  --junitxml=$(REPORTS)/junit-nbval.xml chapters
	@alone="$(ALONE)"; if [ -n "$$alone" ]; then set -x; ZTL_THREADS=2 ZTL_PHASE=nbval-alone \
	  $(PYTEST_NB) $(NBVAL) --junitxml=$(REPORTS)/junit-nbval-alone.xml $$alone; fi

smoke: $(STAMP)
	ZTL_PHASE=smoke ZTL_ALONE=skip $(PYTEST_NB) -n $(WORKERS) \
	  --junitxml=$(REPORTS)/junit-smoke.xml tests/notebook_smoke.py
	@if [ -n "$(ALONE)" ]; then set -x; ZTL_THREADS=2 ZTL_PHASE=smoke-alone ZTL_ALONE=only \
	  $(PYTEST_NB) --junitxml=$(REPORTS)/junit-smoke-alone.xml tests/notebook_smoke.py; fi

book-build: $(STAMP)
	@mkdir -p _build; jupyter-book build -W -n --keep-going . >_build/book.log 2>&1 || { cat _build/book.log; exit 1; }
	@grep -E "^(build succeeded|The HTML pages)" _build/book.log || true

browser:  ## Debian's chromium + chromedriver for the browser check (idempotent; no downloads)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "install Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver)"; fi; fi

browser-check: $(STAMP) browser
	ZTL_PHASE=browser python -m pytest -q -rfE --junitxml=$(REPORTS)/junit-browser.xml \
	  tests/browser_book.py

times: $(STAMP)
	@python -m utils.notebooks ledger
	@python -m utils.notebooks times

clean-check:
	@if [ -n "$$(git status --porcelain)" ]; then echo "make test left files behind:"; \
	  git status --porcelain; exit 1; fi; echo "git status clean"

check: $(STAMP)
	python -m utils.notebooks check

lab: $(STAMP)
	jupyter lab chapters

execute: $(STAMP)  ## NB=path(s); default: notebooks changed since the last commit
	@nbs="$(NB)"; if [ -z "$$nbs" ]; then nbs=$$(python -m utils.notebooks stale); fi; \
	if [ -z "$$nbs" ]; then echo "nothing to execute: every notebook is fresh"; exit 0; fi; \
	python -m utils.notebooks execute $$nbs; python -m utils.book glossary

bench-gpt: $(STAMP)  ## chapter 10's trainer vs the reference configuration -> results/10_gpt_from_scratch/
	OMP_NUM_THREADS=2 ZTL_THREADS=2 python benchmarks/bench_gpt.py $(ARGS)

bench-ladder: $(STAMP)  ## chapter 10.4's performance ladder, one trick at a time -> results/10_gpt_from_scratch/ladder.json
	OMP_NUM_THREADS=2 ZTL_THREADS=2 python benchmarks/bench_ladder.py $(ARGS)

bench-scaling: $(STAMP)  ## chapter 10.3's scaling sweep (sizes x token budgets) -> results/10_gpt_from_scratch/scaling.json
	OMP_NUM_THREADS=1 ZTL_THREADS=1 python benchmarks/bench_scaling.py $(ARGS)

bench-ddp: $(STAMP)  ## chapter 14.2's data-parallel scaling (1p x 1t, 1p x 2t, 2p x 1t; all GPUs with NCCL) -> results/14_distributed/ddp.json
	python benchmarks/bench_ddp.py $(ARGS)

glossary: $(STAMP)  ## regenerate appendices/glossary.md from the **term** (中文) marks
	python -m utils.book glossary

new-notebook: $(STAMP)
	@test -n "$(NB)" -a -n "$(TITLE)" || { echo "usage: make new-notebook NB=chapters/01_math/02_calculus.ipynb TITLE='Calculus and autodiff'"; exit 1; }
	python -m utils.notebooks new $(NB) "$(TITLE)"
