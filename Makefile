# Two commands do all the set-up on a fresh machine: `make reproduce` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)
JOBS ?= 2
# RERUN=true recomputes runs already stored under results/ (by default they are skipped, so a killed main
# job resumes where it stopped).
RERUN ?= false

.PHONY: venv test test-slow reproduce figures lint clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: a plain requirement would pull a multi-GB CUDA build
	$(PY) -m pip install -q $(FIND_LINKS) "torch==2.13.0"
	$(PY) -m pip install -q $(FIND_LINKS) -e ".[dev,kernels]"
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -n $(JOBS) --dist loadfile -q

test-slow: venv
	$(PY) -m pytest -n $(JOBS) --dist loadfile -q -m slow

reproduce: venv
	$(VENV)/bin/attnbench reproduce profile=quick rerun=$(RERUN) hydra/launcher=joblib hydra.launcher.n_jobs=$(JOBS)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -q -m slow

figures: venv
	$(VENV)/bin/attnbench figures

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) outputs multirun .store
