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


_SHARED_CACHES: dict[str, object] = {}


class RedisCache:
    """The few operations the app asks of a shared cache (diskcache's names), kept in Redis: for app
    nodes on more than one machine, which cannot share a diskcache folder. Keys are pickled (the app
    uses tuples) under one prefix per cache; values are pickled."""

    def __init__(self, url: str, name: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        # one prefix per deployment (NSER_CACHE_PREFIX), so two share a Redis without meeting
        self.prefix = f"{os.environ.get('NSER_CACHE_PREFIX', 'nser')}:{name}:".encode()

    def _key(self, key) -> bytes:
        import hashlib
        import pickle

        return self.prefix + hashlib.sha256(pickle.dumps(key, protocol=4)).hexdigest().encode()

    def get(self, key, default=None):
        import pickle

        raw = self.redis.get(self._key(key))
        return default if raw is None else pickle.loads(raw)  # noqa: S301 — our own values, our own Redis

    def set(self, key, value, expire: float | None = None) -> bool:
        import pickle

        px = int(expire * 1000) if expire else None
        return bool(self.redis.set(self._key(key), pickle.dumps(value, protocol=4), px=px))

    def incr(self, key, delta: int = 1, default: int = 0) -> int:
        k = self._key(("counter", key))
        if default:
            self.redis.set(k, default, nx=True)
        return int(self.redis.incrby(k, delta))

    def touch(self, key, expire: float | None = None) -> bool:
        k = self._key(("counter", key))
        if not self.redis.exists(k):
            k = self._key(key)
        return bool(self.redis.pexpire(k, int(expire * 1000)) if expire else self.redis.persist(k))

    def delete(self, key) -> bool:
        return bool(self.redis.delete(self._key(key), self._key(("counter", key))))

    def clear(self) -> int:
        keys = list(self.redis.scan_iter(match=self.prefix + b"*"))
        return self.redis.delete(*keys) if keys else 0


def cache_url() -> str | None:
    """``NSER_CACHE_URL`` (redis://…): shared caches in Redis; unset, a diskcache under the data directory."""
    return os.environ.get("NSER_CACHE_URL") or None


def cache_dir() -> Path:
    """Where the shared diskcaches live on one machine: ``NSER_CACHE_DIR``, else the data directory."""
    return Path(os.environ.get("NSER_CACHE_DIR") or data_dir())


def shared_cache(name: str, **settings):
    """A cache every gunicorn worker shares (published reports, API rate counters, API transactions):
    a diskcache under the data directory on one machine, Redis when ``NSER_CACHE_URL`` names one (app
    nodes on several machines). Opened once per process and place."""
    url = cache_url()
    place = f"{url}#{os.environ.get('NSER_CACHE_PREFIX', 'nser')}:{name}" if url else str(cache_dir() / name)
    with _lock:
        if place not in _SHARED_CACHES:
            if url:
                _SHARED_CACHES[place] = RedisCache(url, name)
            else:
                import diskcache

                _SHARED_CACHES[place] = diskcache.Cache(place, **settings)
        return _SHARED_CACHES[place]
