# The targets are the commands the README shows. `demo` and `test` run `setup` first, so each
# works alone on a fresh clone that has Python 3.11+, git and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCRIPT ?= events/scripts/train-station.fountain

.PHONY: setup demo test lint format bench clean

setup: $(STAMP)

# Re-installs only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -e '.[dev,infra]'
	touch $(STAMP)

# What the screenplay would cost on Runway, then the film itself, made offline by the animatic
# provider on the embedded local stack.
demo: setup
	$(BIN)/stf estimate $(SCRIPT)
	$(BIN)/stf run $(SCRIPT) --poll-seconds 1 --out data/output

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/bench.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
