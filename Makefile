# colorlib — the study's entry points. `make help` lists them.
#
#   make demo        CPU, bundled photos, all notebooks, ≤ 15 min on 2 cores  → results/demo/
#   make reproduce   the paper profile on COCO, on a GPU                       → results/paper/
#   make rehearse    `make reproduce` end to end on the CPU, small, with a local COCO mirror
#   make slurm       the study as Slurm jobs (make slurm-check tries them on a throwaway one-node Slurm)
#   make test        unit tests + the notebooks under nbval (smoke profile, CPU) + the rehearsal
#   make gpu-check   the first thing to run on a GPU: CUDA tests, speed table, rehearsal on CUDA
#   make lab         JupyterLab in the project environment
#
# Overrides pass through: make reproduce EPOCHS=100 SEEDS="0 1 2"   or   make demo SET="n_train=48 batch_size=8"
# (SEEDS lists the training seeds — every generator is trained once per seed, then all runs are
# evaluated together; SEED=k is SEEDS=k. SET takes any other Config field as key=value.)
# Several GPUs: make -j 8 reproduce SEEDS="0 1 2" runs the six trainings at once, one GPU each.
# ABLATIONS=yes adds, per seed, the §7 ablation runs (names.ABLATIONS): the ResNet from a random
# encoder (resnet-random) and the U-Net cut to the ResNet's size (unet-small); claims.md judges them.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# TORCH_CUDA=cu126 (any tag of colorlib/utils/cuda.py's TORCH_INDEX): torch and torchvision at the
# lock's versions from PyTorch's index for that CUDA line, for a driver older than the lock's CUDA 13.
TORCH_CUDA ?=
STAMP  := $(VENV)/.installed$(if $(TORCH_CUDA),-$(TORCH_CUDA))
# A machine whose Python already holds torch and the rest (a GPU box without network: make
# gpu-wheels below) runs everything with SYSTEM_PY=python3: no .venv, no pip; colorlib is
# imported from this checkout (PYTHONPATH), papermill's kernel included.
ifdef SYSTEM_PY
PY := $(SYSTEM_PY)
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
endif

SEEDS     ?= $(if $(SEED),$(SEED),0)
FIRST_SEED := $(firstword $(SEEDS))
# where the executed notebooks go (the rehearsal points it elsewhere)
RESULTS   ?= results
OVERRIDES := $(strip $(if $(EPOCHS),epochs=$(EPOCHS)) $(SET))
# (ipykernel warns on every start that papermill's local TCP kernel is unencrypted: not news;
# COLORLIB_STATIC=1: no frontend draws widgets here, so notebook 2's explorer saves a static figure.)
PAPERMILL  = env COLORLIB_STATIC=1 $(PY) -m papermill $< $@ -k python3 --log-output --no-progress-bar -p overrides "$(OVERRIDES)" \
             2> >(grep --line-buffered -v "Kernel is running over TCP without encryption" >&2)
# A training, and each of notebooks 04–06 (evaluation, figures, colorize use cuda:0), claims one
# free GPU (CUDA_VISIBLE_DEVICES) for as long as it runs; without GPUs it runs as it is. make's job server (-j K) decides how many run at once.
ON_A_GPU  := $(PY) -m tools.parallel gpu --

.PHONY: adopt-notebooks screenshots help setup gpu-wheels lock tensorboard test lint unit-test nbval demo reproduce rehearse rehearse-slurm slurm-check gpu-check slurm lab clean-demo
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# Setup is a file target: it re-runs only when pyproject.toml or the lock changes (idempotent,
# seconds). requirements.lock pins every package to the versions the recorded results were made
# with (pip constraints: platform packages it lists but a machine does not need are ignored).
LOCK := requirements.lock
$(STAMP): pyproject.toml $(wildcard $(LOCK))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_CUDA),$(PY) -m pip install --quiet --index-url https://download.pytorch.org/whl/$(TORCH_CUDA) \
	  $(shell grep -E '^(torch|torchvision)==' $(LOCK) 2>/dev/null || echo torch torchvision))
	$(PY) -m pip install --quiet $(if $(wildcard $(LOCK)),-c $(LOCK)) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (colorlib)" >/dev/null
	touch $@

ifdef SYSTEM_PY
setup:
	@$(PY) -c "import torch, papermill, ipykernel" 2>/dev/null || { echo "SYSTEM_PY=$(SYSTEM_PY) lacks torch, papermill or ipykernel: install them, or the wheels of make gpu-wheels" >&2; exit 1; }
else
setup: $(STAMP)  ## create .venv and install colorlib with its dev extras (versions from requirements.lock)
endif

# The packages a CUDA image that has torch, torchvision, numpy, pandas, scipy, scikit-image,
# matplotlib, pytest, tqdm and safetensors still lacks for make gpu-check (papermill and its
# Jupyter kernel, pycocotools, torchinfo; the list fits the lent GPU machines' image), as wheels
# for that machine's Python at the lock's versions, into .whl/ (≈ 14 MB). There:
#   python3 -m pip install --no-index --no-deps --target .whl/site .whl/*.whl && PYTHONPATH=$PWD/.whl/site make gpu-check SYSTEM_PY=python3
GPU_PYTHON ?= 3.12
GPU_WHEELS := papermill ipykernel nbformat nbclient jupyter-client jupyter-core traitlets pyzmq tornado \
  comm debugpy ipython ipython-pygments-lexers jedi parso pexpect ptyprocess prompt-toolkit wcwidth \
  stack-data executing asttokens pure-eval matplotlib-inline nest-asyncio2 platformdirs entrypoints \
  tenacity fastjsonschema jsonschema jsonschema-specifications referencing rpds-py pycocotools torchinfo
gpu-wheels: setup  ## wheels of what a torch-only CUDA image lacks for gpu-check → .whl/ (GPU_PYTHON=3.12)
	$(PY) -m pip download --quiet --no-deps --only-binary=:all: -c $(LOCK) -d .whl --implementation cp \
	  --python-version $(GPU_PYTHON) $(foreach t,manylinux1 manylinux2014 manylinux_2_24 manylinux_2_28 manylinux_2_34,--platform $(t)_x86_64) \
	  $(GPU_WHEELS)
	@ls .whl | wc -l | xargs echo "wheels in .whl/:"

lock: setup  ## refresh requirements.lock from .venv (after changing dependencies; commit it with the results)
	{ echo "# pip constraints: the versions the recorded results were made with (make lock; Python $$($(PY) -c 'import platform; print(platform.python_version())'))"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^-e '; } > $(LOCK)

test: lint unit-test nbval  ## lint, unit tests (the rehearsal and parallel runs included), then the notebooks under nbval
lint: setup  ## ruff (lint + format check) and the import-linter contract of the layers (pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
# The unit tests in TEST_JOBS worker processes (pytest-xdist; at most 4), one thread each; the
# tests marked slow start first (tests/conftest.py). TEST_JOBS=0: in this process, serially.
TEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
unit-test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_JOBS) --dist worksteal tests
nbval: setup
	rm -rf build/nbval && mkdir -p build/nbval
	COLORLIB_PROFILE=smoke COLORLIB_HOME=$(CURDIR)/build/nbval COLORLIB_STATIC=1 \
	  $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks/

# ---- the study: one executed notebook per step, each a file target ------------------------
# $(RESULTS)/<profile>/notebooks/NN_name[-seedK].ipynb; a failed notebook is deleted
# (.DELETE_ON_ERROR), so re-running continues with the first step not yet done.
define study
R$(1) := $(RESULTS)/$(1)/notebooks
TRAINED$(1) := $$(foreach s,$(SEEDS),$$(R$(1))/02_train_unet-seed$$(s).ipynb $$(R$(1))/03_train_resnet-seed$$(s).ipynb)
TRAINED$(1) += $(if $(filter yes,$(ABLATIONS)),$$(foreach s,$(SEEDS),$$(R$(1))/02_train_unet-small-seed$$(s).ipynb $$(R$(1))/03_train_resnet-random-seed$$(s).ipynb))
$$(R$(1))/01_data_prep.ipynb: notebooks/01_data_prep.ipynb | setup
	@mkdir -p $$(@D)
	$$(PAPERMILL) -p profile $(1)
$$(R$(1))/02_train_unet-seed%.ipynb: notebooks/02_train_unet.ipynb $$(R$(1))/01_data_prep.ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $$*
$$(R$(1))/03_train_resnet-seed%.ipynb: notebooks/03_train_resnet.ipynb $$(R$(1))/01_data_prep.ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $$*
$$(R$(1))/02_train_unet-small-seed%.ipynb: notebooks/02_train_unet.ipynb $$(R$(1))/01_data_prep.ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $$* -p generator unet-small
$$(R$(1))/03_train_resnet-random-seed%.ipynb: notebooks/03_train_resnet.ipynb $$(R$(1))/01_data_prep.ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $$* -p generator resnet-random
$$(R$(1))/04_evaluate.ipynb: notebooks/04_evaluate.ipynb $$(TRAINED$(1))
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $(FIRST_SEED) -r seeds "$(SEEDS)"
$$(R$(1))/05_figures.ipynb: notebooks/05_figures.ipynb $$(R$(1))/04_evaluate.ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $(FIRST_SEED)
$$(R$(1))/06_colorize_your_photo.ipynb: notebooks/06_colorize_your_photo.ipynb $$(R$(1))/02_train_unet-seed$(FIRST_SEED).ipynb
	$$(ON_A_GPU) $$(PAPERMILL) -p profile $(1) -p seed $(FIRST_SEED)
STUDY$(1) := $$(R$(1))/05_figures.ipynb $$(R$(1))/06_colorize_your_photo.ipynb
endef
$(eval $(call study,demo))
$(eval $(call study,paper))
$(eval $(call study,smoke))

screenshots: setup  ## the committed notebooks as a student sees them: JupyterLab in headless Chromium, 1366×768, screen by screen → build/screenshots/
	$(PY) -m tools.screenshots

adopt-notebooks: setup  ## after make demo: the committed notebooks take its outputs (tools/adopt_notebooks.py)
	$(PY) -m tools.adopt_notebooks --results $(RESULTS)/demo/notebooks

demo: setup $(STUDYdemo)  ## the whole study on the bundled photos, CPU (≤ 15 min)
	@echo "demo done: $(RESULTS)/demo/ (metrics.md, claims.md, figures, executed notebooks)"
	@$(PY) -m colorlib check --profile demo

# ALLOW_CPU=1 lets the paper profile run without CUDA (the rehearsal sets it with device=cpu).
reproduce: setup  ## the paper profile on COCO on a GPU (downloads ≈ 1.6 GB of COCO images)
	@$(if $(ALLOW_CPU),true,$(PY) -c "import torch, sys; from colorlib.utils.cuda import no_cuda_message as m; sys.exit(0 if torch.cuda.is_available() else m('make reproduce', cpu_hint='the paper profile is 150,000 GAN iterations: use make demo on a CPU, or make rehearse to try the whole pipeline small'))")
	$(MAKE) $(STUDYpaper)
	@echo "reproduce done: $(RESULTS)/paper/ (seeds $(SEEDS)$(if $(filter yes,$(ABLATIONS)),; with the ablation runs unet-small and resnet-random))"
	@$(PY) -m colorlib check --profile paper

# `make reproduce` itself, small: the paper profile and notebooks, only size and device changed.
REHEARSAL_HOME ?= build/rehearsal
REHEARSAL_SET  ?= device=cpu n_train=32 n_test=8 epochs=1
# the rehearsal trains one run of each ablation too (REHEARSAL_ABLATIONS=no: not)
REHEARSAL_ABLATIONS ?= $(if $(ABLATIONS),$(ABLATIONS),yes)
rehearse: setup  ## make reproduce end to end on the CPU, small, against a local COCO mirror (≈ 3 min)
	rm -rf $(REHEARSAL_HOME)/data $(REHEARSAL_HOME)/runs $(REHEARSAL_HOME)/results
	$(PY) -m tools.rehearsal --home $(REHEARSAL_HOME) -- \
	  $(MAKE) reproduce ALLOW_CPU=1 RESULTS=$(REHEARSAL_HOME)/results SEEDS="$(SEEDS)" ABLATIONS=$(REHEARSAL_ABLATIONS) SET="$(REHEARSAL_SET) $(SET)"

# make rehearse through Slurm: make slurm's scripts, submitted to the Slurm of this machine with
# submit.sh --wait (the COCO mirror is on 127.0.0.1, so the cluster must be this one machine).
rehearse-slurm: setup  ## make rehearse as Slurm jobs (data, a job array of trainings, report) on a single-node Slurm
	rm -rf $(REHEARSAL_HOME)/data $(REHEARSAL_HOME)/runs $(REHEARSAL_HOME)/results $(REHEARSAL_HOME)/slurm
	$(PY) -m tools.parallel slurm --out $(REHEARSAL_HOME)/slurm --seeds $(SEEDS) \
	  --overrides "$(REHEARSAL_SET) $(SET)" --cpus 1 --mem 4G --hours 1
	ALLOW_CPU=1 RESULTS=$(REHEARSAL_HOME)/results $(PY) -m tools.rehearsal --home $(REHEARSAL_HOME) -- \
	  bash $(REHEARSAL_HOME)/slurm/submit.sh --wait

# a throwaway single-node Slurm (Debian's slurmctld slurmd slurm-client munge, as root) runs it
slurm-check: setup  ## start a single-node Slurm, run make rehearse-slurm on it, shut it down (tests/tools/test_slurm.py)
	COLORLIB_SLURM=1 $(PY) -m pytest -q -p no:cacheprovider tests/tools/test_slurm.py

# DEVICE=cpu: the same phases small on the CPU (the machinery, the report, the deadline, the exit
# codes) into build/gpu-check-cpu; GPU_CHECK_DEADLINE seconds for everything (default 600).
DEVICE ?= cuda
GPU_CHECK_DEADLINE ?= 600
gpu-check: setup  ## on a GPU (≤ 10 min): speed grid, CUDA tests, profile, A/B, rehearsal → results/gpu-check/report.md; DEVICE=cpu: small
	$(PY) -m tools.gpu_check --device $(DEVICE) --deadline $(GPU_CHECK_DEADLINE) \
	  --out $(if $(filter cpu,$(DEVICE)),build/gpu-check-cpu,results/gpu-check)

slurm: setup  ## write Slurm scripts for the paper study (a job array of the trainings + evaluation) → build/slurm/; SLURM_ARGS="--partition gpu --hours 12 --cpus 16 --mem 64G"
	$(PY) -m tools.parallel slurm --out build/slurm --seeds $(SEEDS) --overrides "$(OVERRIDES)" $(if $(filter yes,$(ABLATIONS)),--ablations) $(SLURM_ARGS)

tensorboard: setup  ## watch every run train (losses, held-out samples): needs pip install -e '.[tensorboard]'
	$(VENV)/bin/tensorboard --logdir runs/

lab: setup  ## JupyterLab in the project environment
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

clean-demo:  ## forget the demo's data, runs and results (to run it again from scratch)
	rm -rf data/demo runs/demo results/demo/notebooks
