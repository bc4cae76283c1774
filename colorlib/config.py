"""One ``Config`` for notebooks, CLI and Makefile, with the named profiles (§5.1, §5.2).

    cfg = Config.from_profile("demo", epochs=3)            # a profile plus overrides
    cfg = Config.from_profile("paper").override(["seed=1"]) # "key=value" strings (CLI, Makefile)

Paths come from the config, never from the current directory. The roots default to
``<project>/data``, ``<project>/runs`` and ``<project>/results``; the environment variables
``COLORLIB_HOME`` (all three under it), ``COLORLIB_DATA``, ``COLORLIB_RUNS`` and
``COLORLIB_RESULTS`` override them, and so do the fields ``data_root`` / ``run_root`` /
``results_root``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

from colorlib.utils.errors import ConfigError
from colorlib.utils.files import project_root

__all__ = [
    "Config",
    "PROFILES",
    "GENERATORS",
    "ABLATIONS",
    "ARCHITECTURE",
    "BASELINES",
    "MODES",
    "DISPLAY_NAMES",
    "display_name",
    "run_name",
]


def _data(default, only: str = ""):
    """A field that defines the data cache (``only``: it matters for that source alone)."""
    return field(default=default, metadata={"role": "data", "only": only})


def _run(default):
    """A field that defines the experiment (a resume must not change it)."""
    return field(default=default, metadata={"role": "run"})


# ----------------------------------------------------------------------------- names
# The paper's two generators (§4.2): the pix2pix U-Net and the U-Net on a ResNet-18 encoder.
GENERATORS = ("unet", "resnet")

# The discussion's two explanations (§7) as extra runs of the same study (make … ABLATIONS=yes):
# the ResNet generator from a random encoder (does pretraining help?) and the U-Net cut in width
# to about the ResNet's 15 M parameters (is it size?). Trained, named and evaluated like GENERATORS.
ABLATIONS = ("resnet-random", "unet-small")
# the paper's generator each one is (a variant of): input sizes, training notebook, figures
ARCHITECTURE = {"unet": "unet", "resnet": "resnet", "resnet-random": "resnet", "unet-small": "unet"}

# Reference predictors scored exactly like the models (see colorlib.evaluation.evaluate).
BASELINES = ("gray", "train-median")

# How a generator is run at test time: ``eval`` (dropout off) and ``dropout`` (on, §4.2).
MODES = ("eval", "dropout")

# How tables, figures and logs name each of them.
DISPLAY_NAMES = {
    "unet": "U-Net",
    "resnet": "ResNet",
    "resnet-random": "ResNet (random encoder)",
    "unet-small": "U-Net (small: 14.5 M)",
    "gray": "gray baseline (ab = 0)",
    "train-median": "train-median baseline",
}


def display_name(model: str) -> str:
    """The printed name of a generator or baseline (unknown names are returned as they are)."""
    return DISPLAY_NAMES.get(model, model)


def run_name(generator: str, seed: int) -> str:
    """A training run's name: its folder under ``runs/<profile>/`` and its key in results files."""
    return f"{generator}-seed{seed}"


# ----------------------------------------------------------------------------- settings
@dataclass
class Config:
    profile: str = "demo"
    # Each field says what it defines (metadata "role"), the one decision a new field needs:
    #   "data"  the prepared data cache (a change re-prepares; see data_key)
    #   "run"   the experiment: a resume that changes it is no longer the same run (run_key)
    #   none    how the run is executed or where files go; results do not depend on it.
    # --- data (§5.1) ---
    source: str = _data("bundled")  # coco | folder | bundled
    folder: str = _data("", only="folder")  # image tree for source=folder
    coco_root: str = _data("", only="coco")  # an existing COCO copy (train2014/, test2014/, annotations/)
    n_train: int = _data(32)  # images in the train split
    n_test: int = _data(8)  # images in the test split
    image_size: int = _data(256)  # W = H = 256 (§5.1)
    split_seed: int = _data(0)  # which images form train/test; fixed across training seeds
    # --- model (§4.2, App. A) ---
    generator: str = "unet"  # unet | resnet (with seed, names the run: run_name)
    pretrained: str = _run("imagenet")  # ResNet encoder: imagenet | none | path to resnet18 weights
    require_pretrained: bool = False  # refuse to train the ResNet without ImageNet weights
    # --- optimisation (§5.2) ---
    epochs: int = 10
    batch_size: int = _run(4)
    lr: float = _run(2e-4)
    beta1: float = _run(0.5)
    beta2: float = _run(0.999)
    lambda_l1: float = _run(100.0)  # λ in Eq. 19
    init_std: float = _run(0.02)  # N(0, 0.02) init
    l1_pretrain_epochs: int = _run(0)  # L1-only generator epochs before the GAN (ablation)
    flip: bool = _run(True)  # random horizontal flip p = 0.5 on the train set
    seed: int = _run(0)  # training seed: weights, data order, flips, dropout
    # --- runtime ---
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    amp: str = "auto"  # auto (bf16 on CUDA and bf16-capable CPUs: step.fast_path) | bf16 | off
    channels_last: str = "auto"  # auto (with bf16: step.fast_path) | on | off
    compile: bool | str = "auto"  # torch.compile the models: auto (on CUDA: step.wants_compile) | true | false
    deterministic: bool = False  # CUDA: deterministic cuDNN/algorithms, a run repeats bit for bit (slower)
    sync_bn: bool = False  # DDP: BatchNorm statistics over the global batch (SyncBatchNorm)
    data_on_device: str = "auto"  # keep the uint8 train set on the GPU: auto | on | off
    checkpoint_every: int = 1  # epochs between checkpoints (and one at the end)
    sample_every: int = 1  # epochs between sample grids of held-out images (and the last); 0: none
    test_dropout: bool = False  # colorize: keep dropout on at test time (§4.2, pix2pix);
    # evaluate always reports both modes
    data_root: str = ""
    run_root: str = ""
    results_root: str = ""
    extra: dict = field(default_factory=dict)  # free-form notes recorded with a run

    def __post_init__(self) -> None:
        """One clear line for a value no run could use (from a profile, --set or a file)."""
        choices = {
            "source": ("coco", "folder", "bundled"),
            "generator": GENERATORS + ABLATIONS,
            "amp": ("auto", "bf16", "off"),
            "channels_last": ("auto", "on", "off"),
            "data_on_device": ("auto", "on", "off"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r}: choose one of {', '.join(allowed)}")
        minimum = dict.fromkeys(("batch_size", "image_size", "checkpoint_every"), 1)
        minimum |= dict.fromkeys(("sample_every", "n_train", "n_test", "epochs", "l1_pretrain_epochs"), 0)
        minimum |= dict.fromkeys(("lambda_l1", "init_std"), 0)
        for name, low in minimum.items():
            if not getattr(self, name) >= low:  # also catches NaN
                raise ConfigError(f"{name}={getattr(self, name)!r}: must be ≥ {low}")
        if not (self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}: need lr > 0 and betas in [0, 1)")
        for name in ("lr", "lambda_l1", "init_std"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name}={getattr(self, name)!r}: must be a finite number")
        for name in ("seed", "split_seed"):  # what NumPy's and torch's generators all accept
            if not 0 <= getattr(self, name) < 2**32:
                raise ConfigError(f"{name}={getattr(self, name)!r}: must be a whole number in [0, 2**32 − 1]")
        if not (isinstance(self.compile, bool) or self.compile == "auto"):
            raise ConfigError(f"compile={self.compile!r}: choose auto, true or false")
        if not (isinstance(self.profile, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", self.profile)):
            raise ConfigError(
                f"profile={self.profile!r}: a profile name is a folder name under each root (letters, "
                "digits, '.', '_', '-'; no '/' or '..')"
            )  # never a path out of the roots
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(f"device={self.device!r}: choose auto, cpu, mps, cuda or cuda:N")

    def check_image_size(self, generator: str | None = None) -> None:
        """Refuse an ``image_size`` the generator cannot take (U-Net: multiples of 256, eight
        halvings; ResNet: multiples of 32); without ``generator``, one neither can take."""
        ok = {"unet": 256, "resnet": 32}
        sizes = "U-Net: multiples of 256 (256, 512…); ResNet: multiples of 32 (64, 128, 256…)"
        if generator is None and self.image_size % ok["resnet"]:
            raise ConfigError(f"image_size={self.image_size}: no generator takes it ({sizes})")
        if generator is not None and self.image_size % ok[ARCHITECTURE[generator]]:
            raise ConfigError(f"image_size={self.image_size}: the {generator} generator cannot take it ({sizes})")

    # ----- construction -----
    @classmethod
    def from_profile(cls, name: str, **overrides) -> Config:
        if name not in PROFILES:
            raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
        return cls(profile=name, **{**PROFILES[name], **overrides})

    def replace(self, **changes) -> Config:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown Config field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def override(self, items: typing.Iterable[str]) -> Config:
        """Apply ``key=value`` strings, converting each value to the field's type."""
        hints = typing.get_type_hints(type(self))
        changes = {}
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in hints:
                raise ConfigError(
                    f"override {item!r}: expected key=value with key one of "
                    f"{', '.join(f.name for f in dataclasses.fields(self))}"
                )
            changes[key] = _convert(key, value.strip(), hints[key])
        return self.replace(**changes)

    # ----- serialization -----
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: dict, source: str = "a saved config") -> Config:
        """The Config ``to_dict`` wrote. A key this version does not know (a renamed or removed
        field, a typo) is refused, never dropped: ``source`` names the file in the message."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object of Config fields, got {type(data).__name__}")
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{source}: unknown Config field(s) {', '.join(unknown)} (renamed or removed "
                f"in this version of colorlib?); fix or remove them, or start a new run"
            )
        return cls(**data)

    # ----- identity -----
    def _key(self, roles: tuple[str, ...]) -> dict:
        key = {}
        for f in dataclasses.fields(self):
            only = f.metadata.get("only")
            if f.metadata.get("role") not in roles or (only and only != self.source):
                continue
            value = getattr(self, f.name)
            if f.name in ("folder", "coco_root") and value:  # the same folder, however it was written
                value = str(Path(value).expanduser().resolve())
            key[f.name] = value
        return key

    def data_key(self) -> dict:
        """The fields the data cache depends on (role "data"): a cache built for another key is rebuilt."""
        return self._key(("data",))

    def run_key(self) -> dict:
        """The fields that define the experiment (roles "data" and "run"), for resume checks."""
        return self._key(("data", "run"))

    # ----- derived paths -----
    def _root(self, value: str, env: str, sub: str) -> Path:
        if value:
            return Path(value).expanduser().resolve()
        if os.environ.get(env):
            return Path(os.environ[env]).expanduser().resolve()
        return project_root() / sub

    @property
    def data_dir(self) -> Path:
        """Cache of this profile's dataset: train.npy, test.npy, manifest.csv."""
        return self._root(self.data_root, "COLORLIB_DATA", "data") / self.profile

    @property
    def run_dir(self) -> Path:
        """One training run: checkpoint.pt, history.csv, config.json."""
        return self._root(self.run_root, "COLORLIB_RUNS", "runs") / self.profile / run_name(self.generator, self.seed)

    @property
    def results_dir(self) -> Path:
        """Figures, tables and metrics of this profile."""
        return self._root(self.results_root, "COLORLIB_RESULTS", "results") / self.profile

    def resolve_device(self) -> str:
        """The torch device to run on. ``auto``: CUDA, else Apple's MPS (laptops), else the CPU."""
        import torch

        mps = getattr(torch.backends, "mps", None)
        available = {"cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available()), "cpu": True}
        if self.device == "auto":
            return next(kind for kind in ("cuda", "mps", "cpu") if available[kind])
        kind = self.device.split(":")[0]
        if not available.get(kind, False):
            raise ConfigError(
                f"device={self.device!r} is not available here; use device=auto (CUDA, then "
                f"MPS, then the CPU) or device=cpu"
            )
        return self.device


def _convert(key: str, value: str, hint) -> object:
    if hint == (bool | str) and value.lower() == "auto":  # compile: auto | a bool
        return "auto"
    if hint is bool or hint == (bool | str):
        low = value.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"override {key}={value!r}: expected true/false")
    if hint in (int, float):
        try:
            return hint(value)
        except ValueError:
            raise ConfigError(f"override {key}={value!r}: expected {hint.__name__}") from None
    if hint is dict or typing.get_origin(hint) is dict:
        try:
            parsed = json.loads(value)
        except ValueError as err:
            raise ConfigError(f"override {key}={value!r}: expected a JSON object ({err})") from None
        if not isinstance(parsed, dict):
            raise ConfigError(f'override {key}={value!r}: expected a JSON object like {{"k": 1}}')
        return parsed
    return value


# The named profiles: deltas from the defaults above.
PROFILES: dict[str, dict] = {
    # §5.1/§5.2 exactly: 8,000 COCO train2014 / 2,000 test2014 images, batch 16, 300 epochs
    # (150,000 iterations), Adam 2e-4 (0.5, 0.999), λ = 100, N(0, 0.02) — on a GPU.
    "paper": dict(
        source="coco",
        n_train=8000,
        n_test=2000,
        epochs=300,
        batch_size=16,
        require_pretrained=True,
        checkpoint_every=10,
        sample_every=10,
        device="cuda",
    ),
    # CPU demonstration on the photos bundled with scikit-image: make demo ≤ 15 minutes from a
    # fresh clone on the slower 2-core machines (15 epochs; 18 took 15 min 20 s there).
    # Test images: one held-out quadrant of each of the 8 photos (see colorlib.data.bundled).
    "demo": dict(source="bundled", n_train=64, n_test=8, epochs=15, batch_size=4, checkpoint_every=5, device="cpu"),
    # Tests and nbval: seconds on a CPU.
    "smoke": dict(source="bundled", n_train=4, n_test=2, epochs=1, batch_size=2, device="cpu", pretrained="none"),
}
