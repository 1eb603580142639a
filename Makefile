# Quick start targets: `make demo` renders the bundled demo, `make test` runs the test suite.
# Both create ./.venv and install dreamloom into it the first time.
# `make mutation MODULE=timeline` mutation-tests one module (see docs/development.md); not part of `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install mutation

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

demo: install
	$(BIN)/dreamloom render --example demo

test: install
	$(BIN)/python -m pytest

# MODULE: a name from tools/mutation.py (dsl, masks, cutouts, fast_paths, prompt_loss, palette, timeline, backups,
# animation, audio, stabilization) or a file under src/ with TESTS="tests/..." naming the tests that cover it.
MUTMUT_VERSION ?= 3.8.1
mutation: install
	@test -n "$(MODULE)" || { echo "usage: make mutation MODULE=timeline [TESTS='tests/plan']"; exit 2; }
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install 'mutmut==$(MUTMUT_VERSION)'
	$(BIN)/python tools/mutation.py $(MODULE) $(TESTS)
