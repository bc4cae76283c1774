"""colorlib — colorizing grayscale photographs with conditional GANs in CIELAB.

A reproduction of Nampouri, Hadjichristodoulou & Andreadis, "Image Colorization with Conditional
Generative Adversarial Networks" (University of Groningen; see README.md). The top level is the
method — what a reader checks against the paper; everything else sits in a sub-package named for
its role, and nothing imports upward (``make lint`` checks it):

The method (read these to check the paper)
    config      Config (one dataclass for notebooks, CLI and Makefile), the profiles, the names
    lab         RGB ↔ CIELAB on tensors, normalization (§4.1, Eq. 4–8, 11, 12)
    models      UNetGenerator, ResNetUNetGenerator (+ its ImageNet weights), PatchDiscriminator (§4.2, App. A)
    losses      discriminator_loss, generator_loss (§4.3, Eq. 14–19)
    step        GanStep: one iteration, inputs → D step → G step (§4.3)
    train       the epoch loop, its history and sample grids (§5.2)
    checkpoint  save / resume (one symmetric pair), what identifies a run, loading trained weights

Sub-packages
    data/        sources (COCO, a folder, the bundled photos), the uint8 cache, the split, a run's batches (§5.1)
    evaluation/  scores against baselines, metrics (FID/LPIPS apart), report, figures, tables (§6, §7)
    inference/   full-resolution colorization, the colorize verb, export of a trained generator
    utils/       errors, files, log lines and progress, runtime (devices, DDP, seeds), run lock, provenance
    cli/         ``python -m colorlib <verb>``: parses options, calls one function, one line per error

The study's operations (benchmarks, gpu-check, the rehearsal, GPU claiming, Slurm) are in
``tools/`` beside the package. Importing colorlib imports nothing heavy; use
``from colorlib import lab, models`` etc.
"""

__version__ = "0.1.0"
