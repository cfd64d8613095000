"""The Flask side: secret key, login and logout, CSRF, safe redirects, cookies, headers and error pages.

A bare Flask app configured by ``web.configure`` (what the Dash app's server gets), on a fresh SQLite store.
"""

from __future__ import annotations

import re

import flask
import pytest

from dashboard import web
from dashboard.accounts import Accounts
from dashboard.audit import AccessLog

PASSWORD = "Correct-horse-battery-2026"


@pytest.fixture()
def server(data_dir, monkeypatch):
    monkeypatch.setenv("NSER_SECRET_KEY", "k" * 64)
    monkeypatch.delenv("NSER_DEMO", raising=False)
    monkeypatch.delenv("NSER_DATABASE_URL", raising=False)
    monkeypatch.setenv("NSER_AUDIT_KEY", "a" * 64)
    accounts = Accounts()
    accounts.add_organisation("Planning Board", "provincial_government", actor="test")
    accounts.add_user(
        "planner", "A Planner", "Planning Board", PASSWORD, "business", "none", [], None, actor="test"
    )
    app = flask.Flask("test-web")
    web.configure(app, lambda: ["'sha256-abc='"])

    @app.get("/whoami")
    def whoami():
        p = web.current_principal()
        return {"user": p.username if p else None, "csrf": web.csrf_token()}

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals /srv/nser/warehouse.duckdb")

    return app


def _csrf(client) -> str:
    return client.get("/whoami").get_json()["csrf"]


def login(client, password: str = PASSWORD, next_: str = "/explore", csrf: str | None = None):
    return client.post(
        "/auth/login",
        data={
            "username": "planner",
            "password": password,
            "next": next_,
            "csrf_token": csrf or _csrf(client),
        },
    )


def test_outside_demo_mode_a_secret_key_is_required(data_dir, monkeypatch):
    monkeypatch.delenv("NSER_SECRET_KEY", raising=False)
    monkeypatch.delenv("NSER_DEMO", raising=False)
    with pytest.raises(RuntimeError, match="NSER_SECRET_KEY must be set"):
        web.secret_key()
    monkeypatch.setenv("NSER_DEMO", "1")  # demo mode keeps a generated key in the data directory, 0600
    key = web.secret_key()
    assert len(key) == 64 and web.secret_key() == key
    assert (data_dir / "secrets" / "flask.key").stat().st_mode & 0o077 == 0


def test_login_sets_a_hardened_session_cookie_and_redirects_to_next(server):
    client = server.test_client()
    response = login(client, next_="/explore?cube=persons&level=tehsil")
    assert response.status_code == 303
    assert response.headers["Location"] == "/explore?cube=persons&level=tehsil"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert client.get("/whoami").get_json()["user"] == "planner"


def test_login_without_the_forms_csrf_token_is_refused(server):
    client = server.test_client()
    _csrf(client)
    response = client.post("/auth/login", data={"username": "planner", "password": PASSWORD})
    assert response.status_code == 400
    assert b"did not come from this site" in response.data
    forged = login(client, csrf="not-the-token")
    assert forged.status_code == 400
    assert client.get("/whoami").get_json()["user"] is None


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "explore"]
)
def test_login_never_redirects_off_site(server, target):
    response = login(server.test_client(), next_=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_failed_login_says_so_keeps_the_link_and_is_logged(server):
    client = server.test_client()
    response = login(client, password="wrong", next_="/explore?cube=persons&level=tehsil")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/explore%3Fcube%3Dpersons%26level%3Dtehsil"
    with client.session_transaction() as s:
        assert "login_error" in s and "planner" not in s["login_error"]  # never says whether the user exists
    assert client.get("/whoami").get_json()["user"] is None
    kinds = [(r.kind, r.outcome) for r in AccessLog().rows()]
    assert ("login", "failure") in kinds


def test_logout_ends_the_session_and_is_logged(server):
    client = server.test_client()
    login(client)
    response = client.post("/auth/logout", data={"csrf_token": _csrf(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/whoami").get_json()["user"] is None
    assert [r.kind for r in AccessLog().rows()][-1] == "logout"


def test_a_disabled_user_is_logged_out_on_the_next_request(server):
    client = server.test_client()
    login(client)
    Accounts().disable("planner", actor="test")
    assert client.get("/whoami").get_json()["user"] is None


def test_security_headers_on_every_response(server):
    response = server.test_client().get("/whoami")
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script_src == "'self' 'sha256-abc='"  # no inline or eval'd script beyond Dash's own hashed ones
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests
    secure = server.test_client().get("/whoami", base_url="https://nser.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_errors_show_a_plain_page_without_internals(server):
    server.config["PROPAGATE_EXCEPTIONS"] = False
    client = server.test_client()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and b"Back to NSER Insight" in missing.data
    broken = client.get("/boom")
    assert broken.status_code == 500
    assert b"Something went wrong" in broken.data
    assert b"warehouse.duckdb" not in broken.data and b"Traceback" not in broken.data
    assert "Content-Security-Policy" in broken.headers
    urdu = client.get("/no-such-page?lang=ur").get_data(as_text=True)
    assert "<html lang='ur' dir='rtl'>" in urdu and "bootstrap.rtl.min.css" in urdu
    assert "مطلوبہ صفحہ سرور پر نہیں ملا" in urdu and "واپس NSER Insight پر" in urdu
    assert "ہماری طرف سے کچھ غلط ہو گیا" in client.get("/boom?lang=ur").get_data(as_text=True)


def test_health_check(server):
    response = server.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"ok": True}


def test_a_temporary_password_must_be_replaced_before_anything_else(server):
    temporary = Accounts().issue_temporary_password("planner", actor="test")
    client = server.test_client()
    answer = login(client, password=temporary, next_="/explore")
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/password?next=/explore"
    assert client.get("/whoami").get_json()["user"] is None  # the public until the password is replaced
    csrf = _csrf(client)
    for form, error in (
        (
            {"current": "wrong", "new": "my own long passphrase", "confirm": "my own long passphrase"},
            "is wrong",
        ),
        ({"current": temporary, "new": "short", "confirm": "short"}, "at least 12 characters"),
        ({"current": temporary, "new": "my own long passphrase", "confirm": "another"}, "differ"),
    ):
        refused = client.post("/auth/password", data={**form, "next": "/explore", "csrf_token": csrf})
        assert refused.status_code == 303 and refused.headers["Location"].startswith("/account/password")
        with client.session_transaction() as s:
            assert error in s.pop("password_error")
    assert (
        client.post("/auth/password", data={"current": temporary, "new": "x" * 12}).status_code == 400
    )  # no CSRF
    done = client.post(
        "/auth/password",
        data={
            "current": temporary,
            "new": "my own long passphrase",
            "confirm": "my own long passphrase",
            "next": "/explore",
            "csrf_token": csrf,
        },
    )
    assert done.status_code == 303 and done.headers["Location"] == "/explore"
    assert client.get("/whoami").get_json()["user"] == "planner"
    assert Accounts().authenticate("planner", "my own long passphrase").must_change_password is False
    assert any(e.action == "user.change_password" for e in AccessLog().rows())


def test_the_signed_nda_of_a_request_is_for_bisp_staff_only(server):
    from dashboard.data_requests import DataRequests, Upload

    accounts = Accounts()
    accounts.add_organisation("BISP NSER MIS Wing", "bisp", actor="test")
    accounts.add_user(
        "mis", "MIS", "BISP NSER MIS Wing", PASSWORD, "mis", "power", ["dg_nser"], None, actor="test"
    )
    pdf = b"%PDF-1.4 signed by the Director PSPA"
    reference, *_ = DataRequests().submit(
        {
            "organisation_name": "Punjab Social Protection Authority",
            "organisation_type": "provincial_government",
            "address": "Lahore",
            "focal_person": "Nadia Qureshi",
            "email": "nadia@pspa.gop.pk",
            "phone": "+92 42 1234567",
            "purpose": "Social protection",
            "intended_use": "Targeting",
            "data_type": "confidential",
            "granularity": "Union councils",
            "frequency": "one_time",
            "nda_accepted": True,
        },
        documents={"signed_nda": Upload("nda.pdf", pdf)},
    )
    url = f"/admin/requests/{reference}/signed-nda"
    anonymous = server.test_client().get(url)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    planner = server.test_client()
    login(planner)
    assert planner.get(url).status_code == 403
    staff = server.test_client()
    staff.post(
        "/auth/login", data={"username": "mis", "password": PASSWORD, "next": "/", "csrf_token": _csrf(staff)}
    )
    got = staff.get(url)
    assert got.status_code == 200 and got.data == pdf and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"] == 'attachment; filename="nda.pdf"'
    assert staff.get("/admin/requests/NSER-REQ-1999-000001/signed-nda").status_code == 404
    assert any(e.kind == "data_request" and e.outcome == "document" for e in AccessLog().rows())


def test_a_password_change_ends_the_other_sessions_of_the_account(server):
    """Someone who saw the temporary password and logged in with it keeps nothing once the owner has
    chosen their own: the session was opened with the old password."""
    temporary = Accounts().issue_temporary_password("planner", actor="test")
    intruder, owner = server.test_client(), server.test_client()
    login(intruder, password=temporary)
    login(owner, password=temporary)
    owner.post(
        "/auth/password",
        data={
            "current": temporary,
            "new": "my own long passphrase",
            "confirm": "my own long passphrase",
            "next": "/",
            "csrf_token": _csrf(owner),
        },
    )
    assert owner.get("/whoami").get_json()["user"] == "planner"
    assert intruder.get("/whoami").get_json()["user"] is None  # the old session is nobody now


def test_logging_out_before_replacing_a_temporary_password_is_logged(server):
    temporary = Accounts().issue_temporary_password("planner", actor="test")
    client = server.test_client()
    login(client, password=temporary)
    client.post("/auth/logout", data={"csrf_token": _csrf(client)})
    assert any(e.kind == "logout" and e.username == "planner" for e in AccessLog().rows())


def test_each_request_answers_from_one_snapshot(server):
    """A request is pinned to one snapshot for its whole duration (assets are not: they hold no numbers)."""
    from dashboard.oversight import governed_gateway

    gateway = governed_gateway()
    with server.test_request_context("/_dash-update-component", method="GET"):
        server.preprocess_request()
        assert gateway._local.depth == 1
        server.do_teardown_request()
        assert gateway._local.depth == 0
    with server.test_request_context("/assets/zz-site/site.css"):
        server.preprocess_request()
        assert getattr(gateway._local, "depth", 0) == 0


def test_a_response_says_which_snapshot_answered_and_how_many_answers_it_logged(
    cubes_store, tmp_path, monkeypatch
):
    """What the load test checks the access log against: each data-serving response names its snapshot
    and the number of answers (and refusals) it put into the access log."""
    from dashboard import oversight
    from tests.conftest import make_query

    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.setenv("NSER_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("NSER_AUDIT_KEY", "a" * 64)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    app = flask.Flask("answers")
    web.configure(app, lambda: [])

    @app.get("/two")
    def two():
        from cubes.query import Actor

        gateway = oversight.governed_gateway()
        public = Actor(tier="public", user=None, organisation=None)
        gateway.run_query(public, make_query())
        gateway.run_query(public, make_query(measures=["no_such_measure"]))  # a refusal is logged too
        return "ok"

    response = app.test_client().get("/two")
    assert response.headers["X-NSER-Snapshot"] == cubes_store.serving_id()
    assert response.headers["X-NSER-Answers"] == "2"
    assert len(list(AccessLog().rows())) == 2
    assert "X-NSER-Snapshot" not in app.test_client().get("/healthz").headers  # nothing answered
