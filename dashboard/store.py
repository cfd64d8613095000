"""The app's relational store: an SQLAlchemy engine on SQLite (default) or PostgreSQL.

``NSER_DATABASE_URL`` chooses the database (e.g. ``postgresql+psycopg://nser:…@127.0.0.1/nser``); without
it the embedded default is ``$NSER_DATA_DIR/nser.sqlite``. The schema is created and upgraded by the
Alembic migrations in ``dashboard/migrations`` (``upgrade()`` runs them; ``nser db upgrade`` too).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from data.snapshots import data_dir

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_lock = threading.Lock()


def database_url() -> str:
    url = os.environ.get("NSER_DATABASE_URL")
    if url:
        return url
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'nser.sqlite'}"


def exists(url: str | None = None) -> bool:
    """Whether the store was ever created (a PostgreSQL store is assumed to be; a SQLite file may not
    be yet): a command that only reads, like a build asking for integration events, must not make one."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).exists()
    return True


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None) -> Engine:
    """An engine for the store; SQLite gets WAL, a busy timeout and write-locking transactions.

    Every SQLite transaction starts with BEGIN IMMEDIATE, so two processes appending to the access log
    queue for the lock instead of both reading the same chain head.
    """
    url = url or database_url()
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                _switch_to_wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _switch_to_wal(cur, patience_s: float = 60.0) -> None:
    """Put a new SQLite file in WAL mode (it stays so: the mode is kept in the file).

    Switching needs an exclusive lock. When another worker is inside a write transaction (two gunicorn
    workers creating and migrating a new store together), SQLite answers "database is locked" at once
    instead of waiting, since waiting could deadlock; so retry with backoff until the other commits.
    """
    deadline = time.monotonic() + patience_s
    pause = 0.02
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        else:
            if mode == "wal":
                return
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError(f"the SQLite store stayed in journal mode {mode!r}, not WAL")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    with _lock, engine.begin() as conn:
        if not is_sqlite(engine):  # one migrating process at a time (SQLite's BEGIN IMMEDIATE does this)
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@cache
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def engine() -> Engine:
    """The process-wide engine for the configured database, migrated on first use."""
    return _engine_for(database_url())


def sessions(bind: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=bind or engine(), expire_on_commit=False)


_DISK_CACHES: dict[str, object] = {}


def disk_cache(name: str, **settings):
    """A diskcache under the data directory (published reports, API rate counters, API transactions):
    shared by every gunicorn worker, opened once per process and directory."""
    import diskcache

    path = str(data_dir() / name)
    with _lock:
        if path not in _DISK_CACHES:
            _DISK_CACHES[path] = diskcache.Cache(path, **settings)
        return _DISK_CACHES[path]
