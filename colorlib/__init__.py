"""colorlib — colorizing grayscale photographs with conditional GANs in CIELAB.

A reproduction of Nampouri, Hadjichristodoulou & Andreadis, "Image Colorization with Conditional
Generative Adversarial Networks" (see README.md). Modules, one concept each:

    config   Config and the profiles paper / demo / smoke
    lab      RGB <-> Lab on tensors, normalization (Eq. 4-8)
    models   UNetGenerator, ResNetUNetGenerator, PatchDiscriminator, init_weights (App. A)
    losses   discriminator_loss, generator_loss (Eq. 14-19)
    data     prepare / load the 256x256 uint8 cache (COCO, folder, bundled photos)
    train    the GAN loop, checkpoints, resume, DDP
    evaluate, figures, colorize, checkpoint, tables, bench

Importing colorlib imports nothing heavy; use ``from colorlib import lab, models`` etc.
"""
__version__ = "0.1.0"
