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
