# The targets are the commands the README shows, and each installs what it needs itself on a
# fresh clone. `setup` is the Python side alone, so `demo` needs only Python 3.11+, git and make;
# `test` and `lint` also install the Node tools (npm ci), and they and `synth` need Node.js 20+
# (the CDK runs on it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASL_VALIDATOR := node_modules/.bin/asl-validator
SCRIPT ?= events/scripts/train-station.fountain

.PHONY: setup demo test fuzz lint format bench clean layers synth deploy

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

# The infra tests synthesise the stack (Node.js) and run the pinned asl-validator.
test: setup $(ASL_VALIDATOR)
	$(BIN)/python -m pytest

# Fresh random examples for the property tests and the API fuzz (make test runs fixed ones).
fuzz: setup
	HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest tests/unit tests/integration/test_api_fuzz.py -q

# The AWS stack (infra/). `layers` builds the Lambda layers once from PyPI into build/layers/,
# without Docker, and again only when their requirements change; `synth` is offline after that.
# `deploy` needs AWS credentials and a bootstrapped account: npx aws-cdk@$(CDK_CLI_VERSION) bootstrap.
# Context goes through CDK_ARGS, e.g. make deploy CDK_ARGS="-c stf:runway_concurrency=2".
CDK_CLI_VERSION := 2.1148.1
CDK_ARGS ?=
CDK_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
ASL := infra/statemachine/film.asl.json
LINT_OUT := build/cdk.lint.out

layers: setup
	$(BIN)/python -m infra.build.layers

synth: layers
	$(CDK_ENV) CDK_OUTDIR=cdk.out $(BIN)/python -m infra.app

deploy: layers
	$(CDK_ENV) npx --yes aws-cdk@$(CDK_CLI_VERSION) deploy --app '$(BIN)/python -m infra.app' --output cdk.out $(CDK_ARGS)

# Node tools pinned in package-lock.json (asl-validator), installed locally, never globally.
$(ASL_VALIDATOR): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The template is checked as synthesised with placeholder layers: the same resources, no download.
lint: setup $(ASL_VALIDATOR)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy infra/app.py infra/stack.py infra/constants.py infra/constructs infra/build
	$(ASL_VALIDATOR) --json-path $(ASL)
	$(CDK_ENV) CDK_OUTDIR=$(LINT_OUT) CDK_CONTEXT_JSON='{"stf:layers": "placeholder"}' $(BIN)/python -m infra.app
	$(BIN)/cfn-lint --non-zero-exit-code error $(LINT_OUT)/ScriptToFilm.template.json

bench: setup
	$(BIN)/python bench/bench.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
