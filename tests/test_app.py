"""The app factory: one app on the shared small warehouse, in demo mode, served in-process.

Journeys through pages live in tests/browser (a real Chromium against gunicorn); here: what the factory
wires up — pages, guard, demo users, local assets only.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def client(cubes_store):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NSER_DATA_DIR", str(cubes_store.root))
        mp.setenv("NSER_DEMO", "1")
        mp.delenv("NSER_DATABASE_URL", raising=False)
        from app import create_app

        app = create_app()
        yield app.server.test_client()


def test_index_loads_only_local_scripts_styles_and_fonts(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links, html[:500]
    assert all(link.startswith("/") and not link.startswith("//") for link in links), links
    assert "/assets/vendor/bootstrap/bootstrap.min.css" in html


def test_every_page_is_registered_with_a_tier(client):
    import dash

    tiers = {p.get("path_template") or p["path"]: p.get("tier") for p in dash.page_registry.values()}
    assert tiers == {
        "/": "public",
        "/login": "public",
        "/district/<district_code>": "public",
        "/explore": "business",
        "/admin": "mis",
        "/reports": "public",
        "/reports/<slug>": "public",
        "/admin/reports": "mis",
        "/records": "business",
        "/request": "public",
        "/admin/requests": "mis",
        "/account/password": "public",
        "/admin/integration": "mis",
    }


def test_demo_mode_seeds_one_user_per_tier(client):
    from dashboard.accounts import Accounts
    from dashboard.demo import DEMO_PASSWORD

    tiers = {u.username: u.tier for u, _ in Accounts().users()}
    assert {
        "mis": "mis",
        "dg": "mis",
        "planner": "business",
        "researcher": "business",
    }.items() <= tiers.items()
    assert Accounts().authenticate("planner", DEMO_PASSWORD).tier == "business"


def test_the_admin_page_asks_anonymous_visitors_to_log_in(client):
    import json

    response = client.post(
        "/_dash-update-component",
        data=json.dumps(
            {
                "output": ".._pages_content.children..._pages_store.data..",
                "outputs": [
                    {"id": "_pages_content", "property": "children"},
                    {"id": "_pages_store", "property": "data"},
                ],
                "inputs": [
                    {"id": "_pages_location", "property": "pathname", "value": "/admin"},
                    {"id": "_pages_location", "property": "search", "value": ""},
                ],
                "changedPropIds": ["_pages_location.pathname"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    content = response.get_json()["response"]["_pages_content"]["children"]["props"]["children"]
    assert content[0]["props"] == {"id": "guard-redirect", "href": "/login?next=/admin", "refresh": True}
    assert "admin-users" not in response.get_data(as_text=True)


def _fresh_data_dir(cubes_store, target):
    """A data directory holding only the current snapshot: no store, no secrets, no caches yet."""
    import shutil

    target.mkdir()
    snapshot_id = cubes_store.current_id()
    for path in cubes_store.root.iterdir():
        if path.name.startswith(snapshot_id) and path.is_file():
            shutil.copy2(path, target / path.name)
    (target / "CURRENT").write_text(snapshot_id)
    return target


def _gunicorn(data, workers: int, log_path):
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NSER_DATA_DIR": str(data), "NSER_DEMO": "1"}
    env.pop("NSER_DATABASE_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    args = [str(gunicorn), "-w", str(workers), "--threads", "4", "-b", f"127.0.0.1:{port}", "app:server"]
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parents[1], env=env, stdout=log, stderr=log)
    return proc, f"http://127.0.0.1:{port}", log


def test_workers_booting_together_on_a_new_data_directory_all_serve_the_whole_app(cubes_store, tmp_path):
    """CI once ran a worker that had read an empty session key while another was writing it: Dash's set-up
    failed on its first page, and that worker served pages without callbacks (and without logins). Boot
    four workers at once on a data directory with no store and no secrets; every worker must answer with
    every callback, and a login must hold on all of them."""
    import time

    import requests

    data = _fresh_data_dir(cubes_store, tmp_path / "fresh")
    proc, base, log = _gunicorn(data, 4, tmp_path / "gunicorn.log")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.3)
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        time.sleep(2)  # let every worker finish booting: a slow one must not hide behind a fast one
        counts = {len(requests.get(base + "/_dash-dependencies", timeout=10).json()) for _ in range(40)}
        assert len(counts) == 1 and counts.pop() > 20, counts
        session = requests.Session()
        login_page = _page_content(session, base, "/login")
        token = re.search(r'"value": "([^"]+)", "type": "hidden", "name": "csrf_token"', login_page).group(1)
        from dashboard.demo import DEMO_PASSWORD

        answer = session.post(
            base + "/auth/login",
            data={"username": "planner", "password": DEMO_PASSWORD, "csrf_token": token, "next": "/explore"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303 and answer.headers["Location"] == "/explore", answer.text[:300]
        for _ in range(20):  # spread over the workers: each must honour the session cookie
            explorer = _page_content(session, base, "/explore")
            assert "guard-redirect" not in explorer and '"id": "ex-cube"' in explorer, explorer[:300]
        keys = sorted(p.name for p in (data / "secrets").iterdir())
        assert all((data / "secrets" / k).stat().st_size == 32 for k in keys), keys
        assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _router_body(path: str) -> dict:
    """What the browser posts to Dash's page router when it opens ``path``."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
    }


def _page_content(session, base: str, path: str) -> str:
    """The page body Dash's page router returns for `path` in this session (JSON text)."""
    import json

    body = _router_body(path)
    response = session.post(
        base + "/_dash-update-component",
        data=json.dumps(body),
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:300]
    return json.dumps(response.json())


def test_a_worker_whose_first_page_fails_refuses_to_start(cubes_store, tmp_path):
    """Dash marks its set-up done before doing it, so a failed first page would leave a worker serving
    pages without callbacks; create_app must fail instead (gunicorn then reports the boot error)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    program = (
        "import layouts.shell\n"
        "def broken(*a, **k):\n"
        "    raise RuntimeError('the session is unavailable')\n"
        "layouts.shell.shell = broken\n"
        "from app import create_app\n"
        "create_app()\n"
    )
    data = _fresh_data_dir(cubes_store, tmp_path / "fresh")
    env = {**os.environ, "NSER_DATA_DIR": str(data), "NSER_DEMO": "1"}
    env.pop("NSER_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "the app's first page failed with HTTP 500 while the worker started" in done.stderr


def _page_body(client, path: str) -> str:
    import json

    body = _router_body(path)
    response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    return json.dumps(response.get_json(), ensure_ascii=False)


def test_urdu_pages_are_right_to_left_with_their_own_stylesheet(client):
    urdu = client.get("/?lang=ur")
    html = urdu.get_data(as_text=True)
    assert '<html lang="ur" dir="rtl">' in html
    assert "/assets/vendor/bootstrap-rtl/bootstrap.rtl.min.css" in html
    assert "/assets/vendor/bootstrap/bootstrap.min.css" not in html
    assert "nser_lang=ur" in urdu.headers.get("Set-Cookie", "")
    assert "Cookie" in urdu.headers.get("Vary", "")
    assert "قومی سماجی و معاشی رجسٹری" in _page_body(client, "/")  # the choice is remembered (cookie)
    english = client.get("/?lang=en")
    assert '<html lang="en" dir="ltr">' in english.get_data(as_text=True)
    assert "National Socio-Economic Registry" in _page_body(client, "/")


def test_the_browser_language_is_the_default_and_the_switch_goes_back(client):
    fresh = client.application.test_client()  # no cookie yet
    assert '<html lang="ur" dir="rtl">' in fresh.get(
        "/", headers={"Accept-Language": "ur-PK,ur;q=0.9,en;q=0.5"}
    ).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in fresh.get("/", headers={"Accept-Language": "de-DE"}).get_data(
        as_text=True
    )
    switched = fresh.get("/lang/ur", headers={"Referer": "http://localhost/district/PK601?x=1"})
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/district/PK601?x=1")
    assert "nser_lang=ur" in switched.headers["Set-Cookie"]
    away = fresh.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert away.headers["Location"].endswith("/") and "evil" not in away.headers["Location"]
    assert fresh.get("/lang/fr").status_code == 404


@pytest.mark.parametrize(
    ("path", "english", "urdu"),
    [
        ("/", "<title>NSER Insight</title>", "<title>این ایس ای آر انسائٹ</title>"),
        ("/district/PK601", "<title>District — NSER Insight</title>", "<title>ضلع — NSER Insight</title>"),
        ("/reports", "<title>Reports — NSER Insight</title>", "<title>رپورٹیں — NSER Insight</title>"),
        ("/explore", "<title>Explorer — NSER Insight</title>", "<title>ایکسپلورر — NSER Insight</title>"),
    ],
)
def test_the_browser_tab_title_is_in_the_page_language(client, path, english, urdu):
    fresh = client.application.test_client()
    assert english in fresh.get(path + "?lang=en").get_data(as_text=True)
    assert urdu in fresh.get(path + "?lang=ur").get_data(as_text=True)
