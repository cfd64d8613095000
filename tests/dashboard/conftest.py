"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

The test script (scripts/test.sh) starts PostgreSQL on loopback and sets NSER_TEST_POSTGRES_URL to a
role allowed to create databases; each test gets a database of its own. Without that variable the
PostgreSQL cases fail loudly unless NSER_SKIP_POSTGRES=1 is set on purpose.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from dashboard.store import make_engine, upgrade

BACKENDS = ["sqlite", "postgresql"]


def _postgres_url() -> str | None:
    return os.environ.get("NSER_TEST_POSTGRES_URL")


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A fresh, migrated store on each backend; yields its URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nser.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    base = _postgres_url()
    if not base:
        if os.environ.get("NSER_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL skipped on purpose (NSER_SKIP_POSTGRES=1)")
        pytest.fail(
            "NSER_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL"
        )
    name = f"nser_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    import time

    with admin.connect() as conn:
        # only our own sessions: an autovacuum worker on the database belongs to the superuser
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND usename = current_user AND pid <> pg_backend_pid()"
            )
        )
        for attempt in range(5):  # an autovacuum worker leaves within moments
            try:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                break
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(0.5)
    admin.dispose()


@pytest.fixture()
def store_engine(store_url):
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


AUDIT_KEY = bytes(range(32))


# --- the partner API on the shared small warehouse (tests of dashboard/api.py, dci.py, api_contract.py) ---


@pytest.fixture()
def api_app(cubes_store, tmp_path, monkeypatch):
    """A Flask app with the security setup and the API blueprint, on the small warehouse, a fresh SQLite
    store, fixed keys, and one partner organisation ("Utility Stores Corporation")."""
    import flask

    from dashboard import api as api_module
    from dashboard import oversight, web
    from dashboard.accounts import Accounts

    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'nser.sqlite'}")
    monkeypatch.setenv("NSER_AUDIT_KEY", "d" * 64)
    monkeypatch.setenv("NSER_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("NSER_SAMPLE_SALT", "ef" * 32)
    monkeypatch.delenv("NSER_DEMO", raising=False)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    Accounts().add_organisation("Utility Stores Corporation", "federal_government")
    app = flask.Flask("test-api")
    web.configure(app, lambda: [])
    app.register_blueprint(api_module.api)
    return app


@pytest.fixture()
def partner(api_app):
    """(test client, new_client(scopes, **kw) → (id, secret), token(id, secret), call(method, path, token))."""
    from dashboard.api_clients import ApiClients

    client = api_app.test_client()

    def new_client(scopes, **kw):
        return ApiClients().add("Utility Stores Corporation", "point of sale", scopes, **kw)

    def token(cid, secret):
        r = client.post(
            "/api/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
        )
        assert r.status_code == 200, r.get_json()
        return r.get_json()["access_token"]

    def call(method, path, tok, **kw):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {tok}"}, **kw)

    return client, new_client, token, call


@pytest.fixture(scope="module")
def person(cubes_store):
    """A registered person of the small warehouse: CNIC, and their household's PMT score and band."""
    import duckdb

    with duckdb.connect(str(cubes_store.require_current().path), read_only=True) as con:
        cnic, score, band = con.execute(
            "SELECT m.cnic, h.pmt_score, h.pmt_band FROM members m JOIN households h USING (household_id) "
            "WHERE m.cnic IS NOT NULL ORDER BY m.member_id LIMIT 1"
        ).fetchone()
    return {"cnic": cnic, "score": score, "band": band}
