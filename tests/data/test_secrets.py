"""Kept secrets: created once, complete before anyone can read them, the same bytes in every process."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from data import secrets as kept


def test_a_reader_never_sees_a_secret_that_is_still_being_written(tmp_path, monkeypatch):
    """Worker A is stopped between creating and filling its secret; worker B must not read an empty file.

    (The O_EXCL-then-write version let B read zero bytes here: an empty session and access-log key.)"""
    path = str(tmp_path / "secrets" / "flask.key")
    real_token_bytes = kept.secrets.token_bytes
    a_is_writing, b_is_done = threading.Event(), threading.Event()
    calls = []

    def slow_for_the_first_writer(n):
        calls.append(n)
        if len(calls) == 1:
            a_is_writing.set()
            b_is_done.wait(10)
        return real_token_bytes(n)

    monkeypatch.setattr(kept.secrets, "token_bytes", slow_for_the_first_writer)
    results = {}
    a = threading.Thread(target=lambda: results.setdefault("a", kept.read_or_create.__wrapped__(path, 32)))
    a.start()
    assert a_is_writing.wait(10)
    results["b"] = kept.read_or_create.__wrapped__(path, 32)
    b_is_done.set()
    a.join(10)
    assert len(results["b"]) == 32
    assert results["a"] == results["b"]
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["flask.key"]  # no temporary left


def _read_in_child(path: str, start, queue) -> None:
    start.wait()
    queue.put(kept.read_or_create(path, 32))


def test_processes_starting_together_share_one_secret(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(5):
        path = str(tmp_path / f"attempt-{attempt}" / "secrets" / "audit.key")
        start, queue = ctx.Event(), ctx.Queue()
        children = [ctx.Process(target=_read_in_child, args=(path, start, queue)) for _ in range(6)]
        for child in children:
            child.start()
        start.set()
        got = [queue.get(timeout=30) for _ in children]
        for child in children:
            child.join(30)
        assert len(set(got)) == 1 and len(got[0]) == 32


def test_a_damaged_secret_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "secrets" / "sample.salt"
    path.parent.mkdir()
    path.write_bytes(b"")
    with pytest.raises(kept.SecretError, match=r"sample\.salt holds 0 bytes, 32 expected"):
        kept.read_or_create.__wrapped__(str(path), 32)


def test_a_secret_from_the_environment_must_be_hex(monkeypatch):
    monkeypatch.setenv("NSER_AUDIT_KEY", "not-hex")
    with pytest.raises(kept.SecretError, match="NSER_AUDIT_KEY must be hex"):
        kept.kept_secret("audit.key", env="NSER_AUDIT_KEY")
    monkeypatch.setenv("NSER_AUDIT_KEY", "00ff")
    with pytest.raises(kept.SecretError, match="NSER_AUDIT_KEY is too short"):
        kept.kept_secret("audit.key", env="NSER_AUDIT_KEY")
    monkeypatch.setenv("NSER_AUDIT_KEY", "ab" * 32)
    assert kept.kept_secret("audit.key", env="NSER_AUDIT_KEY") == bytes.fromhex("ab" * 32)
