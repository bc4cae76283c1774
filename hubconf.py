"""torch.hub entry points: a trained colorlib colorizer, ready to colorize photos.

    colorizer = torch.hub.load("<owner>/<repo>", "unet_colorizer",
                               weights="https://…/unet-seed0-1a2b3c4d.safetensors")
    colorizer = torch.hub.load(".", "resnet_colorizer", source="local", weights="resnet.safetensors")
    color = colorizer.colorize(PIL.Image.open("photo.jpg").convert("RGB"))  # or .colorize_file(src, dst)

``weights`` is an export of ``python -m colorlib export`` (or a training ``checkpoint.pt``), as a
path or a URL. A URL is downloaded once into torch.hub's cache (``<hub dir>/checkpoints``) and
checked against the sha256 prefix in its file name (``name-<sha256[:8]>.safetensors``,
torchvision's convention) or against ``sha256=``; a URL with neither is refused. The result is a
:class:`colorlib.inference.colorizer.Colorizer` in eval mode (``dropout=True``: the paper's test-time dropout).
"""

dependencies = ["torch", "torchvision", "numpy", "PIL", "safetensors"]


def unet_colorizer(weights=None, sha256=None, device="cpu", dropout=False, progress=True):
    """The pix2pix U-Net colorizer (§4.2, App. A.1) from ``weights`` (a path or URL of an export)."""
    return _colorizer("unet", weights, sha256, device, dropout, progress)


def resnet_colorizer(weights=None, sha256=None, device="cpu", dropout=False, progress=True):
    """The ResNet-18 U-Net colorizer (§4.2, App. A.2) from ``weights`` (a path or URL of an export)."""
    return _colorizer("resnet", weights, sha256, device, dropout, progress)


def _colorizer(generator, weights, sha256, device, dropout, progress):
    from colorlib.inference.colorizer import load_colorizer
    from colorlib.inference.export import ExportError, resolve_weights

    if weights is None:
        raise ExportError(
            f"{generator}_colorizer: pass weights=<path or URL of a .safetensors export> "
            "(no weights are published with this repository; `python -m colorlib export` writes one)"
        )
    return load_colorizer(resolve_weights(weights, sha256, progress), generator, device, dropout)
