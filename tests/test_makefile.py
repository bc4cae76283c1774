"""The Makefile's study targets (dry runs: `make -n` prints the commands without running them)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> list[str]:
    out = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), *args], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if "papermill" in line]


def test_demo_runs_every_notebook_in_study_order():
    lines = dry_run("results/demo/notebooks/05_figures.ipynb", "results/demo/notebooks/06_colorize_your_photo.ipynb")
    order = [re.search(r"notebooks/(\d\d)_", line).group(1) for line in lines]
    assert order.index("01") < order.index("02") < order.index("04") < order.index("05")
    assert order.index("03") < order.index("04") and sorted(set(order)) == ["01", "02", "03", "04", "05", "06"]
    assert all("-p profile demo" in line and "--log-output" in line and "-k python3" in line for line in lines)


def test_overrides_and_seed_reach_the_notebooks():
    """SEED sets the notebooks' own `seed` parameter (an override string would be overruled by
    it); EPOCHS and SET travel in `overrides`."""
    [line] = dry_run("results/paper/notebooks/01_data_prep.ipynb", "EPOCHS=7", "SEED=3", "SET=n_train=80")
    assert "-p profile paper" in line and '-p overrides "epochs=7 n_train=80"' in line and "-p seed 3" in line
