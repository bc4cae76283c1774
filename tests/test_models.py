"""colorlib.models: the three networks of §4.2 / Appendix A and their init (§5.2).

Parameter counts per layer (Figs. 10–13, 15) are in test_tables.py; the ImageNet encoder
weights in test_pretrained.py.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from colorlib.models import (
    PatchDiscriminator,
    ResNetUNetGenerator,
    UNetGenerator,
    at_test_time,
    build_generator,
    init_weights,
)


@pytest.fixture(scope="module")
def unet() -> UNetGenerator:
    torch.manual_seed(0)
    return build_generator("unet").eval()


@pytest.fixture(scope="module")
def resnet() -> ResNetUNetGenerator:
    torch.manual_seed(0)
    return build_generator("resnet", pretrained=False).eval()


@pytest.fixture(scope="module")
def disc() -> PatchDiscriminator:
    torch.manual_seed(0)
    return init_weights(PatchDiscriminator()).eval()


@pytest.fixture(scope="module")
def L256() -> torch.Tensor:
    """Normalized L of one 256×256 image: N×1×H×W in [−1, 1]."""
    return torch.rand(1, 1, 256, 256, generator=torch.Generator().manual_seed(1)) * 2 - 1


def _rand(*shape, seed=2) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ---------------------------------------------------------------- shapes (§4.2, App. A)

PIXEL = (133, 85)  # an output pixel (row, column) whose input gradient is examined


@pytest.fixture(scope="module")
def unet_run(unet, L256) -> tuple[torch.Tensor, torch.Tensor]:
    """One eval-mode forward + backward of the U-Net on ``L256``, shared by several tests:
    (ab output 1×2×256×256, |d ab[PIXEL] / d L| 256×256)."""
    x = L256.clone().requires_grad_(True)
    ab = unet(x)
    ab[0, :, PIXEL[0], PIXEL[1]].sum().backward()
    unet.zero_grad(set_to_none=True)
    return ab.detach(), x.grad[0, 0].abs()


@pytest.fixture(scope="module")
def unet_ab(unet_run) -> torch.Tensor:
    return unet_run[0]


def test_unet_output_shape_and_range(unet_ab):
    ab = unet_ab
    assert ab.shape == (1, 2, 256, 256) and ab.dtype == torch.float32
    assert ab.abs().max() <= 1 and ab.std() > 0


def test_resnet_output_shape_and_range(resnet, L256):
    with torch.no_grad():
        ab = resnet(L256)
        assert resnet(_rand(1, 1, 224, 224)).shape == (1, 2, 224, 224)  # multiples of 32 work
        assert resnet(_rand(2, 1, 64, 96)).shape == (2, 2, 64, 96)
    assert ab.shape == (1, 2, 256, 256) and ab.abs().max() <= 1 and ab.std() > 0


def test_discriminator_patch_map(disc):
    """A.3: 256×256 Lab → 30×30 logits (each a 70×70 patch). Fig. 15 prints 16×16 for the last
    C512 layer: an erratum — that conv has stride 1 (31×31 here), see test_tables.py."""
    with torch.no_grad():
        assert disc(_rand(2, 3, 256, 256)).shape == (2, 1, 30, 30)
        c512 = disc.model[:-1](_rand(1, 3, 256, 256))
        assert c512.shape == (1, 512, 31, 31)
        assert disc(_rand(1, 3, 128, 128)).shape == (1, 1, 14, 14)  # H/8 − 2
    strides = [m.stride for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2), (2, 2), (2, 2), (1, 1), (1, 1)]
    with pytest.raises(ValueError, match="Lab"):
        disc(torch.zeros(1, 1, 64, 64))


# ---------------------------------------------------------------- layers (§4.2, A.1–A.3)


def test_dropout_half_in_the_first_three_unet_decoder_blocks_only(unet, resnet, disc):
    drops = {name: m.p for name, m in unet.named_modules() if isinstance(m, nn.Dropout)}
    assert drops == {"decoder.blocks.0.3": 0.5, "decoder.blocks.1.3": 0.5, "decoder.blocks.2.3": 0.5}
    assert not any(isinstance(m, nn.Dropout) for m in resnet.modules())
    assert not any(isinstance(m, nn.Dropout) for m in disc.modules())


def test_activations(unet, resnet, disc):
    """LeakyReLU 0.2 in the U-Net encoder and the discriminator; plain ReLU in both decoders
    (and in the ResNet encoder, A.2); Tanh at both generators' outputs (Eq. 10)."""

    def kinds(module):
        return [m for m in module.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid))]

    enc = kinds(unet.encoder)
    assert len(enc) == 7 and all(type(m) is nn.LeakyReLU and m.negative_slope == 0.2 for m in enc)
    d = kinds(disc)
    assert len(d) == 4 and all(type(m) is nn.LeakyReLU and m.negative_slope == 0.2 for m in d)
    for decoder, n in ((unet.decoder, 8), (resnet.decoder, 5)):
        acts = kinds(decoder)
        assert [type(m) for m in acts] == [nn.ReLU] * n + [nn.Tanh]
        assert list(decoder.modules())[-1] is acts[-1]  # Tanh is the very last layer
    assert all(type(m) is nn.ReLU for m in kinds(resnet.encoder))
    # the discriminator ends in a conv: it returns logits, the sigmoid lives in the BCE (§4.3)
    assert isinstance(disc.model[-1], nn.Conv2d)


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "shape", [(1, 1, 255, 256), (1, 1, 300, 300), (1, 1, 128, 128), (1, 3, 256, 256), (1, 256, 256), (1, 1, 0, 256)]
)
def test_unet_rejects_bad_inputs(unet, shape):
    with pytest.raises(ValueError, match=r"UNetGenerator .*(multiples of 256|\(N, 1, H, W\))") as err:
        unet(torch.zeros(shape))
    assert "\n" not in str(err.value)


def test_unet_error_says_which_sizes_work(unet):
    with pytest.raises(ValueError, match=r"multiples of 256.*got 300×300"):
        unet(torch.zeros(1, 1, 300, 300))


@pytest.mark.parametrize("shape", [(1, 1, 250, 250), (1, 1, 224, 200), (1, 3, 224, 224), (224, 224)])
def test_resnet_rejects_bad_inputs(resnet, shape):
    with pytest.raises(ValueError, match=r"ResNetUNetGenerator .*(multiples of 32|\(N, 1, H, W\))"):
        resnet(torch.zeros(shape))


def test_build_generator_unknown_name():
    with pytest.raises(ValueError, match="vgg.*unet, resnet"):
        build_generator("vgg")


# ---------------------------------------------------------------- wiring


def test_resnet_sees_l_replicated_three_times(resnet):
    """Eq. 12: the ResNet-18 encoder takes L ⊕ L ⊕ L (as conv1's weights summed over RGB: the
    same maths to float rounding)."""
    L = _rand(2, 1, 64, 64)
    with torch.no_grad():
        direct = resnet.decoder(resnet.encoder(L.repeat(1, 3, 1, 1)))
        assert (resnet(L) - direct).norm() <= 1e-5 * direct.norm()
        other = resnet.decoder(resnet.encoder(torch.cat([L, torch.zeros_like(L), L], 1)))
        assert not torch.allclose(resnet(L), other)  # so the check above can tell a difference


def _share(grad: torch.Tensor, pixel: tuple[int, int], r: int) -> float:
    """Fraction of the input-gradient mass within the 2r×2r window around ``pixel``."""
    i, j = pixel
    return (grad[i - r : i + r, j - r : j + r].sum() / grad.sum()).item()


def test_unet_skip_connections(unet_run):
    """Skip i → layer n − i (A.1): an output pixel depends most on the input pixels right under
    it, through the 128² skip into the last layer, and — through the 1×1 bottleneck — on every
    input pixel. (Measured: the 4×4 window holds ≈ 20 % of the gradient, 2.5 % with the 128²
    skip zeroed, 0.03 % with all skips zeroed.)"""
    _, grad = unet_run
    gi, gj = divmod(grad.argmax().item(), grad.shape[1])
    assert abs(gi - PIXEL[0]) <= 2 and abs(gj - PIXEL[1]) <= 2
    assert _share(grad, PIXEL, 2) > 0.1
    assert _share(grad, PIXEL, 8) > 0.3
    assert (grad > 0).float().mean() > 0.99


def test_resnet_skip_connections(resnet):
    """A.2: same for the ResNet generator (skips at H/2 … H/16). Measured: the 8×8 window holds
    ≈ 21 % of the gradient, 8 % with the H/2 skip zeroed."""
    x = _rand(1, 1, 64, 64, seed=3).requires_grad_(True)
    resnet(x)[0, :, 37, 21].sum().backward()
    resnet.zero_grad(set_to_none=True)
    assert _share(x.grad[0, 0].abs(), (37, 21), 4) > 0.14


def test_eval_is_deterministic_train_dropout_is_random(unet, L256, unet_ab):
    """§4.2: dropout is the noise z of the cGAN — random in train mode, off in eval mode."""
    with torch.no_grad():
        assert torch.equal(unet(L256), unet_ab)
        net = copy.deepcopy(unet).train()  # (train-mode BatchNorm would move the shared stats)
        torch.manual_seed(10)
        a = net(L256)
        torch.manual_seed(11)
        b = net(L256)
        torch.manual_seed(10)
        c = net(L256)
    assert not torch.allclose(a, b) and torch.equal(a, c)


def test_at_test_time_turns_only_dropout_back_on(unet):
    """§4.2 at test time: BatchNorm always uses its running statistics; Dropout only when asked."""
    net = copy.deepcopy(unet).train()
    assert at_test_time(net) is net and not any(m.training for m in net.modules())
    at_test_time(net, dropout=True)
    assert all(m.training == isinstance(m, nn.Dropout) for m in net.modules())


# ---------------------------------------------------------------- init (§5.2)


def _weights(module, kinds) -> torch.Tensor:
    return torch.cat([m.weight.detach().flatten() for m in module.modules() if isinstance(m, kinds)])


def test_init_weights_statistics(unet):
    """Conv / transposed-conv weights ~ N(0, 0.02), biases 0; BatchNorm weight ~ N(1, 0.02), bias 0."""
    convs = [m for m in unet.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = _weights(unet, (nn.Conv2d, nn.ConvTranspose2d))
    assert abs(w.mean().item()) < 1e-4 and w.std().item() == pytest.approx(0.02, rel=0.01)
    for m in convs:  # every layer, not just the pooled weights (PyTorch's default would differ per layer)
        if m.weight.numel() >= 4096:
            assert m.weight.std().item() == pytest.approx(0.02, rel=0.1)
    biases = [m.bias for m in convs if m.bias is not None]
    assert len(biases) == 2 and all(torch.all(b == 0) for b in biases)  # innermost conv and the head
    bn = [m for m in unet.modules() if isinstance(m, nn.BatchNorm2d)]
    g = torch.cat([m.weight.detach() for m in bn])
    assert g.mean().item() == pytest.approx(1.0, abs=2e-3) and g.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.all(m.bias == 0) for m in bn)


def test_init_weights_honours_std():
    d = init_weights(PatchDiscriminator(), std=0.05)
    assert _weights(d, nn.Conv2d).std().item() == pytest.approx(0.05, rel=0.02)
    assert torch.all(d.model[0].bias == 0) and torch.all(d.model[-1].bias == 0)
