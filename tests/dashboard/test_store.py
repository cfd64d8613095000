"""The relational store: several processes opening a new SQLite store at once all get a working schema."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import text


def _open_and_migrate(url: str, start, queue) -> None:
    from dashboard import store

    start.wait()
    try:
        engine = store.make_engine(url)
        store.upgrade(engine)
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            tables = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'table'")).scalar()
        queue.put(("ok", mode, tables))
    except Exception as exc:  # the parent reports it
        queue.put(("error", repr(exc), 0))


def test_workers_starting_together_on_a_new_sqlite_store(tmp_path):
    """gunicorn starts its workers together; the first connection of each switches the new file to WAL
    and migrates it. None may fail with 'database is locked' (seen when two workers booted at once)."""
    ctx = multiprocessing.get_context("fork")
    for attempt in range(4):
        url = f"sqlite:///{tmp_path / f'store-{attempt}.sqlite'}"
        start, queue = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_open_and_migrate, args=(url, start, queue)) for _ in range(6)]
        for w in workers:
            w.start()
        start.set()
        outcomes = [queue.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(30)
        assert [o[0] for o in outcomes] == ["ok"] * 6, outcomes
        assert {o[1] for o in outcomes} == {"wal"}
        assert len({o[2] for o in outcomes}) == 1 and outcomes[0][2] > 5


def _hold_a_write_transaction(path: str, holding, seconds: float) -> None:
    import sqlite3
    import time

    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    con.execute("CREATE TABLE IF NOT EXISTS early (x)")
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO early VALUES (1)")
    holding.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def test_a_new_connection_waits_for_a_writer_before_switching_to_wal(tmp_path):
    """Another worker is writing to a store still in rollback-journal mode: SQLite refuses the switch to
    WAL at once ("database is locked") rather than wait; the store must wait for the writer instead."""
    from dashboard import store

    path = tmp_path / "store.sqlite"
    ctx = multiprocessing.get_context("fork")
    holding = ctx.Event()
    writer = ctx.Process(target=_hold_a_write_transaction, args=(str(path), holding, 1.5))
    writer.start()
    assert holding.wait(30)
    engine = store.make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT count(*) FROM early").scalar() == 1  # the writer committed
    writer.join(30)
    assert writer.exitcode == 0


def test_the_migrations_build_exactly_the_tables_the_models_declare(store_url):
    """A column added to a model without its migration (or the other way round) would work in tests
    that create tables from the models and fail on a real store that was migrated."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from dashboard.models import Base
    from dashboard.store import make_engine

    engine = make_engine(store_url)
    with engine.connect() as connection:
        drift = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata
        )
    engine.dispose()
    assert not drift, drift


@pytest.fixture(params=["diskcache", "redis"])
def a_shared_cache(request, tmp_path, monkeypatch):
    from dashboard import store

    monkeypatch.setenv("NSER_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("NSER_CACHE_PREFIX", f"test-{tmp_path.name}")
    if request.param == "redis":
        monkeypatch.setenv("NSER_CACHE_URL", request.getfixturevalue("redis_url"))
    else:
        monkeypatch.delenv("NSER_CACHE_URL", raising=False)
    monkeypatch.setattr(store, "_SHARED_CACHES", {})
    return store.shared_cache("t")


def test_the_shared_caches_behave_alike_on_disk_and_in_redis(a_shared_cache):
    """What the app asks of a shared cache (published reports, API rate counters, DCI transactions), the
    same on a diskcache folder and in Redis (app nodes on several machines)."""
    import time

    cache = a_shared_cache
    key = ("report", "slug", 2, "abc", "snap", (("province", "PK6"),))  # keys are tuples
    assert cache.get(key) is None and cache.get(key, "none") == "none"
    assert cache.set(key, [({"title": "t"}, {"rows": [1, 2]})])
    assert cache.get(key) == [({"title": "t"}, {"rows": [1, 2]})]
    assert cache.incr("client:1", default=0) == 1 and cache.incr("client:1", default=0) == 2
    assert cache.touch("client:1", expire=0.2)
    cache.set("short", {"status": "pdng"}, expire=0.2)
    assert cache.get("short") == {"status": "pdng"}
    time.sleep(0.35)
    assert cache.get("short") is None
    assert cache.incr("client:1", default=0) == 1  # the counter's window ended with its expiry
