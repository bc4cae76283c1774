"""Hostile and odd inputs: COCO records reaching outside the data folder, unreadable folder
entries (link loops, dangling links, FIFOs, sockets), and the free-space message."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.cache import check_space
from colorlib.data.sources import DataError, folder_fingerprint, seeded_order
from colorlib.data.split import position
from colorlib.utils.download import DownloadError, DownloadPolicy, fetch, url_problem

S = 32
OFFICIAL = "http://images.cocodataset.org"


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:40, 0:48] / 48
    arr = np.stack([127 + 120 * np.sin(3 * x + 2 * y + p) for p in rng.uniform(0, 6.3, 3)], -1)
    buffer = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _name(split: str, image_id: int) -> str:
    return f"COCO_{split}2014_{image_id:012d}.jpg"


def _zip(member: str, records: list[dict], captions: bool) -> bytes:
    data = {"info": {}, "licenses": [], "images": records}
    if captions:
        data["annotations"] = [{"id": 1000 + r["id"], "image_id": r["id"], "caption": "x"} for r in records]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"annotations/{member}", json.dumps(data))
    return buffer.getvalue()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_coco_records_cannot_reach_outside_the_data_folder(tmp_path, http_server, closed_port, capsys):
    served, outside = tmp_path / "served", tmp_path / "outside"
    for folder in (served / "annotations", served / "train2014", served / "test2014", outside):
        folder.mkdir(parents=True)
    (outside / "secret.jpg").write_bytes(_jpeg(99))  # what file:// and an absolute name point at
    good = {"train": [1, 2, 3, 4], "test": [21, 22]}
    for split, ids in good.items():
        for i in ids:
            (served / f"{split}2014" / _name(split, i)).write_bytes(_jpeg(i))
    real = f"{OFFICIAL}/train2014/{_name('train', 1)}"  # a URL that works: only the name is hostile
    hostile = {
        "train": {
            11: ("../../../../escaped.jpg", real),  # traversal
            12: (str(outside / "secret.jpg"), real),  # absolute
            13: ("..\\..\\..\\..\\escaped_bs.jpg", real),  # backslash
            14: (_name("train", 14), (outside / "secret.jpg").as_uri()),  # file://
            15: (_name("train", 15), f"ftp://127.0.0.1:{closed_port}/x.jpg"),
        },
        "test": {
            31: ("", f"{OFFICIAL}/test2014/{_name('test', 21)}"),
            32: ("..", f"{OFFICIAL}/test2014/{_name('test', 21)}"),
        },
    }
    for split, member, captions in (
        ("train", "captions_train2014.json", True),
        ("test", "image_info_test2014.json", False),
    ):
        records = [
            {
                "id": i,
                "file_name": _name(split, i),
                "width": 48,
                "height": 40,
                "coco_url": f"{OFFICIAL}/{split}2014/{_name(split, i)}",
            }
            for i in good[split]
        ]
        records += [
            {"id": i, "file_name": name, "width": 48, "height": 40, "coco_url": url}
            for i, (name, url) in hostile[split].items()
        ]
        zip_name = "annotations_trainval2014.zip" if split == "train" else "image_info_test2014.zip"
        (served / "annotations" / zip_name).write_bytes(_zip(member, records, captions))
    # every record must be visited: a seed whose order ends on a good record in both splits
    ids = {split: good[split] + list(hostile[split]) for split in good}
    seed = next(s for s in range(1000) if all(seeded_order(ids[k], s)[-1] in good[k] for k in ids))
    server = http_server(served)
    policy = DownloadPolicy(
        timeout=5,
        retries=0,
        backoff=0.01,
        workers=2,
        annotations_url=server.url + "/annotations",
        images_url=server.url,
    )
    cfg = Config.from_profile(
        "smoke",
        source="coco",
        n_train=4,
        n_test=2,
        image_size=S,
        split_seed=seed,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )
    before = {name: data for name, data in _files(tmp_path).items() if not name.startswith(("data/", "results/"))}

    summary = prepare(cfg, progress=False, policy=policy)

    assert summary["skipped"] == {"unsafe_record": 7} and summary["used"] == 6
    after = {name: data for name, data in _files(tmp_path).items() if not name.startswith(("data/", "results/"))}
    assert after == before  # nothing written outside
    coco = cfg.data_dir / "coco"
    assert sorted(p.name for p in (coco / "train2014").iterdir()) == [_name("train", i) for i in good["train"]]
    assert sorted(p.name for p in (coco / "test2014").iterdir()) == [_name("test", i) for i in good["test"]]
    rows = list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))
    assert sorted(int(r["id"]) for r in rows) == good["train"] + good["test"]
    assert all(r["url"].startswith(server.url + "/") for r in rows)
    lines = capsys.readouterr().err.splitlines()
    for split, records in hostile.items():
        for i in records:
            named = [line for line in lines if line.startswith(f"skipped COCO {split} image {i}: ")]
            assert len(named) == 1, (i, lines)

    # the same records read from an existing copy (--coco-root): the absolute one is not read
    root = tmp_path / "copy"
    (root / "annotations").mkdir(parents=True)
    for member in ("captions_train2014.json", "image_info_test2014.json"):
        (root / "annotations" / member).write_bytes((coco / "annotations" / member).read_bytes())
    for split in good:
        (root / f"{split}2014").mkdir()
        for i in good[split]:
            (root / f"{split}2014" / _name(split, i)).write_bytes(_jpeg(i))
    local = cfg.replace(coco_root=str(root), data_root=str(tmp_path / "local"))
    summary = prepare(local, progress=False, policy=DownloadPolicy(retries=0))
    assert summary["skipped"] == {"unsafe_record": 7} and summary["used"] == 6


def test_urls_from_data_files_are_http_only_and_keep_their_host(tmp_path, clean_colorlib_env):
    for url in (
        "file:///etc/passwd",
        "ftp://example.org/x.jpg",
        "data:,x",
        "/train2014/x.jpg",
        "http:///x.jpg",
        "http://example.org/a/../b.jpg",
        "http://example.org/a/%2e%2E/b.jpg",
    ):
        assert url_problem(url) is not None, url
    assert url_problem("https://example.org/a/b..c.jpg?x=1") is None
    secret = tmp_path / "secret.txt"
    secret.write_text("local")
    with pytest.raises(DownloadError, match="only http and https URLs are fetched"):
        fetch(secret.as_uri(), tmp_path / "copy.txt", DownloadPolicy(retries=0))
    assert not (tmp_path / "copy.txt").exists()
    mirror = DownloadPolicy(images_url="http://mirror.test/coco/")
    assert mirror.image_url(f"{OFFICIAL}/train2014/a.jpg") == "http://mirror.test/coco/train2014/a.jpg"
    assert mirror.image_url("https://images.cocodataset.org/t/a.jpg?v=2") == "http://mirror.test/coco/t/a.jpg?v=2"
    for url in (f"{OFFICIAL}@127.0.0.1/a.jpg", f"{OFFICIAL}.evil.test/a.jpg", f"{OFFICIAL}:8080/a.jpg"):
        assert mirror.image_url(url) == url  # another host: never rewritten onto the mirror


def _seed_visiting_all(files: list[str], usable: set[str], n_test: int) -> int:
    """A split seed under which preparing n_test + the other usable files visits every file:
    test fills from the front of the hash order, train from the back, so the n_test-th and the
    next usable file must be neighbours."""

    def visits_all(seed: int) -> bool:
        ranks = [k for k, f in enumerate(sorted(files, key=lambda f: (position(seed, f), f))) if f in usable]
        return ranks[n_test] == ranks[n_test - 1] + 1

    return next(s for s in range(1000) if visits_all(s))


def test_unreadable_folder_entries_are_skipped_and_named(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for k in range(6):
        Image.fromarray(np.asarray(Image.open(io.BytesIO(_jpeg(k))))).save(images / f"p{k}.png")
    os.symlink("loop.jpg", images / "loop.jpg")  # a link to itself
    os.symlink("nowhere.png", images / "dangling.png")
    os.mkfifo(images / "fifo.jpg")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(images / "sock.png"))
    try:
        odd = ["loop.jpg", "dangling.png", "fifo.jpg", "sock.png"]
        files = [f"p{k}.png" for k in range(6)] + odd
        seed = _seed_visiting_all(files, {f"p{k}.png" for k in range(6)}, n_test=2)
        cfg = Config.from_profile(
            "smoke",
            source="folder",
            folder=str(images),
            n_train=4,
            n_test=2,
            image_size=S,
            split_seed=seed,
            data_root=str(tmp_path / "data"),
            results_root=str(tmp_path / "results"),
        )
        assert folder_fingerprint(images) == folder_fingerprint(images)
        result: dict = {}
        worker = threading.Thread(target=lambda: result.update(prepare(cfg, progress=False)), daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "prepare blocked (on the FIFO?)"
        assert result["skipped"] == {"unreadable_entry": 4} and result["used"] == 6
        lines = capsys.readouterr().err.splitlines()
        for name in odd:
            named = [line for line in lines if line.startswith(f"skipped {images / name}: ")]
            assert len(named) == 1, (name, lines)
        assert prepare(cfg, progress=False)["reused"] is True  # the fingerprint is stable
    finally:
        sock.close()


def test_free_space_message_shows_megabytes_when_gigabytes_round_to_zero(tmp_path, monkeypatch):
    import colorlib.data.cache as cache

    usage = cache.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(cache.shutil, "disk_usage", lambda path: usage._replace(free=3_000_000))
    with pytest.raises(DataError, match=r"needs 19\.7 MB for 100 images of 256×256, only 3\.0 MB free"):
        check_space(tmp_path, 100, 256)
    with pytest.raises(DataError, match=r"needs 196\.6 GB for 1000000 images of 256×256, only 3\.0 MB free"):
        check_space(tmp_path, 10**6, 256)
