"""colorlib.checkpoint: atomic writes, safe (weights_only) loads, one-line errors naming the file."""

from __future__ import annotations

import os

import pytest
import torch

from colorlib.checkpoint import FORMAT, CheckpointError, atomic_save, load_checkpoint, load_generator
from colorlib.models import build_generator


class Boom:
    """Pickling this raises — a stand-in for a save that dies half-way through (after the
    temp file was created, before anything could be renamed over the target)."""

    def __reduce__(self):
        raise RuntimeError("boom while pickling")


class Payload:
    """An arbitrary Python object: a checkpoint holding one must be refused (weights_only)."""

    def __init__(self):
        self.x = 1


def _ckpt(**extra) -> dict:
    return {
        "format": FORMAT,
        "generator": "unet",
        "epoch": 3,
        "iteration": 1500,
        "G": {"w": torch.arange(6.0).view(2, 3)},
        "history": [{"epoch": 1, "loss": 0.5}],
        "rng": {"torch": torch.get_rng_state()},
        "config": {"lr": 2e-4, "flip": True},
        **extra,
    }


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _assert_one_line_naming(err: pytest.ExceptionInfo, path) -> None:
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message


def test_atomic_save_round_trip_and_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "dir" / "checkpoint.pt"  # parents are created
    assert atomic_save(_ckpt(), path) == path
    assert _listing(path.parent) == ["checkpoint.pt"]
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["history"] == [{"epoch": 1, "loss": 0.5}]
    assert torch.equal(loaded["G"]["w"], torch.arange(6.0).view(2, 3))
    assert torch.equal(loaded["rng"]["torch"], _ckpt()["rng"]["torch"])
    atomic_save(_ckpt(epoch=4), path)  # overwrite in place
    assert load_checkpoint(path)["epoch"] == 4
    assert _listing(path.parent) == ["checkpoint.pt"]


def test_interrupted_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_save(_ckpt(), path)
    before = path.read_bytes()
    big = torch.randn(256, 1024)
    with pytest.raises(RuntimeError, match="boom"):
        atomic_save({"format": FORMAT, "big": big, "zz": Boom()}, path)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["checkpoint.pt"]
    # Also when there was no old file: nothing at all is left behind.
    with pytest.raises(RuntimeError, match="boom"):
        atomic_save({"zz": Boom()}, tmp_path / "new.pt")
    assert _listing(tmp_path) == ["checkpoint.pt"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_one_line_naming(err, path)


def test_truncated_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_save(_ckpt(G={"w": torch.randn(64, 64)}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_one_line_naming(err, path)


def test_random_bytes(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_one_line_naming(err, path)


@pytest.mark.parametrize("obj", [{"a": torch.zeros(2)}, {"format": "other-format-9"}, [1, 2, 3]])
def test_torch_file_that_is_not_a_colorlib_checkpoint(tmp_path, obj):
    path = tmp_path / "weights.pt"
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="not a colorlib checkpoint") as err:
        load_checkpoint(path)
    _assert_one_line_naming(err, path)


def test_arbitrary_python_objects_are_refused(tmp_path):
    """``weights_only=True``: unpickling a custom class could run code, so it is refused even when
    everything else about the file is right."""
    path = tmp_path / "checkpoint.pt"
    torch.save(_ckpt(extra=Payload()), path)
    assert isinstance(torch.load(path, weights_only=False)["extra"], Payload)  # the file is fine
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    _assert_one_line_naming(err, path)


@pytest.fixture(scope="module")
def resnet_checkpoint(tmp_path_factory):
    """A checkpoint of a (random, no-download) ResNet generator, in train mode when saved."""
    torch.manual_seed(0)
    g = build_generator("resnet", pretrained=False)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    atomic_save({"format": FORMAT, "generator": "resnet", "G": g.state_dict(), "epoch": 1}, path)
    return path, g.state_dict()


def test_load_generator_round_trip(resnet_checkpoint):
    path, state = resnet_checkpoint
    model, ckpt = load_generator(path, expect="resnet")
    assert not model.training and all(not m.training for m in model.modules())
    assert type(model).__name__ == "ResNetUNetGenerator" and ckpt["epoch"] == 1
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    assert next(model.parameters()).device.type == "cpu"


def test_load_generator_expect_mismatch(resnet_checkpoint):
    path, _ = resnet_checkpoint
    with pytest.raises(CheckpointError, match="'resnet'.*'unet'") as err:
        load_generator(path, expect="unet")
    _assert_one_line_naming(err, path)


def test_load_generator_weights_that_do_not_fit(tmp_path):
    """A checkpoint whose G does not belong to the named generator, or names none we know."""
    path = tmp_path / "checkpoint.pt"
    atomic_save({"format": FORMAT, "generator": "resnet", "G": {"bogus.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="do not fit") as err:
        load_generator(path)
    _assert_one_line_naming(err, path)
    atomic_save({"format": FORMAT, "generator": "vgg", "G": {}}, path)
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    _assert_one_line_naming(err, path)


def test_atomic_files_get_normal_permissions(tmp_path):
    """Results and checkpoints are readable like any other file (0666 less the umask), not
    mkstemp's 0600; an exception inside the block leaves neither a file nor a temp file."""
    import os

    from colorlib.utils.files import atomic_file, atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "metrics.md", "x")
        atomic_save({"a": 1}, tmp_path / "c.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "metrics.md").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644
    with pytest.raises(ZeroDivisionError):
        with atomic_file(tmp_path / "never.txt") as f:
            f.write(b"half")
            1 / 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "metrics.md"]


def test_checkpoint_errors_are_one_short_line(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(CheckpointError, match=r"run: is a folder; pass the checkpoint.pt file"):
        load_checkpoint(tmp_path / "run")
    torch.save({"format": FORMAT, "x": Payload()}, tmp_path / "evil.pt")  # weights_only refuses it
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(tmp_path / "evil.pt")
    message = str(err.value)
    assert "\n" not in message and len(message) < 400 and str(tmp_path / "evil.pt") in message


def test_a_text_file_is_not_a_checkpoint(tmp_path):
    """torch raises a bare KeyError('105') for some non-PyTorch files: say which error it was."""
    (tmp_path / "notes.pt").write_text("hi\n")
    with pytest.raises(CheckpointError, match=r"notes\.pt: not a readable checkpoint .*: \w+Error"):
        load_checkpoint(tmp_path / "notes.pt")
