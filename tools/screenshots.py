"""Look at the notebooks as a student does: JupyterLab in a real browser (headless Chromium) at
1366×768 and 100 % zoom, each notebook screen by screen, saved as PNGs.

    python -m tools.screenshots                          # every notebook → build/screenshots/
    python -m tools.screenshots notebooks/02_train_unet.ipynb --out build/nb2-screens

Nothing is executed: the committed notebooks are shown with their outputs, the figures they link
loaded from ``results/``. JupyterLab runs on 127.0.0.1 with a random token and throwaway settings
(no news pop-up, no saved workspace); the notebook panel is scrolled one screen at a time through
the Chrome DevTools protocol (``websocket-client``, which JupyterLab itself depends on). Each
notebook's screens go to ``<out>/<notebook stem>/NN.png``.

Needs Chromium (Debian/Ubuntu: ``apt install chromium``; or name the browser with ``--browser``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from colorlib.utils.errors import ColorlibError
from colorlib.utils.files import shown

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# JupyterLab 4's notebook scroll container (the active notebook's)
PANEL = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
LAST_CELL_SHOWN = (
    "(() => { const cells = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell');"
    " return [cells.length, cells[cells.length - 1].getBoundingClientRect().bottom"
    f" <= {PANEL}.getBoundingClientRect().bottom]; }})()"
)


class ScreenshotError(ColorlibError, RuntimeError):
    """Something this tool needs is missing or did not start (one line)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise ScreenshotError(f"timed out after {timeout:.0f} s waiting for {what}")


def _start_lab(home: Path, port: int, token: str) -> subprocess.Popen:
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}"]
    cmd += ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    lab = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "lab.log", "wb"))

    def up() -> bool:
        if lab.poll() is not None:
            raise ScreenshotError(f"JupyterLab exited ({lab.returncode}): {_tail(home / 'lab.log')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    _wait(up, 90, "JupyterLab to start")
    return lab


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


def _start_browser(browser: str, home: Path, width: int, height: int) -> tuple[subprocess.Popen, str]:
    cmd = [browser, "--headless=new", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-port=0"]
    cmd += [f"--user-data-dir={home / 'chrome'}", f"--window-size={width},{height}", "--no-first-run"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    log = home / "browser.log"
    proc = subprocess.Popen([*cmd, "about:blank"], stdout=subprocess.DEVNULL, stderr=open(log, "wb"))

    def endpoint() -> str | None:
        if proc.poll() is not None:
            raise ScreenshotError(f"{browser} exited ({proc.returncode}): {_tail(log)}")
        found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace"))
        return found.group(1) if found else None

    port = _wait(endpoint, 60, f"{browser}'s DevTools port")
    pages = _wait(lambda: _json(f"http://127.0.0.1:{port}/json/list"), 30, "a browser page")
    page = next(p for p in pages if p.get("type") == "page")
    return proc, page["webSocketDebuggerUrl"]


def _json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


def _stop_kernels(port: int, token: str) -> None:
    """Shut down the kernels JupyterLab started for the opened notebooks (they would outlive it)."""
    base = f"http://127.0.0.1:{port}/api/kernels"
    for kernel in _json(f"{base}?token={token}") or []:
        request = urllib.request.Request(
            f"{base}/{kernel['id']}", method="DELETE", headers={"Authorization": f"token {token}"}
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=30).close()


class _Page:
    """One browser tab driven over the DevTools protocol."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client, a dependency of JupyterLab's server

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise ScreenshotError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def settle(self, timeout: float = 30) -> None:
        """Until every image on the page has loaded and rendering has had a moment."""
        _wait(lambda: self.js("Array.from(document.images).every(i => i.complete)"), timeout, "the figures to load")
        time.sleep(0.4)

    def close(self) -> None:
        self.ws.close()


def shoot(notebooks: list[Path], out: Path, browser: str, width: int = 1366, height: int = 768) -> dict[str, int]:
    """Screens of each notebook into ``out/<stem>/NN.png``; returns {notebook name: screens}."""
    home = Path(tempfile.mkdtemp(prefix="colorlib-screenshots-"))
    token, port = secrets.token_hex(16), _free_port()
    lab = proc = page = None
    made = {}
    try:
        lab = _start_lab(home, port, token)
        proc, ws_url = _start_browser(browser, home, width, height)
        page = _Page(ws_url)
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        for nb in notebooks:
            rel = nb.resolve().relative_to(ROOT).as_posix()
            n_cells = len(json.loads(nb.read_text(encoding="utf-8"))["cells"])
            page.call("Page.navigate", url=f"http://127.0.0.1:{port}/lab/tree/{rel}?token={token}&reset")
            _wait(lambda: page.js(f"!!{PANEL} && document.querySelectorAll('.jp-Cell').length > 0"), 90, f"{rel}")
            page.settle()
            folder = out / nb.stem
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            top, n = 0, 0
            while True:
                page.js(f"{PANEL}.scrollTop = {top}")
                page.settle()
                shot = page.call("Page.captureScreenshot", format="png")
                n += 1
                (folder / f"{n:02d}.png").write_bytes(base64.b64decode(shot["data"]))
                scroll_top, view, total = page.js(f"[{PANEL}.scrollTop, {PANEL}.clientHeight, {PANEL}.scrollHeight]")
                drawn, last_shown = page.js(LAST_CELL_SHOWN)
                if scroll_top + view >= total - 2 or (drawn == n_cells and last_shown) or n >= 200:
                    break  # the end, or the last cell is on screen (below it only the notebook's padding)
                top = scroll_top + view - 40  # a little overlap between screens
            made[nb.name] = n
    finally:
        if page is not None:
            page.close()
        for p in (proc, lab):  # the browser first: an open notebook would start its kernel again
            if p is lab and lab.poll() is None:
                _stop_kernels(port, token)  # opening a notebook started one; it would outlive the server
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(home, ignore_errors=True)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--browser", help=f"the browser to drive (default: the first of {', '.join(BROWSERS)})")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=768)
    args = parser.parse_args(argv)
    browser = args.browser or next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None or shutil.which(browser) is None:
        print(
            f"screenshots: no browser found ({browser or ', '.join(BROWSERS)}): apt install chromium", file=sys.stderr
        )
        return 1
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if missing:
        print(f"screenshots: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        made = shoot(notebooks, args.out, browser, args.width, args.height)
    except ScreenshotError as err:
        print(f"screenshots: {err}", file=sys.stderr)
        return 1
    for name, n in made.items():
        print(f"{name}: {n} screens in {shown(args.out / Path(name).stem)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
