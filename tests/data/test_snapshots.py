"""Snapshots are swapped in atomically; a failed build changes nothing; one writer at a time."""

from __future__ import annotations

import hashlib
import threading

import duckdb
import pytest

from data.snapshots import SnapshotError, SnapshotStore
from data.warehouse import build_synthetic


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_build_becomes_current_and_readers_of_the_old_keep_working(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    first = build_synthetic(2000, 1, store=store)
    reader = duckdb.connect(str(first.path), read_only=True)
    second = build_synthetic(2000, 2, store=store)
    assert store.current_id() == second.snapshot_id != first.snapshot_id
    assert reader.execute("SELECT count(*) FROM households").fetchone()[0] == 2000  # old file still readable
    reader.close()
    assert (tmp_path / "d" / "CURRENT").read_text().strip() == second.snapshot_id


def test_failed_build_leaves_current_snapshot_untouched(tmp_path, monkeypatch):
    store = SnapshotStore(tmp_path / "d")
    first = build_synthetic(2000, 1, store=store)
    before = sha256(first.path)

    from data import synthetic

    def explode(self):
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(synthetic.SyntheticBuilder, "stage_payments", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        build_synthetic(2000, 2, store=store)
    assert store.current_id() == first.snapshot_id
    assert sha256(first.path) == before
    assert list((tmp_path / "d" / ".staging").iterdir()) == []
    assert store.list_ids() == [first.snapshot_id]


def test_a_second_writer_is_refused_while_one_builds(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    inside = threading.Event()
    release = threading.Event()

    def hold():
        with store.writer("synthetic"):
            inside.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(10)
    try:
        with pytest.raises(SnapshotError, match="another build or ingest"), store.writer("synthetic"):
            pass
    finally:
        release.set()
        t.join()


def test_old_snapshots_are_pruned_but_current_is_kept(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    ids = [build_synthetic(1000, s, store=store).snapshot_id for s in range(4)]
    assert store.list_ids() == ids[-3:]
    assert store.current_id() == ids[-1]


def test_missing_snapshot_gives_a_clear_error(tmp_path):
    store = SnapshotStore(tmp_path / "empty")
    assert store.current() is None
    with pytest.raises(SnapshotError, match="nser warehouse build"):
        store.require_current()
    store.root.mkdir(parents=True)
    (store.root / "CURRENT").write_text("20990101T000000Z-synthetic-abcdef\n")
    with pytest.raises(SnapshotError, match="files are missing"):
        store.current()


def test_record_key_secret_is_created_once_and_private(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    a = store.record_key_secret()
    b = store.record_key_secret()
    assert a == b and len(a) == 32
    mode = (store.root / "secrets" / "record_key.secret").stat().st_mode & 0o777
    assert mode == 0o600
