"""``prepare(cfg)``: decode a source once into the uint8 S×S cache (§5.1), and its CLI.

Candidates are decoded by a small thread pool (Pillow and urllib release the GIL) in a bounded
window, and consumed in their seeded order, so the result does not depend on timing. A file
that cannot be used is skipped with one line ``skipped <file>: <reason>`` and the next
candidate takes its place; a grayscale photo likewise (``grayscale ... replaced``). The summary
counts both. Augmentation (the random flip of §5.1) is not baked in: the training loop flips
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

import argparse
import json
import os
import sys
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

import numpy as np

from colorlib.config import Config, add_config_args, config_from_args, shown, verb_parser
from colorlib.data import cache, split as splits
from colorlib.data.bundled import bundled_candidates
from colorlib.data.download import DownloadError, DownloadPolicy
from colorlib.data.progress import Report
from colorlib.data.sources import (Candidate, DataError, Decoded, folder_candidates,
                                   folder_fingerprint, is_grayscale)
from colorlib.images import ImageError

__all__ = ["prepare", "main"]

SOURCES = ("coco", "folder", "bundled")
MAX_FAILED_DOWNLOADS_IN_A_ROW = 20
_Result = tuple[Candidate, "Decoded | Exception"]


def _load(candidate: Candidate, size: int) -> Decoded | Exception:
    try:
        return candidate.load(size)
    except (ImageError, DownloadError, DataError) as err:
        return err


def _ordered(pool: ThreadPoolExecutor, candidates: Iterable[Candidate], size: int,
             window: int) -> Iterator[_Result]:
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


def _fill(split: str, n: int, results: Iterator[_Result], cfg: Config, report: Report,
          skipped: Counter, gray: Counter) -> tuple[np.ndarray, list[dict]]:
    """Take the first ``n`` usable colour images of ``results`` into a new temp array."""
    array = cache.new_array(cfg.data_dir / f"{split}.npy", n, cfg.image_size)
    rows: list[dict] = []
    failed_in_a_row = 0
    while len(rows) < n:
        item = next(results, None)
        if item is None:
            what = {"folder": f"folder {cfg.folder}", "coco": "COCO", "bundled": "the bundled photos"}
            raise DataError(f"{what[cfg.source]}: only {len(rows)} usable images for the {n} of the "
                            f"{split} split; add images or lower n_train/n_test (--set n_{split}=...)")
        candidate, out = item
        where = candidate.path or candidate.url
        if isinstance(out, Exception):
            skipped[_category(out)] += 1
            text = str(out)  # ImageError / DownloadError already start with the file or URL
            named = isinstance(out, (ImageError, DownloadError)) or text.startswith(where)
            report.log(f"skipped {text}" if named else f"skipped {where}: {text}")
            failed_in_a_row = failed_in_a_row + 1 if isinstance(out, DownloadError) else 0
            if failed_in_a_row >= MAX_FAILED_DOWNLOADS_IN_A_ROW:
                raise DataError(f"{failed_in_a_row} downloads in a row failed (last: {out}); check "
                                f"the network, or use an existing copy with --coco-root DIR")
            continue
        failed_in_a_row = 0
        if is_grayscale(out.image):
            gray[split] += 1
            report.log(f"grayscale {where}: no colour; replaced by the next image")
            continue
        array[len(rows)] = out.image
        rows.append({"split": split, "index": len(rows), "source": candidate.source,
                     "id": candidate.id, "file_name": candidate.file_name, "url": candidate.url,
                     "path": candidate.path, "width": out.width, "height": out.height,
                     "crop": candidate.crop})
        report.advance()
    return array, rows


def _streams(cfg: Config, pool: ThreadPoolExecutor, window: int, policy: DownloadPolicy,
             log: Callable[[str], None]) -> dict[str, Iterator[_Result]]:
    size = cfg.image_size
    if cfg.source == "folder":  # one hash order: test fills from the front, train from the back
        ordered, taken = splits.hash_order(folder_candidates(cfg.folder), cfg.split_seed), set()
        return {"test": splits.taking(_ordered(pool, ordered, size, window), taken),
                "train": _ordered(pool, splits.from_the_back(ordered, taken), size, window)}
    if cfg.source == "bundled":
        return {split: _ordered(pool, bundled_candidates(split, cfg.n_train, cfg.n_test, cfg.split_seed, log),
                                size, window) for split in ("test", "train")}
    from colorlib.data.coco import coco_candidates
    return {split: _ordered(pool, coco_candidates(split, cfg.data_dir, cfg.split_seed, cfg.coco_root, policy, log),
                            size, window) for split in ("test", "train")}


def prepare(cfg: Config, *, progress: bool | None = None, policy: DownloadPolicy | None = None) -> dict:
    """Build ``cfg.data_dir``'s train.npy / test.npy / manifest.csv / summary.json; return the summary.

    Uses cfg.source (coco | folder | bundled), cfg.folder, cfg.coco_root, cfg.n_train,
    cfg.n_test, cfg.image_size (S) and cfg.split_seed (not the training seed: every run of a
    profile shares one train/test split). Idempotent: a complete cache for the same
    key is returned as is (``summary["reused"] = True``). The manifest is also copied to
    ``cfg.results_dir / "manifest.csv"`` so the split can be checked next to the results.
    ``policy`` sets download timeouts, retries, workers and mirror URLs (source=coco).
    """
    if cfg.source not in SOURCES:
        raise DataError(f"source={cfg.source!r}: choose one of {', '.join(SOURCES)}")
    if cfg.n_train < 0 or cfg.n_test < 0 or cfg.image_size < 1:
        raise DataError(f"n_train={cfg.n_train}, n_test={cfg.n_test}, image_size={cfg.image_size}: "
                        f"counts must be ≥ 0 and the size ≥ 1")
    cfg.check_image_size()  # ConfigError when no generator takes it: before any work
    if cfg.image_size % 256:
        print(f"prepare: note: image_size={cfg.image_size} suits only the ResNet generator (the U-Net "
              f"needs a multiple of 256)", file=sys.stderr, flush=True)
    policy = policy or DownloadPolicy()
    done = cache.complete_summary(cfg)
    damaged = [cache.checksum_problem(cfg, split, done) for split in cache.SPLITS] if done else []
    for problem in filter(None, damaged):  # one line each, then the cache is built again
        print(f"prepare: {problem}; preparing the cache again", file=sys.stderr, flush=True)
    if done is not None and not any(damaged):
        if not (cfg.results_dir / "manifest.csv").is_file():
            cache.write_text(cfg.results_dir / "manifest.csv",
                             (cfg.data_dir / "manifest.csv").read_text(encoding="utf-8"))
        return {**done, "reused": True}
    fingerprint = folder_fingerprint(cfg.folder) if cfg.source == "folder" else None  # before reading
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cache.check_space(cfg.data_dir, cfg.n_train + cfg.n_test, cfg.image_size)
    report = Report(cfg.n_train + cfg.n_test, progress)
    skipped, gray, arrays, rows = Counter(), Counter(), {}, {}
    workers = policy.workers if cfg.source == "coco" else min(4, os.cpu_count() or 1)
    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="prepare") as pool:
            streams = _streams(cfg, pool, 2 * max(1, workers), policy, report.log)
            try:
                for split in ("test", "train"):
                    n = cfg.n_test if split == "test" else cfg.n_train
                    arrays[split], rows[split] = _fill(split, n, streams[split], cfg, report, skipped, gray)
            finally:
                for stream in streams.values():
                    stream.close()
        # Only now is the previous cache given up: a run that fails or is interrupted before
        # this point (missing folder, too few images, Ctrl-C) leaves it complete and usable.
        (cfg.data_dir / "summary.json").unlink(missing_ok=True)
        for split in ("train", "test"):
            cache.commit(arrays.pop(split), cfg.data_dir / f"{split}.npy")
    finally:
        report.close()
        arrays.clear()
        for split in ("train", "test"):
            cache.tmp_path(cfg.data_dir / f"{split}.npy").unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    rows = rows["train"] + rows["test"]  # manifest order: train then test, each in cache order
    manifest = cache.manifest_text(rows)
    cache.write_text(cfg.data_dir / "manifest.csv", manifest)
    cache.write_text(cfg.results_dir / "manifest.csv", manifest)
    summary = {
        "key": cache.cache_key(cfg), "source": cfg.source, "image_size": cfg.image_size,
        "train": cfg.n_train, "test": cfg.n_test, "used": len(rows),
        "skipped": dict(sorted(skipped.items())), "skipped_total": sum(skipped.values()),
        "grayscale_replaced": {"train": gray["train"], "test": gray["test"]},
        "grayscale_replaced_total": sum(gray.values()),
        "seconds": round(seconds, 3), "images_per_s": round(len(rows) / max(seconds, 1e-9), 2),
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
    return (f"prepared {summary['train']} train + {summary['test']} test images "
            f"({summary['source']}, {summary['image_size']}×{summary['image_size']}) in "
            f"{shown(summary['data_dir'])}{reused}; skipped {summary['skipped_total']} ({skipped}); "
            f"grayscale replaced {summary['grayscale_replaced_total']}")


def main(argv: list[str] | None = None) -> int:
    """``python -m colorlib prepare``: build the dataset cache of a profile."""
    parser = verb_parser("prepare", __doc__.split("\n")[0])
    add_config_args(parser)
    parser.add_argument("--source", choices=SOURCES, help="where the images come from (Config.source)")
    parser.add_argument("--folder", help="image tree for --source folder")
    parser.add_argument("--coco-root", help="an existing COCO copy (annotations/, train2014/, test2014/)")
    parser.add_argument("--workers", type=int, default=8, help="parallel downloads (coco)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds without data before a retry")
    parser.add_argument("--retries", type=int, default=5, help="retries per download")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: when stderr is a terminal)")
    args = parser.parse_args(argv)
    changes = {k: v for k, v in (("source", args.source), ("folder", args.folder),
                                 ("coco_root", args.coco_root)) if v is not None}
    cfg = config_from_args(args, **changes)
    policy = DownloadPolicy(timeout=args.timeout, retries=args.retries, workers=args.workers)
    try:  # colorlib's own errors reach the dispatcher (colorlib.__main__): one line, exit 1
        summary = prepare(cfg, progress=args.progress, policy=policy)
    except KeyboardInterrupt:
        print("prepare: interrupted; no partial cache was kept (finished downloads were); run the "
              "same command again to continue", file=sys.stderr)
        return 130
    print(summary_line(summary))
    return 0
