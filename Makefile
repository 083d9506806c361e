# JoyCart developer commands. `make` alone lists them.
#
# Needs only make and Python 3.12+. The first target that needs packages creates .venv with
# the newest Python found (or `make PYTHON=/path/to/python`) and installs requirements; stamp
# files re-run pip only when a requirements file changes.
#
# No recipe here mentions a secret: `make serve` reads DJANGO_SECRET_KEY and friends from the
# environment that make passes through, so they are never echoed.

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# Empty means "find one": the first candidate that runs and is 3.12 or newer.
PYTHON ?=
PYTHON_CANDIDATES := python3.14 python3.13 python3.12 python3 python
PYTEST_ARGS ?=
BENCH_ARGS ?=

VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_CFG := $(VENV)/pyvenv.cfg
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PIP_INSTALL := $(VENV_PY) -m pip install --disable-pip-version-check

VERSION_CHECK := import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)

# An existing .venv is kept only if its interpreter still runs and is 3.12+; otherwise it is
# rebuilt (e.g. one made by an older python3, or whose interpreter was uninstalled).
VENV_OK := $(shell [ -x $(VENV_PY) ] && $(VENV_PY) -c '$(VERSION_CHECK)' >/dev/null 2>&1 && echo yes)

.PHONY: help run test lint format serve bench clean clean-db FORCE

# Settings default to production rules (DEBUG off). The development targets ask for the
# embedded setup explicitly; a DJANGO_DEBUG already in the environment wins.
run test lint: export DJANGO_DEBUG ?= 1

help: ## List the targets
	@echo "JoyCart: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: PYTHON=/path/to/python3.12+   PYTEST_ARGS=\"-m 'not e2e'\""

# The Razorpay sandbox gateway (payments/sandbox) runs in the background beside the dev server and
# is stopped when the dev server exits, however it exits (the trap also covers Ctrl-C).
run: $(RUNTIME_STAMP) ## Migrate, load demo data, start the sandbox gateway and the dev server on http://127.0.0.1:8000
	$(VENV_PY) manage.py migrate --noinput
	$(VENV_PY) manage.py seed_demo
	@$(VENV_PY) manage.py run_sandbox_gateway & sandbox=$$!; \
	trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	$(VENV_PY) manage.py runserver 127.0.0.1:8000

test: $(DEV_STAMP) ## Run the test suite (extra pytest options: PYTEST_ARGS=...)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP) ## ruff check, ruff format --check, and no missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV_PY) manage.py makemigrations --check --dry-run

format: $(DEV_STAMP) ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .; status=$$?; $(VENV)/bin/ruff format . && exit $$status

# DJANGO_DEBUG=0 turns on production rules; settings stops with a message naming any
# missing variable. Local try-out:
#   make serve DJANGO_SECRET_KEY=... DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0
# Uploads stay in DJANGO_MEDIA_ROOT on this machine unless CLOUDINARY_URL says otherwise.
serve: export DJANGO_MEDIA_LOCAL ?= 1
serve: $(RUNTIME_STAMP) ## Production-style: collectstatic, migrate, gunicorn (gunicorn.conf.py) on 127.0.0.1:8000, DEBUG off
	DJANGO_DEBUG=0 $(VENV_PY) manage.py collectstatic --noinput
	DJANGO_DEBUG=0 $(VENV_PY) manage.py migrate --noinput
	DJANGO_DEBUG=0 $(VENV)/bin/gunicorn -c gunicorn.conf.py joycart.wsgi:application

bench: $(DEV_STAMP) ## Run the load benchmarks in bench/
	$(VENV_PY) bench/run.py $(BENCH_ARGS)

clean: ## Remove .venv, collected static files, caches and test artifacts (keeps db.sqlite3)
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .hypothesis test-artifacts
	find . -type d -name __pycache__ -prune -exec rm -rf {} +

clean-db: ## Remove the local SQLite database
	rm -f db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm

# --- the virtual environment ----------------------------------------------------------

ifneq ($(VENV_OK),yes)
$(VENV_CFG): FORCE
endif

$(VENV_CFG):
	@py=""; \
	if [ -n "$(PYTHON)" ]; then \
		candidates="$(PYTHON)"; \
	else \
		candidates="$(PYTHON_CANDIDATES)"; \
	fi; \
	for c in $$candidates; do \
		if "$$c" -c '$(VERSION_CHECK)' >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
		if [ -n "$(PYTHON)" ]; then \
			found=$$("$(PYTHON)" --version 2>&1) && found="PYTHON=$(PYTHON) is $$found" \
				|| found="PYTHON=$(PYTHON) does not run"; \
		else \
			found=$$(python3 --version 2>&1) || found="no python3"; \
		fi; \
		echo "JoyCart needs Python 3.12 or newer. Found: $$found. Install Python 3.12+ (e.g. apt install python3.12 python3.12-venv, or pyenv install 3.12) and run make again." >&2; \
		exit 1; \
	fi; \
	if [ -e $(VENV) ]; then \
		echo "Recreating $(VENV): it was not made by a working Python 3.12+."; \
		rm -rf $(VENV); \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" --version 2>&1))"; \
	"$$py" -m venv $(VENV) && $(PIP_INSTALL) --upgrade pip \
		|| { status=$$?; rm -rf $(VENV); exit $$status; }

$(RUNTIME_STAMP): requirements.txt $(VENV_CFG)
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

# requirements-dev.txt starts with `-r requirements.txt`, so this also satisfies the runtime stamp.
$(DEV_STAMP): requirements.txt requirements-dev.txt $(VENV_CFG)
	$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

FORCE:
