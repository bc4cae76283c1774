"""The paper's three networks, to the parameter (§4.2, Appendix A, Figs. 10–15).

- ``UNetGenerator``        pix2pix U-Net, trained from scratch (A.1, Figs. 10/11), 54,410,370 params.
- ``ResNetUNetGenerator``  U-Net decoder on a torchvision ResNet-18 encoder (A.2, Figs. 12/13),
                           14,720,578 params.
- ``PatchDiscriminator``   70×70 PatchGAN on the 3-channel Lab image (A.3, Figs. 14/15), 2,765,633.

Generators take normalized L (N×1×H×W in [−1, 1]) and return normalized ab (N×2×H×W, Tanh).
The discriminator returns *logits* (N×1×H/8−2×W/8−2); D(x) of the paper is ``sigmoid(logits)``,
and the losses use the numerically stable BCE-with-logits, which is the same function (§4.3).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import torch
from torch import Tensor, nn

from colorlib.config import ABLATIONS, GENERATORS
from colorlib.utils.download import fetch_hashed, hash_in_name
from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import DiskFullError, shown

__all__ = [
    "UNetGenerator",
    "ResNetUNetGenerator",
    "PatchDiscriminator",
    "init_weights",
    "build_generator",
    "at_test_time",
    "PretrainedWeightsError",
    "load_resnet18_imagenet",
]


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    """Encoder block: LeakyReLU(0.2) → Conv 4×4/2 (no bias before BatchNorm) → BatchNorm."""
    layers: list[nn.Module] = [nn.LeakyReLU(0.2), nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, dropout: float = 0.0) -> nn.Sequential:
    """Decoder block Ck / CDk: ReLU → ConvTranspose 4×4/2 (no bias) → BatchNorm [→ Dropout]."""
    layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _head(cin: int, cout: int = 2) -> nn.Sequential:
    """Output: ReLU → ConvTranspose 4×4/2 (with bias) → Tanh, so ab ∈ [−1, 1] (§4.2, Eq. 10)."""
    return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.Tanh())


def _check_input(x: Tensor, owner: str, multiple: int) -> None:
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"{owner} takes normalized L of shape (N, 1, H, W); got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h % multiple or w % multiple or h == 0 or w == 0:
        raise ValueError(
            f"{owner} needs H and W to be multiples of {multiple} (e.g. {multiple}, {2 * multiple}, 256); got {h}×{w}"
        )


class UNetEncoder(nn.Module):
    """Fig. 10: C64 (no BatchNorm) - C128 - C256 - C512 ×5; LeakyReLU 0.2 throughout.

    The innermost 512→512 conv has a bias (no BatchNorm follows it): 4,194,816 params in Fig. 10.
    Fig. 10 lists no LeakyReLU before that conv; pix2pix and §A.1 ("Leaky ReLUs ... in all
    encoder layers") have one, and so do we (it has no parameters, so the counts are unchanged).
    """

    def __init__(self, in_channels: int = 1, ngf: int = 64):
        super().__init__()
        widths = [ngf, ngf * 2, ngf * 4, ngf * 8, ngf * 8, ngf * 8, ngf * 8]
        self.first = nn.Conv2d(in_channels, ngf, 4, 2, 1, bias=False)
        self.blocks = nn.ModuleList(_down(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.innermost = _down(ngf * 8, ngf * 8, norm=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = [self.first(x)]
        for block in self.blocks:
            feats.append(block(feats[-1]))
        feats.append(self.innermost(feats[-1]))
        return feats  # 8 maps: 128², 64², ..., 2², and the 1×1 bottleneck


class UNetDecoder(nn.Module):
    """Fig. 11: CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128 (pix2pix notation: the width
    *after* concatenating the skip), then ConvTranspose → 2 channels → Tanh. Dropout 0.5 in the
    first three blocks (§4.2). Skip i of the encoder is concatenated to decoder layer n − i."""

    def __init__(self, out_channels: int = 2, ngf: int = 64, dropout: float = 0.5):
        super().__init__()
        c = ngf
        spec = [
            (c * 8, c * 8, dropout),
            (c * 16, c * 8, dropout),
            (c * 16, c * 8, dropout),
            (c * 16, c * 8, 0.0),
            (c * 16, c * 4, 0.0),
            (c * 8, c * 2, 0.0),
            (c * 4, c, 0.0),
        ]
        self.blocks = nn.ModuleList(_up(cin, cout, p) for cin, cout, p in spec)
        self.head = _head(c * 2, out_channels)

    def forward(self, feats: list[Tensor]) -> Tensor:
        skips = feats[:-1][::-1]  # 2², 4², ..., 128²
        x = self.blocks[0](feats[-1])
        for block, skip in zip(self.blocks[1:], skips):
            x = block(torch.cat([x, skip], dim=1))
        return self.head(torch.cat([x, skips[-1]], dim=1))


class UNetGenerator(nn.Module):
    """pix2pix U-Net generator (Appendix A.1): L (N×1×H×W, H, W multiples of 256) → ab (N×2×H×W)."""

    input_multiple = 256

    def __init__(self, ngf: int = 64, dropout: float = 0.5):
        super().__init__()
        self.encoder = UNetEncoder(1, ngf)
        self.decoder = UNetDecoder(2, ngf, dropout)

    def forward(self, L: Tensor) -> Tensor:
        _check_input(L, type(self).__name__, self.input_multiple)
        return self.decoder(self.encoder(L))


class ResNet18Encoder(nn.Module):
    """Fig. 12: torchvision's ResNet-18 without avgpool and fc (11,176,512 params).

    Attribute names equal torchvision's, so its state dict (minus ``fc.*``) loads strictly.
    Returns the skips used by the decoder: relu(bn1(conv1)) 64@H/2, layer1 64@H/4,
    layer2 128@H/8, layer3 256@H/16 and the bottleneck layer4 512@H/32.
    """

    def __init__(self):
        super().__init__()
        # Imported here, not at the top: the U-Net needs no torchvision, so colorizing with it
        # does not load torchvision (≈ 0.2 GB of resident memory; tests/inference/test_colorize_memory.py).
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            setattr(self, name, getattr(net, name))

    def forward(self, x: Tensor) -> list[Tensor]:
        x0 = self.relu(self.bn1(self._conv1(x)))
        x1 = self.layer1(self.maxpool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        return [x0, x1, x2, x3, self.layer4(x3)]

    def _conv1(self, x: Tensor) -> Tensor:
        """conv1 of an RGB input, or of one channel L standing for L ⊕ L ⊕ L (Eq. 12): conv1 is
        linear, so that is L through conv1's weights summed over their 3 input channels — the
        same maths without materializing (or differentiating through) the 3× replica."""
        if x.shape[1] != 1:
            return self.conv1(x)
        c = self.conv1
        return nn.functional.conv2d(x, c.weight.sum(1, keepdim=True), c.bias, c.stride, c.padding, c.dilation, c.groups)


class ResNetDecoder(nn.Module):
    """Fig. 13: C256-C512-C256-C128-C128 (widths after the skip concatenation), then
    ConvTranspose → 2 channels → Tanh; plain ReLUs (A.2)."""

    def __init__(self, out_channels: int = 2):
        super().__init__()
        spec = [(512, 256), (512, 128), (256, 64), (128, 64)]
        self.blocks = nn.ModuleList(_up(cin, cout) for cin, cout in spec)
        self.head = _head(128, out_channels)

    def forward(self, feats: list[Tensor]) -> Tensor:
        skips = feats[:-1][::-1]  # layer3, layer2, layer1, relu(conv1)
        x = self.blocks[0](feats[-1])
        for block, skip in zip(self.blocks[1:], skips):
            x = block(torch.cat([x, skip], dim=1))
        return self.head(torch.cat([x, skips[-1]], dim=1))


class ResNetUNetGenerator(nn.Module):
    """U-Net with an ImageNet ResNet-18 encoder (Appendix A.2): L → ab, H, W multiples of 32.

    ``pretrained``: ``True``/``"imagenet"`` loads ``ResNet18_Weights.IMAGENET1K_V1``; a path loads
    that file (:func:`load_resnet18_imagenet`); ``False``/``"none"`` leaves
    the encoder random (for loading a trained checkpoint).
    """

    input_multiple = 32

    def __init__(self, pretrained: bool | str | os.PathLike = True):
        super().__init__()
        self.encoder = ResNet18Encoder()
        self.decoder = ResNetDecoder()
        if pretrained is True:
            pretrained = "imagenet"
        if pretrained not in (False, None, "none", ""):
            self.encoder.load_state_dict(load_resnet18_imagenet(pretrained), strict=True)

    def forward(self, L: Tensor) -> Tensor:
        _check_input(L, type(self).__name__, self.input_multiple)
        return self.decoder(self.encoder(L))  # Eq. 12: L ⊕ L ⊕ L, as conv1's summed weights (ResNet18Encoder._conv1)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (A.3, Fig. 15): C64 (no BatchNorm) - C128 - C256 - C512 → 1, LeakyReLU 0.2.

    The first three convs have stride 2; C512 and the output conv have stride 1 (as pix2pix's
    ``n_layers=3``), which is what makes the receptive field 70×70. So for a 256×256 input the
    C512 output is 31×31 and the patch map is 30×30. Fig. 15 prints 16×16 for C512: an erratum
    (a 16×16 map could not give 30×30 after a 4×4/1 conv); its parameter counts are ours.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 8, 1, 4, 1, 1),
        )

    def forward(self, lab: Tensor) -> Tensor:
        if lab.ndim != 4 or lab.shape[1] != 3:
            raise ValueError(f"PatchDiscriminator takes normalized Lab (N, 3, H, W); got {tuple(lab.shape)}")
        return self.model(lab)


def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """§5.2: conv and transposed-conv weights ~ N(0, std), biases 0.

    BatchNorm: weight ~ N(1, std), bias 0 (pix2pix's "normal" init). N(0, 0.02) for the BN scale,
    read literally, would multiply every normalized activation by ≈0.02 and all but silence the
    network at the start; centring the scale at 1 keeps BN an identity map plus the same noise.
    Apply it to what is trained from scratch: the whole U-Net and discriminator, and only
    ``decoder`` of the ResNet generator (its encoder keeps the ImageNet weights).
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def at_test_time(model: nn.Module, dropout: bool = False) -> nn.Module:
    """Put a generator in test mode: ``model.eval()`` (BatchNorm uses its running statistics),
    and with ``dropout=True`` its Dropout layers switched back on — the paper's test-time noise
    (§4.2, as pix2pix). The one place evaluate and colorize set this; returns ``model``."""
    model.eval()
    if dropout:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
    return model


# "unet-small": ngf 33 instead of 64 gives 14,469,908 parameters, the closest to the ResNet
# generator's 14,720,578 (ngf 32: 13,606,466; 34: 15,359,910).
UNET_SMALL_NGF = 33


def build_generator(name: str, pretrained: bool | str = False, init_std: float | None = 0.02) -> nn.Module:
    """The generator called ``name`` ("unet" or "resnet"), initialized as in §5.2."""
    if name == "unet":
        net: nn.Module = UNetGenerator()
        return init_weights(net, init_std) if init_std else net
    if name == "resnet":
        net = ResNetUNetGenerator(pretrained=pretrained)
        if init_std:
            init_weights(net.decoder, init_std)
        return net
    if name == "unet-small":  # the U-Net cut in width to about the ResNet's size (§7's size hypothesis)
        net = UNetGenerator(ngf=UNET_SMALL_NGF)
        return init_weights(net, init_std) if init_std else net
    if name == "resnet-random":  # the ResNet generator from a random encoder (torchvision's init; pretrained=none)
        return build_generator("resnet", pretrained=False, init_std=init_std)
    raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS + ABLATIONS)}")


# ----------------------------------------------------------------------------- ImageNet weights (A.2)
class PretrainedWeightsError(ColorlibError, RuntimeError):
    """The ImageNet weights for the ResNet-18 encoder could not be had."""


def _imagenet_url() -> str:
    """torchvision's ResNet18_Weights.IMAGENET1K_V1 (imported here: the U-Net needs no torchvision)."""
    from torchvision.models import ResNet18_Weights

    return ResNet18_Weights.IMAGENET1K_V1.url


def _resnet18_url() -> str:
    # COLORLIB_RESNET18_URL points at a mirror (file name must keep torchvision's hash prefix).
    return os.environ.get("COLORLIB_RESNET18_URL") or _imagenet_url()


def load_resnet18_imagenet(source: str | os.PathLike = "imagenet") -> dict[str, Tensor]:
    """The ImageNet-1k ResNet-18 state dict (torchvision's IMAGENET1K_V1), without ``fc``.

    ``source="imagenet"`` uses torchvision's weights API: the file in ``$TORCH_HOME/hub/
    checkpoints`` if present, else a download (hash-checked). A path loads that file instead.
    Failure raises :class:`PretrainedWeightsError` saying how to provide the file; it never
    falls back to random weights.
    """
    url = _resnet18_url()
    fname = url.rsplit("/", 1)[-1]
    cache = Path(torch.hub.get_dir()) / "checkpoints" / fname
    how = (
        f"download {_imagenet_url()} on a machine with internet and put it at "
        f"{shown(cache)} (or pass its path as pretrained=...)"
    )
    if str(source) == "imagenet":
        quiet = not sys.stderr.isatty()  # a notebook or log: our one line, not torch.hub's "Downloading: …"
        if not cache.is_file() and (prefix := hash_in_name(url)):  # a timeout, http(s)-only redirects: not
            try:  # torch.hub's own download (it then finds the file); a name without its hash: left to it
                fetch_hashed(url, cache, prefix)
            except DiskFullError:
                raise
            except (ValueError, OSError) as err:
                reason = " ".join(str(getattr(err, "reason", "") or err).split()) or type(err).__name__
                raise PretrainedWeightsError(f"ImageNet weights for ResNet-18 unavailable ({reason}); {how}") from None
        try:
            with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
                state = torch.hub.load_state_dict_from_url(
                    url, progress=not quiet, check_hash=True, map_location="cpu", weights_only=True
                )
        except Exception as err:  # network errors, hash mismatch, corrupt file
            reason = str(getattr(err, "reason", "") or err).strip().splitlines()[0] or type(err).__name__
            raise PretrainedWeightsError(f"ImageNet weights for ResNet-18 unavailable ({reason}); {how}") from None
    else:
        path = Path(source)
        if not path.is_file():
            raise PretrainedWeightsError(f"{path}: no such weights file; {how}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise PretrainedWeightsError(f"{path}: not a readable PyTorch weights file ({err}); {how}") from None
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{source}: expected a ResNet-18 state dict, got {type(state).__name__}")
    return {k: v for k, v in state.items() if not k.startswith("fc.")}
