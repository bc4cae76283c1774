"""colorlib.models: the ImageNet ResNet-18 encoder weights (Appendix A.2), loaded from files
and a local HTTP server only — no internet — and how ``ResNetUNetGenerator`` uses them."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from colorlib.models import PretrainedWeightsError, ResNetUNetGenerator, build_generator, load_resnet18_imagenet


def _weights(module, kinds) -> torch.Tensor:
    return torch.cat([m.weight.detach().flatten() for m in module.modules() if isinstance(m, kinds)])


def _assert_encoder_is(model: ResNetUNetGenerator, state: dict) -> None:
    enc = model.encoder.state_dict()
    expected = {k: v for k, v in state.items() if not k.startswith("fc.")}
    assert enc.keys() == expected.keys()
    assert all(torch.equal(enc[k], expected[k]) for k in enc)


def test_pretrained_from_local_file_keeps_encoder_reinits_decoder(resnet18_weights):
    """(a) build_generator("resnet", pretrained=<file>): encoder = the file exactly (init_weights
    must not touch it), decoder = fresh N(0, 0.02) / N(1, 0.02)."""
    torch.manual_seed(0)
    g = build_generator("resnet", pretrained=str(resnet18_weights.path))
    _assert_encoder_is(g, resnet18_weights.state)
    w = _weights(g.decoder, nn.ConvTranspose2d)
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    bn = _weights(g.decoder, nn.BatchNorm2d)
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01) and bn.std().item() == pytest.approx(0.02, rel=0.25)
    assert torch.all(g.decoder.head[1].bias == 0)
    state = load_resnet18_imagenet(resnet18_weights.path)
    assert not any(k.startswith("fc.") for k in state) and "layer4.1.bn2.running_var" in state


def test_torch_hub_dir_follows_torch_home_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "a"))
    assert Path(torch.hub.get_dir()) == tmp_path / "a" / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "b"))
    assert Path(torch.hub.get_dir()) == tmp_path / "b" / "hub"


def test_pretrained_through_weights_api_from_local_server(resnet18_weights, http_server, monkeypatch, tmp_path):
    """(b) "imagenet" downloads through torch.hub (hash-checked: the served name carries the first
    8 hex digits of the file's sha256) into $TORCH_HOME/hub/checkpoints, then reuses that copy."""
    served = tmp_path / "www"
    served.mkdir()
    shutil.copy(resnet18_weights.path, served / resnet18_weights.path.name)
    server = http_server(served)
    monkeypatch.setenv("COLORLIB_RESNET18_URL", f"{server.url}/{resnet18_weights.path.name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    g = ResNetUNetGenerator(pretrained=True)
    _assert_encoder_is(g, resnet18_weights.state)
    cached = tmp_path / "torch" / "hub" / "checkpoints" / resnet18_weights.path.name
    assert cached.is_file() and server.requests == [f"/{resnet18_weights.path.name}"]
    server.stop()  # offline now: the cached copy is used
    _assert_encoder_is(build_generator("resnet", pretrained="imagenet"), resnet18_weights.state)


def test_hash_mismatch_is_refused(resnet18_weights, http_server, monkeypatch, tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    sha = hashlib.sha256(resnet18_weights.path.read_bytes()).hexdigest()
    wrong = "0" * 8 if sha[:8] != "0" * 8 else "1" * 8
    shutil.copy(resnet18_weights.path, served / f"resnet18-{wrong}.pth")
    server = http_server(served)
    monkeypatch.setenv("COLORLIB_RESNET18_URL", f"{server.url}/resnet18-{wrong}.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(PretrainedWeightsError):
        build_generator("resnet", pretrained="imagenet")
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / f"resnet18-{wrong}.pth").exists()


def test_unavailable_weights_raise_and_say_how(closed_port, monkeypatch, tmp_path):
    """(c) No server, nothing cached: an error saying where to put the file — never a silent
    random encoder."""
    name = "resnet18-f37072fd.pth"
    monkeypatch.setenv("COLORLIB_RESNET18_URL", f"http://127.0.0.1:{closed_port}/{name}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("colorlib.utils.download.time.sleep", lambda s: None)  # the retries, without their wait
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator("resnet", pretrained="imagenet")
    message = str(err.value)
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / name) in message
    assert "pretrained=" in message and "\n" not in message
    with pytest.raises(PretrainedWeightsError):
        ResNetUNetGenerator(pretrained=True)


def test_missing_or_corrupt_local_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(PretrainedWeightsError, match="nope.pth"):
        build_generator("resnet", pretrained=str(missing))
    corrupt = tmp_path / "resnet18-corrupt.pth"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator("resnet", pretrained=str(corrupt))
    assert str(corrupt) in str(err.value)
    not_a_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_a_dict)
    with pytest.raises(PretrainedWeightsError, match="list.pth"):
        build_generator("resnet", pretrained=str(not_a_dict))
