# Set-up and checks. Every target creates the virtual environment it needs,
# so `make demo` and `make test` work on a machine with only Python and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo serve test lint typecheck protos protos-check check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Start a server on 127.0.0.1:50051 and run the three scenarios against it.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

serve: $(STAMP)
	$(BIN)/kerve-server

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy server client

protos: $(STAMP)
	$(BIN)/python scripts/generate_protos.py

protos-check: $(STAMP)
	$(BIN)/python scripts/generate_protos.py --check

check: lint typecheck protos-check

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
