# The two commands: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_EMAIL ?= owner@acme.test
DEMO_PASSWORD ?= acme-demo-password

.PHONY: run test install install-dev clients browser lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-contracts.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --upgrade --target $(VENV)/contracts -r requirements-contracts.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Clients nobody here wrote, for the contract tests (a typed client generated from the
# OpenAPI schema, a Standard Webhooks verifier): from the lock file, when npm is here.
CLIENTS := tests/clients
$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(CLIENTS) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "No npm here: the contract tests with Node clients will skip."; fi
clients: $(CLIENTS)/node_modules/.installed

run: install
	$(PY) -m portal.devenv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py bootstrap_org --name Acme --owner-email $(DEMO_EMAIL) --password $(DEMO_PASSWORD)
	$(PY) manage.py seed_demo_agent --org acme
	$(PY) manage.py seed_sandbox --org acme
	@echo "Sign in at http://127.0.0.1:$(PORT)/ as $(DEMO_EMAIL) / $(DEMO_PASSWORD)"
	@echo "(the second member, member@acme.test / acme-member-password, sees less of the sandbox)"
	@echo "MCP clients (Claude, Cursor, VS Code…): http://127.0.0.1:$(PORT)/mcp"
	@# Agent runs go to a Celery worker next to the server (threads: many runs at once, each
	@# shown live on its page), with its scheduler for the periodic jobs. The broker is a
	@# folder (var/broker): nothing to install. Links made outside a request (reconnect
	@# links in runs) need the portal's own URL.
	export PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)}; \
	$(PY) -m celery -A portal worker --beat --loglevel WARNING \
	  --schedule var/celerybeat-schedule & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m uvicorn portal.asgi:application --host 127.0.0.1 --port $(PORT) --log-level warning

# Browser tests drive Debian's Chromium; install it when missing and apt can (as root).
# Without it the browser tests skip, saying why.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests…"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } || \
	    echo "Could not install chromium: browser tests will be skipped."; \
	  else echo "No chromium and no apt (as root): browser tests will be skipped."; fi; }

test: install-dev clients browser
	$(PY) -m pytest -n auto -q

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles $(CLIENTS)/node_modules
