# Two entry points: `make demo` and `make test`. Both create .venv when absent.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.neurocine-installed

.PHONY: install demo test test-all lint bench bench-docs docs clean browser

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
	$(VENV)/bin/neurocine run --config demo

# Debian's chromium renders report.html in a test; installed when absent and possible.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the report-rendering test"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) || \
	    echo "chromium could not be installed: the report-rendering test will be skipped"; \
	  else echo "no chromium and no root apt-get: the report-rendering test will be skipped"; fi; }

test: $(STAMP) browser
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m ''

# the documentation site (docs/, mkdocs.yml): every warning is an error
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

BENCHES := bench_load bench_embed bench_time_to_accuracy bench_roofline bench_many_sessions bench_halfunet \
           bench_distributed bench_real calibrate_simulator

# the same, and each bench's output written into docs/benchmarks.md
bench-docs: $(STAMP)
	for b in $(BENCHES); do NEUROCINE_BENCH_DOCS=1 $(PY) bench/$$b.py || exit 1; done

bench: $(STAMP)
	$(PY) bench/bench_load.py
	$(PY) bench/bench_embed.py
	$(PY) bench/bench_time_to_accuracy.py
	$(PY) bench/bench_roofline.py
	$(PY) bench/bench_many_sessions.py
	$(PY) bench/bench_halfunet.py
	$(PY) bench/bench_distributed.py
	$(PY) bench/bench_real.py
	$(PY) bench/calibrate_simulator.py

clean:
	rm -rf $(VENV) results demo_data site build dist

# pyflakes and pycodestyle (pyproject's [tool.ruff]: 120 columns); CI runs it too
lint: $(STAMP)
	$(VENV)/bin/ruff check .
