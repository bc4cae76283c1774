"""Shared pytest fixtures: generated data and real local services, never mocks of colorlib.

- ``clean_colorlib_env``   removes every ``COLORLIB_*`` variable (and ``TORCH_HOME``) for one test.
- ``http_server``          factory: serve a folder over HTTP on 127.0.0.1 (a real server, a thread).
- ``closed_port``          a 127.0.0.1 port nobody listens on (connections are refused at once).
- ``fit(cfg)``               train on cfg's prepared data (``train(cfg, training_data(cfg))``).
- ``save_generator_checkpoint`` a checkpoint holding only a generator (as evaluate/colorize read).
- ``resnet18_weights``     a random torchvision ``resnet18().state_dict()`` saved under the name
                           torch.hub expects (``resnet18-<first 8 hex of sha256>.pth``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch


def pytest_collection_modifyitems(items) -> None:
    """The tests marked ``slow`` run first: under ``make test``'s workers (pytest-xdist) the
    long ones start at once instead of holding up the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def interruptible() -> None:
    """``preexec_fn`` for a child that a test interrupts with SIGINT: a shell that starts
    ``make test`` in the background (``make test &``) makes its children ignore SIGINT, and
    Python then never raises KeyboardInterrupt; restore the default before the child starts."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "256k", readonly: bool = False):
    """A real tmpfs of ``size`` mounted at ``where`` (created) for the block; skips the test
    where mounting is impossible (not root, no CAP_SYS_ADMIN, no ``mount``)."""
    where.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "colorlib-test", str(where)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot mount a tmpfs: {err}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)  # busy: detach it


def fit(cfg, **kwargs):
    """``colorlib.train.train`` on ``cfg``'s own prepared data, as the CLI and the notebooks call it."""
    from colorlib.data.batches import training_data
    from colorlib.train import train

    return train(cfg, training_data(cfg), **kwargs)


def assert_bf16_agrees_with_fp32(
    make_cfg, images: torch.Tensor, flips: torch.Tensor, device: torch.device, **fast
) -> None:
    """The fast path (bf16 autocast + channels-last, or ``fast``: e.g. ``compile=True``) against
    plain fp32, from the same weights on the same uint8 batch, relative to scale: G's train-mode
    pre-tanh output and the cosine of D's and G's gradients (``tests/fastpath.py``; shown to fail
    against broken paths in ``tests/test_fastpath.py``). ``make_cfg(amp=, channels_last=, ...)``."""
    from fastpath import fast_path_agrees

    agreement = fast_path_agrees(
        make_cfg, images, flips, device, {"amp": "bf16", "channels_last": "on", "compile": False, **fast}
    )
    assert agreement, str(agreement)


@pytest.fixture
def clean_colorlib_env(monkeypatch):
    """No ``COLORLIB_*`` / ``TORCH_HOME`` from the caller's shell leaks into the test."""
    for key in list(os.environ):
        if key.startswith("COLORLIB_") or key == "TORCH_HOME":
            monkeypatch.delenv(key, raising=False)
    return monkeypatch


@dataclass
class LocalServer:
    """A running ``http.server`` on 127.0.0.1 serving ``root``."""

    root: Path
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread
    requests: list

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    log = None  # set per server: a list collecting the request paths

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.log is not None:
            self.log.append(self.path)
        super().do_GET()


@pytest.fixture
def http_server():
    """``start(folder) -> LocalServer``: serve ``folder`` on 127.0.0.1; stopped after the test."""
    servers: list[LocalServer] = []

    def start(root: str | os.PathLike) -> LocalServer:
        log: list[str] = []
        handler = type("Handler", (_QuietHandler,), {"log": log})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        s = LocalServer(Path(root), server, thread, log)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class WeightsFile:
    path: Path  # .../resnet18-<sha8>.pth
    state: dict  # the state dict saved in it (with fc.*)


@pytest.fixture(scope="session")
def resnet18_weights(tmp_path_factory) -> WeightsFile:
    """A *random* ResNet-18 state dict (no download), every float tensor perturbed so that no
    value equals a default initialization (BatchNorm weights are not 1, running stats not 0/1)."""
    from torchvision.models import resnet18

    gen = torch.Generator().manual_seed(1234)
    state = resnet18(weights=None).state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            state[key] = value + 0.1 * torch.randn(value.shape, generator=gen).abs()
    folder = tmp_path_factory.mktemp("resnet18")
    tmp = folder / "weights.tmp"
    torch.save(state, tmp)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"resnet18-{sha[:8]}.pth"
    tmp.rename(path)
    return WeightsFile(path, state)


def save_generator_checkpoint(path: Path, model, generator: str, config, epoch: int = 1, **extra) -> Path:
    """A colorlib checkpoint that holds only a generator (what evaluate, colorize and export
    read): ``model``'s weights, ``config`` (a Config), ``epoch`` = ``iteration``, plus ``extra``."""
    from colorlib.checkpoint import FORMAT, atomic_save

    record = {"format": FORMAT, "generator": generator, "G": model.state_dict(), "config": config.to_dict()}
    atomic_save({**record, "epoch": epoch, "iteration": epoch, **extra}, path)
    return path


@pytest.fixture(scope="session")
def unet_checkpoint(tmp_path_factory):
    """An untrained U-Net saved as a colorlib checkpoint (seed 0): (path, the model in eval mode)."""
    from colorlib.config import Config
    from colorlib.models import build_generator

    torch.manual_seed(0)
    model = build_generator("unet")
    path = tmp_path_factory.mktemp("unet") / "checkpoint.pt"
    save_generator_checkpoint(path, model, "unet", Config.from_profile("smoke"), epoch=0)
    return path, model.eval()
