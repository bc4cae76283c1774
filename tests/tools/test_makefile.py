"""The Makefile's study targets: dry runs (`make -n`), the GPU slots, the Slurm scripts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.parallel import training_targets, write_slurm

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> list[str]:
    out = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), *args], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if "papermill" in line]


def _notebook(line: str) -> str:
    return re.search(r"papermill notebooks/\S+ (\S+)", line).group(1).rsplit("/", 1)[-1]


def test_demo_runs_every_notebook_in_study_order():
    lines = dry_run("results/demo/notebooks/05_figures.ipynb", "results/demo/notebooks/06_colorize_your_photo.ipynb")
    order = [_notebook(line)[:2] for line in lines]
    assert order.index("01") < order.index("02") < order.index("04") < order.index("05")
    assert order.index("03") < order.index("04") and sorted(set(order)) == ["01", "02", "03", "04", "05", "06"]
    assert all("-p profile demo" in line and "--log-output" in line and "-k python3" in line for line in lines)


def test_overrides_and_seed_reach_the_notebooks():
    """SEED sets the notebooks' own `seed` parameter (an override string would be overruled by
    it); EPOCHS and SET travel in `overrides`."""
    [line] = dry_run(
        "results/paper/notebooks/02_train_unet-seed3.ipynb",
        "EPOCHS=7",
        "SET=n_train=80",
        "-o",
        "results/paper/notebooks/01_data_prep.ipynb",
    )
    assert "-p profile paper" in line and '-p overrides "epochs=7 n_train=80"' in line and "-p seed 3" in line


def test_seed_study_is_six_trainings_one_evaluation_one_figures_step():
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "reproduce", "SEEDS=0 1 2", "ALLOW_CPU=1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # `make reproduce` hands the study to a sub-make: ask that one for its plan
    sub = re.search(r"make(?:\[\d+\])?:? .*?(results/paper/notebooks/05_figures\.ipynb.*)", out)
    lines = dry_run(*(sub.group(1).split() if sub else []), "SEEDS=0 1 2")
    names = [_notebook(line) for line in lines]
    trainings = [n for n in names if n.startswith(("02_", "03_"))]
    assert sorted(trainings) == sorted(
        f"{nb}-seed{s}.ipynb" for s in (0, 1, 2) for nb in ("02_train_unet", "03_train_resnet")
    )
    assert names.count("04_evaluate.ipynb") == 1 and names.count("05_figures.ipynb") == 1
    evaluate = next(line for line in lines if "04_evaluate" in line)
    assert '-r seeds "0 1 2"' in evaluate
    # one GPU each: every training, and the notebooks after them that use cuda:0 (04–06)
    assert all("tools.parallel gpu --" in line for line in lines if not _notebook(line).startswith("01_"))


def test_reproduce_refuses_without_a_gpu_in_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = subprocess.run(["make", "-C", str(ROOT), "reproduce"], capture_output=True, text=True)
    assert out.returncode != 0
    assert "make reproduce needs a CUDA GPU" in out.stderr and "make rehearse" in out.stderr
    gpu = subprocess.run(["make", "-C", str(ROOT), "gpu-check"], capture_output=True, text=True)
    assert gpu.returncode != 0 and "make gpu-check needs a CUDA GPU" in gpu.stderr


def test_each_command_gets_its_own_gpu(tmp_path):
    """`parallel gpu --` gives concurrent commands different GPUs, and a third one waits."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1", "COLORLIB_GPU_LOCKS": str(tmp_path / "locks")}
    env.pop("SLURM_JOB_ID", None)
    cmd = [
        sys.executable,
        "-m",
        "tools.parallel",
        "gpu",
        "--",
        "bash",
        "-c",
        'echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N)" >> "$0"; sleep 2',
        str(tmp_path / "log"),
    ]
    procs = [subprocess.Popen(cmd, env=env) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    rows = [line.split() for line in (tmp_path / "log").read_text().splitlines()]
    starts = sorted((float(t), gpu) for gpu, t in rows)
    assert sorted(gpu for _, gpu in starts[:2]) == ["0", "1"]  # the first two: one GPU each
    assert starts[2][0] - starts[0][0] > 1.5  # the third waited for a free one


def test_slurm_scripts_run_the_same_make_targets(tmp_path):
    """The job array has one task per generator × seed; each task builds its own training
    notebook through the Makefile (checked with MAKE='make -n'); submit.sh chains the jobs.
    (No Slurm here: the scripts are run with bash, not sbatch.)"""
    paths = write_slurm(tmp_path, [0, 1, 2], overrides="epochs=5", repo=ROOT)
    text = {p.name: p.read_text() for p in paths}
    assert "#SBATCH --array=0-5" in text["train.sbatch"] and "#SBATCH --gres=gpu:1" in text["train.sbatch"]
    assert "--dependency=afterok:$data" in text["submit.sh"] and "--dependency=afterok:$runs" in text["submit.sh"]
    for name in text:
        assert subprocess.run(["bash", "-n", str(tmp_path / name)]).returncode == 0
    targets = training_targets([0, 1, 2])
    for task, target in enumerate(targets):
        env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "MAKE": "make -n -B"}
        out = subprocess.run(["bash", str(tmp_path / "train.sbatch")], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        trained = [_notebook(line) for line in out.stdout.splitlines() if "papermill" in line and "train_" in line]
        assert trained == [target.rsplit("/", 1)[-1]] and '-p overrides "epochs=5"' in out.stdout


def test_slurm_scripts_follow_results_and_resources(tmp_path):
    """The jobs build their notebooks under $RESULTS (as make does: the rehearsal's folder), ask
    for the resources given, and submit.sh cancels the report when a training fails (no job
    pending forever) and can wait for it. The real cluster: tests/test_slurm.py (make slurm-check)."""
    paths = write_slurm(tmp_path, [3], repo=ROOT, cpus=2, mem="6G", hours=1, partition="gpu")
    text = {p.name: p.read_text() for p in paths}
    for name in ("prepare.sbatch", "train.sbatch", "report.sbatch"):
        assert all(
            f"#SBATCH {opt}\n" in text[name]
            for opt in ("--cpus-per-task=2", "--mem=6G", "--time=1:00:00", "--partition=gpu")
        )
    assert text["submit.sh"].count("--kill-on-invalid-dep=yes --dependency=afterok:") == 2
    assert "$wait_flag" in text["submit.sh"]
    no_slurm = subprocess.run(
        [shutil.which("bash"), str(tmp_path / "submit.sh")],
        env={**os.environ, "PATH": "/nowhere"},
        capture_output=True,
        text=True,
    )
    assert no_slurm.returncode == 1 and no_slurm.stderr.count("\n") == 1 and "sbatch not found" in no_slurm.stderr
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "1", "MAKE": "make -n -B", "RESULTS": "build/elsewhere"}
    out = subprocess.run(["bash", str(tmp_path / "train.sbatch")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "build/elsewhere/paper/notebooks/03_train_resnet-seed3.ipynb" in out.stdout


def test_system_python_runs_without_a_venv(tmp_path):
    """SYSTEM_PY (a GPU box whose Python has torch and no network): no .venv, no pip, colorlib
    from this checkout; a Python without the packages is one line naming what to do."""
    dry = subprocess.run(
        ["make", "-C", str(ROOT), "-n", "gpu-check", "SYSTEM_PY=python3"], capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr
    assert "python3 -m tools.gpu_check --device cuda --deadline 600" in dry.stdout
    assert "pip install" not in dry.stdout and "venv" not in dry.stdout
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    out = subprocess.run(
        ["make", "-C", str(ROOT), "gpu-check", f"SYSTEM_PY={bare}/bin/python"], capture_output=True, text=True
    )
    assert out.returncode != 0
    [line] = [x for x in out.stderr.splitlines() if not x.startswith("make")]
    assert "lacks torch, papermill or ipykernel" in line and "make gpu-wheels" in line
