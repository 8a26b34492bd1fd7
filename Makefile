# Two entry points: `make demo` and `make test`. Both create .venv when absent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.neurocine-installed

.PHONY: install demo test test-all bench clean

install: $(STAMP)

# torch is pinned here (not in pyproject) so that this machine takes its CPU build
# from disk; pyproject keeps a loose range so GPU users keep their CUDA torch.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/neurocine run --config configs/demo.yaml

test: $(STAMP)
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m ''

bench: $(STAMP)
	$(PY) bench/bench_load.py

clean:
	rm -rf $(VENV) results demo_data
