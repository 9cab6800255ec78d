# Two commands do all set-up: `make run` and `make test` (a local .venv, nothing global).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint eval bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run_bot.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

eval: $(STAMP)
	$(BIN)/python run_bot.py eval ../shared/data/piaf-dev.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
