"""The appendix's parameter tables (Figs. 10–13, 15) as data, and ours from torchinfo.

``PAPER_TABLES[fig]`` lists, in forward order, every layer of the figure that has parameters:
(layer type, output shape C×H×W as printed in the paper, parameter count). ``param_rows``
produces the same list for our networks through ``torchinfo.summary``; the tests assert they
are equal, so a change to any layer's width, bias or order fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torchinfo
from torch import nn
from torchvision.models.resnet import BasicBlock

__all__ = ["PAPER_TABLES", "PAPER_TOTALS", "FIGURES", "param_rows", "summary_table", "figure_modules", "write_tables"]

_CT, _BN, _C, _BB = "ConvTranspose2d", "BatchNorm2d", "Conv2d", "BasicBlock"

# C128 - C256 - C512 on a 64×128×128 input: the U-Net encoder and the PatchGAN share these blocks.
_C128_C256_C512 = [
    (_C, (128, 64, 64), 131_072),
    (_BN, (128, 64, 64), 256),
    (_C, (256, 32, 32), 524_288),
    (_BN, (256, 32, 32), 512),
    (_C, (512, 16, 16), 2_097_152),
    (_BN, (512, 16, 16), 1_024),
]

PAPER_TABLES: dict[str, list[tuple[str, tuple[int, int, int], int]]] = {
    "fig10": [  # U-Net encoder, input 1×256×256
        (_C, (64, 128, 128), 1_024),
        *_C128_C256_C512,
        (_C, (512, 8, 8), 4_194_304),
        (_BN, (512, 8, 8), 1_024),
        (_C, (512, 4, 4), 4_194_304),
        (_BN, (512, 4, 4), 1_024),
        (_C, (512, 2, 2), 4_194_304),
        (_BN, (512, 2, 2), 1_024),
        (_C, (512, 1, 1), 4_194_816),
    ],
    "fig11": [  # U-Net decoder, from the 512×1×1 bottleneck
        (_CT, (512, 2, 2), 4_194_304),
        (_BN, (512, 2, 2), 1_024),
        (_CT, (512, 4, 4), 8_388_608),
        (_BN, (512, 4, 4), 1_024),
        (_CT, (512, 8, 8), 8_388_608),
        (_BN, (512, 8, 8), 1_024),
        (_CT, (512, 16, 16), 8_388_608),
        (_BN, (512, 16, 16), 1_024),
        (_CT, (256, 32, 32), 4_194_304),
        (_BN, (256, 32, 32), 512),
        (_CT, (128, 64, 64), 1_048_576),
        (_BN, (128, 64, 64), 256),
        (_CT, (64, 128, 128), 262_144),
        (_BN, (64, 128, 128), 128),
        (_CT, (2, 256, 256), 4_098),
    ],
    "fig12": [  # ResNet-18 encoder, input 3×256×256 (BasicBlocks as units, as printed)
        (_C, (64, 128, 128), 9_408),
        (_BN, (64, 128, 128), 128),
        (_BB, (64, 64, 64), 73_984),
        (_BB, (64, 64, 64), 73_984),
        (_BB, (128, 32, 32), 230_144),
        (_BB, (128, 32, 32), 295_424),
        (_BB, (256, 16, 16), 919_040),
        (_BB, (256, 16, 16), 1_180_672),
        (_BB, (512, 8, 8), 3_673_088),
        (_BB, (512, 8, 8), 4_720_640),
    ],
    "fig13": [  # ResNet decoder, from the 512×8×8 bottleneck
        (_CT, (256, 16, 16), 2_097_152),
        (_BN, (256, 16, 16), 512),
        (_CT, (128, 32, 32), 1_048_576),
        (_BN, (128, 32, 32), 256),
        (_CT, (64, 64, 64), 262_144),
        (_BN, (64, 64, 64), 128),
        (_CT, (64, 128, 128), 131_072),
        (_BN, (64, 128, 128), 128),
        (_CT, (2, 256, 256), 4_098),
    ],
    "fig15": [  # PatchGAN discriminator, input 3×256×256. Erratum: the paper prints 16×16 for
        # the C512 conv and its BatchNorm; that conv has stride 1, so it is 31×31 (see models.py).
        (_C, (64, 128, 128), 3_136),
        *_C128_C256_C512,
        (_C, (1, 30, 30), 8_193),
    ],
}
PAPER_TOTALS = {"fig10": 19_536_128, "fig11": 34_874_242, "fig12": 11_176_512, "fig13": 3_544_066, "fig15": 2_765_633}
FIGURES = {
    "fig10": "U-Net encoder",
    "fig11": "U-Net decoder",
    "fig12": "ResNet-18 encoder",
    "fig13": "ResNet decoder",
    "fig15": "PatchGAN discriminator",
}


class _Part(nn.Module):
    """Run one half of a generator on its own, as the appendix's tables do."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module | None = None):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        feats = self.encoder(x)
        return feats if self.decoder is None else self.decoder(feats)


def figure_modules(fig: str, image_size: int = 256):
    """(module to summarize, input size, the module whose parameters the figure counts)."""
    from colorlib.models import PatchDiscriminator, ResNetUNetGenerator, UNetGenerator

    s = image_size
    if fig in ("fig10", "fig11"):
        g = UNetGenerator()
        target = g.encoder if fig == "fig10" else g.decoder
        return _Part(g.encoder, g.decoder), (1, 1, s, s), target
    if fig in ("fig12", "fig13"):
        g = ResNetUNetGenerator(pretrained=False)
        target = g.encoder if fig == "fig12" else g.decoder
        return _Part(g.encoder, g.decoder), (1, 3, s, s), target
    if fig == "fig15":
        d = PatchDiscriminator()
        return d, (1, 3, s, s), d
    raise ValueError(f"unknown figure {fig!r}; choose one of {', '.join(PAPER_TABLES)}")


def _rows(fig: str, image_size: int = 256):
    module, size, target = figure_modules(fig, image_size)
    info = torchinfo.summary(module, input_size=size, depth=20, verbose=0, col_names=("output_size", "num_params"))
    inside = {id(m) for m in target.modules()}
    units = (BasicBlock,)
    skip_under: set[int] = set()
    for layer in info.summary_list:
        m = layer.module
        if id(m) not in inside or id(m) in skip_under:
            continue
        if isinstance(m, units):
            skip_under.update(id(c) for c in m.modules() if c is not m)
        elif any(True for _ in m.children()):
            continue
        yield layer, m


def param_rows(fig: str, image_size: int = 256) -> list[tuple[str, tuple[int, ...], int]]:
    """Our (layer type, output C×H×W, params) for every parameterized layer of figure ``fig``."""
    return [
        (type(m).__name__, tuple(layer.output_size[1:]), layer.num_params)
        for layer, m in _rows(fig, image_size)
        if layer.num_params > 0
    ]


def summary_table(fig: str, image_size: int = 256) -> pd.DataFrame:
    """Figure ``fig`` as a table beside the paper's: layer, our shape and params, the paper's."""
    ours = param_rows(fig, image_size)
    paper = PAPER_TABLES[fig]
    rows = []
    for i, (kind, shape, n) in enumerate(ours):
        p_kind, p_shape, p_n = paper[i] if i < len(paper) else ("—", (), 0)
        rows.append(
            {
                "layer": kind,
                "output shape": "×".join(map(str, shape)),
                "params": n,
                "paper shape": "×".join(map(str, p_shape)),
                "paper params": p_n,
                "match": kind == p_kind and n == p_n,
            }
        )
    df = pd.DataFrame(rows)
    total = pd.DataFrame(
        [
            {
                "layer": "Total",
                "output shape": "",
                "params": sum(r[2] for r in ours),
                "paper shape": "",
                "paper params": PAPER_TOTALS[fig],
                "match": sum(r[2] for r in ours) == PAPER_TOTALS[fig],
            }
        ]
    )
    return pd.concat([df, total], ignore_index=True)


def write_tables(out_dir: str | Path, image_size: int = 256) -> list[Path]:
    """Figs. 10–13 and 15 (App. A) as tables/figN.csv and .md: our torchinfo layers beside the paper's."""
    from colorlib.evaluation.report import markdown_table
    from colorlib.utils.files import atomic_write

    paths = []
    for fig, title in FIGURES.items():
        df = summary_table(fig, image_size)
        base = Path(out_dir) / "tables" / fig
        paths.append(atomic_write(base.with_suffix(".csv"), df.to_csv(index=False)))
        md = f"# {fig.replace('fig', 'Fig. ')} — {title} (torchinfo, input {image_size}×{image_size})\n\n"
        paths.append(atomic_write(base.with_suffix(".md"), md + markdown_table(df)))
    return paths
