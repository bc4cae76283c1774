"""The study's Slurm scripts on a real single-node Slurm cluster (`make slurm-check`).

The cluster is Debian's Slurm (packages slurmctld, slurmd, slurm-client, munge), started in a
temporary folder for these tests and shut down after them: its own ``slurm.conf`` (passed as
``SLURM_CONF``; nothing under /etc/slurm is read or written), free ports, one node with this
machine's CPUs and memory and two "GPUs" (GRES ``gpu`` backed by character-device files: Slurm
hands each job its own index in ``CUDA_VISIBLE_DEVICES``, as on a real GPU node, while the
rehearsal's trainings run on the CPU). Skipped unless ``COLORLIB_SLURM=1`` (set by
``make slurm-check``: the run takes minutes, so ``make test`` leaves it out); asked for, it fails
in one line without the packages or root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "scontrol", "sinfo")

pytestmark = pytest.mark.skipif(
    os.environ.get("COLORLIB_SLURM") != "1", reason="real Slurm: make slurm-check (COLORLIB_SLURM=1)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_resources() -> tuple[int, int]:
    """(CPUs, MB of memory) as slurmd itself counts them."""
    fields = dict(
        f.split("=", 1)
        for f in subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.split()
        if "=" in f
    )
    return int(fields["CPUs"]), int(fields["RealMemory"])


def _munge_running() -> bool:
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running single-node cluster; yields the environment that reaches it (SLURM_CONF)."""
    missing = [d for d in DAEMONS if shutil.which(d) is None and not Path("/usr/sbin", d).exists()]
    # asked for (COLORLIB_SLURM=1, make slurm-check): what it cannot do is a failure, not a skip
    if missing:
        pytest.fail(
            f"make slurm-check needs Debian's slurmctld slurmd slurm-client munge (missing "
            f"{', '.join(missing)}): apt-get install slurmctld slurmd slurm-client munge",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("make slurm-check runs the throwaway cluster's daemons as root: run it as root", pytrace=False)
    home = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool", "log"):
        (home / sub).mkdir()
    for i in range(2):
        os.mknod(home / f"gpu{i}", 0o666 | 0o020000, os.makedev(1, 3))  # character devices, like /dev/nvidiaN
    cpus, mem = _node_resources()
    conf = home / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=colorlib-test",
                "SlurmctldHost=localhost",
                "SlurmUser=root",
                "AuthType=auth/munge",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                f"StateSaveLocation={home / 'state'}",
                f"SlurmdSpoolDir={home / 'spool'}",
                f"SlurmctldPidFile={home / 'slurmctld.pid'}",
                f"SlurmdPidFile={home / 'slurmd.pid'}",
                f"SlurmctldLogFile={home / 'log/slurmctld.log'}",
                f"SlurmdLogFile={home / 'log/slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core_Memory",
                "ReturnToService=2",
                "MpiDefault=none",
                "GresTypes=gpu",
                f"NodeName=colorlib NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={cpus} RealMemory={mem - 1024} "
                "Gres=gpu:2 State=UNKNOWN",
                "PartitionName=debug Nodes=colorlib Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    (home / "gres.conf").write_text(f"NodeName=colorlib Name=gpu File={home}/gpu[0-1]\n")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started_munge = not _munge_running()
    if started_munge:
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"], check=True)
    subprocess.run(["slurmctld"], env=env, check=True)
    subprocess.run(["slurmd", "-N", "colorlib"], env=env, check=True)
    try:
        deadline = time.monotonic() + 60
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, (home / "log/slurmctld.log").read_text()[-3000:]
            time.sleep(1)
        yield env
    finally:
        subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True)
        if started_munge:
            subprocess.run(["pkill", "-x", "munged"])


def test_the_cluster_gives_each_job_its_own_gpu(slurm, tmp_path):
    """The fixture is a working Slurm: two jobs of one GPU each run at once, on different GPUs."""
    jobs = [
        subprocess.run(
            [
                "sbatch",
                "--parsable",
                "--gres=gpu:1",
                "--cpus-per-task=1",
                "--mem=100M",
                f"--output={tmp_path}/job{i}.out",
                "--wrap",
                "echo $CUDA_VISIBLE_DEVICES; sleep 3",
            ],
            env=slurm,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for i in range(2)
    ]
    subprocess.run(
        [
            "sbatch",
            "--wait",
            f"--dependency=afterany:{':'.join(jobs)}",
            "--mem=10M",
            f"--output={tmp_path}/wait.out",
            "--wrap",
            "true",
        ],
        env=slurm,
        check=True,
        capture_output=True,
    )
    assert sorted((tmp_path / f"job{i}.out").read_text().strip() for i in range(2)) == ["0", "1"]


def test_make_rehearse_slurm_runs_the_seed_study_through_sbatch(slurm):
    """``make rehearse-slurm SEEDS="0 1"``: make slurm's scripts, submitted by its submit.sh —
    the data job, the job array of four trainings (generator × seed, one GPU each), the report
    job after them — against the local COCO mirror; the same notebooks as make reproduce."""
    home = ROOT / "build" / "rehearsal-slurm"
    out = subprocess.run(
        ["make", "-C", str(ROOT), "rehearse-slurm", "SEEDS=0 1", f"REHEARSAL_HOME={home}"],
        env=slurm,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "trainings" in log and "(array of 4)" in log
    notebooks = home / "results" / "paper" / "notebooks"
    trained = sorted(p.name for p in notebooks.glob("0[23]_train_*-seed*.ipynb"))
    assert trained == [
        "02_train_unet-seed0.ipynb",
        "02_train_unet-seed1.ipynb",
        "03_train_resnet-seed0.ipynb",
        "03_train_resnet-seed1.ipynb",
    ]
    assert (notebooks / "05_figures.ipynb").is_file()
    tasks = sorted((home / "slurm").glob("colorlib-train-*_*.out"))
    assert len(tasks) == 4 and all("train_" in t.read_text() for t in tasks)
    metrics = pd.read_csv(home / "results" / "paper" / "metrics.csv")
    runs = metrics[metrics["kind"] == "run"]
    assert set(runs["seed"]) == {0, 1} and set(runs["model"]) == {"unet", "resnet"}
