# cryoderm: `make run` and `make test` set up everything they need on a fresh machine.
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CRYODERM := $(VENV)/bin/cryoderm
export CRYODERM_DATA_DIR ?= $(CURDIR)/var
STAMP := $(VENV)/.setup-stamp

.PHONY: setup run test test-sqlite test-postgres bench lint browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m cryoderm.physics.warmup
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: browser tests will skip"; fi; }

run: setup
	$(CRYODERM) manage migrate --noinput
	$(CRYODERM) demo --if-empty
	$(CRYODERM) serve

lint: setup
	$(VENV)/bin/ruff check src tests $(wildcard benchmarks validation)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: setup browser lint test-sqlite test-postgres

# The browser journeys run in a process of their own: in a worker that earlier ran the rest
# of the suite, one crashed its process (cause not yet found; see the issue notes).
test-sqlite:
	$(VENV)/bin/pytest -n 2 --dist loadgroup --max-worker-restart=0 -p no:cacheprovider -m "not browser"
	$(VENV)/bin/pytest -p no:cacheprovider -m browser tests/web

# The clinic's tests again on the real PostgreSQL server (skipped with a reason when absent).
test-postgres:
	CRYODERM_TEST_DATABASE=postgres $(VENV)/bin/pytest -n 2 --dist loadgroup --max-worker-restart=0 -p no:cacheprovider -m "not browser" tests/clinic

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) var test-artifacts bench-results
