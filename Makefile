# Local workflow. `make run` starts the whole stack on this machine; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv

.PHONY: venv run test clean

venv: $(VENV)/.stamp

# Re-install only when pyproject.toml is newer than the last install.
$(VENV)/.stamp: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

run: venv
	$(VENV)/bin/yiwang up --demo

test: venv
	$(VENV)/bin/python -m pytest -q -x --durations=15 -p no:cacheprovider tests

clean:
	rm -rf .yiwang
