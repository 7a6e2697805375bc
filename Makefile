# The two commands: `make run` (demo on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run migrate test lint typecheck clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

run: install
	@$(BIN)/python -m helpdesk.preflight
	@$(BIN)/helpdesk db upgrade
	@$(BIN)/helpdesk demo seed
	@echo ""
	@echo "  Helpdesk is starting on http://127.0.0.1:$(PORT)"
	@echo "  Demo logins (password: demo): employee@example.com, agent.it@example.com,"
	@echo "  agent.facilities@example.com, lead.it@example.com, admin@example.com"
	@echo ""
	PORT=$(PORT) $(BIN)/honcho start -f Procfile -p $(PORT)

migrate: install
	$(BIN)/helpdesk db upgrade

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/python -m helpdesk.lint_layers

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	@DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres $(BIN)/python -m helpdesk.preflight
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-results
