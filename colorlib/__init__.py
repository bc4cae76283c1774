"""colorlib — colorizing grayscale photographs with conditional GANs in CIELAB.

A reproduction of Nampouri, Hadjichristodoulou & Andreadis, "Image Colorization with Conditional
Generative Adversarial Networks" (University of Groningen; see README.md). How the code
is laid out, in the order a reader of the paper wants it:

The method (≈ 900 lines: read these to check the paper)
    lab         RGB ↔ CIELAB on tensors, normalization (§4.1, Eq. 4–8, 11, 12)
    models      UNetGenerator, ResNetUNetGenerator, PatchDiscriminator, init_weights (§4.2, App. A)
    losses      discriminator_loss, generator_loss (§4.3, Eq. 14–19)
    step        GanStep: one iteration, inputs → D step → G step (§4.3)
    train       the epoch loop, resume, DDP (§5.2)

Its data and settings
    config      Config (one dataclass for notebooks, CLI and Makefile) and the profiles paper / demo / smoke
    names       generator, baseline and mode names; what names a run
    data/       prepare / load the 256×256 uint8 cache: COCO, a folder, the bundled photos (§5.1)

Evaluation and the paper's figures
    evaluate    the paper's L1 and the field's metrics against honest baselines (§6)
    predictors, eval_runs, metrics, perceptual, report   what is scored, which runs, how (FID and LPIPS apart), and the tables
    figures     Figs. 5, 7–9 and more (drawn by plots, inputs read by figure_inputs); tables (App. A)

Inference
    colorizer   Colorizer: full-resolution colorization of one photo
    colorize    the ``colorize`` verb: many photos, robust names and errors
    images      reading real-world image files; the square resize shared with training
    export      a trained generator alone as safetensors (and hubconf.py for torch.hub)

Plumbing
    checkpoint, history, samples, runlock, files, inputs, runtime, pretrained, errors, provenance,
    bench, parallel, rehearsal, gpu_check, __main__ (the CLI: ``python -m colorlib -h``)

Importing colorlib imports nothing heavy; use ``from colorlib import lab, models`` etc.
"""
__version__ = "0.1.0"
