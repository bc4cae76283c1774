"""Running the study's independent trainings (generator × seed) side by side.

Scheduling is make's (``make -j K reproduce SEEDS="0 1 2"``) or Slurm's; this module only

- ``gpu``: runs one command on one GPU of its own. ``python -m tools.parallel gpu -- CMD``
  takes the first visible GPU (by UUID; each MIG slice counts as one) that no other such
  command holds (an exclusive ``flock`` on a lock file per GPU, held by CMD itself — its file
  descriptor is inherited — and released by the OS when CMD ends, however it ends, even if this
  wrapper was killed first) and on which ``nvidia-smi`` lists no other process; runs CMD with
  ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and ``CUDA_VISIBLE_DEVICES=<uuid>``; and waits for a GPU if
  all are busy. Without GPUs, or inside a Slurm job (Slurm has already given the job its GPU),
  CMD runs as it is.
- ``slurm``: writes the study as Slurm batch scripts — a data job, a job array with one task
  per training (each task builds its notebook through the same Makefile target), and an
  evaluation/figures job that starts when every training succeeded — plus ``submit.sh``,
  which submits the three with ``--dependency=afterok``.

A single run larger than one GPU uses DDP instead: ``torchrun --nproc_per_node=K -m colorlib
train ...`` (see :mod:`colorlib.train`).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from colorlib.config import ABLATIONS, GENERATORS

__all__ = ["visible_gpus", "parse_gpu_list", "busy_uuids", "run_on_a_gpu", "training_targets", "write_slurm", "main"]

# the training notebook of each generator (Makefile targets <notebook>-seed<k>.ipynb)
TRAINING_NOTEBOOKS = {
    "unet": "02_train_unet",
    "resnet": "03_train_resnet",
    "unet-small": "02_train_unet-small",
    "resnet-random": "03_train_resnet-random",
}


_GPU_LINE = re.compile(r"^GPU (\d+): .*\(UUID: (GPU-[^)\s]+)\)")
_MIG_LINE = re.compile(r"^\s+MIG .*Device\s+(\d+): \(UUID: (MIG-[^)\s]+)\)")


def parse_gpu_list(text: str) -> list[tuple[str, str]]:
    """The usable units of ``nvidia-smi -L``: ``(name, uuid)`` per GPU, in its (PCI bus) order —
    or, for a GPU split into MIG slices, one per slice (``"0/mig1"``, ``MIG-…``) in its place: a
    slice is what a process can use, and its UUID is how CUDA is told which."""
    units: list[tuple[str, str]] = []
    parent, slices = None, []
    for line in [*text.splitlines(), "GPU end"]:
        gpu, mig = _GPU_LINE.match(line), _MIG_LINE.match(line)
        if mig and parent is not None:
            slices.append((f"{parent[0]}/mig{mig.group(1)}", mig.group(2)))
        elif line.startswith("GPU "):
            if parent is not None:
                units += slices or [parent]
            parent, slices = (gpu.group(1), gpu.group(2)) if gpu else None, []
    return units


def _nvidia_smi(*args: str) -> str:
    try:
        done = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def busy_uuids() -> set[str]:
    """UUIDs of the GPUs that some process computes on (``nvidia-smi --query-compute-apps``):
    another user's job, which our own locks cannot see. (A process on a MIG slice is listed
    under its parent GPU's UUID, so slices are not told apart: see :func:`run_on_a_gpu`.)"""
    out = _nvidia_smi("--query-compute-apps=gpu_uuid,pid", "--format=csv,noheader")
    ours = _ancestry()  # a process that launched this one (gpu_check, a notebook) is not another job
    busy = set()
    for line in filter(str.strip, out.splitlines()):
        uuid, _, pid = (part.strip() for part in line.partition(","))
        if not (pid.isdigit() and int(pid) in ours):
            busy.add(uuid)
    return busy


def _ancestry() -> set[int]:
    """This process and its ancestors (Linux /proc; elsewhere this process only)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rpartition(")")[2].split()[1])  # the field after the state: the parent's pid
    return pids


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA is to be told (a UUID where ``nvidia-smi -L``
    gives one, MIG slices included; else an index): ``CUDA_VISIBLE_DEVICES`` if set (an index
    mapped to its GPU's UUID), else every unit the driver lists. Never imports torch where there
    is no NVIDIA device (this process only waits for its command: 700 MB of torch would sit idle
    beside every training)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    listed = _nvidia_smi("-L") if shutil.which("nvidia-smi") else ""
    units = parse_gpu_list(listed)
    if env is not None:
        wanted = [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
        index = {m.group(1): m.group(2) for m in map(_GPU_LINE.match, listed.splitlines()) if m}  # PCI order
        return [index.get(d, d) for d in wanted]
    if units:
        return [uuid for _, uuid in units]
    if not list(Path("/dev").glob("nvidia[0-9]*")):
        return []
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def run_on_a_gpu(command: list[str], lock_dir: str | os.PathLike | None = None, poll: float = 2.0) -> int:
    """Run ``command`` on one GPU of its own; its exit status.

    A GPU is claimed with an exclusive ``flock`` on ``gpu-<uuid>.lock`` that the command itself
    inherits (its file descriptor is passed on): the claim lasts as long as the command, even if
    this wrapper is killed. A GPU on which ``nvidia-smi`` lists another process (someone else's
    job) is skipped; when every GPU is claimed or busy, this waits. The command gets
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, ``CUDA_VISIBLE_DEVICES=<uuid>`` and
    ``COLORLIB_GPU_LOCK=<lock file>``."""
    gpus = visible_gpus()
    if not gpus or os.environ.get("SLURM_JOB_ID"):
        return subprocess.call(command)
    folder = Path(
        lock_dir or os.environ.get("COLORLIB_GPU_LOCKS") or Path(tempfile.gettempdir()) / f"colorlib-gpus-{os.getuid()}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    said = False
    while True:
        busy = busy_uuids()
        for gpu in gpus:
            if gpu in busy:
                continue
            lock = folder / f"gpu-{gpu.replace('/', '_')}.lock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                print(f"parallel: GPU {gpu} → {' '.join(command[:4])} …", file=sys.stderr, flush=True)
                env = {
                    **os.environ,
                    "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                    "CUDA_VISIBLE_DEVICES": gpu,
                    "COLORLIB_GPU_LOCK": str(lock),
                }
                with subprocess.Popen(command, env=env, pass_fds=(fd,)) as child:
                    return child.wait()
            finally:
                os.close(fd)  # the command's copy keeps the claim until it ends
        if not said:
            others = sum(g in busy for g in gpus)
            print(
                f"parallel: all {len(gpus)} GPU(s) busy"
                + (f" ({others} with other processes)" if others else "")
                + "; waiting",
                file=sys.stderr,
                flush=True,
            )
            said = True
        time.sleep(poll)


def training_targets(
    seeds: list[int], results: str = "results", profile: str = "paper", ablations: bool = False
) -> list[str]:
    """The Makefile targets of the study's trainings, one per generator × seed (and per ablation
    × seed with ``ablations``, as make's ABLATIONS=yes)."""
    gens = GENERATORS + (ABLATIONS if ablations else ())
    return [f"{results}/{profile}/notebooks/{TRAINING_NOTEBOOKS[g]}-seed{s}.ipynb" for s in seeds for g in gens]


def _script(name: str, sbatch: list[str], body: str) -> str:
    head = "\n".join(
        [
            "#!/usr/bin/env bash",
            f"#SBATCH --job-name=colorlib-{name}",
            *sbatch,
            "#SBATCH --output=%x-%A_%a.out" if "--array" in " ".join(sbatch) else "#SBATCH --output=%x-%j.out",
        ]
    )
    return f"{head}\nset -euo pipefail\ncd {{repo}}\n{body}\n"


# The jobs build the Makefile's targets under $RESULTS (make's own default: results), so a
# rehearsal that points RESULTS elsewhere (make rehearse-slurm) runs the same scripts.
RESULTS_IN_JOB = "${RESULTS:-results}"


def write_slurm(
    out: str | os.PathLike,
    seeds: list[int],
    overrides: str = "",
    repo: str | os.PathLike = ".",
    partition: str = "",
    hours: int = 8,
    cpus: int = 8,
    mem: str = "32G",
    ablations: bool = False,
) -> list[Path]:
    """Write prepare.sbatch, train.sbatch (a job array), report.sbatch and submit.sh to ``out``.

    Each job asks for ``cpus`` CPUs, ``mem`` memory and ``hours``; the trainings and the report
    one GPU each. ``submit.sh`` chains the jobs with ``--dependency=afterok`` and
    ``--kill-on-invalid-dep=yes`` (a failed training cancels the report instead of leaving it
    pending forever); ``submit.sh --wait`` returns when the report job ends, with its status.
    """
    out, repo = Path(out), Path(repo).resolve()
    seeds_text = " ".join(map(str, seeds))
    make = f"${{MAKE:-make}} SEEDS={shlex.quote(seeds_text)} SET={shlex.quote(overrides)}"
    if ablations:
        make += " ABLATIONS=yes"
    common = [f"#SBATCH --time={hours}:00:00", f"#SBATCH --cpus-per-task={cpus}", f"#SBATCH --mem={mem}"]
    if partition:
        common.append(f"#SBATCH --partition={partition}")
    targets = training_targets(seeds, results=RESULTS_IN_JOB, ablations=ablations)
    scripts = {
        "prepare.sbatch": _script("prepare", common, f"{make} {RESULTS_IN_JOB}/paper/notebooks/01_data_prep.ipynb"),
        "train.sbatch": _script(
            "train",
            [*common, "#SBATCH --gres=gpu:1", f"#SBATCH --array=0-{len(targets) - 1}"],
            "TARGETS=(" + " ".join(targets) + f')\n{make} "${{TARGETS[$SLURM_ARRAY_TASK_ID]}}"',
        ),
        "report.sbatch": _script("report", [*common, "#SBATCH --gres=gpu:1"], f"{make} reproduce"),
    }
    written = []
    for name, text in scripts.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{repo}", shlex.quote(str(repo))))
        written.append(path)
    submit = out / "submit.sh"
    here = shlex.quote(str(out.resolve()))
    after = "--kill-on-invalid-dep=yes --dependency=afterok"
    submit.write_text(
        "#!/usr/bin/env bash\n# Submit the study: data → the trainings (a job array) → evaluation and figures.\n"
        "# --wait: return when the report job has ended, with its exit status.\n"
        f"set -euo pipefail\ncd {here}\n"
        'command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: run this where Slurm is '
        '(a login node); make slurm-check tries it on a throwaway one-node Slurm" >&2; exit 1; }\n'
        'wait_flag=""; [[ "${1:-}" == --wait ]] && wait_flag=--wait\n'
        "data=$(sbatch --parsable prepare.sbatch)\n"
        f"runs=$(sbatch --parsable {after}:$data train.sbatch)\n"
        'echo "submitted: data $data, trainings $runs (array of '
        f"{len(targets)}"
        ')"\n'
        f"report=$(sbatch --parsable $wait_flag {after}:$runs report.sbatch)\n"
        'echo "report: job $report${wait_flag:+ (done)}"\n'
    )
    submit.chmod(0o755)
    return [*written, submit]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.parallel", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    gpu = sub.add_parser("gpu", help="run a command on one free GPU: gpu -- CMD ...")
    gpu.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    slurm = sub.add_parser("slurm", help="write the study's Slurm scripts")
    slurm.add_argument("--out", default="build/slurm", help="folder for the scripts (default build/slurm)")
    slurm.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default 0)")
    slurm.add_argument("--overrides", default="", help="Config overrides, as make's SET (default none)")
    slurm.add_argument("--partition", default="", help="#SBATCH --partition (default: the cluster's)")
    slurm.add_argument("--hours", type=int, default=8, help="time limit per job in hours (default 8)")
    slurm.add_argument("--cpus", type=int, default=8, help="#SBATCH --cpus-per-task of every job (default 8)")
    slurm.add_argument("--mem", default="32G", help="#SBATCH --mem of every job (default 32G)")
    slurm.add_argument(
        "--ablations", action="store_true", help="also train the §7 ablation runs (make's ABLATIONS=yes)"
    )
    a = p.parse_args(argv)
    if a.command == "gpu":
        cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
        if not cmd:
            p.error("gpu: give the command after --")
        return run_on_a_gpu(cmd)
    paths = write_slurm(a.out, a.seeds, a.overrides, Path.cwd(), a.partition, a.hours, a.cpus, a.mem, a.ablations)
    print(
        f"wrote {', '.join(str(x) for x in paths)}\nsubmit with: bash {paths[-1]}  (--wait: until the report is done)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
