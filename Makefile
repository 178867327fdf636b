# The two commands of the README: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench setup clean chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/.installed

run: setup  ## start the playground on http://127.0.0.1:8000 (embedded, no other service)
	$(BIN)/keras-playground serve

# The browser tests drive Debian's Chromium, never a browser Playwright downloads.
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; }

test: setup chromium  ## every test
	$(BIN)/python -m pytest

bench: setup  ## the reference benchmarks, side by side with model.fit
	$(BIN)/keras-playground bench

clean:
	rm -rf $(VENV) playground-data .pytest_cache
