# Two commands do all set-up on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := simulators envs agents experiments tests
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test lint typecheck pytest setup bench clean

# Strict editable mode links each module into build/ so mypy finds freshrec.* through the install, so the
# install re-runs when a module is added or removed: MODULES lists them and is rewritten only when the list changes.
MODULES := $(VENV)/.modules
$(shell mkdir -p $(VENV) && find $(filter-out tests,$(CODE)) -name '*.py' -not -path '*/results/*' | LC_ALL=C sort \
	> $(MODULES).new && (cmp -s $(MODULES).new $(MODULES) || mv $(MODULES).new $(MODULES)); rm -f $(MODULES).new)

$(STAMP): pyproject.toml $(MODULES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0 -e '.[dev]' --config-settings editable_mode=strict
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/python -m freshrec.experiments.demo

lint: setup
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest tests

test: lint typecheck pytest

bench: setup
	$(BIN)/python -m freshrec.experiments.bench_env

clean:
	rm -rf $(VENV) build runs/demo .mypy_cache .pytest_cache .ruff_cache
