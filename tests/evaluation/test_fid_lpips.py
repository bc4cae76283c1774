"""FID (pytorch-fid) and LPIPS (lpips) plumbing, with locally created weights of the right
architecture under the file names the packages look for, against the packages' own reference
computations on the same inputs. Nothing is downloaded: TORCH_HOME is a temporary folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data, transform

from colorlib.evaluation import perceptual

pytest.importorskip("pytorch_fid")
pytest.importorskip("lpips")


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    return tmp_path / "torch" / "hub" / "checkpoints"


def _random_fid_inception_state() -> dict:
    """pytorch_fid.inception.fid_inception_v3's network with random weights (its load left out)."""
    from pytorch_fid import inception as pf

    torch.manual_seed(0)
    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    for name, block, args in [
        ("Mixed_5b", pf.FIDInceptionA, (192, 32)),
        ("Mixed_5c", pf.FIDInceptionA, (256, 64)),
        ("Mixed_5d", pf.FIDInceptionA, (288, 64)),
        ("Mixed_6b", pf.FIDInceptionC, (768, 128)),
        ("Mixed_6c", pf.FIDInceptionC, (768, 160)),
        ("Mixed_6d", pf.FIDInceptionC, (768, 160)),
        ("Mixed_6e", pf.FIDInceptionC, (768, 192)),
        ("Mixed_7b", pf.FIDInceptionE_1, (1280,)),
        ("Mixed_7c", pf.FIDInceptionE_2, (2048,)),
    ]:
        setattr(net, name, block(*args))
    return net.state_dict()


def _images(n: int, size: int, seed: int) -> np.ndarray:
    """n uint8 RGB crops of skimage's astronaut, size×size, with a per-image colour shift."""
    rng = np.random.default_rng(seed)
    photo = (transform.resize(data.astronaut(), (128, 128), anti_aliasing=True) * 255).astype(np.int16)
    out = []
    for _ in range(n):
        y, x = rng.integers(0, 128 - size, 2)
        out.append(np.clip(photo[y : y + size, x : x + size] + rng.integers(-40, 40, 3), 0, 255))
    return np.stack(out).astype(np.uint8)


def _write_pngs(images: np.ndarray, folder) -> None:
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:03d}.png")


def test_fid_weights_are_pytorch_fids_and_missing_ones_are_named(torch_home):
    from pytorch_fid.inception import FID_WEIGHTS_URL

    assert perceptual.FID_WEIGHTS_URL == FID_WEIGHTS_URL
    assert perceptual.inception_weights_path() == torch_home / "pt_inception-2015-12-05-6726825d.pth"
    reason = perceptual.fid_unavailable()
    assert "pt_inception-2015-12-05-6726825d.pth missing" in reason and str(torch_home) in reason
    assert FID_WEIGHTS_URL in reason and "\n" not in reason
    assert "not on disk" in perceptual.fid_source()


def test_a_weights_file_that_is_not_a_state_dict_is_refused(torch_home):
    """pytorch-fid reads the file with weights_only=False; we check it first with weights_only=True."""
    torch.save({"x": Image.new("RGB", (1, 1))}, perceptual.inception_weights_path())
    reason = perceptual.fid_unavailable()
    assert reason is not None and "not a plain state dict" in reason


@pytest.mark.parametrize("dims", [64, 2048])
def test_fid_features_match_pytorch_fids_own_loader(torch_home, tmp_path, dims):
    """Our features of arrays in memory equal pytorch-fid's get_activations of the same images as
    PNG files (its loader, its network, from the file it looks for); 2048-d pool3 is the standard."""
    from pytorch_fid.fid_score import get_activations

    torch.save(_random_fid_inception_state(), perceptual.inception_weights_path())
    assert perceptual.fid_unavailable() is None
    assert "NOT the published file" in perceptual.fid_source()  # random weights are not the TF ones
    net = perceptual.inception_net("cpu", dims)
    images = _images(4, 48, seed=3)
    _write_pngs(images, tmp_path / "imgs")
    ref = get_activations(
        sorted((tmp_path / "imgs").glob("*.png")), net, batch_size=16, dims=dims, device="cpu", num_workers=0
    )
    ours = perceptual.inception_features(images, net)
    assert ours.shape == (4, dims) and np.abs(ours).max() > 0
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)
    if dims == 64:  # fid() is these features through fid_from_features
        assert perceptual.fid(images[:2], images[2:], net=net) == perceptual.fid_from_features(ours[:2], ours[2:])


@pytest.mark.filterwarnings("ignore:The `disp` argument:DeprecationWarning")  # inside pytorch-fid
def test_frechet_distance_matches_pytorch_fid():
    """The closed form equals calculate_frechet_distance on the same (well-conditioned) features."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    f1 = rng.normal(size=(300, 32)).astype(np.float32)
    f2 = (rng.normal(0.5, 1.5, size=(250, 32)) @ rng.normal(size=(32, 32))).astype(np.float32)
    stats = [(f.astype(np.float64).mean(0), np.cov(f, rowvar=False)) for f in (f1, f2)]
    expected = calculate_frechet_distance(*stats[0], *stats[1])
    assert expected > 1 and perceptual.fid_from_features(f1, f2) == pytest.approx(expected, rel=1e-6)


@pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")  # inside lpips
def test_lpips_with_local_weights_matches_the_lpips_package(torch_home):
    import lpips
    from torchvision.models import AlexNet_Weights, alexnet

    assert AlexNet_Weights.IMAGENET1K_V1.url == perceptual.ALEXNET_URL  # the file lpips makes torchvision load
    reason = perceptual.lpips_unavailable()
    assert f"{perceptual.ALEXNET_WEIGHTS} missing" in reason and str(torch_home) in reason and "\n" not in reason
    torch.manual_seed(0)
    torch.save(alexnet(weights=None).state_dict(), torch_home / perceptual.ALEXNET_WEIGHTS)
    assert perceptual.lpips_unavailable() is None
    assert "NOT the published file" in perceptual.lpips_source() and "v0.1" in perceptual.lpips_source()
    pred, true = _images(3, 64, seed=4), _images(3, 64, seed=5)
    ours = perceptual.lpips_distance(pred, true, perceptual.lpips_net())
    ref_net = lpips.LPIPS(net="alex", version="0.1", verbose=False)
    with torch.no_grad():  # the package's own preprocessing: lpips.im2tensor scales uint8 to [−1, 1]
        ref = [ref_net(lpips.im2tensor(p), lpips.im2tensor(t)).item() for p, t in zip(pred, true)]
    assert ours.shape == (3,) and min(ours) > 0
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_missing_packages_are_named_with_their_extra(monkeypatch):
    real = perceptual.importlib.util.find_spec
    monkeypatch.setattr(
        perceptual.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pytorch_fid", "lpips") else real(name, *a),
    )
    assert perceptual.fid_unavailable() == "the 'pytorch_fid' package is not installed (pip install 'colorlib[fid]')"
    assert perceptual.lpips_unavailable() == "the 'lpips' package is not installed (pip install 'colorlib[lpips]')"
    assert "(not installed)" in perceptual.fid_source() and "(not installed)" in perceptual.lpips_source()
