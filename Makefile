# Two commands do all set-up: `make run` and `make test` (a local .venv, nothing global).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check eval clean

$(STAMP): pyproject.toml setup.py bot/search/_kernel.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,postgresql]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run_bot.py

# Everything CI runs: lint, types, the whole suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The edit loop: lint, types, and the tests that need neither the model, a subprocess nor Discord.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not slow and not discord"

eval: $(STAMP)
	$(BIN)/python run_bot.py eval ../shared/data/piaf-dev.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
