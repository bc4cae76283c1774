"""``prepare(cfg)``: decode a source once into the uint8 S×S cache (§5.1).

Candidates are decoded by a small thread pool (Pillow and urllib release the GIL) in a bounded
window, and consumed in their seeded order, so the result does not depend on timing. A file
that cannot be used is skipped with one line ``skipped <file>: <reason>`` and the next
candidate takes its place; a grayscale photo likewise (``grayscale ... replaced``), and a picture
already taken into the other split under another name (``duplicate ...``: same decoded pixels),
so the same photo is never both trained and tested on. The summary counts all three and lists
the duplicates. Augmentation (the random flip of §5.1) is not baked in: the training loop flips
batches on the device, and the test set is never flipped.

A folder's images are split by a per-image hash of their path (:mod:`colorlib.data.split`): the
test split fills from the front of that order, the train split from the back, so adding or
removing photos never moves an image between train and test; each bundled photo gives its test
crops from one quadrant and its train crops from the other three (:mod:`colorlib.data.bundled`).
An ``image_size`` no generator takes is refused before any work. summary.json records each split's
identity (``train_manifest_sha256`` / ``test_manifest_sha256``) and a CRC-32 of each .npy; a
reused cache is checked against it and rebuilt, with one line saying so, when it was damaged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from colorlib.config import Config
from colorlib.data import cache
from colorlib.data import split as splits
from colorlib.data.bundled import bundled_candidates
from colorlib.data.images import ImageError
from colorlib.data.sources import Candidate, DataError, Decoded, folder_candidates, folder_fingerprint, is_grayscale
from colorlib.utils.download import DownloadError, DownloadPolicy
from colorlib.utils.files import atomic_path, check_roots, printable, shown
from colorlib.utils.log import Progress

__all__ = ["prepare", "summary_line"]

SOURCES = ("coco", "folder", "bundled")
MAX_FAILED_DOWNLOADS_IN_A_ROW = 20
_Result = tuple[Candidate, "Decoded | Exception"]


def _load(candidate: Candidate, size: int) -> Decoded | Exception:
    try:
        return candidate.load(size)
    except (ImageError, DownloadError, DataError) as err:
        return err


def _ordered(pool: ThreadPoolExecutor, candidates: Iterable[Candidate], size: int, window: int) -> Iterator[_Result]:
    """Decode candidates in parallel (at most ``window`` ahead), yielding in input order."""
    source = iter(candidates)
    pending: deque[tuple[Candidate, Future]] = deque()

    def submit() -> None:
        candidate = next(source, None)
        if candidate is not None:
            pending.append((candidate, pool.submit(_load, candidate, size)))

    try:
        for _ in range(window):
            submit()
        while pending:
            candidate, future = pending.popleft()
            submit()
            yield candidate, future.result()
    finally:  # the consumer has enough: do not download or decode the rest
        for _, future in pending:
            future.cancel()


def _category(err: Exception) -> str:
    """A short key for the summary's ``skipped`` counts."""
    if isinstance(err, DownloadError):
        return "download_failed"
    return getattr(err, "kind", "unreadable")


def _fill(
    split: str,
    n: int,
    results: Iterator[_Result],
    cfg: Config,
    report: Progress,
    skipped: Counter,
    gray: Counter,
    tmp: Path,
    seen: dict[str, tuple[str, str]],
    duplicates: list[dict],
) -> tuple[np.ndarray, list[dict]]:
    """Take the first ``n`` usable colour images of ``results`` into a new array at ``tmp``.

    ``seen`` maps the sha256 of each image taken (its decoded S×S pixels) to (split, file): a
    picture already in the other split — the same photo under another name — is left out of
    this one (one line, and a row in ``duplicates``), so no picture is both trained and tested on."""
    array = cache.new_array(tmp, n, cfg.image_size)
    rows: list[dict] = []
    failed_in_a_row = 0
    while len(rows) < n:
        item = next(results, None)
        if item is None:
            what = {"folder": f"folder {cfg.folder}", "coco": "COCO", "bundled": "the bundled photos"}
            raise DataError(
                f"{what[cfg.source]}: only {len(rows)} usable images for the {n} of the "
                f"{split} split; add images or lower n_train/n_test (--set n_{split}=...)"
            )
        candidate, out = item
        where = candidate.path or candidate.url
        if isinstance(out, Exception):
            skipped[_category(out)] += 1
            text = str(out)  # ImageError / DownloadError already start with the file or URL
            named = isinstance(out, (ImageError, DownloadError)) or text.startswith(where)
            report.log(f"skipped {text}" if named else f"skipped {where}: {text}", problem=True)
            failed_in_a_row = failed_in_a_row + 1 if isinstance(out, DownloadError) else 0
            if failed_in_a_row >= MAX_FAILED_DOWNLOADS_IN_A_ROW:
                raise DataError(
                    f"{failed_in_a_row} downloads in a row failed (last: {out}); check "
                    f"the network, or use an existing copy with --coco-root DIR"
                )
            continue
        failed_in_a_row = 0
        if is_grayscale(out.image):
            gray[split] += 1
            report.log(f"grayscale {where}: no colour; replaced by the next image", problem=True)
            continue
        digest = hashlib.sha256(np.ascontiguousarray(out.image).data).hexdigest()
        kept_in, same_as = seen.setdefault(digest, (split, where))
        if kept_in != split:
            skipped["duplicate"] += 1
            duplicates.append({"file": printable(where), "same_as": printable(same_as), "kept_in": kept_in})
            report.log(
                f"duplicate {where}: the same picture as {same_as} ({kept_in} split); left out of the "
                f"{split} split so that it is not in both",
                problem=True,
            )
            continue
        array[len(rows)] = out.image
        rows.append(
            {
                "split": split,
                "index": len(rows),
                "source": candidate.source,
                "id": candidate.id,
                "file_name": candidate.file_name,
                "url": candidate.url,
                "path": candidate.path,
                "width": out.width,
                "height": out.height,
                "crop": candidate.crop,
            }
        )
        report.advance()
    return array, rows


def _streams(
    cfg: Config, pool: ThreadPoolExecutor, window: int, policy: DownloadPolicy, log: Callable[[str], None]
) -> dict[str, Iterator[_Result]]:
    size = cfg.image_size
    if cfg.source == "folder":  # one hash order: test fills from the front, train from the back
        ordered, taken = splits.hash_order(folder_candidates(cfg.folder), cfg.split_seed), set()
        return {
            "test": splits.taking(_ordered(pool, ordered, size, window), taken),
            "train": _ordered(pool, splits.from_the_back(ordered, taken), size, window),
        }
    if cfg.source == "bundled":
        return {
            split: _ordered(pool, bundled_candidates(split, cfg.n_train, cfg.n_test, cfg.split_seed, log), size, window)
            for split in ("test", "train")
        }
    from colorlib.data.coco import coco_candidates

    return {
        split: _ordered(
            pool, coco_candidates(split, cfg.data_dir, cfg.split_seed, cfg.coco_root, policy, log), size, window
        )
        for split in ("test", "train")
    }


def prepare(cfg: Config, *, progress: bool | None = None, policy: DownloadPolicy | None = None) -> dict:
    """Build ``cfg.data_dir``'s train.npy / test.npy / manifest.csv / summary.json; return the summary.

    Uses cfg.source (coco | folder | bundled), cfg.folder, cfg.coco_root, cfg.n_train,
    cfg.n_test, cfg.image_size (S) and cfg.split_seed (not the training seed: every run of a
    profile shares one train/test split). Idempotent: a complete cache for the same
    key is returned as is (``summary["reused"] = True``). The manifest is also copied to
    ``cfg.results_dir / "manifest.csv"`` so the split can be checked next to the results.
    ``policy`` sets download timeouts, retries, workers and mirror URLs (source=coco).
    """
    cfg.check_image_size()  # ConfigError when no generator takes it: before any work
    if cfg.image_size % 256:
        print(
            f"prepare: note: image_size={cfg.image_size} suits only the ResNet generator (the U-Net "
            f"needs a multiple of 256)",
            file=sys.stderr,
            flush=True,
        )
    policy = policy or DownloadPolicy()
    done = cache.complete_summary(cfg)
    damaged = [cache.checksum_problem(cfg, split, done) for split in cache.SPLITS] if done else []
    for problem in filter(None, damaged):  # one line each, then the cache is built again
        print(f"prepare: {problem}; preparing the cache again", file=sys.stderr, flush=True)
    if done is not None and not any(damaged):  # a read-only shared cache is fine: nothing is written to it
        if not (cfg.results_dir / "manifest.csv").is_file():
            check_roots(cfg, "results")
            cache.write_text(
                cfg.results_dir / "manifest.csv", (cfg.data_dir / "manifest.csv").read_text(encoding="utf-8")
            )
        return {**done, "reused": True}
    check_roots(cfg, "data", "results")  # both are written: one line now, not after the decoding
    fingerprint = folder_fingerprint(cfg.folder) if cfg.source == "folder" else None  # before reading
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cache.check_space(cfg.data_dir, cfg.n_train + cfg.n_test, cfg.image_size)
    report = Progress(
        cfg.n_train + cfg.n_test, progress, desc="prepare", unit="img", every=max(100, (cfg.n_train + cfg.n_test) // 10)
    )
    skipped, gray, rows, seen, duplicates = Counter(), Counter(), {}, {}, []
    workers = policy.workers if cfg.source == "coco" else min(4, os.cpu_count() or 1)
    start = time.perf_counter()
    with report, contextlib.ExitStack() as written:  # each .npy renamed into place when this ends
        tmp = {split: written.enter_context(atomic_path(cfg.data_dir / f"{split}.npy")) for split in cache.SPLITS}
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="prepare") as pool:
            streams = _streams(cfg, pool, 2 * max(1, workers), policy, lambda line: report.log(line, problem=True))
            try:
                for split in ("test", "train"):
                    n = cfg.n_test if split == "test" else cfg.n_train
                    array, rows[split] = _fill(
                        split, n, streams[split], cfg, report, skipped, gray, tmp[split], seen, duplicates
                    )
                    cache.flush(array)
                    del array
            finally:
                for stream in streams.values():
                    stream.close()
        # Only now is the previous cache given up: a run that fails or is interrupted before
        # this point (missing folder, too few images, Ctrl-C) leaves it complete and usable.
        (cfg.data_dir / "summary.json").unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    rows = rows["train"] + rows["test"]  # manifest order: train then test, each in cache order
    manifest = cache.manifest_text(rows)
    cache.write_text(cfg.data_dir / "manifest.csv", manifest)
    cache.write_text(cfg.results_dir / "manifest.csv", manifest)
    summary = {
        "key": cache.cache_key(cfg),
        "source": cfg.source,
        "image_size": cfg.image_size,
        "train": cfg.n_train,
        "test": cfg.n_test,
        "used": len(rows),
        "skipped": dict(sorted(skipped.items())),
        "skipped_total": sum(skipped.values()),
        "grayscale_replaced": {"train": gray["train"], "test": gray["test"]},
        "grayscale_replaced_total": sum(gray.values()),
        "duplicates": duplicates,  # pictures found in both splits, kept in the first only
        "seconds": round(seconds, 3),
        "images_per_s": round(len(rows) / max(seconds, 1e-9), 2),
        "data_dir": str(cfg.data_dir),
    }
    if fingerprint is not None:
        summary["folder_fingerprint"] = fingerprint
    summary.update(splits.manifest_digests(rows))
    summary["checksums"] = {s: cache.file_checksum(cfg.data_dir / f"{s}.npy") for s in cache.SPLITS}
    cache.write_text(cfg.data_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return {**summary, "reused": False}


def summary_line(summary: dict) -> str:
    """One line for people: what was prepared, where, what was skipped or replaced."""
    skipped = ", ".join(f"{k} {v}" for k, v in summary["skipped"].items()) or "none"
    reused = " (cache reused)" if summary.get("reused") else f" in {summary['seconds']:.1f} s"
    return (
        f"prepared {summary['train']} train + {summary['test']} test images "
        f"({summary['source']}, {summary['image_size']}×{summary['image_size']}) in "
        f"{shown(summary['data_dir'])}{reused}; skipped {summary['skipped_total']} ({skipped}); "
        f"grayscale replaced {summary['grayscale_replaced_total']}"
    )
