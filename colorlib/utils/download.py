"""HTTP downloads that survive flaky networks: timeouts, retries with back-off, resume.

``fetch(url, dest)`` writes ``<dest>.part`` and renames it to ``dest`` only once the whole
body has arrived (``Content-Length`` checked) and the optional ``verify(path)`` accepts it, so a
file under its final name is always complete. A run killed half-way leaves the ``.part`` file;
the next call resumes it with an HTTP ``Range`` request (a server that ignores ``Range`` simply
sends the whole file again). Only the standard library is used (``urllib``).

Only http(s) URLs are fetched (:func:`url_problem`): a URL read from a data file must not make
urllib copy a local ``file://`` path or reach an ``ftp://`` server.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import sha256_file

__all__ = ["DownloadError", "DownloadPolicy", "fetch", "fetch_hashed", "hash_in_name", "url_problem"]

# Where the real COCO files live; the environment variables point them at a mirror (or a test
# server on 127.0.0.1).
COCO_ANNOTATIONS_URL = "http://images.cocodataset.org/annotations"
COCO_IMAGES_URL = "http://images.cocodataset.org"
_COCO_IMAGES_HOST = urllib.parse.urlsplit(COCO_IMAGES_URL).netloc
_CHUNK = 1 << 16
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(ColorlibError, OSError):
    """A URL that could not be fetched after all retries; ``str(err)`` is one line."""


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be fetched (one phrase), or None for an http(s) URL with a host and
    no ``..`` path segment (which a mirror's server could resolve outside its folder)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError as err:
        return f"not a valid URL ({err})"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs are fetched"
    if not host:
        return "no host"
    if ".." in urllib.parse.unquote(parts.path).replace("\\", "/").split("/"):
        return "'..' in the path"
    return None


@dataclass(frozen=True)
class DownloadPolicy:
    """How to download: per-read timeout (s), attempts, back-off base (s), parallel workers.

    ``annotations_url`` / ``images_url`` default to ``$COLORLIB_COCO_ANNOTATIONS_URL`` /
    ``$COLORLIB_COCO_IMAGES_URL``, else the official ``images.cocodataset.org``.
    """

    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0
    workers: int = 8
    annotations_url: str = ""
    images_url: str = ""
    max_bytes: int = 2 << 30  # one file; a server sending more is refused, not stored (images: MAX_IMAGE_BYTES)

    def __post_init__(self) -> None:
        import math

        from colorlib.utils.errors import ConfigError

        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError(f"timeout={self.timeout!r}: must be a number of seconds > 0")
        if not (isinstance(self.retries, int) and self.retries >= 0):
            raise ConfigError(f"retries={self.retries!r}: must be a whole number ≥ 0")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise ConfigError(f"workers={self.workers!r}: must be a whole number ≥ 1")

    def annotations_base(self) -> str:
        return (self.annotations_url or os.environ.get("COLORLIB_COCO_ANNOTATIONS_URL") or COCO_ANNOTATIONS_URL).rstrip(
            "/"
        )

    def image_url(self, coco_url: str) -> str:
        """``coco_url`` of an image record, with its host replaced by the configured mirror.

        Only a URL whose host is exactly images.cocodataset.org (http or https) is rewritten,
        keeping its path and query: ``…cocodataset.org@evil/x`` or ``…cocodataset.org.evil/x``
        is left as it is (a prefix match would have sent them to another host)."""
        base = self.images_url or os.environ.get("COLORLIB_COCO_IMAGES_URL")
        try:
            parts = urllib.parse.urlsplit(coco_url)
        except ValueError:
            return coco_url
        if not base or parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() != _COCO_IMAGES_HOST:
            return coco_url
        return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


MAX_IMAGE_BYTES = 64 << 20  # one COCO photo is < 1 MB


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only: urllib also follows ``ftp://`` (and ``file:``-like
    schemes through other handlers), which no download of colorlib means to reach."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme not in ("http", "https"):
            raise DownloadError(f"{req.full_url}: redirected to {newurl!r}, not http(s); refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _too_big(url: str, size: int, limit: int) -> DownloadError:
    return DownloadError(
        f"{url}: {size / 1e6:.1f}+ MB is over the limit of {limit / 1e6:.0f} MB for this file; refused (not kept)"
    )


class _Retry(Exception):
    """One failed attempt that is worth retrying (the reason is ``str(self)``)."""


def _attempt(url: str, part: Path, timeout: float, max_bytes: int | None = None) -> None:
    """One GET, appending to ``part`` from its current size; raises _Retry if incomplete."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "colorlib"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            if status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                mode, expected = "ab", have
            else:  # 200: the server sent the whole file (it ignored or refused the Range)
                mode, expected = "wb", 0
            length = response.headers.get("Content-Length")
            expected = expected + int(length) if length is not None else None
            if max_bytes is not None and expected is not None and expected > max_bytes:
                raise _too_big(url, expected, max_bytes)
            with open(part, mode) as out:
                size = have if mode == "ab" else 0
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise _too_big(url, size, max_bytes)
                    out.write(chunk)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # our .part is already as long as the file, or longer
            part.unlink()
            raise _Retry("HTTP 416 on resume; starting over") from None
        if err.code in _RETRY_STATUS:
            raise _Retry(f"HTTP {err.code} {err.reason}") from None
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except TimeoutError:
        raise _Retry(f"no data for {timeout:g} s (timeout)") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, socket.gaierror) and err.reason.errno == socket.EAI_NONAME:
            part.unlink(missing_ok=True)  # no such host (no network, a typo): retrying cannot help
            raise DownloadError(
                f"{url}: unknown host ({err.reason.strerror}); check the address or the network"
            ) from None
        raise _Retry(f"{err.reason}") from None
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    except (http.client.HTTPException, ConnectionError, OSError) as err:
        from colorlib.utils.files import DiskFullError, full_disk_errno

        code = full_disk_errno(err, None)
        if code:  # the disk, not the network: retrying cannot help
            part.unlink(missing_ok=True)
            raise DiskFullError(part.with_name(part.name.removesuffix(".part")), code) from None
        raise _Retry(f"connection lost ({type(err).__name__}: {err})") from None
    size = part.stat().st_size
    if expected is not None and size != expected:
        raise _Retry(f"transfer cut at {size} of {expected} bytes")


def fetch(
    url: str,
    dest: str | os.PathLike,
    policy: DownloadPolicy = DownloadPolicy(),
    *,
    verify: Callable[[Path], None] | None = None,
    log: Callable[[str], None] | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (skipped if ``dest`` exists); return ``dest``.

    Retries ``policy.retries`` times with exponential back-off (``backoff · 2^k`` s) on
    timeouts, dropped connections, cut transfers and HTTP 408/429/5xx, resuming the ``.part``
    file each time. ``verify(path)`` may raise (any exception) to reject a complete download:
    the file is deleted and fetched again. Raises :class:`DownloadError` when all attempts fail.
    """
    problem = url_problem(url)
    if problem is not None:
        raise DownloadError(f"{url}: {problem}")
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    reason = "no attempt made"
    for attempt in range(max(1, policy.retries + 1)):
        if attempt:
            time.sleep(policy.backoff * 2 ** (attempt - 1))
        try:
            _attempt(url, part, policy.timeout, policy.max_bytes if max_bytes is None else max_bytes)
        except _Retry as err:
            reason = str(err)
            if log is not None and attempt < policy.retries:
                log(f"{url}: {reason}; retrying ({attempt + 1}/{policy.retries})")
            continue
        if verify is not None:
            try:
                verify(part)
            except Exception as err:  # noqa: BLE001 - any rejection means "fetch it again"
                part.unlink(missing_ok=True)
                reason = f"downloaded file rejected ({err})"
                continue
        os.replace(part, dest)
        return dest
    tries = max(1, policy.retries + 1)
    raise DownloadError(f"{url}: failed after {tries} attempt{'s' if tries > 1 else ''} (last: {reason})")


HUB_POLICY = DownloadPolicy(timeout=60.0, retries=3, backoff=1.0, workers=1)  # model weights: ≤ 2 GB


def fetch_hashed(
    url: str,
    dest: str | os.PathLike,
    sha256_prefix: str,
    policy: DownloadPolicy = HUB_POLICY,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (model weights: hub exports, the ImageNet encoder) with
    :func:`fetch`'s bounds — a per-read timeout (torch.hub has none: a stalled server hung it),
    http(s)-only redirects, a size limit — and keep it only if its sha256 starts with
    ``sha256_prefix``. A mismatch raises ``ValueError`` (``"… does not match sha256 '<prefix>'"``)
    and leaves nothing at ``dest``; network failures raise :class:`DownloadError`."""
    dest = Path(dest)
    part = dest.with_name(f".{dest.name}.unverified")
    part.unlink(missing_ok=True)
    fetch(url, part, policy, log=log)
    digest = sha256_file(part)
    if not digest.startswith(sha256_prefix.lower()):
        part.unlink(missing_ok=True)
        raise ValueError(f"{url}: download does not match sha256 {sha256_prefix!r} (got {digest[:16]}…)")
    os.replace(part, dest)
    return dest


def hash_in_name(url: str) -> str | None:
    """The sha256 prefix torch.hub's naming rule puts in a weights file's name
    (``name-<≥ 8 hex digits>.ext``), or None."""
    import re
    import urllib.parse

    found = re.search(r"-([0-9a-f]{8,64})$", Path(urllib.parse.urlparse(url).path).stem)
    return found.group(1) if found else None
