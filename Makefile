# logsentry developer entry points. `make demo` and `make test` are the two the README gives.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint kafka-fetch bench-accuracy clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

kafka-fetch:
	deploy/kafka/kafka-local fetch >/dev/null

demo: setup kafka-fetch
	PATH="$(CURDIR)/$(BIN):$$PATH" deploy/demo.sh

test: setup kafka-fetch
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy model_store trainer stream logsentry

bench-accuracy: setup
	$(BIN)/python bench/accuracy.py

clean:
	rm -rf .cache work
