# The two commands of README.md:  `make demo`  and  `make test`.
# Both create .venv and install what they need on a fresh Debian 12 machine (whose python3
# has no venv: scripts/install-python-venv adds python3-venv and python3-pip first).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit unit-pure bench clean sysdeps

# The voice agent's engines and models (the `agent` extra) come from a hash-pinned lock file,
# wheels only: two of them are single-author re-uploads of model files (docs/agent.md). The
# `pipecat` extra (pywebrtc.contrib.pipecat and its tests) comes with the test tools.
# `make MYPYC=1 ...`: setup.py also compiles the hot paths with mypyc (pywebrtc/_mypyc.py lists
# the modules; an edit to one of them runs them all from source, with a warning, until this is
# made again). Off by default until a difference it makes in video keyframe recovery is
# understood (docs/architecture.md); without it every extension it made before is removed.
MYPYC ?= 0
export PYWEBRTC_NO_MYPYC := $(if $(filter 1,$(MYPYC)),0,1)
$(STAMP): pyproject.toml setup.py relay/_fastloop.c agent/requirements.lock \
		$(shell $(PY) -c 'import runpy; print(*(m.replace(".", "/") + ".py" for m in runpy.run_path("pywebrtc/_mypyc.py")["MODULES"]))')
	bash scripts/install-python-venv $(PY)
	test -x $(BIN)/pip || $(PY) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	PYWEBRTC_NO_MYPYC=1 $(BIN)/pip install -q -e '.[test,pipecat]'
	$(BIN)/pip install -q --require-hashes --only-binary :all: --no-deps -r agent/requirements.lock
	@# mypyc type-checks against the installed dependencies (av's stubs need numpy): now.
	$(BIN)/pip install -q --no-deps -e .
	test "$(MYPYC)" = 1 || find pywebrtc signaling -name '*.cpython-*.so' -delete
	$(BIN)/python -c 'from pywebrtc import _mypyc; print(_mypyc.describe())'
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

# The unit tests of the compiled modules run from their source (PYWEBRTC_PURE=1, docs/architecture.md),
# so that the pure-Python fallback cannot rot.
unit-pure: $(STAMP)
	PYWEBRTC_PURE=1 HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -p no:cacheprovider $(PURE_TESTS)

PURE_TESTS := tests/test_mypyc.py tests/test_session.py tests/test_shell.py tests/test_timer.py \
	tests/test_demux.py tests/rtp/test_interceptor.py tests/rtp/test_reports.py \
	tests/rtp/test_sender.py tests/rtp/test_receiver.py tests/srtp tests/media/test_pipeline.py \
	tests/media/test_dtmf.py tests/ice/test_udpmux.py tests/scenarios/test_whole_stack.py \
	tests/signaling/test_bad_input.py tests/peerconnection/test_loopback.py \
	tests/dtls tests/sctp tests/stun tests/ice tests/jsep tests/sdp

# The whole suite: lint, strict typing, then every test (unit, property, fuzz, conformance).
test: lint typecheck unit unit-pure

bench: $(STAMP)
	$(BIN)/python -m bench all

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
	find pywebrtc signaling -name "*.so" -delete  # mypyc's build (setup.py)
