"""Inference: colorize any photo at full resolution with a trained generator, and share one.

- :mod:`.colorizer`  ``Colorizer``: one photo, full resolution (ab at 256×256 under the photo's L*)
- :mod:`.colorize`   the ``colorize`` verb: many photos, robust names and one line per error
- :mod:`.inputs`     which files a colorize run reads (folders walked, each file once)
- :mod:`.export`     the generator alone as safetensors with a model card; weights from a URL

Loading a checkpoint or an export is :func:`colorlib.checkpoint.load_generator` (the method's
save/load pair); image decoding is :mod:`colorlib.data.images` (shared with preparation).
"""
