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
	$(PY) manage.py bootstrap_org --name Acme --owner-email $(DEMO_EMAIL) --initial-password $(DEMO_PASSWORD)
	$(PY) manage.py seed_demo_agent --org acme
	$(PY) manage.py seed_sandbox --org acme
	@# The server, a worker started again whenever it exits (runs, webhooks, periodic jobs;
	@# its broker is a SQLite file under var/broker: nothing to install), and one block
	@# with the sign-ins, printed once the portal answers.
	$(PY) -m portal.devserver --port $(PORT) --owner "$(DEMO_EMAIL) / $(DEMO_PASSWORD)"

# Debian packages the tests use: Chromium for the browser tests, xmlsec1 for the SAML
# identity provider (pysaml2 signs with it). Installed when missing and apt can (as
# root); without them those tests skip, saying why.
CHROMIUM ?= /usr/bin/chromium
browser:
	@missing=""; test -x $(CHROMIUM) || missing="chromium"; \
	command -v xmlsec1 >/dev/null || missing="$$missing xmlsec1"; \
	test -z "$$missing" || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's $$missing for the tests…"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1; } || \
	    echo "Could not install $$missing: the tests that need them will be skipped."; \
	  else echo "No $$missing and no apt (as root): the tests that need them will be skipped."; fi; }

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
