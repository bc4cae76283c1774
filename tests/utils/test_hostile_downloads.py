"""Downloads within bounds (issue 19), against real HTTP servers on 127.0.0.1: a file over the
size bound is refused and not kept, a redirect to ftp:// is refused, a full disk is reported as
such (not retried as "connection lost"), and --timeout rejects -1, NaN and 0."""

from __future__ import annotations

import errno
import http.server
import threading

import pytest

from colorlib.cli import main as cli
from colorlib.utils.download import DownloadError, DownloadPolicy, fetch
from colorlib.utils.errors import ColorlibError


@pytest.fixture
def redirecting():
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/evil.jpg")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_file_over_the_size_bound_is_refused_and_not_kept(tmp_path, http_server):
    site = tmp_path / "site"
    site.mkdir()
    (site / "big.jpg").write_bytes(b"\0" * (3 << 20))
    server = http_server(site)
    dest = tmp_path / "out" / "big.jpg"
    with pytest.raises(DownloadError) as err:
        fetch(f"{server.url}/big.jpg", dest, DownloadPolicy(timeout=5, retries=2, backoff=0), max_bytes=1 << 20)
    assert "limit" in str(err.value) and "\n" not in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []
    assert len(server.requests) == 1  # not retried


def test_a_redirect_to_ftp_is_refused(tmp_path, redirecting):
    with pytest.raises(DownloadError) as err:
        fetch(f"{redirecting}/x.jpg", tmp_path / "x.jpg", DownloadPolicy(timeout=5, retries=1, backoff=0))
    assert "ftp://" in str(err.value) and "not http(s)" in str(err.value)
    assert not list(tmp_path.iterdir())


def test_a_full_disk_is_reported_as_such_not_retried(tmp_path, http_server, monkeypatch):
    """ENOSPC on the write of the .part: one DiskFullError, no 'connection lost' retries."""
    import builtins

    site = tmp_path / "site"
    site.mkdir()
    (site / "a.jpg").write_bytes(b"x" * 200_000)
    server = http_server(site)
    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def full_open(file, mode="r", *a, **k):
        f = real_open(file, mode, *a, **k)
        return Full(f) if str(file).endswith(".part") and "b" in mode and ("w" in mode or "a" in mode) else f

    monkeypatch.setattr(builtins, "open", full_open)
    logged = []
    with pytest.raises(OSError) as err:
        fetch(
            f"{server.url}/a.jpg",
            tmp_path / "out" / "a.jpg",
            DownloadPolicy(timeout=5, retries=3, backoff=0),
            log=logged.append,
        )
    monkeypatch.undo()
    assert isinstance(err.value, ColorlibError) and err.value.errno == errno.ENOSPC
    assert "no space left" in str(err.value) and not logged and len(server.requests) == 1
    assert not (tmp_path / "out" / "a.jpg.part").exists()


@pytest.mark.parametrize("value", ["-1", "nan", "0", "inf"])
def test_timeout_must_be_a_positive_number(value, tmp_path, capsys):
    code = cli(["prepare", "--profile", "smoke", "--timeout", value, "--set", f"data_root={tmp_path}"])
    assert code != 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "timeout" in line
    assert not list(tmp_path.iterdir())


def test_hub_weights_refuse_an_ftp_redirect(tmp_path, redirecting, monkeypatch):
    """torch.hub's own download followed ftp:// redirects and had no timeout; resolve_weights and
    the ImageNet encoder now go through fetch_hashed (fetch's bounds + the sha256 check)."""
    from colorlib.inference.export import ExportError, resolve_weights
    from colorlib.models import PretrainedWeightsError, load_resnet18_imagenet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ExportError) as err:
        resolve_weights(f"{redirecting}/unet-0badc0de.safetensors", progress=False)
    assert "ftp://" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("COLORLIB_RESNET18_URL", f"{redirecting}/resnet18-f37072fd.pth")
    with pytest.raises(PretrainedWeightsError, match="ftp://"):
        load_resnet18_imagenet()
    assert not [p for p in (tmp_path / "torch").rglob("*") if p.is_file()]


def test_a_stalled_weights_server_times_out(tmp_path):
    import socket
    import time

    from colorlib.utils.download import fetch_hashed

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections, never answers
    try:
        start = time.monotonic()
        with pytest.raises(DownloadError, match="timeout"):
            fetch_hashed(
                f"http://127.0.0.1:{listener.getsockname()[1]}/w-0badc0de.safetensors",
                tmp_path / "w.safetensors",
                "0badc0de",
                DownloadPolicy(timeout=0.3, retries=1, backoff=0),
            )
        assert time.monotonic() - start < 5
    finally:
        listener.close()
    assert not list(tmp_path.iterdir())


def test_an_unknown_host_is_not_retried(tmp_path, monkeypatch):
    """A name that does not resolve (no network, a typo) fails at once in one line: retrying it
    with back-off only made an offline demo wait (the ImageNet weights: 7 s)."""
    from colorlib.utils.download import DownloadError, DownloadPolicy, fetch

    slept = []
    monkeypatch.setattr("colorlib.utils.download.time.sleep", slept.append)
    with pytest.raises(DownloadError, match="unknown host") as err:
        fetch("http://no-such-host.invalid/x.bin", tmp_path / "x.bin", DownloadPolicy(retries=3))
    assert slept == [] and "\n" not in str(err.value) and not list(tmp_path.iterdir())
