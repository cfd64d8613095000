"""Browser fixtures: Debian's Chromium driven by Playwright for Python, offline.

- `browser` (session): one headless Chromium for the whole run, launched from /usr/bin/chromium
  (`playwright install` cannot download browsers here; scripts/test.sh installs Debian's `chromium`).
- `page` (function): a fresh context and page. Every request any page of that context makes is appended
  to `page.requests_seen` (URLs, in order); requests to hosts other than loopback are aborted (and still
  recorded), so a test can assert that the app never reaches the internet.
- `wsgi_server` (session): a factory; `wsgi_server(flask_app)` serves a WSGI app (e.g. `dash_app.server`)
  with werkzeug on a free 127.0.0.1 port in a thread and returns its base URL ("http://127.0.0.1:PORT").
  Servers stop at the end of the session.
- `screenshot` (function): `screenshot(page, "name")` saves test-artifacts/name.png (full page) and
  returns the path.
- `ARTIFACTS`: <repo>/test-artifacts (git-ignored).
- `is_local(url)`: True for loopback http(s) URLs and for data:/blob:/about: URLs that never touch the
  network.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
NON_NETWORK_SCHEMES = {"data", "blob", "about"}
# Matched by the Playwright driver itself (a regex, not a Python callable), so local requests never wait
# for the Python thread: a test may block (time.sleep, a slow assertion) without stalling the page.
FOREIGN_URL = re.compile(
    r"^(?:https?|wss?)://(?!(?:127\.0\.0\.1|localhost|\[::1\])(?:[:/?#]|$))", re.IGNORECASE
)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in NON_NETWORK_SCHEMES:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests_seen: list[str] = []
    context.on("request", lambda request: requests_seen.append(request.url))
    # Nothing may leave the machine: abort anything not on loopback (it is still recorded above).
    context.route(FOREIGN_URL, lambda route: route.abort("blockedbyclient"))
    pg = context.new_page()
    pg.requests_seen = requests_seen
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def wsgi_server() -> Iterator[Callable[[object], str]]:
    from werkzeug.serving import make_server

    servers = []

    def serve(wsgi_app) -> str:
        server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"wsgi-{server.server_port}", daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture()
def screenshot() -> Callable[..., Path]:
    def take(pg, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture(scope="session")
def app_server(cubes_store, tmp_path_factory) -> Iterator[str]:
    """The real app under gunicorn (two workers), in demo mode, on the shared small warehouse."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NSER_DATA_DIR": str(cubes_store.root), "NSER_DEMO": "1"}
    env.pop("NSER_DATABASE_URL", None)
    log = open(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", "w")  # noqa: SIM115
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "app:server",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = None
    if os.environ.get("NSER_CACHE_URL"):  # the Redis run: background callbacks go to a Celery worker
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("nser")), "worker", "--concurrency", "2"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    if proc.poll() is not None or not _healthy(base):
        proc.terminate()
        log.flush()
        raise RuntimeError("the app did not start under gunicorn:\n" + Path(log.name).read_text()[-3000:])
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    if worker is not None:
        worker.terminate()
        worker.wait(timeout=30)
    log.close()


def _healthy(base: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
