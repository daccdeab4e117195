# The two commands of the README: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup run test lint check-migrations clean

# uv from PyPI into a private folder when the machine has none.
.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

setup: $(UV)
	$(UV) sync --frozen

run: setup
	$(RUN) lgsp run

test: setup
	$(RUN) pytest $(PYTEST_ARGS)

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy .
	$(RUN) lint-imports --no-logo

check-migrations: setup
	LGSP_DATA_DIR=$$(mktemp -d) $(RUN) lgsp db check

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
