"""The COCO path end to end against a real HTTP server on 127.0.0.1 (generated images + annotations).

The server misbehaves like the internet: one image fails once (503), one stalls past the client
timeout, one transfer is cut mid-file (and must resume with a Range request), one image is 404,
one image is grayscale (must be replaced), and one file was left half-downloaded by a killed run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import time
import zipfile
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.config import Config
from colorlib.data import prepare
from colorlib.data.cache import load_images
from colorlib.utils.download import DownloadPolicy

S = 32
TIMEOUT = 0.5
TRAIN_IDS, TEST_IDS = [11, 12, 13, 14, 15, 16], [21, 22, 23]
FAIL_ONCE, STALL, CUT, GRAY, PARTIAL, MISSING = 11, 12, 13, 14, 15, 23


def _jpeg(image_id: int) -> bytes:
    rng = np.random.default_rng(image_id)
    y, x = np.mgrid[0:40, 0:48] / 48
    arr = np.stack([127 + 120 * np.sin(3 * x + 2 * y + p) for p in rng.uniform(0, 6.3, 3)], -1)
    img = Image.fromarray(arr.astype(np.uint8))
    if image_id == GRAY:
        img = img.convert("L").convert("RGB")  # an RGB JPEG without chroma
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _name(split: str, image_id: int) -> str:
    return f"COCO_{split}2014_{image_id:012d}.jpg"


class _Server:
    """A threaded http.server with scripted misbehaviour; records every request."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: dict[str, list[str | None]] = defaultdict(list)  # path -> Range headers
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                server.requests[self.path].append(self.headers.get("Range"))
                count = len(server.requests[self.path])
                body = server.files.get(self.path)
                if body is None:
                    return self.send_error(404)
                if self.path.endswith(_name("train", FAIL_ONCE)) and count == 1:
                    return self.send_error(503)
                if self.path.endswith(_name("train", STALL)) and count == 1:
                    time.sleep(3 * TIMEOUT)
                    return self.send_error(503)
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if self.path.endswith(_name("train", CUT)) and count == 1:
                    self.wfile.write(body[: len(body) // 2])  # promise everything, send half, hang up
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # clients that time out hang up
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def image_requests(self) -> dict[str, int]:
        return {p: len(r) for p, r in self.requests.items() if not p.startswith("/annotations")}


def _annotation_zip(member: str, split: str, ids: list[int], base: str) -> bytes:
    images = [
        {
            "id": i,
            "file_name": _name(split, i),
            "width": 48,
            "height": 40,
            "coco_url": f"{base}/{split}2014/{_name(split, i)}",
        }
        for i in ids
    ]
    data = {"info": {}, "licenses": [], "images": images}
    if split == "train":
        data["annotations"] = [{"id": 100 + i, "image_id": i, "caption": "a test"} for i in ids]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"annotations/{member}", json.dumps(data))
    return buffer.getvalue()


@pytest.fixture()
def coco_server():
    server = _Server()
    base = "http://images.cocodataset.org"  # as in the real files; the policy redirects it
    server.files["/annotations/annotations_trainval2014.zip"] = _annotation_zip(
        "captions_train2014.json", "train", TRAIN_IDS, base
    )
    server.files["/annotations/image_info_test2014.zip"] = _annotation_zip(
        "image_info_test2014.json", "test", TEST_IDS, base
    )
    for split, ids in (("train", TRAIN_IDS), ("test", TEST_IDS)):
        for i in ids:
            if i != MISSING:
                server.files[f"/{split}2014/{_name(split, i)}"] = _jpeg(i)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _cfg(tmp_path: Path, **changes) -> Config:
    base = dict(
        source="coco",
        n_train=5,
        n_test=2,
        image_size=S,
        split_seed=0,
        data_root=str(tmp_path / "data"),
        results_root=str(tmp_path / "results"),
    )
    return Config.from_profile("smoke", **{**base, **changes})


def test_coco_download_end_to_end(tmp_path, coco_server, capsys):
    cfg = _cfg(tmp_path)
    policy = DownloadPolicy(
        timeout=TIMEOUT,
        retries=3,
        backoff=0.01,
        workers=4,
        annotations_url=coco_server.url + "/annotations",
        images_url=coco_server.url,
    )
    coco = cfg.data_dir / "coco"
    partial = coco / "train2014" / (_name("train", PARTIAL) + ".part")  # left by a killed run
    partial.parent.mkdir(parents=True)
    partial.write_bytes(_jpeg(PARTIAL)[:300])

    summary = prepare(cfg, progress=False, policy=policy)
    assert (summary["train"], summary["test"], summary["used"]) == (5, 2, 7)
    assert summary["grayscale_replaced"] == {"train": 1, "test": 0}
    assert summary["skipped"] == {"download_failed": 1}
    err = capsys.readouterr().err
    assert "no data for 0.5 s (timeout); retrying" in err and "transfer cut at" in err
    assert f"skipped {coco_server.url}/test2014/{_name('test', MISSING)}: HTTP 404" in err
    assert f"grayscale {coco / 'train2014' / _name('train', GRAY)}" in err

    rows = list(csv.DictReader(io.StringIO((cfg.data_dir / "manifest.csv").read_text())))
    assert {int(r["id"]) for r in rows if r["split"] == "train"} == set(TRAIN_IDS) - {GRAY}
    assert {int(r["id"]) for r in rows if r["split"] == "test"} == set(TEST_IDS) - {MISSING}
    assert (cfg.results_dir / "manifest.csv").read_text() == (cfg.data_dir / "manifest.csv").read_text()

    requests = coco_server.requests
    assert len(requests[f"/train2014/{_name('train', FAIL_ONCE)}"]) == 2
    assert len(requests[f"/train2014/{_name('train', STALL)}"]) == 2
    assert requests[f"/train2014/{_name('train', CUT)}"][1] == f"bytes={len(_jpeg(CUT)) // 2}-"
    assert requests[f"/train2014/{_name('train', PARTIAL)}"] == ["bytes=300-"]
    for i in TRAIN_IDS:  # every download is byte-exact, and no .part file is left
        assert (
            hashlib.sha1((coco / "train2014" / _name("train", i)).read_bytes()).digest()
            == hashlib.sha1(_jpeg(i)).digest()
        )
    assert not list(coco.rglob("*.part")) and not list(coco.glob("*.zip"))

    # A later run with the cache gone (a killed run) downloads no image or annotation again.
    before = {p: len(r) for p, r in requests.items()}
    for name in ("summary.json", "train.npy"):
        (cfg.data_dir / name).unlink()
    again = prepare(cfg, progress=False, policy=policy)
    assert again["used"] == 7 and again["reused"] is False
    new = {p: len(r) - before.get(p, 0) for p, r in requests.items() if len(r) > before.get(p, 0)}
    assert set(new) <= {f"/test2014/{_name('test', MISSING)}"}  # only the 404 is tried again
    train = np.array(load_images(cfg, "train"))

    # The same selection from an existing copy on disk (--coco-root): nothing downloaded at all.
    root = tmp_path / "coco_copy"
    (root / "annotations").mkdir(parents=True)
    for split, member in (("train", "captions_train2014.json"), ("test", "image_info_test2014.json")):
        (root / "annotations" / member).write_bytes((coco / "annotations" / member).read_bytes())
        (root / f"{split}2014").mkdir()
    for i in TRAIN_IDS:
        (root / "train2014" / _name("train", i)).write_bytes(_jpeg(i))
    for i in TEST_IDS[:-1]:
        (root / "test2014" / _name("test", i)).write_bytes(_jpeg(i))
    offline = DownloadPolicy(
        timeout=TIMEOUT, retries=0, annotations_url="http://127.0.0.1:9", images_url="http://127.0.0.1:9"
    )
    local = _cfg(tmp_path, coco_root=str(root), data_root=str(tmp_path / "local"))
    total_before = sum(len(r) for r in requests.values())
    summary = prepare(local, progress=False, policy=offline)
    assert sum(len(r) for r in requests.values()) == total_before
    assert summary["skipped"] == {"missing": 1} and summary["grayscale_replaced_total"] == 1
    assert np.array_equal(load_images(local, "train"), train)


def test_unreachable_annotation_server_is_one_line_with_the_offline_hint(tmp_path, closed_port, capsys):
    from colorlib.cli import main

    argv = [
        "prepare",
        "--profile",
        "smoke",
        "--source",
        "coco",
        "--set",
        f"data_root={tmp_path / 'data'}",
        "--set",
        f"results_root={tmp_path / 'results'}",
        "--retries",
        "0",
        "--timeout",
        "2",
    ]
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COLORLIB_COCO_ANNOTATIONS_URL", url)
        assert main(argv) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"colorlib prepare: {url}/image_info_test2014.zip: failed after 1 attempt (")
    assert last.endswith("use an existing COCO copy with --coco-root DIR")
    assert not list((tmp_path / "data").rglob("*.part")) and not (tmp_path / "results").exists()
