"""Evaluation (§6, §7): scores against honest baselines, metrics, the report, figures and tables.

- :mod:`.evaluate`       ``evaluate(cfg)``: score trained runs and baselines on the test set
- :mod:`.runs`           which runs exist, and what is wrong with them (held-out check)
- :mod:`.predictors`     what is scored: generators in eval / dropout mode, the baselines
- :mod:`.metrics`        L1 (the paper's), PSNR, SSIM, colorfulness, paired tests
- :mod:`.perceptual`     FID and LPIPS (pretrained feature networks, external weights)
- :mod:`.report`         metrics.md / metrics.csv / per_image.csv / comparison.md / provenance
- :mod:`.figures`        ``make_figures(cfg)``: Figs. 5, 7–9 and more, from files (inputs read by
  :mod:`.figure_inputs`, drawn by :mod:`.plots`)
- :mod:`.tables`         Figs. 10–15: parameter tables of the three networks
- :mod:`.anatomy`        the PatchGAN's receptive field and map size, computed from its layers
- :mod:`.experiments`   seconds-long training experiments on a few bundled crops (notebook 2)
- :mod:`.explore`       notebook 2's explorer: a held-out image × an epoch, with D's patch map
"""
