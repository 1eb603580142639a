# Quick start targets: `make demo` renders the bundled demo, `make test` runs the test suite.
# Both create ./.venv and install dreamloom into it the first time.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install

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
