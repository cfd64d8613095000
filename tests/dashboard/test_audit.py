"""The access log: concurrent writers lose nothing, any tampering is caught and named, no log no data."""

from __future__ import annotations

import multiprocessing as mp
import threading

import pytest
from sqlalchemy import text

from cubes.gateway import Gateway
from dashboard.audit import AccessLog, AuditWriteError, Entry
from dashboard.oversight import GovernanceSink
from dashboard.store import make_engine
from tests.conftest import make_actor, make_query
from tests.dashboard.conftest import AUDIT_KEY


def log_for(engine) -> AccessLog:
    return AccessLog(engine, key=AUDIT_KEY)


def _write_many(url: str, worker: int, n: int) -> None:
    engine = make_engine(url)
    log = AccessLog(engine, key=AUDIT_KEY)
    for i in range(n):
        log.append(
            Entry(
                kind="query",
                outcome="answered",
                username=f"p{worker}",
                action="households",
                parameters=f'{{"i": {i}}}',
                cells=i,
            )
        )
    engine.dispose()


def test_an_intact_log_verifies(store_engine):
    log = log_for(store_engine)
    assert log.verify() == (True, "0 rows, chain intact")
    for i in range(5):
        assert log.append(Entry(kind="login", outcome="success", username=f"u{i}", ip="10.0.0.1")) == i + 1
    ok, message = log.verify()
    assert ok and message == "5 rows, chain intact"


def test_concurrent_threads_and_processes_lose_no_row(store_url, store_engine):
    log = log_for(store_engine)
    threads = [
        threading.Thread(
            target=lambda w=w: [
                log.append(Entry(kind="query", outcome="answered", username=f"t{w}", cells=i))
                for i in range(25)
            ]
        )
        for w in range(6)
    ]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(store_url, w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with store_engine.connect() as conn:
        n, distinct = conn.execute(text("SELECT count(*), count(DISTINCT seq) FROM audit_log")).one()
        per_writer = dict(
            conn.execute(text("SELECT username, count(*) FROM audit_log GROUP BY username")).all()
        )
    assert n == distinct == 6 * 25 + 3 * 25
    assert all(v == 25 for v in per_writer.values()) and len(per_writer) == 9
    assert log.verify()[0]


def _tamper(engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE audit_log SET cells = 999 WHERE seq = 3", "row 3 was edited"),
        ("UPDATE audit_log SET username = 'someone' WHERE seq = 1", "row 1 was edited"),
        ("DELETE FROM audit_log WHERE seq = 4", "row 4 is missing"),
        ("DELETE FROM audit_log WHERE seq = 6", "rows 6 to 6 are missing"),
        (
            "UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 102 WHEN 3 THEN 2 END WHERE seq IN (2, 3);"
            "UPDATE audit_log SET seq = 3 WHERE seq = 102",
            "row 2 does not follow row 1",
        ),
        ("UPDATE audit_head SET seq = 7", "rows 7 to 7 are missing"),
    ],
)
def test_tampering_is_detected_and_the_row_named(store_engine, sql, expected):
    log = log_for(store_engine)
    for i in range(6):
        log.append(Entry(kind="query", outcome="answered", username=f"u{i}", cells=10 * i))
    for statement in sql.split(";"):
        _tamper(store_engine, statement)
    ok, message = log.verify()
    assert not ok
    assert expected in message


def test_a_forged_row_without_the_key_is_detected(store_engine):
    log = log_for(store_engine)
    for i in range(3):
        log.append(Entry(kind="query", outcome="answered", username=f"u{i}"))
    forger = AccessLog(store_engine, key=b"x" * 32)  # someone with database access but not the key
    forger.append(Entry(kind="query", outcome="answered", username="forged"))
    ok, message = log.verify()
    assert not ok and "row 4 was edited" in message


def test_a_failed_log_write_fails_the_request(cubes_store, store_engine):
    sink = GovernanceSink(log_for(store_engine))
    gateway = Gateway(cubes_store, events=sink)
    ok = gateway.run_query(make_actor("business"), make_query("households"))
    assert ok.ok
    _tamper(store_engine, "DROP TABLE audit_log")
    failed = gateway.run_query(make_actor("business"), make_query("households", dimensions=["urban_rural"]))
    assert not failed.ok and failed.rows == []
    assert "could not be recorded in the access log" in failed.reason
    with pytest.raises(AuditWriteError):
        log_for(store_engine).append(Entry(kind="query", outcome="answered"))


def test_a_page_of_answers_is_appended_in_one_chained_write(store_engine):
    log = log_for(store_engine)
    log.append(Entry(kind="query", outcome="answered", username="before"))
    seqs = log.append_many([Entry(kind="query", outcome="answered", username=f"p{i}") for i in range(3)])
    assert seqs == [2, 3, 4]
    assert [r.username for r in log.rows()] == ["before", "p0", "p1", "p2"]
    ok, message = log.verify()
    assert ok, message


def test_a_page_that_cannot_be_logged_leaves_no_row_of_it(store_engine):
    log = log_for(store_engine)
    log.append(Entry(kind="query", outcome="answered", username="before"))
    entries = [Entry(kind="query", outcome="answered", username="p0"), Entry(kind="query", outcome=None)]
    with pytest.raises(AuditWriteError):
        log.append_many(entries)  # the second row has no outcome: the whole write is refused
    assert [r.username for r in log.rows()] == ["before"]
