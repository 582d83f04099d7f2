# gridledger — the commands a user runs. Each target installs what it needs when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FORGE := node_modules/.bin/forge

.PHONY: demo test test-contracts test-python contracts check-artifacts bench snapshot lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## demo: one summer day of a SimBench grid trading on the embedded EVM; report in reports/simulation/
demo: $(VENV)/.installed
	$(VENV)/bin/gridledger simulate --out reports/simulation

## test: forge tests, artifact freshness, pytest, lint
test: test-contracts check-artifacts test-python lint

test-contracts: node_modules/.installed
	$(FORGE) test

check-artifacts: node_modules/.installed $(VENV)/.installed
	$(FORGE) build
	$(PY) tools/export_artifacts.py --check

test-python: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/pytest

## contracts: rebuild and regenerate the committed ABI/bytecode under src/gridledger/contracts
contracts: node_modules/.installed $(VENV)/.installed
	$(FORGE) build
	$(PY) tools/export_artifacts.py

## bench: gas from receipts of real transactions on anvil; prints BENCH lines
bench: $(VENV)/.installed node_modules/.installed
	$(PY) -m gridledger.bench

## snapshot: rewrite the committed forge gas snapshot (default profile: 256 fuzz runs)
snapshot: node_modules/.installed
	FOUNDRY_PROFILE=default $(FORGE) snapshot --snap snapshots/contracts.gas-snapshot

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/mypy

clean:
	rm -rf out cache .pytest_cache .mypy_cache .ruff_cache
