# Every target creates .venv/ at the repo root and installs what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test serve bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

serve: $(STAMP)
	$(BIN)/nianbao serve --host 127.0.0.1 --port 8000

bench: $(STAMP)
	$(BIN)/python -m eval.bench --out eval/results/bench.json

clean:
	rm -rf $(VENV) build *.egg-info
