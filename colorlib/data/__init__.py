"""The data pipeline (§5.1): sources → a uint8 S×S cache on disk → batches.

    summary = prepare(cfg)                 # once: decode the source into cfg.data_dir
    train = load_images(cfg, "train")      # uint8 N×S×S×3 read-only memmap
    batch = torch.from_numpy(train[np.sort(idx)])   # → lab_from_uint8 + flip on the device

Modules: :mod:`.sources` (folder, bundled photos, resize policy, grayscale test),
:mod:`.coco` (the paper's COCO subset), :mod:`.download` (retrying, resuming HTTP),
:mod:`.cache` (atomic files, memmap reads), :mod:`.prepare` (``prepare`` and the CLI).
"""
from colorlib.data.cache import load_images
from colorlib.data.download import DownloadError, DownloadPolicy
from colorlib.data.prepare import main, prepare, summary_line
from colorlib.data.sources import DataError

__all__ = ["prepare", "load_images", "summary_line", "main", "DataError", "DownloadError", "DownloadPolicy"]
