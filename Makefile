# gridledger — the commands a user runs. Each target installs what it needs when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FORGE := node_modules/.bin/forge
SLITHER_VENV := .venv-slither
COVERAGE_LCOV := reports/coverage/lcov.info

.PHONY: system-packages demo test test-contracts test-python contracts check-artifacts bench capacity snapshot lint clean \
	slither slither-baseline slither-venv coverage

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	touch $@

# Slither lives in its own environment: slither-analyzer needs web3 < 8, the package pins web3 8.
$(SLITHER_VENV)/.installed: tools/slither-requirements.txt
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install -q -r tools/slither-requirements.txt
	touch $@

slither-venv: $(SLITHER_VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## demo: one summer day of a SimBench grid trading on the embedded EVM; report in reports/simulation/
demo: $(VENV)/.installed
	$(VENV)/bin/gridledger simulate --out reports/simulation

## test: forge tests, artifact freshness, pytest, lint
test: test-contracts check-artifacts test-python lint

# The gas snapshot tests run isolated (each call its own transaction) and are compared with
# the committed snapshots/*.json: a change of an operation's gas fails until `make snapshot`.
# forge reports a differing snapshot but exits 0, so its report is checked here.
SNAPSHOT_CHECK_LOG := reports/gas-snapshot-check.log
test-contracts: node_modules/.installed
	$(FORGE) test --no-match-contract GasSnapshots
	mkdir -p reports
	set -o pipefail; FORGE_SNAPSHOT_CHECK=true $(FORGE) test --match-contract GasSnapshots --isolate 2>&1 \
		| tee $(SNAPSHOT_CHECK_LOG)
	@if grep -q "Snapshots differ" $(SNAPSHOT_CHECK_LOG); then \
		echo "gas snapshots differ from snapshots/*.json: run make snapshot and review the diff" >&2; exit 1; fi

check-artifacts: node_modules/.installed $(VENV)/.installed
	$(FORGE) build
	$(PY) tools/export_artifacts.py --check
	$(PY) tools/vendor_web.py --check

# The meter, database and browser tests start their own Mosquitto, PostgreSQL and Chromium
# (Debian's packages) on 127.0.0.1; what is missing is installed with one apt-get update.
MISSING_PACKAGES = $(if $(shell command -v mosquitto || command -v /usr/sbin/mosquitto),,mosquitto) \
	$(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql) \
	$(if $(wildcard /usr/bin/chromium),,chromium)
system-packages:
	@if [ -n "$(strip $(MISSING_PACKAGES))" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(strip $(MISSING_PACKAGES)); fi

test-python: $(VENV)/.installed node_modules/.installed system-packages
	$(VENV)/bin/pytest

## contracts: rebuild and regenerate the committed ABI/bytecode under src/gridledger/contracts
contracts: node_modules/.installed $(VENV)/.installed
	$(FORGE) build
	$(PY) tools/export_artifacts.py

## bench: gas from receipts of real transactions on anvil; prints BENCH lines (kept in reports/bench.txt)
bench: $(VENV)/.installed node_modules/.installed system-packages
	mkdir -p reports
	set -o pipefail; $(PY) -m gridledger.bench | tee reports/bench.txt

## capacity: meters, orders and certificates one chain carries, from reports/bench.txt
capacity: $(VENV)/.installed
	$(VENV)/bin/gridledger capacity --bench reports/bench.txt

## snapshot: rewrite the committed gas of each named operation (snapshots/*.json)
snapshot: node_modules/.installed
	$(FORGE) test --match-contract GasSnapshots --isolate

## slither: fail on any Slither finding (every impact level) not reviewed in slither-baseline.json
# The gate compiles the sources to ASTs itself through tools/solc (no forge build needed).
slither: node_modules/.installed $(VENV)/.installed $(SLITHER_VENV)/.installed
	$(PY) tools/slither_gate.py

## slither-baseline: rewrite the candidate baseline from the current contracts (then review the diff)
slither-baseline: node_modules/.installed $(VENV)/.installed $(SLITHER_VENV)/.installed
	$(PY) tools/slither_gate.py --write-baseline

## coverage: forge coverage (default fuzz profile); every deployable contract >= 90 % lines and branches
# A gas bound holds for the optimised build only: coverage's unoptimised code is dearer, so
# the tests that assert a gas cap are left to `make test`.
GAS_BOUND_TESTS := test_submitReadings_fullBatchOfWorstReadingsFitsTransactionGasCap
# --ir-minimum: coverage turns via-IR and the optimizer off, and the legacy pipeline fails with
# "stack too deep" in CarbonCredit.issueCreditsCertificate; the IR pipeline at minimum
# optimisation compiles (its source maps are a little coarser).
coverage: node_modules/.installed $(VENV)/.installed
	mkdir -p $(dir $(COVERAGE_LCOV))
	FOUNDRY_PROFILE=default $(FORGE) coverage --ir-minimum --report summary --report lcov \
		--report-file $(COVERAGE_LCOV) --no-match-contract GasSnapshots --no-match-coverage '(contracts/test|node_modules)/' \
		--no-match-test $(GAS_BOUND_TESTS)
	$(PY) tools/coverage_gate.py $(COVERAGE_LCOV)

## lint: ruff, mypy, and formatting (forge fmt, ruff format) checked, not applied
lint: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools
	$(VENV)/bin/mypy
	$(FORGE) fmt --check

clean:
	rm -rf out cache .pytest_cache .mypy_cache .ruff_cache
