# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv (Python >= 3.12) and install the project with its extras first.

PYTHON ?= $(shell for p in python3.12 python3.13 $(HOME)/.pyenv/versions/3.12.*/bin/python python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all test-device-stack lint format docs bench figures tutorials screenshots clean

# An environment in folder $(1) with the project, its extras and the pins $(2).
define install_venv
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.12 not found; set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip
	$(1)/bin/python -m pip install -q -e '.[dev]' $(2)
	$(1)/bin/python -m pip install -q --no-deps neural-tangents==0.6.5  # without its TensorFlow
	@touch $(1)/.installed
endef

$(STAMP): pyproject.toml
	$(call install_venv,$(VENV))

demo: $(STAMP)
	$(BIN)/scalebayes demo --out demo_out

# Two workers: the suite is bound by single-threaded JAX compilation (CI has 2 cores);
# tests/conftest.py shares compiled programs across processes (workers, notebook kernels, CLI
# subprocesses) on disk, so each is compiled once per run. --dist loadgroup with the scheduler
# of tests/conftest.py sends each test file (or group of files marked with one xdist_group) to
# one worker, so module fixtures run once and no worker waits on the other's build_once
# (measured on 2 cores: with `load`, one worker waited 40 s for the other's demo build).
PYTEST := $(BIN)/python -m pytest -q -n 2 --dist loadgroup --durations=12

test: $(STAMP)
	$(PYTEST)

test-all: $(STAMP)
	$(PYTEST) -m ""

# The default suite under the versions the GPU machine has preinstalled (seen there: jax and
# jaxlib 0.11.2, numpyro 0.21.0), in a second environment: weights are trained there, and
# jaxlib 0.11.2's CPU compiler once got M4 roots wrong that 0.12.1 got right (reliability.md).
DEVICE_VENV := .venv-device
DEVICE_PINS := jax==0.11.2 jaxlib==0.11.2 numpyro==0.21.0

$(DEVICE_VENV)/.installed: pyproject.toml
	$(call install_venv,$(DEVICE_VENV),$(DEVICE_PINS))

test-device-stack: $(DEVICE_VENV)/.installed
	$(DEVICE_VENV)/bin/python -m pytest -q -n 2 --dist loadgroup --durations=12

lint: $(STAMP)
	$(BIN)/ruff check scalebayes tests benchmarks tutorials tools
	$(BIN)/ruff format --check scalebayes tests benchmarks tutorials tools

format: $(STAMP)
	$(BIN)/ruff format scalebayes tests benchmarks tutorials tools
	$(BIN)/ruff check --fix scalebayes tests benchmarks tutorials tools

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(BIN)/python benchmarks/point_fits.py

# The measured pictures and the benchmark table the README and the docs open with (about an
# hour on a 2-core CPU, most of it NUTS; the study and the which-run-next benchmark resume
# where they stopped): the calibration
# study of every probabilistic method, the near and far fan charts, the table, and the
# which-run-next plot.
figures: $(STAMP)
	$(BIN)/scalebayes study --methods pfn,m4,bnsl,mcmc-m4,mcmc-m4-irw,mcmc-bnsl --datasets ic,nlp,nano,dd --out figures_out/calibration
	cp figures_out/calibration/calibration.png docs/img/calibration.png
	$(BIN)/python benchmarks/landing_figures.py --study figures_out/calibration
	$(BIN)/python benchmarks/active_learning.py --out figures_out/active_learning.csv --plot docs/img/active_learning.png

# Execute the tutorial notebooks at full size and store their outputs (the docs show them);
# only notebooks whose code changed since they were stored are re-run (--force: all).
tutorials: $(STAMP)
	$(BIN)/python tools/execute_tutorials.py

# The built docs in headless Chromium (apt-get install chromium): screenshots of the landing
# page and a tutorial into docs/img/screenshots, and the number of images on each page.
screenshots: $(STAMP)
	$(BIN)/python tools/screenshot_docs.py

clean:
	rm -rf $(VENV) $(DEVICE_VENV) site demo_out figures_out .pytest_cache .ruff_cache
