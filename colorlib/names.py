"""The study's names, defined once: generators, baselines, evaluation modes, display names,
and what identifies a training run.

Every other module imports these; nothing retypes ``"unet"`` / ``"resnet"`` as a list or words
a model's name its own way. Light on purpose (no torch): ``config`` imports it.
"""
from __future__ import annotations

__all__ = ["GENERATORS", "BASELINES", "MODES", "DISPLAY_NAMES", "display_name", "run_name"]

# The paper's two generators (§4.2): the pix2pix U-Net and the U-Net on a ResNet-18 encoder.
GENERATORS = ("unet", "resnet")

# Reference predictors scored exactly like the models (see colorlib.evaluate).
BASELINES = ("gray", "train-median")

# How a generator is run at test time: ``eval`` (dropout off) and ``dropout`` (on, §4.2).
MODES = ("eval", "dropout")

# How tables, figures and logs name each of them.
DISPLAY_NAMES = {
    "unet": "U-Net",
    "resnet": "ResNet",
    "gray": "gray baseline (ab = 0)",
    "train-median": "train-median baseline",
}


def display_name(model: str) -> str:
    """The printed name of a generator or baseline (unknown names are returned as they are)."""
    return DISPLAY_NAMES.get(model, model)


def run_name(generator: str, seed: int) -> str:
    """A training run's name: its folder under ``runs/<profile>/`` and its key in results files."""
    return f"{generator}-seed{seed}"
