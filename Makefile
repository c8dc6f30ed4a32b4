# Two entry points a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install bench clean

$(BIN)/siptrace: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,fast]'
	@touch $@

install: $(BIN)/siptrace

demo: install
	$(BIN)/siptrace stats samples/um-ack-retarget-bye.fe.log
	$(BIN)/siptrace messages samples/um-ack-retarget-bye.fe.log --method INVITE

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
