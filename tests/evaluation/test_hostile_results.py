"""An evaluation's results are one unit (issue 19): a second evaluation of the same profile
stops in one line while one runs (the results folder is locked, as runs are), and a process
killed while writing leaves the old set or the new one, never a mix, and no stray temp file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import save_generator_checkpoint

from colorlib.config import Config
from colorlib.evaluation.report import write_results
from colorlib.models import build_generator


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Two different evaluations' outputs (per_image, sets, predictions) of one tiny test set."""
    from colorlib.evaluation.evaluate import evaluate_arrays

    images = np.random.default_rng(0).integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    out = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build_generator("unet").eval()
        per_image, sets, preds = evaluate_arrays(
            images, {("unet", seed): model}, modes=["eval"], n_predictions=2, progress=False
        )
        out.append((per_image, sets, preds))
    return out


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".lock"}


def _killed_writing(folder, scored_set, tmp_path, kill_at: int) -> int:
    """Run write_results in a child process that dies (os._exit, as a SIGKILL: no cleanup) at
    its ``kill_at``-th file rename."""
    pd.to_pickle(scored_set, tmp_path / "set.pkl")
    script = textwrap.dedent(f"""
        import os, pandas as pd
        from colorlib.evaluation.report import write_results
        real, count = os.replace, [0]
        def dying(*a, **k):
            count[0] += 1
            if count[0] == {kill_at}:
                os._exit(9)
            return real(*a, **k)
        os.replace = dying
        per_image, sets, preds = pd.read_pickle({str(tmp_path / "set.pkl")!r})
        write_results({str(folder)!r}, per_image, sets, preds)
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True).returncode


@pytest.mark.parametrize("kill_at", [1, 2, 4, 7])  # 6 files + the manifest go to staging first
def test_a_kill_while_writing_never_leaves_a_mixed_set(scored, tmp_path, kill_at):
    folder = tmp_path / "results"
    first = write_results(folder, *scored[0])
    before = _snapshot(folder)
    assert _killed_writing(folder, scored[1], tmp_path, kill_at) == 9
    after = {k: v for k, v in _snapshot(folder).items() if not k.startswith(".")}
    assert after == before, "a killed evaluation changed some files of the previous set"
    # the next writer (or reader's recovery) leaves exactly one set and nothing hidden
    from colorlib.utils.files import recover_sets

    recover_sets(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.startswith(".") and n != ".lock"] == []
    assert pd.read_csv(folder / "metrics.csv")["l1"].iloc[0] == pytest.approx(first["l1"].iloc[0])


def test_a_kill_after_the_set_is_complete_is_finished_on_recovery(scored, tmp_path):
    """Killed among the final renames: recovery completes the new set (every file was written)."""
    from colorlib.utils.files import recover_sets

    folder = tmp_path / "results"
    write_results(folder, *scored[0])
    second_dir = tmp_path / "other" / "results"  # metrics.md names the folder
    second = write_results(second_dir, *scored[1])
    n_files = len([p for p in second_dir.iterdir() if not p.name.startswith(".")])
    # renames: n_files + manifest into staging, then n_files into place; die after 2 of those
    assert _killed_writing(folder, scored[1], tmp_path, n_files + 1 + 3) == 9
    recover_sets(folder)
    assert {k: v for k, v in _snapshot(folder).items() if not k.startswith(".")} == {
        k: v for k, v in _snapshot(second_dir).items() if not k.startswith(".")
    }
    assert pd.read_csv(folder / "metrics.csv")["l1"].iloc[0] == pytest.approx(second["l1"].iloc[0])


def test_two_evaluations_of_one_profile_do_not_run_at_once(tmp_path):
    from colorlib.data import prepare
    from colorlib.evaluation.evaluate import evaluate
    from colorlib.utils.runlock import ResultsInUseError

    cfg = Config.from_profile(
        "smoke",
        data_root=str(tmp_path / "data"),
        run_root=str(tmp_path / "runs"),
        results_root=str(tmp_path / "results"),
        generator="unet",
    )
    prepare(cfg, progress=False)
    torch.manual_seed(0)
    save_generator_checkpoint(cfg.run_dir / "checkpoint.pt", build_generator("unet"), "unet", cfg, history=[])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys, time
        from colorlib.utils.runlock import results_lock
        with results_lock({str(cfg.results_dir)!r}):
            print("held", flush=True)
            sys.stdin.read()
    """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResultsInUseError) as err:
            evaluate(cfg, generators=["unet"], modes=["eval"], n_predictions=0, progress=False)
        assert str(holder.pid) in str(err.value) and "\n" not in str(err.value)
        assert not (cfg.results_dir / "metrics.csv").exists()
    finally:
        holder.communicate("")
    evaluate(cfg, generators=["unet"], modes=["eval"], n_predictions=0, progress=False)  # free again
    assert (cfg.results_dir / "metrics.csv").is_file()
    assert [p.name for p in cfg.results_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []


def test_results_lock_is_exclusive_in_one_process_too(tmp_path):
    from colorlib.utils.runlock import ResultsInUseError, results_lock

    with results_lock(tmp_path):
        with pytest.raises(ResultsInUseError):
            with results_lock(tmp_path):
                pass
    with results_lock(tmp_path):  # released
        pass
