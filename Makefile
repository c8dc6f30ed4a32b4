# Two entry points a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install bench clean

$(BIN)/siptrace: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,fast]'
	@touch $@

install: $(BIN)/siptrace

# diagnose exits 1 when it finds a problem, which is the point of the demo
demo: install
	$(BIN)/siptrace diagnose samples/um-ack-retarget-bye.fe.log --um-fqdn um01.contoso.com; test $$? -le 1
	$(BIN)/siptrace messages samples/um-ack-retarget-bye.fe.log --call-id 5a3306c8d206a94ff659cf5a15769d51

test: install
	$(BIN)/python -m pytest -q

# ruff and mypy as pyproject.toml sets them; the import layers (tests/test_layers.py) run with the tests too
lint: install
	$(BIN)/ruff check siptrace tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q tests/test_layers.py

# sip-doctor (PyPI) goes into the venv; tshark comes from the system (apt install tshark)
# siptrace is measured as installed: with its bytecode compiled, as pip does for a regular install
bench: install
	$(BIN)/pip install --quiet sip-doctor || echo "sip-doctor could not be installed: its row is skipped"
	$(BIN)/python -m compileall -q siptrace > /dev/null
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
