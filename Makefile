# Every target creates .venv/ at the repo root and installs what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test serve bench clean fonts browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP) browser fonts
	$(BIN)/python -m pytest -q

# The page test drives Debian's chromium (never a downloaded browser); install it only when missing.
browser:
	@command -v chromium >/dev/null || { S=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$S apt-get update && $$S apt-get install -y --no-install-recommends chromium; }

# eval/modalities.py prints gold reports in AR PL UMing (Debian's fonts-arphic-uming, a TrueType
# Song face); install it only when missing.
fonts:
	@dpkg -s fonts-arphic-uming >/dev/null 2>&1 || { S=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$S apt-get update && $$S apt-get install -y --no-install-recommends fonts-arphic-uming; }

serve: $(STAMP)
	$(BIN)/nianbao serve --host 127.0.0.1 --port 8000

bench: $(STAMP) fonts
	$(BIN)/python -m eval.bench --out eval/results/bench.json

clean:
	rm -rf $(VENV) build *.egg-info
