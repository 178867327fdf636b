# The two commands of the README: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast bench fuzz setup clean test-services

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/.installed

run: setup  ## start the playground on http://127.0.0.1:8000 (embedded, no other service)
	$(BIN)/keras-playground serve

# What the tests drive besides Python: Debian's Chromium (never a browser Playwright
# downloads) and a real redis-server for the lab-server tests.
test-services:
	@command -v chromium >/dev/null && command -v redis-server >/dev/null || { apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium fonts-dejavu-core redis-server; }

# Two processes, a test file each at a time (the module's server and fixtures stay in
# one), then the browser tests one after another: their pages and servers share the two
# cores with nothing else, as a participant's do.
test: setup test-services  ## every test
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not e2e"
	$(BIN)/python -m pytest -m e2e

test-fast: setup  ## everything but the browser, Redis, benchmark and long-training tests (2-7 minutes on 2 cores)
	$(BIN)/python -m pytest -m "not e2e and not redis and not bench and not slow"

bench: setup  ## the reference benchmarks, side by side with model.fit
	$(BIN)/keras-playground bench

fuzz: setup  ## schemathesis against the live server's OpenAPI: no request may get a 5xx
	test -x .venv-fuzz/bin/st || { $(PYTHON) -m venv .venv-fuzz && .venv-fuzz/bin/pip install -q schemathesis; }
	$(BIN)/python -m tests.fuzz_api

clean:
	rm -rf $(VENV) .venv-fuzz playground-data .pytest_cache
