# colorlib — the study's entry points. `make help` lists them.
#
#   make demo        CPU, bundled photos, all notebooks, ≤ 15 min on 2 cores  → results/demo/
#   make reproduce   the paper profile on COCO, on a GPU                       → results/paper/
#   make test        unit tests + the notebooks under nbval (smoke profile, CPU)
#   make lab         JupyterLab in the project environment
#
# Overrides pass through: make reproduce EPOCHS=100 SEED=1   or   make demo SET="n_train=48 batch_size=8"
# (SEED sets the notebooks' seed parameter; SET takes any other Config field as key=value.)
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

NOTEBOOKS := 01_data_prep 02_train_unet 03_train_resnet 04_evaluate 05_figures 06_colorize_your_photo
OVERRIDES := $(strip $(if $(EPOCHS),epochs=$(EPOCHS)) $(SET))
SEED_PARAM := $(if $(SEED),-p seed $(SEED))  # the notebooks' own `seed` parameter

.PHONY: help setup test demo reproduce lab clean-demo
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# Setup is a file target: it re-runs only when pyproject.toml changes (idempotent, seconds).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (colorlib)" >/dev/null
	touch $@

setup: $(STAMP)  ## create .venv and install colorlib with its dev extras

test: setup  ## unit tests, then every notebook under nbval (smoke profile, CPU)
	$(PY) -m pytest -q tests
	rm -rf build/nbval && mkdir -p build/nbval
	COLORLIB_PROFILE=smoke COLORLIB_HOME=$(CURDIR)/build/nbval \
	  $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks/

# ---- the study: one executed notebook per step, each a file target ------------------------
# results/<profile>/notebooks/NN_name.ipynb; a failed notebook is deleted (.DELETE_ON_ERROR),
# so re-running continues from the first step not yet done.
define notebook_rule
results/$(1)/notebooks/%.ipynb: notebooks/%.ipynb | setup
	@mkdir -p $$(@D)
	$$(PY) -m papermill $$< $$@ -k python3 --log-output --no-progress-bar \
	  -p profile $(1) -p overrides "$$(OVERRIDES)" $$(SEED_PARAM)
endef
$(eval $(call notebook_rule,demo))
$(eval $(call notebook_rule,paper))

# the order of the study: data → both trainings → evaluation → figures → colorize
define notebook_deps
results/$(1)/notebooks/02_train_unet.ipynb results/$(1)/notebooks/03_train_resnet.ipynb: results/$(1)/notebooks/01_data_prep.ipynb
results/$(1)/notebooks/04_evaluate.ipynb: results/$(1)/notebooks/02_train_unet.ipynb results/$(1)/notebooks/03_train_resnet.ipynb
results/$(1)/notebooks/05_figures.ipynb: results/$(1)/notebooks/04_evaluate.ipynb
results/$(1)/notebooks/06_colorize_your_photo.ipynb: results/$(1)/notebooks/02_train_unet.ipynb
endef
$(eval $(call notebook_deps,demo))
$(eval $(call notebook_deps,paper))

demo: setup $(NOTEBOOKS:%=results/demo/notebooks/%.ipynb)  ## the whole study on the bundled photos, CPU (≤ 15 min)
	@echo "demo done: results/demo/ (metrics.md, figures, executed notebooks)"

reproduce: setup  ## the paper profile on COCO on a GPU (downloads ≈ 1.6 GB of COCO images)
	@$(PY) -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'make reproduce needs a CUDA GPU (the paper profile is 150,000 GAN iterations); use make demo on a CPU')"
	$(MAKE) $(NOTEBOOKS:%=results/paper/notebooks/%.ipynb)
	@echo "reproduce done: results/paper/"

lab: setup  ## JupyterLab in the project environment
	$(VENV)/bin/jupyter lab notebooks/

clean-demo:  ## forget the demo's data, runs and results (to run it again from scratch)
	rm -rf data/demo runs/demo results/demo
