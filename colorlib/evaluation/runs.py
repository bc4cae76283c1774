"""The trained runs an evaluation scores: found, loaded, and checked against the evaluated data.

A run is ``runs/<profile>/<generator>-seed<k>/checkpoint.pt``, or a ``.safetensors`` export
(``python -m colorlib export``) alone in that folder. A missing run is skipped with one
printed line, an unusable checkpoint likewise (the others are still evaluated); a run trained on
another data split, or (ResNet) from a random encoder, is evaluated with a warning note.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from torch import nn

from colorlib.utils.errors import ColorlibError
from colorlib.utils.log import log

__all__ = ["EvaluationError", "find_runs", "run_weights", "load_runs", "split_mismatches", "run_warnings"]


class EvaluationError(ColorlibError, FileNotFoundError):
    """No trained run to evaluate where the profile's runs should be (train first)."""


def find_runs(cfg, generators: Iterable[str], seeds: Iterable[int]) -> dict[tuple[str, int], Path]:
    """{(generator, seed): checkpoint path} of the runs that exist; one printed line per missing
    run; :class:`EvaluationError` if none exists."""
    found, looked = {}, []
    for gen in generators:
        for seed in seeds:
            run_dir = cfg.replace(generator=gen, seed=int(seed)).run_dir
            path = run_weights(run_dir)
            looked.append(str(run_dir / "checkpoint.pt"))
            if path is not None:
                found[(gen, int(seed))] = path
            else:
                log(
                    f"evaluate: skipping {gen} seed {seed}: no checkpoint at {looked[-1]} "
                    "(nor one *.safetensors export beside it)",
                    problem=True,
                )
    if not found:
        raise EvaluationError(
            f"no trained run to evaluate (looked for {', '.join(looked)}); "
            f"run `python -m colorlib train --profile {cfg.profile}` first"
        )
    return found


def run_weights(run_dir: Path) -> Path | None:
    """A run folder's weights: its checkpoint.pt, else the one ``*.safetensors`` export in it
    (``python -m colorlib export``: a shared model evaluated like a trained run), else None."""
    if (run_dir / "checkpoint.pt").is_file():
        return run_dir / "checkpoint.pt"
    exports = sorted(run_dir.glob("*.safetensors")) if run_dir.is_dir() else []
    if len(exports) > 1:
        log(
            f"evaluate: {run_dir} holds {len(exports)} exports and no checkpoint.pt; keep one of "
            f"{', '.join(p.name for p in exports)}",
            problem=True,
        )
    return exports[0] if len(exports) == 1 else None


def load_runs(
    runs: dict[tuple[str, int], Path], device
) -> tuple[dict[tuple[str, int], nn.Module], dict[tuple[str, int], dict], list[str]]:
    """Load every run of :func:`find_runs`: ({key: generator in eval mode on ``device``}, {key:
    checkpoint dict}, [why each unusable run was skipped]). An unusable checkpoint skips its run
    only (one printed line); :class:`~colorlib.checkpoint.CheckpointError` if none is usable."""
    from colorlib.checkpoint import CheckpointError, load_generator

    networks, checkpoints, unusable = {}, {}, []
    for (gen, seed), path in runs.items():
        try:
            networks[(gen, seed)], checkpoints[(gen, seed)] = load_generator(path, expect=gen, device=device)
        except CheckpointError as err:
            log(f"evaluate: skipping {gen} seed {seed}: {err}", problem=True)
            unusable.append(str(err))
    if not networks:
        raise CheckpointError(f"no usable run to evaluate: {'; '.join(unusable)}")
    return networks, checkpoints, unusable


def split_mismatches(cfg, checkpoints: dict[tuple[str, int], dict]) -> dict[tuple[str, int], str]:
    """Runs trained on another data cache than the one evaluated (e.g. a seed-dependent split):
    {(generator, seed): what differs}. Their training images may be among these test images."""
    from colorlib.config import Config

    want, out = cfg.data_key(), {}
    for key, ckpt in checkpoints.items():
        if not isinstance(ckpt.get("config"), dict):
            continue
        have = Config.from_dict(ckpt["config"]).data_key()
        diff = ", ".join(f"{k}={have.get(k)!r}" for k in sorted(set(want) | set(have)) if have.get(k) != want.get(k))
        if diff:
            out[key] = (
                f"was trained on another data split ({diff}; evaluated on "
                f"{', '.join(f'{k}={want[k]!r}' for k in want if have.get(k) != want[k])}): "
                f"its training images may be among these test images"
            )
    return out


def check_held_out(cfg, checkpoints: dict[tuple[str, int], dict]) -> None:
    """Refuse, in one line, to score a run on test images it was trained on: its recorded
    ``train_split`` identities (see :class:`colorlib.checkpoint.RunState`) must not meet the
    current test split's (``colorlib.data.split_ids``). Runs that recorded none (older
    checkpoints) are left to :func:`split_mismatches`' warning."""
    from colorlib.data.split import split_ids

    test = split_ids(cfg, "test")
    for (gen, seed), ckpt in checkpoints.items():
        seen = test.intersection((ckpt.get("train_split") or {}).get("ids") or ())
        if seen:
            raise EvaluationError(
                f"{gen} seed {seed} was trained on {len(seen)} of these {len(test)} test images "
                f"(e.g. {sorted(seen)[0]}): its scores would not be held-out scores; evaluate it "
                f"on the split it was trained with, or train it again on this one"
            )


def run_warnings(cfg, checkpoints: dict[tuple[str, int], dict]) -> dict[tuple[str, int], str]:
    """{(generator, seed): warning} for the runs whose numbers are not the paper's setting: another
    data split (:func:`split_mismatches`), or a ResNet encoder not started from ImageNet (§4.2)."""
    notes = split_mismatches(cfg, checkpoints)
    for key, ckpt in checkpoints.items():
        if str(ckpt.get("encoder_init", "")).startswith("random"):
            text = f"started its ResNet encoder from {ckpt['encoder_init']}, NOT the paper's ImageNet weights"
            notes[key] = f"{notes[key]}; {text}" if key in notes else text
    return notes
