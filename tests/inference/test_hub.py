"""hubconf.py: ``torch.hub.load(<repo>, "unet_colorizer" | "resnet_colorizer", weights=…)`` returns a
ready Colorizer, from a local export or from a URL (a real HTTP server on 127.0.0.1) whose
sha256 is checked; torch.hub's cache is a temporary TORCH_HOME."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from colorlib.checkpoint import FORMAT, CheckpointError, atomic_save
from colorlib.config import Config
from colorlib.inference.colorizer import Colorizer, load_colorizer
from colorlib.inference.export import ExportError, export
from colorlib.models import build_generator

pytest.importorskip("safetensors")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """Exports of a random U-Net and ResNet generator saved in colorlib's checkpoint format."""
    root = tmp_path_factory.mktemp("hub")
    out = {}
    for gen in ("unet", "resnet"):
        torch.manual_seed(0)
        cfg = Config.from_profile("smoke", generator=gen)
        atomic_save(
            {
                "format": FORMAT,
                "generator": gen,
                "config": cfg.to_dict(),
                "epoch": 0,
                "G": build_generator(gen, pretrained=False).state_dict(),
                "encoder_init": "random: test",
            },
            root / f"{gen}.pt",
        )
        out[gen] = export(root / f"{gen}.pt", root / f"{gen}.safetensors")
    return out


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def _photo() -> Image.Image:
    return Image.fromarray(data.astronaut()[::4, ::4])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hub_load_local_gives_a_ready_colorizer(exported):
    """The acceptance test: torch.hub.load(<this repo>, "unet_colorizer", source="local", weights=…)."""
    colorizer = torch.hub.load(str(REPO), "unet_colorizer", source="local", weights=str(exported["unet"]))
    assert isinstance(colorizer, Colorizer) and colorizer.generator == "unet" and not colorizer.model.training
    out = colorizer.colorize(_photo())
    assert out.size == _photo().size
    assert np.array_equal(np.asarray(out), np.asarray(load_colorizer(exported["unet"]).colorize(_photo())))
    resnet = torch.hub.load(str(REPO), "resnet_colorizer", source="local", weights=exported["resnet"])
    assert resnet.generator == "resnet"


def test_hub_refuses_the_other_generator_and_missing_weights(exported):
    with pytest.raises(CheckpointError, match="'unet'.*'resnet'"):
        torch.hub.load(str(REPO), "resnet_colorizer", source="local", weights=str(exported["unet"]))
    with pytest.raises(ExportError, match="pass weights="):
        torch.hub.load(str(REPO), "unet_colorizer", source="local")


def test_hub_url_with_the_hash_in_its_name_is_downloaded_once(exported, hub_cache, http_server, tmp_path):
    src = exported["resnet"]
    served = tmp_path / "www"
    served.mkdir()
    name = f"resnet-{_sha(src)[:8]}.safetensors"
    shutil.copy(src, served / name)
    server = http_server(served)
    url = f"{server.url}/{name}"
    colorizer = torch.hub.load(str(REPO), "resnet_colorizer", source="local", weights=url, progress=False)
    assert colorizer.generator == "resnet" and (hub_cache / name).is_file()
    torch.hub.load(str(REPO), "resnet_colorizer", source="local", weights=url, progress=False)
    assert server.requests == [f"/{name}"]  # the second load used the verified cached file


def test_hub_url_hash_checks(exported, hub_cache, http_server, tmp_path, closed_port):
    src = exported["resnet"]
    served = tmp_path / "www"
    served.mkdir()
    shutil.copy(src, served / "resnet-0badc0de.safetensors")  # a name promising another file
    shutil.copy(src, served / "resnet.safetensors")  # a name with no hash in it
    base = http_server(served).url
    load = lambda url, **kw: torch.hub.load(
        str(REPO),
        "resnet_colorizer",
        source="local",  # noqa: E731
        weights=url,
        progress=False,
        **kw,
    )
    with pytest.raises(ExportError, match="does not match sha256 '0badc0de'"):
        load(f"{base}/resnet-0badc0de.safetensors")
    with pytest.raises(ExportError, match="does not match sha256 'ffffffff'"):
        load(f"{base}/resnet.safetensors", sha256="ffffffff")
    assert not hub_cache.exists() or not any(hub_cache.iterdir())  # nothing unverified left in the cache
    with pytest.raises(ExportError, match="nothing to check the download against"):
        load(f"{base}/resnet.safetensors")
    with pytest.raises(ExportError, match="download failed"):
        load(f"http://127.0.0.1:{closed_port}/resnet-{_sha(src)[:8]}.safetensors")
    assert load(f"{base}/resnet.safetensors", sha256=_sha(src)).generator == "resnet"  # the full hash
    with pytest.raises(ExportError, match="does not match"):
        load(str(src), sha256="0badc0de")  # a local path is checked too when a hash is given
