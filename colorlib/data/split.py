"""The train/test split: which folder image goes where, and the identity of each split.

Folder rule (source=folder), stable when photos are added or removed. Each image file gets a
position in [0, 1) from its own name alone: the first 8 bytes of
``sha256(f"{split_seed}:{relative POSIX path}")`` as a fraction (:func:`position`). The test
split takes the usable images with the lowest positions (ascending), the train split those with
the highest (descending), each until it holds n_test / n_train; the images in between are not
used. Hence:

- adding a photo never moves an old image between train and test: if its position falls among
  the test (or train) images it joins that split and the split's innermost image drops out
  unused; if it falls in between, nothing changes. Removing a photo lets the next unused one in;
- raising n_test or n_train takes images from the unused middle, never from the other split;
- every image can be used (a folder of exactly n_train + n_test usable photos works); when the
  two splits would meet, the folder has too few usable images ("only K usable images" error).

COCO's train and test come from different COCO splits, and each bundled photo is cut into a
test quadrant and a three-quadrant train region (:mod:`colorlib.data.bundled`); neither uses
this rule.

Identity. An image is ``"<source>:<id>"``: ``folder:<relative path>``, ``coco:<image id>``,
``bundled:<photo>/test-region`` or ``bundled:<photo>/train-region`` (a crop counts as the region
of its photo it lies in, so the two splits never share one). ``summary.json`` records per split the
sha256 of its distinct identities, sorted, each followed by ``"\\n"``
(``train_manifest_sha256``, ``test_manifest_sha256``); ``manifest.csv`` lists the images::

    split_identity(cfg)        -> {"train_manifest_sha256": "…", "test_manifest_sha256": "…"}
    split_ids(cfg, "test")     -> {"folder:a/b.jpg", …}   (checked against the summary)
    identity_sha256(ids)       -> the digest of any such set (e.g. one a training run recorded)
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence

from colorlib.config import Config
from colorlib.data import cache
from colorlib.data.sources import Candidate, DataError
from colorlib.utils.files import printable

__all__ = [
    "position",
    "hash_order",
    "taking",
    "from_the_back",
    "image_identity",
    "identity_sha256",
    "manifest_digests",
    "split_identity",
    "split_ids",
]

_DIGEST_KEYS = {split: f"{split}_manifest_sha256" for split in cache.SPLITS}


def position(seed: int, key: str) -> float:
    """Where image ``key`` (its relative path) stands in [0, 1) for ``seed``; see the rule above."""
    digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def hash_order(candidates: Iterable[Candidate], seed: int) -> list[Candidate]:
    """``candidates`` by ascending :func:`position` of their id: the test split's order."""
    return sorted(candidates, key=lambda c: (position(seed, c.id), c.id))


def taking(results: Iterator[tuple], taken: set[str]) -> Iterator[tuple]:
    """Yield the ``(candidate, outcome)`` pairs of ``results``, adding each candidate's id to
    ``taken`` as it is consumed (the test split, from the front of the hash order)."""
    try:
        for item in results:
            taken.add(item[0].id)
            yield item
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def from_the_back(ordered: Sequence[Candidate], taken: set[str]) -> Iterator[Candidate]:
    """``ordered`` from its end (the train split), stopping at the first candidate in ``taken``
    (read lazily: the test split is filled first), so the two splits never share an image."""
    for candidate in reversed(ordered):
        if candidate.id in taken:
            return
        yield candidate


def image_identity(source: str, image_id: str) -> str:
    """``"<source>:<id>"`` of one manifest row; a bundled crop ``<photo>/<split>-region#k`` is
    its region ``<photo>/<split>-region``. A non-UTF-8 file name's bytes are written ``\\xff``
    (:func:`colorlib.utils.files.printable`), as manifest.csv holds them."""
    return printable(f"{source}:{image_id.split('#')[0] if source == 'bundled' else image_id}")


def identity_sha256(ids: Iterable[str]) -> str:
    """sha256 (hex) of the distinct identities, sorted, each followed by a newline."""
    text = "".join(f"{i}\n" for i in sorted(set(ids)))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _identities(rows: Iterable[dict], split: str) -> set[str]:
    return {image_identity(r["source"], r["id"]) for r in rows if r["split"] == split}


def manifest_digests(rows: list[dict]) -> dict[str, str]:
    """``{"train_manifest_sha256": …, "test_manifest_sha256": …}`` of manifest rows."""
    return {key: identity_sha256(_identities(rows, split)) for split, key in _DIGEST_KEYS.items()}


def split_identity(cfg: Config) -> dict[str, str]:
    """The recorded identity of ``cfg``'s prepared splits (the two sha256 of summary.json).

    A training run records ``split_identity(cfg)["train_manifest_sha256"]``; two caches hold
    the same train images exactly when the digests are equal. Raises :class:`DataError` if the
    cache is missing or was prepared for another key.
    """
    summary = cache.checked_summary(cfg)
    if any(key not in summary for key in _DIGEST_KEYS.values()):
        raise DataError(
            f"{cfg.data_dir / 'summary.json'}: records no split identity; run `{cache.prepare_command(cfg)}` again"
        )
    return {key: summary[key] for key in _DIGEST_KEYS.values()}


def split_ids(cfg: Config, split: str) -> set[str]:
    """The identities of ``split``'s images, read from manifest.csv and checked against the
    digest in summary.json (a manifest edited or left from another prepare is a DataError)."""
    if split not in _DIGEST_KEYS:
        raise DataError(f"split must be 'train' or 'test', not {split!r}")
    want = split_identity(cfg)[_DIGEST_KEYS[split]]
    path = cfg.data_dir / "manifest.csv"
    try:
        ids = _identities(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))), split)
    except (OSError, UnicodeDecodeError, KeyError) as err:
        raise DataError(f"{path}: unreadable manifest ({err}); run `{cache.prepare_command(cfg)}` again") from None
    if identity_sha256(ids) != want:
        raise DataError(
            f"{path}: its {split} images do not match summary.json (edited, or left from "
            f"another prepare); run `{cache.prepare_command(cfg)}` again"
        )
    return ids
