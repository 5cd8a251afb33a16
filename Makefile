# The whole project in a few commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# torch before the evaluation extra, so that pip keeps this CPU build instead of pulling CUDA.
TORCH ?= torch==2.13.0

.PHONY: help run test lint typecheck schema bench bench-tools install migrate demo-data clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet '$(TORCH)' 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e '.[dev,eval]' 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import django, rest_framework, celery, gunicorn, lm_eval, torch" || { echo "install failed"; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install the project with its dev tools and lm-eval

migrate: install ## apply database migrations
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py collectstatic --no-input -v0

demo-data: migrate ## load the bundled leaderboard snapshot when the leaderboard is empty
	$(BIN)/python manage.py load_demo_data

run: demo-data ## serve everything (HTTP, WebSocket, worker) on BIND_ADDRESS, default http://127.0.0.1:7860
	$(BIN)/python -m leaderboard_site.serve

test: install ## run the test suite (embedded SQLite, or DATABASE_URL / REDIS_URL when set)
	$(BIN)/python -m pytest

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy with the Django and DRF plugins
	$(BIN)/mypy leaderboard_site leaderboard votes submissions benchmarks webhooks

schema: install ## write and validate the OpenAPI schema (docs/openapi.json)
	@mkdir -p docs
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --format openapi-json --file docs/openapi.json

bench-tools: ## install the Debian tools the benchmarks drive (wrk, nginx, chromium) when missing
	@command -v wrk >/dev/null && command -v nginx >/dev/null && test -x /usr/bin/chromium || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light chromium >/dev/null; }

bench: install bench-tools ## run the benchmarks in bench/ (prints ratios against nginx)
	$(BIN)/python -m bench

clean: ## remove the local database, caches and broker folders (var/)
	rm -rf var
