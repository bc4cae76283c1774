"""The data pipeline (§5.1): sources → a uint8 S×S cache on disk → a run's batches.

    summary = prepare(cfg)                 # once: decode the source into cfg.data_dir
    train = load_images(cfg, "train")      # uint8 N×S×S×3 read-only memmap (checksum verified)
    data = training_data(cfg)              # what a training run reads (colorlib.train.train(cfg, data))
    split_identity(cfg)                    # {"train_manifest_sha256": …, "test_manifest_sha256": …}
    split_ids(cfg, "test")                 # {"folder:a/b.jpg", "coco:57870", "bundled:coffee/test-region", …}
    verify_cache(cfg)                      # both .npy against their recorded checksums

Modules: :mod:`.sources` (folder, bundled photos, resize policy, grayscale test),
:mod:`.images` (reading real-world image files; the square resize shared with inference),
:mod:`.bundled` (crops of the bundled photos, split by quadrant), :mod:`.coco` (the paper's
COCO subset), :mod:`.download` (retrying, resuming HTTP), :mod:`.cache` (the files, checksums,
memmap reads), :mod:`.split` (the stable folder split, split identities), :mod:`.prepare`
(``prepare``), :mod:`.batches` (a run's train set, its epochs and the random flip).
"""

from colorlib.data.batches import TrainingData, training_data
from colorlib.data.cache import load_images, verify_cache
from colorlib.data.prepare import prepare, summary_line
from colorlib.data.sources import DataError
from colorlib.data.split import identity_sha256, split_identity, split_ids
from colorlib.utils.download import DownloadError, DownloadPolicy

__all__ = [
    "prepare",
    "load_images",
    "verify_cache",
    "training_data",
    "TrainingData",
    "split_identity",
    "split_ids",
    "identity_sha256",
    "summary_line",
    "DataError",
    "DownloadError",
    "DownloadPolicy",
]
